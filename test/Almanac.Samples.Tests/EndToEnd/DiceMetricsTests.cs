using System.Globalization;
using System.Net;
using System.Text.Json;
using Almanac.Server.Tests.EndToEnd;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>The dice service's dice.rolls counter, exported by the real service, as the /metrics page and its API show it.</summary>
public sealed class DiceMetricsTests(AlmanacFixture fixture) : IClassFixture<AlmanacFixture>
{
    [Fact]
    public async Task DiceRolls_CounterStoredPerValue_IncreaseCountsTheRolls_ExemplarsLinkToTheRollsTraces()
    {
        await using var responder = await SampleProcess.StartServiceAsync("Responder", fixture.TelemetryEnvironment(serviceName: "responder-metrics"));
        var environment = fixture.TelemetryEnvironment(serviceName: "dice-metrics");
        environment["SLOW_API_URL"] = responder.BaseUrl!.ToString();
        environment["OTEL_METRICS_EXEMPLAR_FILTER"] = "trace_based"; // as samples/Story sets it
        await using var dice = await SampleProcess.StartServiceAsync("Dice", environment);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var rolls = new List<int>();
        var traceIds = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await http.GetAsync(new Uri(dice.BaseUrl!, "/rolldice"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            rolls.Add(int.Parse((await response.Content.ReadAsStringAsync()).Trim(), CultureInfo.InvariantCulture));
            traceIds.Add(response.Headers.GetValues("traceresponse").Single().Split('-')[1]);
        }

        using var query = new QueryClient(fixture.Almanac.UiEndpoint);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var (status, list) = await query.GetAsync("/api/otel-metrics?service=dice-metrics");
            var counter = status == HttpStatusCode.OK
                ? list!.RootElement.GetProperty("metrics").EnumerateArray().FirstOrDefault(m => m.GetProperty("name").GetString() == "dice.rolls")
                : default;
            if (counter.ValueKind == JsonValueKind.Object)
            {
                Assert.Equal("sum", counter.GetProperty("type").GetString());
                Assert.True(counter.GetProperty("monotonic").GetBoolean());
                Assert.Equal("{roll}", counter.GetProperty("unit").GetString());

                // Cumulative points every second: the increase over the window counts every roll, per value.
                var (_, series) = await query.GetAsync("/api/otel-metrics/series?service=dice-metrics&name=dice.rolls&lookback=15m&step=1m&groupBy=roll.value");
                var counted = series!.RootElement.GetProperty("groups").EnumerateArray().ToDictionary(
                    g => g.GetProperty("labels").GetProperty("roll.value").GetString()!,
                    g => (int)Math.Round(g.GetProperty("increase").GetDouble()));
                var expected = rolls.GroupBy(r => r.ToString(CultureInfo.InvariantCulture)).ToDictionary(g => g.Key, g => g.Count());
                var exemplarTraces = series.RootElement.GetProperty("groups").EnumerateArray()
                    .SelectMany(g => g.GetProperty("exemplars").EnumerateArray()).Select(e => e.GetProperty("traceId").GetString()!).ToList();
                if (counted.Count == expected.Count && counted.All(c => expected.GetValueOrDefault(c.Key) == c.Value))
                {
                    // Each roll was counted inside its own trace: the exemplars point at those traces.
                    Assert.NotEmpty(exemplarTraces);
                    Assert.All(exemplarTraces, t => Assert.Contains(t, traceIds));
                    return;
                }

                if (DateTime.UtcNow > deadline)
                {
                    Assert.Equal(expected.OrderBy(e => e.Key), counted.OrderBy(c => c.Key));
                }
            }
            else if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("dice.rolls never arrived\n" + dice.Output);
            }

            await Task.Delay(200);
        }
    }
}
