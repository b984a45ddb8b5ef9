using Almanac.Core.Storage;
using Almanac.Otlp;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Core.Metrics;

/// <summary>Type-independent facts about a metric (its points: <see cref="Almanac.Otlp.MetricDataPoints"/>), so storage and the series maths need one code path.</summary>
public static class MetricPoints
{
    public static MetricType? TypeOf(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => MetricType.Gauge,
        Metric.DataOneofCase.Sum => MetricType.Sum,
        Metric.DataOneofCase.Histogram => MetricType.Histogram,
        Metric.DataOneofCase.ExponentialHistogram => MetricType.ExponentialHistogram,
        Metric.DataOneofCase.Summary => MetricType.Summary,
        _ => null,
    };

    public static MetricTemporality TemporalityOf(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Sum => (MetricTemporality)(int)metric.Sum.AggregationTemporality,
        Metric.DataOneofCase.Histogram => (MetricTemporality)(int)metric.Histogram.AggregationTemporality,
        Metric.DataOneofCase.ExponentialHistogram => (MetricTemporality)(int)metric.ExponentialHistogram.AggregationTemporality,
        _ => MetricTemporality.Unspecified,
    };

    public static bool IsMonotonic(Metric metric) => metric.DataCase == Metric.DataOneofCase.Sum && metric.Sum.IsMonotonic;

    /// <summary>The metric with its data points removed: name, description, unit, metadata, type, temporality, monotonicity.</summary>
    public static Metric Header(Metric metric)
    {
        var header = metric.Clone();
        switch (header.DataCase)
        {
            case Metric.DataOneofCase.Gauge: header.Gauge.DataPoints.Clear(); break;
            case Metric.DataOneofCase.Sum: header.Sum.DataPoints.Clear(); break;
            case Metric.DataOneofCase.Histogram: header.Histogram.DataPoints.Clear(); break;
            case Metric.DataOneofCase.ExponentialHistogram: header.ExponentialHistogram.DataPoints.Clear(); break;
            case Metric.DataOneofCase.Summary: header.Summary.DataPoints.Clear(); break;
        }

        return header;
    }

    /// <summary>Adds a point (serialized as the header's type's point message) to a header made by <see cref="Header"/>.</summary>
    public static void AddPoint(Metric header, ReadOnlySpan<byte> point)
    {
        switch (header.DataCase)
        {
            case Metric.DataOneofCase.Gauge: header.Gauge.DataPoints.Add(OtlpProtobuf.ParseAccepted<NumberDataPoint>(point)); break;
            case Metric.DataOneofCase.Sum: header.Sum.DataPoints.Add(OtlpProtobuf.ParseAccepted<NumberDataPoint>(point)); break;
            case Metric.DataOneofCase.Histogram: header.Histogram.DataPoints.Add(OtlpProtobuf.ParseAccepted<HistogramDataPoint>(point)); break;
            case Metric.DataOneofCase.ExponentialHistogram: header.ExponentialHistogram.DataPoints.Add(OtlpProtobuf.ParseAccepted<ExponentialHistogramDataPoint>(point)); break;
            case Metric.DataOneofCase.Summary: header.Summary.DataPoints.Add(OtlpProtobuf.ParseAccepted<SummaryDataPoint>(point)); break;
            default: throw new InvalidDataException("Stored metric has no type.");
        }
    }

    /// <summary>A number point's value as a double (ints convert; an absent value is NaN).</summary>
    public static double NumberValue(NumberDataPoint point) => point.ValueCase switch
    {
        NumberDataPoint.ValueOneofCase.AsDouble => point.AsDouble,
        NumberDataPoint.ValueOneofCase.AsInt => point.AsInt,
        _ => double.NaN,
    };

    public static double ExemplarValue(Exemplar exemplar) => exemplar.ValueCase switch
    {
        Exemplar.ValueOneofCase.AsDouble => exemplar.AsDouble,
        Exemplar.ValueOneofCase.AsInt => exemplar.AsInt,
        _ => double.NaN,
    };
}
