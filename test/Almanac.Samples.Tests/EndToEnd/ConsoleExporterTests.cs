using System.Globalization;
using System.Text.RegularExpressions;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>
/// OTEL_*_EXPORTER=console: spans, the dice.rolls counter and the logs are printed. Almanac does not ingest metrics
/// and logs yet, so this is where they are checked.
/// </summary>
public sealed class ConsoleExporterTests
{
    [Fact]
    public async Task ConsoleExporters_PrintTheSpansTheCounterAndLogsWithTraceIds()
    {
        await using var responder = await SampleProcess.StartServiceAsync("Responder", new Dictionary<string, string>
        {
            ["OTEL_TRACES_EXPORTER"] = "none",
            ["OTEL_METRICS_EXPORTER"] = "none",
            ["OTEL_LOGS_EXPORTER"] = "none",
        });
        await using var dice = await SampleProcess.StartServiceAsync("Dice", new Dictionary<string, string>
        {
            ["OTEL_TRACES_EXPORTER"] = "console",
            ["OTEL_METRICS_EXPORTER"] = "console",
            ["OTEL_LOGS_EXPORTER"] = "console",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["SLOW_API_URL"] = responder.BaseUrl!.ToString(),
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(new Uri(dice.BaseUrl!, "/rolldice"));
        var roll = int.Parse((await response.Content.ReadAsStringAsync()).Trim(), CultureInfo.InvariantCulture);
        var traceId = Assert.Single(response.Headers.GetValues("traceresponse")).Split('-')[1];

        // The span, with its integer attribute and its event.
        var span = new Regex(
            $@"Activity\.TraceId:\s+{traceId}\s+Activity\.SpanId:\s+(?<span>[0-9a-f]{{16}})(?:(?!Activity\.TraceId)[\s\S])*?Activity\.DisplayName:\s+rolling dice[\s\S]*?roll\.value: {roll}\s+Activity\.Events:\s+simulating a call to slow api");
        await dice.WaitForOutputAsync(span.IsMatch, TimeSpan.FromSeconds(10), "the 'rolling dice' span");
        Assert.Matches($@"Activity\.DisplayName:\s+simulatedSlowApiSpan", dice.Output);

        // The counter, by roll value.
        var counter = new Regex($@"Metric Name: dice\.rolls,[^\n]*LongSum\s+Instrumentation scope \(Meter\):\s+Name: Dice[\s\S]*?roll\.value: {roll}\s*\n\s*Value: 1\b");
        await dice.WaitForOutputAsync(counter.IsMatch, TimeSpan.FromSeconds(10), "the dice.rolls counter");

        // The structured log, carrying the trace id and the 'rolling dice' span id.
        var rollingSpanId = span.Match(dice.Output).Groups["span"].Value;
        var log = new Regex(
            $@"LogRecord\.TraceId:\s+{traceId}\s+LogRecord\.SpanId:\s+{rollingSpanId}[\s\S]*?LogRecord\.FormattedMessage:\s+Rolled {roll}; simulating a call to slow api[\s\S]*?RollValue: {roll}");
        await dice.WaitForOutputAsync(log.IsMatch, TimeSpan.FromSeconds(10), "the log record");

        // The plain console log shows the same ids.
        Assert.Contains($"SpanId:{rollingSpanId}, TraceId:{traceId}", dice.Output, StringComparison.Ordinal);
    }
}
