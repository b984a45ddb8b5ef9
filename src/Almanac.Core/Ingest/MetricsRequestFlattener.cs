using Almanac.Core.Model;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Core.Ingest;

/// <summary>The valid metrics of a request, flattened, and how many data points were rejected and why.</summary>
public sealed record MetricsFlattenResult(List<MetricData> Metrics, int PointCount, int RejectedDataPoints, string? RejectionMessage);

/// <summary>
/// Validates a metrics export and flattens it into <see cref="MetricData"/>. A metric without a name or without
/// data is invalid (the data model requires both); invalid metrics are removed from the request in place, so what
/// goes on to the write-ahead log is exactly what was accepted.
/// </summary>
public static class MetricsRequestFlattener
{
    private const int MaxReasons = 3;

    public static MetricsFlattenResult Flatten(ExportMetricsServiceRequest request)
    {
        var metrics = new List<MetricData>();
        var points = 0;
        var rejected = 0;
        var rejectedMetrics = 0;
        List<string>? reasons = null;

        for (var r = 0; r < request.ResourceMetrics.Count; r++)
        {
            var resourceMetrics = request.ResourceMetrics[r];
            var resource = resourceMetrics.Resource ??= new Resource();
            var serviceName = ServiceNames.Of(resource);
            for (var s = 0; s < resourceMetrics.ScopeMetrics.Count; s++)
            {
                var scopeMetrics = resourceMetrics.ScopeMetrics[s];
                var scope = scopeMetrics.Scope ??= new InstrumentationScope();
                var list = scopeMetrics.Metrics;
                var rejectedHere = 0;
                for (var i = 0; i < list.Count; i++)
                {
                    var data = new MetricData(serviceName, resource, resourceMetrics.SchemaUrl, scope, scopeMetrics.SchemaUrl, list[i]);
                    var reason = Validate(list[i]);
                    if (reason is not null)
                    {
                        rejected += data.PointCount;
                        rejectedMetrics++;
                        rejectedHere++;
                        if ((reasons ??= []).Count < MaxReasons)
                        {
                            reasons.Add($"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{i}]: {reason}");
                        }

                        continue;
                    }

                    points += data.PointCount;
                    metrics.Add(data);
                }

                if (rejectedHere > 0)
                {
                    for (var i = list.Count - 1; i >= 0; i--)
                    {
                        if (Validate(list[i]) is not null)
                        {
                            list.RemoveAt(i);
                        }
                    }
                }
            }
        }

        string? message = null;
        if (rejectedMetrics > 0)
        {
            message = $"{rejectedMetrics} metric(s) rejected: {string.Join("; ", reasons!)}{(rejectedMetrics > reasons!.Count ? "; ..." : string.Empty)}";
        }

        return new MetricsFlattenResult(metrics, points, rejected, message);
    }

    private static string? Validate(Metric metric)
    {
        if (metric.Name.Length == 0)
        {
            return "metric name is empty";
        }

        if (metric.DataCase == Metric.DataOneofCase.None)
        {
            return "metric has no data (gauge, sum, histogram, exponential histogram or summary)";
        }

        return null;
    }
}
