using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using static Almanac.Load.Templates.TemplateBuilder;

namespace Almanac.Load.Templates;

/// <summary>
/// OTLP logs and metrics requests for <c>almanac-load logs|metrics</c> (Almanac does not ingest them yet; the sink
/// does). Protobuf only. Log records carry sentinel times and trace/span ids; data points sentinel start and sample
/// times — patched per send like spans.
/// </summary>
public static class LogsAndMetricsBuilder
{
    private const long Ms = 1_000_000;

    private static readonly string[] Routes = ["/api/users/{id}", "/api/orders/{id}", "/api/products/{id}", "/api/cart/{id}/items"];

    /// <summary>A logs request of exactly <paramref name="count"/> log records.</summary>
    internal static (ExportLogsServiceRequest Request, Sentinels Sentinels) BuildLogs(ShapeOptions options, int count, int seed)
    {
        var random = new Random(seed);
        var sentinels = new Sentinels();
        var request = new ExportLogsServiceRequest();
        var services = Math.Max(1, Math.Min(options.Services, count));
        for (var s = 0; s < services; s++)
        {
            var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "Microsoft.Extensions.Logging", Version = "9.0.0" } };
            var mine = (count / services) + (s < count % services ? 1 : 0);
            for (var i = 0; i < mine; i++)
            {
                var error = random.NextDouble() < options.ErrorRate;
                var route = Routes[random.Next(Routes.Length)].Replace("{id}", random.Next(1, 5_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
                var time = -random.NextInt64(10 * Ms, 2_000 * Ms);
                var record = new LogRecord
                {
                    TimeUnixNano = sentinels.Time(time),
                    ObservedTimeUnixNano = sentinels.Time(time + Ms),
                    SeverityNumber = error ? SeverityNumber.Error : SeverityNumber.Info,
                    SeverityText = error ? "Error" : "Information",
                    Body = new AnyValue
                    {
                        StringValue = error
                            ? $"Request GET {route} failed: System.TimeoutException: The operation has timed out after 5000 ms"
                            : $"Request finished HTTP/1.1 GET {route} - 200 {random.Next(100, 9000)} application/json {random.Next(1, 400)}.{random.Next(100, 999)}ms",
                    },
                    TraceId = ByteString.CopyFrom(sentinels.TraceId()),
                    SpanId = ByteString.CopyFrom(sentinels.SpanId()),
                    Flags = 1,
                    EventName = error ? "request.failed" : "request.finished",
                };
                record.Attributes.Add(Kv("http.request.method", "GET"));
                record.Attributes.Add(Kv("url.path", route));
                record.Attributes.Add(Kv("http.response.status_code", error ? 500 : 200));
                record.Attributes.Add(Kv("enduser.id", $"user-{random.Next(1, 2_000_000)}"));
                record.Attributes.Add(Kv("client.address", $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}"));
                record.Attributes.Add(Kv("log.category", "Microsoft.AspNetCore.Hosting.Diagnostics"));
                scope.LogRecords.Add(record);
            }

            var resourceLogs = new ResourceLogs { Resource = Resource(s) };
            resourceLogs.ScopeLogs.Add(scope);
            request.ResourceLogs.Add(resourceLogs);
        }

        return (request, sentinels);
    }

    /// <summary>A metrics request of exactly <paramref name="count"/> data points (histograms, counters and gauges).</summary>
    internal static (ExportMetricsServiceRequest Request, Sentinels Sentinels) BuildMetrics(ShapeOptions options, int count, int seed)
    {
        var random = new Random(seed);
        var sentinels = new Sentinels();
        var request = new ExportMetricsServiceRequest();
        var services = Math.Max(1, Math.Min(options.Services, count));
        for (var s = 0; s < services; s++)
        {
            var duration = new Metric { Name = "http.server.request.duration", Unit = "s", Description = "Duration of HTTP server requests.", Histogram = new Histogram { AggregationTemporality = AggregationTemporality.Cumulative } };
            var requests = new Metric { Name = "http.server.active_requests", Unit = "{request}", Sum = new Sum { AggregationTemporality = AggregationTemporality.Cumulative, IsMonotonic = false } };
            var memory = new Metric { Name = "process.runtime.dotnet.gc.heap.size", Unit = "By", Gauge = new Gauge() };
            double[] bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
            var mine = (count / services) + (s < count % services ? 1 : 0);
            for (var i = 0; i < mine; i++)
            {
                var start = sentinels.Time(-3_600_000 * Ms);
                var time = sentinels.Time(-random.NextInt64(10 * Ms, 1_000 * Ms));
                var route = Routes[i % Routes.Length];
                var status = random.NextDouble() < options.ErrorRate ? 500 : 200;
                switch (i % 3)
                {
                    case 0:
                        var point = new HistogramDataPoint { StartTimeUnixNano = start, TimeUnixNano = time, Count = 0, Sum = 0 };
                        point.ExplicitBounds.AddRange(bounds);
                        ulong total = 0;
                        for (var b = 0; b <= bounds.Length; b++)
                        {
                            var n = (ulong)random.Next(0, 2000);
                            point.BucketCounts.Add(n);
                            total += n;
                        }

                        point.Count = total;
                        point.Sum = total * 0.042;
                        point.Attributes.Add(Kv("http.request.method", "GET"));
                        point.Attributes.Add(Kv("http.route", route));
                        point.Attributes.Add(Kv("http.response.status_code", status));
                        point.Attributes.Add(Kv("k8s.pod.ordinal", i));
                        duration.Histogram.DataPoints.Add(point);
                        break;
                    case 1:
                        var sum = new NumberDataPoint { StartTimeUnixNano = start, TimeUnixNano = time, AsInt = random.Next(0, 200) };
                        sum.Attributes.Add(Kv("http.request.method", "GET"));
                        sum.Attributes.Add(Kv("url.scheme", "http"));
                        sum.Attributes.Add(Kv("k8s.pod.ordinal", i));
                        requests.Sum.DataPoints.Add(sum);
                        break;
                    default:
                        var gauge = new NumberDataPoint { StartTimeUnixNano = start, TimeUnixNano = time, AsDouble = random.Next(50, 900) * 1_048_576.0 };
                        gauge.Attributes.Add(Kv("gc.heap.generation", $"gen{i % 3}"));
                        gauge.Attributes.Add(Kv("k8s.pod.ordinal", i));
                        memory.Gauge.DataPoints.Add(gauge);
                        break;
                }
            }

            var scope = new ScopeMetrics { Scope = new InstrumentationScope { Name = "Microsoft.AspNetCore.Hosting", Version = "9.0.0" } };
            scope.Metrics.AddRange(new[] { duration, requests, memory }.Where(m => Points(m) > 0));
            var resourceMetrics = new ResourceMetrics { Resource = Resource(s) };
            resourceMetrics.ScopeMetrics.Add(scope);
            request.ResourceMetrics.Add(resourceMetrics);
        }

        return (request, sentinels);
    }

    public static int Points(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        _ => 0,
    };

    private static Resource Resource(int service)
    {
        var name = ServiceName(service);
        var resource = new Resource();
        resource.Attributes.Add(Kv("service.name", name));
        resource.Attributes.Add(Kv("service.version", $"1.{service % 7}.0"));
        resource.Attributes.Add(Kv("host.name", $"ip-10-0-{service % 4}-{17 + service}.ec2.internal"));
        resource.Attributes.Add(Kv("k8s.pod.name", $"{name}-7d9f8c6b5-{service:x4}q"));
        resource.Attributes.Add(Kv("telemetry.sdk.name", "opentelemetry"));
        resource.Attributes.Add(Kv("telemetry.sdk.language", "dotnet"));
        resource.Attributes.Add(Kv("telemetry.sdk.version", "1.12.0"));
        return resource;
    }
}
