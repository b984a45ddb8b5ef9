using System.Text;
using Almanac.Server.Tests.EndToEnd;

namespace Almanac.Server.Tests.Hosting;

/// <summary>
/// almanac caps glibc's heap arenas (less memory held after a burst of ingest) by starting itself again with
/// MALLOC_ARENA_MAX set: the process a user started keeps its id, arguments and environment, and serves.
/// </summary>
public sealed class NativeHeapArenasTests
{
    [Fact]
    public async Task Start_WithoutTheVariable_TheSameProcessRunsWithTheArenasCapped()
    {
        await using var almanac = await AlmanacProcess.StartWithEnvironmentAsync(new Dictionary<string, string?>
        {
            ["MALLOC_ARENA_MAX"] = null,
            ["ALMANAC_TEST_MARKER"] = "kept \u00e9",
        });

        var environment = ReadBlock($"/proc/{almanac.ProcessId}/environ");
        Assert.Contains($"MALLOC_ARENA_MAX={Math.Max(2, Environment.ProcessorCount)}", environment);
        Assert.Single(environment, e => e.StartsWith("MALLOC_ARENA_MAX=", StringComparison.Ordinal));
        Assert.Contains("ALMANAC_TEST_MARKER=kept \u00e9", environment);

        // The started process itself (not a child it left behind) has the arguments it was given and serves on them.
        var arguments = ReadBlock($"/proc/{almanac.ProcessId}/cmdline");
        Assert.Contains(almanac.DataDir, arguments);
        Assert.Contains(almanac.UiPort.ToString(System.Globalization.CultureInfo.InvariantCulture), arguments);
        using var http = new HttpClient();
        var services = await http.GetStringAsync(new Uri(almanac.UiEndpoint, "/api/services"));
        Assert.Contains("\"data\"", services, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithTheUsersVariable_KeepsTheirValue()
    {
        await using var almanac = await AlmanacProcess.StartWithEnvironmentAsync(new Dictionary<string, string?> { ["MALLOC_ARENA_MAX"] = "3" });

        var environment = ReadBlock($"/proc/{almanac.ProcessId}/environ");
        Assert.Equal("MALLOC_ARENA_MAX=3", Assert.Single(environment, e => e.StartsWith("MALLOC_ARENA_MAX=", StringComparison.Ordinal)));
    }

    private static List<string> ReadBlock(string path) =>
        [.. Encoding.UTF8.GetString(File.ReadAllBytes(path)).Split('\0', StringSplitOptions.RemoveEmptyEntries)];
}
