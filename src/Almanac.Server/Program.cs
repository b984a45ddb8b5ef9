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

return await AlmanacHost.RunAsync(args);
