using System.Globalization;
using System.Text.RegularExpressions;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>
/// OTEL_*_EXPORTER=console: spans, the dice.rolls counter and the logs are printed, for a newcomer who runs the
/// story without Almanac.
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

        // The three console exporters write from their own threads, so blocks may interleave line by line:
        // look for lines, not blocks. The plain console log line gives the 'rolling dice' span id.
        var logLine = new Regex($@"Dice\.DiceRoller\[0\] => SpanId:(?<span>[0-9a-f]{{16}}), TraceId:{traceId} .* Rolled {roll}; simulating a call to slow api");
        await dice.WaitForOutputAsync(logLine.IsMatch, TimeSpan.FromSeconds(20), "the plain log line");
        var rollingSpanId = logLine.Match(dice.Output).Groups["span"].Value;

        // The spans, with the integer attribute and the event.
        string[] spanLines =
        [
            $@"^Activity\.TraceId:\s+{traceId}$",
            $@"^Activity\.SpanId:\s+{rollingSpanId}$",
            @"^Activity\.DisplayName:\s+rolling dice$",
            @"^Activity\.DisplayName:\s+simulatedSlowApiSpan$",
            @"^Activity\.DisplayName:\s+GET /rolldice$",
            $@"^\s+roll\.value: {roll}$",
            @"^\s+simulating a call to slow api \[",
        ];

        // The counter, by roll value (a data point line names its attributes after its time window).
        string[] metricLines =
        [
            @"^Metric Name: dice\.rolls, Description: Dice rolled, by value, Unit: \{roll\}, Metric Type: LongSum$",
            $@"^\(.*\] roll\.value: {roll}\s*$",
        ];

        // The structured log record, carrying the trace id, the 'rolling dice' span id and the roll as an attribute.
        string[] logLines =
        [
            $@"^LogRecord\.TraceId:\s+{traceId}$",
            $@"^LogRecord\.SpanId:\s+{rollingSpanId}$",
            $@"^LogRecord\.FormattedMessage:\s+Rolled {roll}; simulating a call to slow api$",
            $@"^\s+RollValue: {roll}$",
        ];

        foreach (var pattern in spanLines.Concat(metricLines).Concat(logLines))
        {
            var regex = new Regex(pattern, RegexOptions.Multiline);
            await dice.WaitForOutputAsync(regex.IsMatch, TimeSpan.FromSeconds(20), pattern);
        }
    }
}
