using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Almanac.Core.Storage;
using Almanac.Query.Jaeger;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.Tests;

/// <summary>
/// Jaeger's metrics API (what Jaeger UI's Monitor tab calls): parameters with Jaeger's names, units and defaults, and
/// the MetricFamily JSON shape the UI reads (name, type GAUGE, help, labels, metricPoints with gaugeValue.doubleValue
/// and an RFC 3339 timestamp).
/// </summary>
public sealed class JaegerMetricsTests : IClassFixture<QueryServerFixture>
{
    private const long Ms = 1_000_000;
    private static readonly long Now = new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * Ms;

    private readonly HttpClient _client;

    public JaegerMetricsTests(QueryServerFixture fixture) => _client = fixture.Client;

    private static JaegerMetricsRequest Parse(JaegerMetricKind kind, string query) => JaegerMetrics.Parse(kind, QueryStrings.Parse(query), Now);

    private static string Render(JaegerMetricsRequest request, IReadOnlyList<SpanMetricsSeries> series)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JaegerMetrics.Write(writer, request, series);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Parse_WhatJaegerUiSends_MillisecondsAndLowerCaseKind()
    {
        // Jaeger UI's Monitor tab: quantile, endTs, lookback, step and ratePer in ms, spanKind, groupByOperation.
        var request = Parse(JaegerMetricKind.Latencies,
            "service=frontend&quantile=0.95&endTs=1763640000000&lookback=3600000&step=60000&ratePer=600000&spanKind=server&groupByOperation=true");

        Assert.Equal(["frontend"], request.Services);
        Assert.True(request.GroupByOperation);
        Assert.Equal([Span.Types.SpanKind.Server], request.SpanKinds);
        Assert.Equal(1763640000000 * Ms, request.EndUnixNano);
        Assert.Equal(3_600_000 * Ms, request.LookbackNano);
        Assert.Equal(60_000 * Ms, request.StepNano);
        Assert.Equal(600_000 * Ms, request.RatePerNano);
        Assert.Equal(0.95, request.Quantile);
        var query = request.ToStoreQuery();
        Assert.Equal(600_000 * Ms, query.WindowNano);
        Assert.Equal([0.95], query.Quantiles);
    }

    [Fact]
    public void Parse_OnlyService_JaegerDefaults()
    {
        var request = Parse(JaegerMetricKind.Calls, "service=a&service=b");

        Assert.Equal(["a", "b"], request.Services);
        Assert.False(request.GroupByOperation);
        Assert.Equal([Span.Types.SpanKind.Server], request.SpanKinds);
        Assert.Equal(Now, request.EndUnixNano);
        Assert.Equal(60 * 60 * 1000 * Ms, request.LookbackNano);
        Assert.Equal(5_000 * Ms, request.StepNano);
        Assert.Equal(600_000 * Ms, request.RatePerNano);
        Assert.Empty(request.ToStoreQuery().Quantiles);
    }

    [Theory]
    [InlineData("spanKind=server&spanKind=consumer")]
    [InlineData("spanKind=SPAN_KIND_SERVER,SPAN_KIND_CONSUMER")]
    public void Parse_SeveralKinds_RepeatedOrCommaSeparated(string kinds)
    {
        var request = Parse(JaegerMetricKind.Calls, "service=a&" + kinds);

        Assert.Equal([Span.Types.SpanKind.Server, Span.Types.SpanKind.Consumer], request.SpanKinds);
    }

    [Fact]
    public void Write_ServiceCallRate_GoldenShapeWithZerosWhereNoSpanStarted()
    {
        var request = Parse(JaegerMetricKind.Calls, "service=api&endTs=1763640000000&lookback=120000&step=60000&ratePer=60000");
        var end = 1763640000000 * Ms;
        var series = new[] { new SpanMetricsSeries("api", null, [new SpanMetricsPoint(end - (60_000 * Ms), 30, 3, [])]) };

        var json = Render(request, series);

        // 30 calls in a 60 s window: 0.5 calls/s. Samples every step from endTs - lookback to endTs.
        Assert.Equal(
            """{"name":"service_call_rate","type":"GAUGE","help":"calls/sec, grouped by service","metrics":[{"labels":[{"name":"service_name","value":"api"}],"metricPoints":[{"gaugeValue":{"doubleValue":0},"timestamp":"2025-11-20T11:58:00Z"},{"gaugeValue":{"doubleValue":0.5},"timestamp":"2025-11-20T11:59:00Z"},{"gaugeValue":{"doubleValue":0},"timestamp":"2025-11-20T12:00:00Z"}]}]}""",
            json);
    }

    [Fact]
    public void Write_OperationErrorRate_FractionPerOperationLabelsLikeJaeger()
    {
        var request = Parse(JaegerMetricKind.Errors, "service=api&groupByOperation=true&endTs=1763640000000&lookback=60000&step=60000");
        var end = 1763640000000 * Ms;
        var series = new[] { new SpanMetricsSeries("api", "GET /", [new SpanMetricsPoint(end, 8, 2, [])]) };

        var json = Render(request, series);

        Assert.Equal(
            """{"name":"service_operation_error_rate","type":"GAUGE","help":"error rate, computed as a fraction of errors/sec over calls/sec, grouped by service & operation","metrics":[{"labels":[{"name":"operation","value":"GET /"},{"name":"service_name","value":"api"}],"metricPoints":[{"gaugeValue":{"doubleValue":0.25},"timestamp":"2025-11-20T12:00:00Z"}]}]}""",
            json.Replace("\\u0026", "&", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_Latencies_MillisecondsAndQuantileInHelp()
    {
        var request = Parse(JaegerMetricKind.Latencies, "service=api&quantile=0.95&endTs=1763640000500&lookback=0&step=1000");
        var series = new[] { new SpanMetricsSeries("api", null, [new SpanMetricsPoint(1763640000500 * Ms, 4, 0, [38_500_000.0])]) };

        using var doc = JsonDocument.Parse(Render(request, series));
        var root = doc.RootElement;

        Assert.Equal("service_latencies", root.GetProperty("name").GetString());
        Assert.Equal("0.95th quantile latency, grouped by service", root.GetProperty("help").GetString());
        var point = root.GetProperty("metrics")[0].GetProperty("metricPoints")[0];
        Assert.Equal(38.5, point.GetProperty("gaugeValue").GetProperty("doubleValue").GetDouble());
        Assert.Equal("2025-11-20T12:00:00.500Z", point.GetProperty("timestamp").GetString());
    }

    [Fact]
    public void Write_NoSeries_EmptyMetricsListStillPresent()
    {
        var request = Parse(JaegerMetricKind.Calls, "service=nobody");

        using var doc = JsonDocument.Parse(Render(request, []));

        Assert.Equal(0, doc.RootElement.GetProperty("metrics").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/metrics/calls")]
    [InlineData("/api/metrics/calls?service=")]
    [InlineData("/api/metrics/calls?service=a&endTs=soon")]
    [InlineData("/api/metrics/calls?service=a&lookback=-5")]
    [InlineData("/api/metrics/calls?service=a&step=0")]
    [InlineData("/api/metrics/calls?service=a&step=1&lookback=3600000")]
    [InlineData("/api/metrics/errors?service=a&ratePer=1m")]
    [InlineData("/api/metrics/errors?service=a&groupByOperation=maybe")]
    [InlineData("/api/metrics/errors?service=a&spanKind=sideways")]
    [InlineData("/api/metrics/latencies?service=a")]
    [InlineData("/api/metrics/latencies?service=a&quantile=high")]
    [InlineData("/api/metrics/latencies?service=a&quantile=1.5")]
    [InlineData("/api/metrics/latencies?service=a&endTs=1000&lookback=5000&quantile=0.5")]
    public async Task Metrics_BadParameter_Returns400InJaegerErrorShape(string url)
    {
        using var response = await _client.GetAsync(new Uri(url, UriKind.Relative));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("data").ValueKind);
        var error = Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.StartsWith("unable to parse param '", error.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MinStep_JaegerEnvelopeWithMilliseconds()
    {
        using var response = await _client.GetAsync(new Uri("/api/metrics/minstep", UriKind.Relative));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, doc.RootElement.GetProperty("data").GetInt64());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("errors").ValueKind);
    }
}
