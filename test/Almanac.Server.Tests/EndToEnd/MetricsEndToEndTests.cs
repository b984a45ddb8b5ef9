using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>Metrics from the OpenTelemetry .NET SDK (and the specification's example) into a running Almanac and back out of its API.</summary>
public sealed class MetricsEndToEndTests
{
    private static byte[] SpecMetrics() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "otlp-spec-examples", "metrics.json"));

    private static async Task<JsonElement> WaitForAsync(QueryClient query, string path, Func<JsonElement, bool> ready)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var (status, body) = await query.GetAsync(path);
            if (status == HttpStatusCode.OK && body is not null && ready(body.RootElement))
            {
                return body.RootElement.Clone();
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path}: last status {status}, body {body?.RootElement.GetRawText()}");
            }

            await Task.Delay(100);
        }
    }

    private static JsonElement Metric(JsonElement list, string name) =>
        list.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);

    private static IEnumerable<(string Line, double[] Values)> Lines(JsonElement series) =>
        series.GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("lines").EnumerateArray())
            .Select(l => (l.GetProperty("name").GetString()!, l.GetProperty("points").EnumerateArray().Select(p => p[1].GetDouble()).ToArray()));

    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task OtlpExporter_CounterHistogramGauge_ReadBackWithTypesValuesAndExemplars_AlsoAfterRestart(OtlpExportProtocol protocol)
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var service = $"metrics-{protocol}".ToLowerInvariant();
        var meterName = $"Almanac.E2E.Metrics.{protocol}";
        string traceId;

        using (var tracerProvider = Sdk.CreateTracerProviderBuilder().AddSource(meterName).Build())
        using (var meterProvider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterName)
            .SetExemplarFilter(ExemplarFilterType.TraceBased)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(service))
            .AddOtlpExporter((o, reader) =>
            {
                o.Protocol = protocol;
                o.Endpoint = protocol == OtlpExportProtocol.Grpc ? almanac.GrpcEndpoint : new Uri(almanac.HttpEndpoint, "/v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000; // only the explicit flush exports
            })
            .Build())
        {
            using var meter = new Meter(meterName, "1.0.0");
            var rolls = meter.CreateCounter<long>("dice.rolls", "{roll}", "How often each value was rolled");
            var latency = meter.CreateHistogram<double>("roll.duration", "ms", "How long a roll took");
            meter.CreateObservableGauge("dice.temperature", () => 42.5, "Cel", "How hot the dice are");

            using var source = new ActivitySource(meterName);
            using (var activity = source.StartActivity("roll")!)
            {
                traceId = activity.TraceId.ToHexString();
                rolls.Add(4, new KeyValuePair<string, object?>("roll.value", 6));
                rolls.Add(3, new KeyValuePair<string, object?>("roll.value", 2));
                latency.Record(5);
                latency.Record(50);
                latency.Record(500);
            }

            Assert.True(meterProvider.ForceFlush(10_000));
        }

        using var query = new QueryClient(almanac.UiEndpoint);
        var list = await WaitForAsync(query, $"/api/otel-metrics?service={service}", l => l.GetProperty("metrics").GetArrayLength() >= 3);
        Assert.Contains(service, list.GetProperty("services").EnumerateArray().Select(s => s.GetString()));
        var counter = Metric(list, "dice.rolls");
        Assert.Equal(("sum", "{roll}", "How often each value was rolled", "cumulative", true),
            (counter.GetProperty("type").GetString(), counter.GetProperty("unit").GetString(), counter.GetProperty("description").GetString(),
             counter.GetProperty("temporality").GetString(), counter.GetProperty("monotonic").GetBoolean()));
        Assert.Equal(("histogram", "ms"), (Metric(list, "roll.duration").GetProperty("type").GetString(), Metric(list, "roll.duration").GetProperty("unit").GetString()));
        Assert.Equal(("gauge", "Cel"), (Metric(list, "dice.temperature").GetProperty("type").GetString(), Metric(list, "dice.temperature").GetProperty("unit").GetString()));

        async Task AssertSeriesAsync()
        {
            // The counter started inside the window, so its whole value is increase: the window's increase is what was added.
            var rate = await WaitForAsync(query, $"/api/otel-metrics/series?service={service}&name=dice.rolls&lookback=1h&step=1m&groupBy=roll.value", _ => true);
            Assert.Equal("rate", rate.GetProperty("kind").GetString());
            var groups = rate.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("labels").GetProperty("roll.value").GetString()!);
            Assert.Equal(["2", "6"], groups.Keys.Order());
            Assert.Equal(4, groups["6"].GetProperty("increase").GetDouble(), 6);
            Assert.Equal(3, groups["2"].GetProperty("increase").GetDouble(), 6);
            // Both series accrued over the same interval, so their rates stand as 4 to 3.
            var rate6 = Assert.Single(groups["6"].GetProperty("lines")[0].GetProperty("points").EnumerateArray())[1].GetDouble();
            var rate2 = Assert.Single(groups["2"].GetProperty("lines")[0].GetProperty("points").EnumerateArray())[1].GetDouble();
            Assert.True(rate6 > 0);
            Assert.Equal(4.0 / 3, rate6 / rate2, 6);
            var exemplar = groups["6"].GetProperty("exemplars").EnumerateArray().First();
            Assert.Equal(traceId, exemplar.GetProperty("traceId").GetString());

            var percentiles = await WaitForAsync(query, $"/api/otel-metrics/series?service={service}&name=roll.duration&lookback=1h", _ => true);
            Assert.Equal("percentiles", percentiles.GetProperty("kind").GetString());
            var lines = Lines(percentiles).ToDictionary(l => l.Line, l => Assert.Single(l.Values));
            Assert.InRange(lines["p50"], 25, 50);   // the middle value, 50, lies in the SDK's (25, 50] bucket
            Assert.InRange(lines["p99"], 250, 500);

            var gauge = await WaitForAsync(query, $"/api/otel-metrics/series?service={service}&name=dice.temperature&lookback=1h", _ => true);
            Assert.Equal("value", gauge.GetProperty("kind").GetString());
            Assert.Equal(42.5, Assert.Single(Assert.Single(Lines(gauge)).Values));
        }

        await AssertSeriesAsync();
        await almanac.RestartAsync();
        await AssertSeriesAsync();
    }

    [Fact]
    public async Task SpecExample_Accepted_EveryMetricReadableWithItsType()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        using var response = await http.PostAsync(new Uri("/v1/metrics", UriKind.Relative),
            OtlpRequests.Content(SpecMetrics(), "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var query = new QueryClient(almanac.UiEndpoint);
        var list = await WaitForAsync(query, "/api/otel-metrics?service=my.service", l => l.GetProperty("metrics").GetArrayLength() == 4);
        Assert.Equal(["gauge", "histogram", "exponential_histogram", "sum"],
            new[] { "my.gauge", "my.histogram", "my.exponential.histogram", "my.counter" }.Select(n => Metric(list, n).GetProperty("type").GetString()));
        Assert.Equal("I am a Counter", Metric(list, "my.counter").GetProperty("description").GetString());

        // 2018-12-13T14:51:00.3Z: the example's time; a one-minute step around it.
        const string Window = "start=1544712600000&end=1544712720000&step=1m";
        var counter = await WaitForAsync(query, $"/api/otel-metrics/series?service=my.service&name=my.counter&{Window}", _ => true);
        Assert.Equal(5.0 / 60, Assert.Single(Assert.Single(Lines(counter)).Values), 9);
        var gauge = await WaitForAsync(query, $"/api/otel-metrics/series?service=my.service&name=my.gauge&{Window}", _ => true);
        Assert.Equal(10, Assert.Single(Assert.Single(Lines(gauge)).Values));
        var histogram = await WaitForAsync(query, $"/api/otel-metrics/series?service=my.service&name=my.histogram&{Window}", _ => true);
        Assert.Equal(1, Lines(histogram).Single(l => l.Line == "p50").Values.Single());
        var exponential = await WaitForAsync(query, $"/api/otel-metrics/series?service=my.service&name=my.exponential.histogram&{Window}&groupBy=my.exponential.histogram.attr", _ => true);
        Assert.Equal("some value", exponential.GetProperty("groups")[0].GetProperty("labels").GetProperty("my.exponential.histogram.attr").GetString());
        Assert.Equal(5, Lines(exponential).Single(l => l.Line == "p50").Values.Single(), 9);
    }

    [Fact]
    public async Task BadInput_MetricsBodiesAndQueries_Get4xxAndStoredMetricsStay()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        using var query = new QueryClient(almanac.UiEndpoint);
        using (var ok = await http.PostAsync(new Uri("/v1/metrics", UriKind.Relative),
            OtlpRequests.Content(SpecMetrics(), "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await WaitForAsync(query, "/api/otel-metrics?service=my.service", l => l.GetProperty("metrics").GetArrayLength() == 4);

        foreach (var (body, type) in new[]
        {
            ("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"x\",\"gauge\":{\"dataPoints\":[{\"asDouble\":\"nope\"}]}}]}]}]}"u8.ToArray(), "application/json"),
            ("{\"resourceMetrics\":"u8.ToArray(), "application/json"),
            (new byte[] { 0x0a, 0xff, 0xff, 0xff }, "application/x-protobuf"),
        })
        {
            using var bad = await http.PostAsync(new Uri("/v1/metrics", UriKind.Relative), OtlpRequests.Content(body, type));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        foreach (var path in new[]
        {
            "/api/otel-metrics/series?name=my.gauge",
            "/api/otel-metrics/series?service=my.service",
            "/api/otel-metrics/series?service=my.service&name=my.gauge&step=soon",
            "/api/otel-metrics/series?service=my.service&name=my.gauge&lookback=30d&step=1s",
            "/api/otel-metrics/series?service=my.service&name=my.gauge&start=x",
            "/api/otel-metrics/series?service=my.service&name=my.gauge&filter=novalue",
            "/api/otel-metrics/series?service=my.service&name=my.gauge&type=counter",
        })
        {
            var (status, body) = await query.GetAsync(path);
            Assert.True(status == HttpStatusCode.BadRequest, $"{path}: {status}");
            Assert.False(string.IsNullOrEmpty(body!.RootElement.GetProperty("error").GetProperty("message").GetString()));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await query.GetAsync("/api/otel-metrics/series?service=my.service&name=unknown")).Status);
        var list = await WaitForAsync(query, "/api/otel-metrics?service=my.service", _ => true);
        Assert.Equal(4, list.GetProperty("metrics").GetArrayLength());
    }
}
