using Almanac.Core.Metrics;
using Almanac.Core.Model;
using Almanac.Testing;
using OpenTelemetry.Proto.Metrics.V1;
using static Almanac.Testing.MetricTestData;

namespace Almanac.Core.Tests.Metrics;

public sealed class MetricSeriesTests
{
    private static readonly long T0 = TestData.BaseTimeUnixNano;

    private static SeriesRequest Window(long seconds, long stepSeconds = 10, params string[] groupBy) =>
        new(T0, T0 + (seconds * Second), stepSeconds * Second, groupBy);

    private static IReadOnlyList<SeriesPoint> OnlyLine(SeriesResult result, string name)
    {
        var group = Assert.Single(result.Groups);
        return Assert.Single(group.Lines, l => l.Name == name).Points;
    }

    private static (long Offset, double Value)[] Simple(IEnumerable<SeriesPoint> points) =>
        points.Select(p => ((p.TimeUnixNano - T0) / Second, Math.Round(p.Value, 6))).ToArray();

    [Fact]
    public void Rate_CumulativeCounterWithResets_CountsTheNewValueAsIncreaseAfterAReset()
    {
        var before = T0 - (100 * Second);
        var restarted = T0 + (25 * Second);
        var metric = Sum("dice.rolls", AggregationTemporality.Cumulative, true,
            Number(T0 + (10 * Second), 10, before),
            Number(T0 + (20 * Second), 30, before),
            Number(T0 + (30 * Second), 5, restarted),   // the process restarted: new start time
            Number(T0 + (40 * Second), 25, restarted),
            Number(T0 + (50 * Second), 3, restarted));  // dropped with the same start time: also a reset

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(55));

        Assert.Equal("rate", result.Kind);
        // The first point started before the window: it is only the baseline. After the restart the 5 accrued in
        // the 5 s since the new start time; the drop at 50 s (same start) counts 3 over the 10 s since the last point.
        Assert.Equal([(20, 2.0), (30, 1.0), (40, 2.0), (50, 0.3)], Simple(OnlyLine(result, "rate")));
        Assert.Equal(20 + 5 + 20 + 3, Assert.Single(result.Groups).Increase);
    }

    [Fact]
    public void Rate_CounterStartedInsideTheWindow_CountsItsFirstValue()
    {
        var metric = Sum("c", AggregationTemporality.Cumulative, true, Number(T0 + (10 * Second), 40, T0 + (5 * Second)));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(30));

        Assert.Equal([(10, 8.0)], Simple(OnlyLine(result, "rate"))); // 40 in the 5 s since it started
        Assert.Equal(40, Assert.Single(result.Groups).Increase);
    }

    [Fact]
    public void Rate_DeltaAndCumulativeOfTheSameCounts_Agree()
    {
        var start = T0 - Second;
        var cumulative = Sum("c", AggregationTemporality.Cumulative, true,
            Number(T0, 100, start), Number(T0 + (10 * Second), 120, start), Number(T0 + (20 * Second), 125, start), Number(T0 + (30 * Second), 145, start));
        var delta = Sum("c", AggregationTemporality.Delta, true,
            Number(T0 + (10 * Second), 20, T0), Number(T0 + (20 * Second), 5, T0 + (10 * Second)), Number(T0 + (30 * Second), 20, T0 + (20 * Second)));
        var window = new SeriesRequest(T0 + Second, T0 + (35 * Second), 10 * Second, []);

        var fromCumulative = Simple(OnlyLine(MetricSeries.Compute([MetricTestData.ToMetricData(cumulative)], window), "rate"));
        var fromDelta = Simple(OnlyLine(MetricSeries.Compute([MetricTestData.ToMetricData(delta)], window), "rate"));

        Assert.Equal([(1, 2.0), (11, 0.5), (21, 2.0)], fromCumulative);
        Assert.Equal(fromCumulative, fromDelta);
    }

    [Fact]
    public void Rate_StepShorterThanTheExportInterval_StillTheTrueRate()
    {
        var start = T0 - Second;
        var metric = Sum("c", AggregationTemporality.Cumulative, true,
            Number(T0, 0, start), Number(T0 + (60 * Second), 60, start), Number(T0 + (120 * Second), 180, start));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(130, 10));

        // A point every minute, a 10 s step: the steps with a point show the rate over the minute before it.
        Assert.Equal([(60, 1.0), (120, 2.0)], Simple(OnlyLine(result, "rate")));
    }

    [Fact]
    public void Rate_GroupOfTwoSeries_SumsTheirRates()
    {
        var start = T0 - Second;
        var metric = Sum("c", AggregationTemporality.Cumulative, true,
            Number(T0, 0, start, TestData.Attr("host", "a")), Number(T0 + (10 * Second), 10, start, TestData.Attr("host", "a")),
            Number(T0, 0, start, TestData.Attr("host", "b")), Number(T0 + (10 * Second), 30, start, TestData.Attr("host", "b")));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(15));

        Assert.Equal([(10, 4.0)], Simple(OnlyLine(result, "rate")));
        Assert.Equal(40, Assert.Single(result.Groups).Increase);
    }

    [Fact]
    public void Value_Gauge_GroupByAttribute_MeanOfEachSeriesPerGroup()
    {
        var metric = Gauge("temperature",
            Number(T0 + Second, 10, 0, TestData.Attr("room", "a"), TestData.Attr("sensor", "1")),
            Number(T0 + Second, 20, 0, TestData.Attr("room", "a"), TestData.Attr("sensor", "2")),
            Number(T0 + Second, 5, 0, TestData.Attr("room", "b"), TestData.Attr("sensor", "3")));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(10, 10, "room"));

        Assert.Equal("value", result.Kind);
        Assert.Equal(2, result.Groups.Count);
        var a = Assert.Single(result.Groups, g => g.Labels["room"] == "a");
        var b = Assert.Single(result.Groups, g => g.Labels["room"] == "b");
        Assert.Equal(15, Assert.Single(Assert.Single(a.Lines).Points).Value);
        Assert.Equal(5, Assert.Single(Assert.Single(b.Lines).Points).Value);
    }

    [Fact]
    public void Percentiles_ExplicitBuckets_InterpolateWithinTheBucket()
    {
        var metric = Histogram("latency", AggregationTemporality.Delta,
            HistogramPoint(T0 + Second, T0, [10, 20, 50], [0, 10, 10, 0]));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(10));

        Assert.Equal("percentiles", result.Kind);
        var lines = Assert.Single(result.Groups).Lines.ToDictionary(l => l.Name, l => Math.Round(Assert.Single(l.Points).Value, 6));
        Assert.Equal(20, lines["p50"]);   // rank 10 of 20: the top of (10, 20]
        Assert.Equal(47, lines["p95"]);   // rank 19: 9 of the 10 in (20, 50]
        Assert.Equal(49.4, lines["p99"]);
    }

    [Fact]
    public void Percentiles_CumulativeHistogram_UseTheObservationsOfEachStepOnly()
    {
        var start = T0 - Second;
        var metric = Histogram("latency", AggregationTemporality.Cumulative,
            HistogramPoint(T0 + Second, start, [10, 20, 50], [0, 10, 0, 0]),
            HistogramPoint(T0 + (11 * Second), start, [10, 20, 50], [0, 10, 10, 0]));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(20));

        // The first point only sets the baseline (it started before the window); the second step saw 10 values in (20, 50].
        var p50 = Assert.Single(Assert.Single(result.Groups).Lines, l => l.Name == "p50").Points;
        Assert.Equal([(10, 35.0)], Simple(p50));
    }

    [Fact]
    public void Percentiles_OverflowBucket_AnswerItsLowerBound()
    {
        var d = Distribution.Of(HistogramPoint(T0, T0, [10, 20, 50], [0, 0, 0, 5]));

        Assert.Equal(50, d.Quantile(0.5));
    }

    [Fact]
    public void Percentiles_ExponentialBuckets_UseBaseAndScale()
    {
        // Scale 0: base 2, bucket i holds (2^i, 2^(i+1)]; 4 values in (2, 4] and 4 in (4, 8].
        var point = ExponentialPoint(T0 + Second, T0, scale: 0, offset: 1, positive: [4, 4]);
        var d = Distribution.Of(point, 0);

        Assert.Equal(3, d.Quantile(0.25));
        Assert.Equal(4, d.Quantile(0.5));
        Assert.Equal(6, d.Quantile(0.75));

        // Scale 1: base √2; index 2 is (2, 2√2].
        var fine = Distribution.Of(ExponentialPoint(T0, T0, scale: 1, offset: 2, positive: [2]), 1);
        var bucket = Assert.Single(fine.Buckets);
        Assert.Equal(2, bucket.Lower, 9);
        Assert.Equal(2 * Math.Sqrt(2), bucket.Upper, 9);

        // Read at scale 0, indexes 2 and 3 of scale 1 merge into index 1: (2, 4].
        var coarse = Distribution.Of(ExponentialPoint(T0, T0, scale: 1, offset: 2, positive: [1, 1]), 0);
        var merged = Assert.Single(coarse.Buckets);
        Assert.Equal((2.0, 4.0, 2.0), (merged.Lower, merged.Upper, merged.Count));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(ExponentialHistogram("e", AggregationTemporality.Delta, point))], Window(10));
        Assert.Equal(4, Assert.Single(Assert.Single(result.Groups).Lines, l => l.Name == "p50").Points.Single().Value, 9);
    }

    [Fact]
    public void Percentiles_CumulativeExponentialHistogramThatChangesScale_DiffsAtTheCoarserScale()
    {
        var start = T0 - Second;
        var metric = ExponentialHistogram("e", AggregationTemporality.Cumulative,
            ExponentialPoint(T0 + Second, start, scale: 1, offset: 2, positive: [3, 3]),       // (2, 4] at scale 0: 6
            ExponentialPoint(T0 + (11 * Second), start, scale: 0, offset: 1, positive: [6, 4])); // plus 4 in (4, 8]

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(20));

        var p50 = Assert.Single(Assert.Single(result.Groups).Lines, l => l.Name == "p50").Points;
        Assert.Equal([(10, 6.0)], Simple(p50));
    }

    [Fact]
    public void Summary_ReportedQuantiles_BecomeLines()
    {
        var metric = Summary("s", T0 + Second, (0.5, 1.5), (0.99, 9));

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(10));

        var group = Assert.Single(result.Groups);
        Assert.Equal(["p50", "p99"], group.Lines.Select(l => l.Name));
        Assert.Equal(9, group.Lines[1].Points.Single().Value);
    }

    [Fact]
    public void Exemplars_InTheWindow_AreReturnedWithTheirTraceAndSpan()
    {
        var traceId = TestData.NewTraceId();
        var spanId = TestData.NewSpanId();
        var point = Number(T0 + Second, 1, T0);
        point.Exemplars.Add(MetricTestData.Exemplar(T0 + Second, 1, traceId, spanId));
        point.Exemplars.Add(MetricTestData.Exemplar(T0 + (100 * Second), 1, traceId, spanId)); // outside the window
        var metric = Sum("c", AggregationTemporality.Delta, true, point);

        var result = MetricSeries.Compute([MetricTestData.ToMetricData(metric)], Window(10));

        var exemplar = Assert.Single(Assert.Single(result.Groups).Exemplars);
        Assert.Equal(traceId.ToString(), exemplar.TraceId);
        Assert.Equal(spanId.ToString(), exemplar.SpanId);
        Assert.Equal(T0 + Second, exemplar.TimeUnixNano);
    }

    [Fact]
    public void Compute_TooManySteps_IsRejected()
    {
        Assert.Throws<ArgumentException>(() => MetricSeries.Compute([], new SeriesRequest(T0, T0 + (3_000 * Second), Second, [])));
    }

    [Fact]
    public void DefaultStep_OneHour_IsThirtySeconds()
    {
        Assert.Equal(30 * Second, SeriesRequest.DefaultStep(T0, T0 + (3600 * Second)));
    }
}
