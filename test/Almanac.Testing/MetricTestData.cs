using Almanac.Core.Model;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Testing;

/// <summary>Builders for metrics of every OTLP type, one point at a time, in the CreateSpan style.</summary>
public static class MetricTestData
{
    public const long Second = 1_000_000_000;

    public static NumberDataPoint Number(long timeUnixNano, double value, long startUnixNano = 0, params KeyValue[] attributes)
    {
        var p = new NumberDataPoint { TimeUnixNano = (ulong)timeUnixNano, StartTimeUnixNano = (ulong)startUnixNano, AsDouble = value };
        p.Attributes.Add(attributes);
        return p;
    }

    public static NumberDataPoint IntNumber(long timeUnixNano, long value, long startUnixNano = 0, params KeyValue[] attributes)
    {
        var p = new NumberDataPoint { TimeUnixNano = (ulong)timeUnixNano, StartTimeUnixNano = (ulong)startUnixNano, AsInt = value };
        p.Attributes.Add(attributes);
        return p;
    }

    public static Metric Gauge(string name, params NumberDataPoint[] points)
    {
        var m = new Metric { Name = name, Unit = "1", Description = name + " gauge", Gauge = new Gauge() };
        m.Gauge.DataPoints.Add(points);
        return m;
    }

    public static Metric Sum(string name, AggregationTemporality temporality, bool monotonic, params NumberDataPoint[] points)
    {
        var m = new Metric { Name = name, Unit = "{roll}", Description = name + " sum", Sum = new Sum { AggregationTemporality = temporality, IsMonotonic = monotonic } };
        m.Sum.DataPoints.Add(points);
        return m;
    }

    public static HistogramDataPoint HistogramPoint(long timeUnixNano, long startUnixNano, double[] bounds, ulong[] counts, params KeyValue[] attributes)
    {
        var p = new HistogramDataPoint
        {
            TimeUnixNano = (ulong)timeUnixNano,
            StartTimeUnixNano = (ulong)startUnixNano,
            Count = (ulong)counts.Sum(c => (long)c),
            Sum = 0,
        };
        p.ExplicitBounds.Add(bounds);
        p.BucketCounts.Add(counts);
        p.Attributes.Add(attributes);
        return p;
    }

    public static Metric Histogram(string name, AggregationTemporality temporality, params HistogramDataPoint[] points)
    {
        var m = new Metric { Name = name, Unit = "ms", Description = name + " histogram", Histogram = new Histogram { AggregationTemporality = temporality } };
        m.Histogram.DataPoints.Add(points);
        return m;
    }

    public static ExponentialHistogramDataPoint ExponentialPoint(long timeUnixNano, long startUnixNano, int scale, int offset, ulong[] positive, ulong zeroCount = 0, params KeyValue[] attributes)
    {
        var p = new ExponentialHistogramDataPoint
        {
            TimeUnixNano = (ulong)timeUnixNano,
            StartTimeUnixNano = (ulong)startUnixNano,
            Scale = scale,
            ZeroCount = zeroCount,
            Count = zeroCount + (ulong)positive.Sum(c => (long)c),
            Positive = new ExponentialHistogramDataPoint.Types.Buckets { Offset = offset },
        };
        p.Positive.BucketCounts.Add(positive);
        p.Attributes.Add(attributes);
        return p;
    }

    public static Metric ExponentialHistogram(string name, AggregationTemporality temporality, params ExponentialHistogramDataPoint[] points)
    {
        var m = new Metric { Name = name, Unit = "ms", Description = name + " exponential histogram", ExponentialHistogram = new ExponentialHistogram { AggregationTemporality = temporality } };
        m.ExponentialHistogram.DataPoints.Add(points);
        return m;
    }

    public static Metric Summary(string name, long timeUnixNano, params (double Quantile, double Value)[] quantiles)
    {
        var p = new SummaryDataPoint { TimeUnixNano = (ulong)timeUnixNano, Count = 10, Sum = 100 };
        foreach (var (q, v) in quantiles)
        {
            p.QuantileValues.Add(new SummaryDataPoint.Types.ValueAtQuantile { Quantile = q, Value = v });
        }

        var m = new Metric { Name = name, Unit = "s", Description = name + " summary", Summary = new Summary() };
        m.Summary.DataPoints.Add(p);
        return m;
    }

    public static Exemplar Exemplar(long timeUnixNano, double value, TraceId traceId, SpanId spanId) => new()
    {
        TimeUnixNano = (ulong)timeUnixNano,
        AsDouble = value,
        TraceId = ByteString.CopyFrom(traceId.ToBytes()),
        SpanId = ByteString.CopyFrom(spanId.ToBytes()),
    };

    public static MetricData ToMetricData(Metric metric, Resource? resource = null, InstrumentationScope? scope = null)
    {
        resource ??= TestData.CreateResource();
        return new MetricData(ServiceNames.Of(resource), resource, string.Empty, scope ?? TestData.CreateScope(), string.Empty, metric);
    }
}
