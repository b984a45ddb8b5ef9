using Almanac.Server.Configuration;
using Almanac.Server.Hosting;

if (OptionsLoader.IsHelp(args))
{
    Console.Out.Write(OptionsLoader.HelpText());
    return 0;
}

if (OptionsLoader.IsVersion(args))
{
    Console.Out.WriteLine(AlmanacHost.Version);
    return 0;
}

// Before anything else: may start this process again with the C library's heap arenas capped (NativeHeapArenas).
NativeHeapArenas.Apply();

return await AlmanacHost.RunAsync(args);
