using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Otlp;

/// <summary>One data point of any OTLP metric type, with the fields every type shares pulled out.</summary>
public readonly record struct MetricPoint(IMessage Point, RepeatedField<KeyValue> Attributes, IReadOnlyList<Exemplar> Exemplars, ulong TimeUnixNano, ulong StartTimeUnixNano);

/// <summary>
/// Type-independent access to a metric's data points, so decoding checks, storage and the series maths walk the five
/// point types through one code path.
/// </summary>
public static class MetricDataPoints
{
    public static IEnumerable<MetricPoint> Enumerate(Metric metric)
    {
        switch (metric.DataCase)
        {
            case Metric.DataOneofCase.Gauge:
                foreach (var p in metric.Gauge.DataPoints)
                {
                    yield return new MetricPoint(p, p.Attributes, p.Exemplars, p.TimeUnixNano, p.StartTimeUnixNano);
                }

                break;
            case Metric.DataOneofCase.Sum:
                foreach (var p in metric.Sum.DataPoints)
                {
                    yield return new MetricPoint(p, p.Attributes, p.Exemplars, p.TimeUnixNano, p.StartTimeUnixNano);
                }

                break;
            case Metric.DataOneofCase.Histogram:
                foreach (var p in metric.Histogram.DataPoints)
                {
                    yield return new MetricPoint(p, p.Attributes, p.Exemplars, p.TimeUnixNano, p.StartTimeUnixNano);
                }

                break;
            case Metric.DataOneofCase.ExponentialHistogram:
                foreach (var p in metric.ExponentialHistogram.DataPoints)
                {
                    yield return new MetricPoint(p, p.Attributes, p.Exemplars, p.TimeUnixNano, p.StartTimeUnixNano);
                }

                break;
            case Metric.DataOneofCase.Summary:
                foreach (var p in metric.Summary.DataPoints)
                {
                    yield return new MetricPoint(p, p.Attributes, [], p.TimeUnixNano, p.StartTimeUnixNano); // summaries carry no exemplars
                }

                break;
        }
    }
}
