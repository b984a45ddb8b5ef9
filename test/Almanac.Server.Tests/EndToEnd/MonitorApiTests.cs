using System.Globalization;
using System.Net;
using System.Text.Json;
using Almanac.Testing;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>Jaeger's metrics API (the Monitor tab's data) answered by a running Almanac from spans sent over OTLP.</summary>
public sealed class MonitorApiTests
{
    [Fact]
    public async Task SpansSentOverOtlp_MetricsEndpoints_AnswerRatesErrorsAndLatenciesLikeJaeger()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var traceId = TestData.NewTraceId();
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var start = (nowMs - 30_000) * 1_000_000;
        Span Server(string name, long durationMs, bool error = false, Span.Types.SpanKind kind = Span.Types.SpanKind.Server) =>
            TestData.CreateSpan(traceId, name: name, kind: kind, startUnixNano: start, durationNanos: durationMs * 1_000_000,
                status: error ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Ok);
        var request = OtlpRequests.Traces("shop",
            Server("GET /cart", 10), Server("GET /cart", 20, error: true), Server("GET /cart", 30), Server("POST /pay", 100),
            Server("SELECT", 5, kind: Span.Types.SpanKind.Client));
        using (var http = new HttpClient { BaseAddress = almanac.HttpEndpoint })
        {
            using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var query = new QueryClient(almanac.UiEndpoint);
        await query.WaitForTraceAsync(traceId.ToHex(), minSpans: 5);
        // One sample a minute ending now, each over the last minute: the spans (30 s ago) are in the last one.
        var window = string.Create(CultureInfo.InvariantCulture, $"service=shop&endTs={nowMs}&lookback=60000&step=60000&ratePer=60000&spanKind=server");

        var calls = await GetMetricAsync(query, "/api/metrics/calls?" + window);
        Assert.Equal("service_call_rate", calls.GetProperty("name").GetString());
        Assert.Equal("GAUGE", calls.GetProperty("type").GetString());
        var service = Assert.Single(calls.GetProperty("metrics").EnumerateArray());
        Assert.Equal("service_name", service.GetProperty("labels")[0].GetProperty("name").GetString());
        Assert.Equal("shop", service.GetProperty("labels")[0].GetProperty("value").GetString());
        var points = service.GetProperty("metricPoints");
        Assert.Equal(2, points.GetArrayLength());
        Assert.Equal(0, Value(points[0]));
        Assert.Equal(4.0 / 60, Value(points[1]), 6);
        Assert.Equal(nowMs, DateTimeOffset.Parse(points[1].GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());

        var errors = await GetMetricAsync(query, "/api/metrics/errors?groupByOperation=true&" + window);
        Assert.Equal("service_operation_error_rate", errors.GetProperty("name").GetString());
        var byOperation = errors.GetProperty("metrics").EnumerateArray().ToDictionary(
            m => m.GetProperty("labels").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "operation").GetProperty("value").GetString()!,
            m => Value(m.GetProperty("metricPoints")[0]));
        Assert.Equal(["GET /cart", "POST /pay"], byOperation.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(1.0 / 3, byOperation["GET /cart"], 6);
        Assert.Equal(0, byOperation["POST /pay"]);

        var p50 = await GetMetricAsync(query, "/api/metrics/latencies?quantile=0.5&groupByOperation=true&" + window);
        var cart = p50.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("labels")[0].GetProperty("value").GetString() == "GET /cart");
        Assert.Equal(20, Value(cart.GetProperty("metricPoints")[0]), 6);

        var clients = await GetMetricAsync(query, "/api/metrics/calls?" + window.Replace("spanKind=server", "spanKind=client", StringComparison.Ordinal));
        Assert.Equal(1.0 / 60, Value(clients.GetProperty("metrics")[0].GetProperty("metricPoints")[1]), 6);

        var (status, body) = await query.GetAsync("/api/metrics/latencies?service=shop");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(400, body!.RootElement.GetProperty("errors")[0].GetProperty("code").GetInt32());
    }

    private static double Value(JsonElement point) => point.GetProperty("gaugeValue").GetProperty("doubleValue").GetDouble();

    private static async Task<JsonElement> GetMetricAsync(QueryClient query, string url)
    {
        var (status, body) = await query.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, status);
        return body!.RootElement.Clone();
    }
}
