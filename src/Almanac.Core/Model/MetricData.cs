using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Core.Model;

/// <summary>
/// One metric (name, description, unit, its data points) with the resource and scope it was reported under: the
/// flattened OTLP shape that backends write. Resource and scope instances are shared as in <see cref="SpanData"/>.
/// </summary>
public sealed class MetricData
{
    public MetricData(string serviceName, Resource resource, string resourceSchemaUrl, InstrumentationScope scope, string scopeSchemaUrl, Metric metric)
    {
        ServiceName = serviceName;
        Resource = resource;
        ResourceSchemaUrl = resourceSchemaUrl;
        Scope = scope;
        ScopeSchemaUrl = scopeSchemaUrl;
        Metric = metric;
    }

    public string ServiceName { get; }

    public Resource Resource { get; }

    public string ResourceSchemaUrl { get; }

    public InstrumentationScope Scope { get; }

    public string ScopeSchemaUrl { get; }

    public Metric Metric { get; }

    /// <summary>The number of data points the metric carries, whatever its type.</summary>
    public int PointCount => Metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => Metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Sum => Metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Histogram => Metric.Histogram.DataPoints.Count,
        Metric.DataOneofCase.ExponentialHistogram => Metric.ExponentialHistogram.DataPoints.Count,
        Metric.DataOneofCase.Summary => Metric.Summary.DataPoints.Count,
        _ => 0,
    };
}
