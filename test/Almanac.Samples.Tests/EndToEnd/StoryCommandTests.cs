using System.Text.RegularExpressions;
using Almanac.Server.Tests.EndToEnd;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>The one command: `dotnet run --project samples/Story` (here its built dll) on free ports.</summary>
public sealed class StoryCommandTests
{
    [Fact]
    public async Task Story_RollsPrintsTraceLinks_AndCtrlCStopsEverythingAfterFlushing()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "almanac-story-" + Guid.NewGuid().ToString("N"));
        var ports = AlmanacProcess.FreePorts(5); // all different: one per listener
        var uiPort = ports[0];
        string[] args =
        [
            "--interval", "0.2", "--data-dir", dataDir, "--ui-port", $"{uiPort}",
            "--otlp-grpc-port", $"{ports[1]}", "--otlp-http-port", $"{ports[2]}",
            "--dice-port", $"{ports[3]}", "--responder-port", $"{ports[4]}",
        ];
        try
        {
            var rollLine = new Regex($@"roll (?<roll>[1-6]) +\d+ ms +trace (?<trace>[0-9a-f]{{32}}) +http://127\.0\.0\.1:{uiPort}/trace/\k<trace>");
            string traceId;
            await using (var story = SampleProcess.StartProgram("Story", args))
            {
                await story.WaitForOutputAsync(o => rollLine.Count(o) >= 2, TimeSpan.FromSeconds(90), "two rolls");
                Assert.Contains($"Almanac     http://127.0.0.1:{uiPort}/", story.Output, StringComparison.Ordinal);
                traceId = rollLine.Match(story.Output).Groups["trace"].Value;

                await story.SignalAsync("INT"); // Ctrl-C
                Assert.Equal(0, await story.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                var output = story.Output;
                Assert.True(
                    output.IndexOf("stopped dice", StringComparison.Ordinal) < output.IndexOf("stopped responder", StringComparison.Ordinal)
                    && output.IndexOf("stopped responder", StringComparison.Ordinal) < output.IndexOf("stopped almanac", StringComparison.Ordinal),
                    output);
                Assert.DoesNotContain("killed", output, StringComparison.Ordinal);
            }

            // Everything the first roll produced reached Almanac before it stopped: read it back from the data dir.
            await using var almanac = await AlmanacProcess.StartAsync(dataDir);
            using var query = new QueryClient(almanac.UiEndpoint);
            var trace = await query.WaitForTraceAsync(traceId, minSpans: 5, timeout: TimeSpan.FromSeconds(5));
            Assert.Equal(5, trace.GetProperty("spans").GetArrayLength());
        }
        finally
        {
            if (Directory.Exists(dataDir))
            {
                Directory.Delete(dataDir, recursive: true);
            }
        }
    }
}
