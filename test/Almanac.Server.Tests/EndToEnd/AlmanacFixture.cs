namespace Almanac.Server.Tests.EndToEnd;

/// <summary>One running Almanac shared by the tests of a class that only read, or write data of their own.</summary>
public sealed class AlmanacFixture : IAsyncLifetime
{
    public AlmanacProcess Almanac { get; private set; } = null!;

    public async Task InitializeAsync() => Almanac = await AlmanacProcess.StartAsync();

    public async Task DisposeAsync() => await Almanac.DisposeAsync();
}
