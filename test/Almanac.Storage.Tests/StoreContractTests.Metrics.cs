using Almanac.Core.Metrics;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp;
using Almanac.Testing;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using static Almanac.Testing.MetricTestData;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>The metric half of the contract: every point type kept exactly, the catalogue, filters, retention.</summary>
public abstract partial class StoreContractTests
{
    private static Task WriteMetrics(ITelemetryStore store, long checkpoint, params MetricData[] metrics) =>
        store.WriteAsync(new TelemetryBatch([], [], metrics, checkpoint));

    private static MetricData M(Metric metric, string service = "svc", Resource? resource = null) =>
        MetricTestData.ToMetricData(metric, resource ?? CreateResource(service));

    private static Task<IReadOnlyList<MetricData>> Points(ITelemetryStore store, string name, string service = "svc", params (string Key, string Value)[] attributes) =>
        store.GetMetricPointsAsync(new MetricPointQuery
        {
            ServiceName = service,
            MetricName = name,
            Attributes = attributes.Select(a => KeyValuePair.Create(a.Key, a.Value)).ToList(),
        });

    /// <summary>Each point of a metric as its own single-point metric: the shape the reader answers in.</summary>
    private static List<Metric> OnePerPoint(Metric metric)
    {
        var result = new List<Metric>();
        foreach (var point in MetricDataPoints.Enumerate(metric))
        {
            var single = MetricPoints.Header(metric);
            MetricPoints.AddPoint(single, Google.Protobuf.MessageExtensions.ToByteArray(point.Point));
            result.Add(single);
        }

        return result;
    }

    private static IEnumerable<Metric> AllTypes()
    {
        var traceId = NewTraceId();
        var spanId = NewSpanId();
        var counterPoint = IntNumber(T(1_000), 7, T(0), Attr("roll.value", 3L));
        counterPoint.Exemplars.Add(MetricTestData.Exemplar(T(900), 7, traceId, spanId));
        counterPoint.Exemplars[0].FilteredAttributes.Add(Attr("user", "ada"));
        yield return Sum("rolls", AggregationTemporality.Cumulative, true, counterPoint, IntNumber(T(2_000), 9, T(0), Attr("roll.value", 3L)));
        yield return Sum("queue", AggregationTemporality.Delta, false, Number(T(1_000), -2.5, T(0)));
        yield return Gauge("temperature", Number(T(1_000), 21.5, 0, Attr("room", "kitchen")), Number(T(1_000), 19, 0, Attr("room", "hall")));
        var histogramPoint = HistogramPoint(T(1_000), T(0), [5, 10, 25], [1, 2, 3, 4], Attr("http.route", "/rolldice"));
        histogramPoint.Min = 1;
        histogramPoint.Max = 90;
        histogramPoint.Sum = 300;
        histogramPoint.Flags = 1;
        histogramPoint.Exemplars.Add(MetricTestData.Exemplar(T(950), 42, traceId, spanId));
        yield return Histogram("latency", AggregationTemporality.Cumulative, histogramPoint);
        var exponential = ExponentialPoint(T(1_000), T(0), scale: 3, offset: -2, positive: [1, 0, 5], zeroCount: 2);
        exponential.Negative = new ExponentialHistogramDataPoint.Types.Buckets { Offset = 1 };
        exponential.Negative.BucketCounts.Add([4]);
        exponential.ZeroThreshold = 0.001;
        yield return ExponentialHistogram("sizes", AggregationTemporality.Delta, exponential);
        yield return Summary("gc", T(1_000), (0, 0.1), (0.5, 1.5), (1, 9));
    }

    // ---------------------------------------------------------------- metrics

    [Fact]
    public async Task Metrics_EveryPointType_RoundTripsExactly()
    {
        var store = await OpenAsync();
        var resource = CreateResource("dice", Attr("host.name", "box"));
        var metrics = AllTypes().ToList();
        metrics[0].Metadata.Add(Attr("meta", "data"));
        await WriteMetrics(store, 1, metrics.Select(m => M(m, resource: resource)).ToArray());

        foreach (var metric in metrics)
        {
            var read = await Points(store, metric.Name, "dice");
            Assert.Equal(OnePerPoint(metric).OrderBy(m => m.ToString()), read.Select(r => r.Metric).OrderBy(m => m.ToString()));
            Assert.All(read, r =>
            {
                Assert.Equal(resource, r.Resource);
                Assert.Equal(CreateScope(), r.Scope);
                Assert.Equal("dice", r.ServiceName);
            });
        }
    }

    [Fact]
    public async Task Metrics_Catalogue_ListsNameTypeUnitDescriptionPerService()
    {
        var store = await OpenAsync();
        await WriteMetrics(store, 1, AllTypes().Select(m => M(m, "dice")).Append(M(Gauge("other.gauge", Number(T(5), 1)), "responder")).ToArray());

        Assert.Equal(["dice", "responder"], await store.GetMetricServicesAsync());
        var dice = await store.GetMetricsAsync("dice");
        Assert.Equal(["gc", "latency", "queue", "rolls", "sizes", "temperature"], dice.Select(m => m.Name));
        var rolls = Assert.Single(dice, m => m.Name == "rolls");
        Assert.Equal(new MetricInfo("dice", "rolls", MetricType.Sum, "{roll}", "rolls sum", MetricTemporality.Cumulative, true, T(2_000)), rolls);
        Assert.Equal(MetricType.Histogram, Assert.Single(dice, m => m.Name == "latency").Type);
        Assert.Equal(MetricType.ExponentialHistogram, Assert.Single(dice, m => m.Name == "sizes").Type);
        Assert.Equal(MetricType.Summary, Assert.Single(dice, m => m.Name == "gc").Type);
        Assert.Equal(MetricTemporality.Delta, Assert.Single(dice, m => m.Name == "queue").Temporality);
        Assert.False(Assert.Single(dice, m => m.Name == "queue").IsMonotonic);
        Assert.Equal(7, (await store.GetMetricsAsync()).Count);
    }

    [Fact]
    public async Task Metrics_ManyDistinctInOneBatch_AllCatalogued()
    {
        var store = await OpenAsync();
        await WriteMetrics(store, 1, Enumerable.Range(0, 450).Select(i => M(Gauge($"g{i:D3}", Number(T(i), i)))).ToArray());

        var list = await store.GetMetricsAsync("svc");
        Assert.Equal(450, list.Count);
        Assert.Equal(T(449), list[^1].LastSeenUnixNano);
        Assert.Equal([449.0], (await Points(store, "g449")).Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));
    }

    [Fact]
    public async Task Metrics_NewDescription_ReplacesTheOldOne()
    {
        var store = await OpenAsync();
        var first = Gauge("g", Number(T(0), 1));
        var second = Gauge("g", Number(T(10), 2));
        second.Description = "better words";
        await WriteMetrics(store, 1, M(first));
        await WriteMetrics(store, 2, M(second));

        var info = Assert.Single(await store.GetMetricsAsync("svc"));
        Assert.Equal("better words", info.Description);
        Assert.Equal(T(10), info.LastSeenUnixNano);
    }

    [Fact]
    public async Task Metrics_Points_FilteredByTimeAndAttributesOfPointOrResource()
    {
        var store = await OpenAsync();
        var metric = Gauge("temperature",
            Number(T(0), 1, 0, Attr("room", "kitchen")),
            Number(T(1_000), 2, 0, Attr("room", "kitchen")),
            Number(T(2_000), 3, 0, Attr("room", "hall"), Attr("floor", 2L)));
        await WriteMetrics(store, 1, M(metric, resource: CreateResource("svc", Attr("host.name", "box"))), M(Gauge("temperature", Number(T(500), 9)), "svc"));

        var all = await Points(store, "temperature");
        Assert.Equal([1.0, 9, 2, 3], all.Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));
        Assert.Equal([1.0, 2], (await Points(store, "temperature", "svc", ("room", "kitchen"))).Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));
        Assert.Equal([3.0], (await Points(store, "temperature", "svc", ("floor", "2"))).Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));
        Assert.Equal(3, (await Points(store, "temperature", "svc", ("host.name", "box"))).Count);
        Assert.Empty(await Points(store, "temperature", "svc", ("room", "attic")));
        Assert.Empty(await Points(store, "temperature", "other"));

        var windowed = await store.GetMetricPointsAsync(new MetricPointQuery
        {
            ServiceName = "svc",
            MetricName = "temperature",
            StartTimeMinUnixNano = T(500),
            StartTimeMaxUnixNano = T(1_000),
        });
        Assert.Equal([9.0, 2], windowed.Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));

        var limited = await store.GetMetricPointsAsync(new MetricPointQuery { ServiceName = "svc", MetricName = "temperature", Limit = 2 });
        Assert.Equal([1.0, 9], limited.Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));
    }

    [Fact]
    public async Task Metrics_WithSpansInOneBatch_CommitTogetherWithTheCheckpoint()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(traceId, startUnixNano: T(0)))], [], [M(Gauge("g", Number(T(0), 1)))], 42));

        Assert.Equal(42, await store.GetCheckpointAsync());
        Assert.NotNull(await store.GetTraceAsync(traceId));
        Assert.Single(await Points(store, "g"));
    }

    [Fact]
    public async Task Metrics_Reopened_AreStillThere()
    {
        var store = await OpenAsync();
        if (!store.Capabilities.HasFlag(StoreCapabilities.Durable))
        {
            return;
        }

        await WriteMetrics(store, 5, AllTypes().Select(m => M(m)).ToArray());
        store = await ReopenAsync(store);

        Assert.Equal(5, await store.GetCheckpointAsync());
        Assert.Equal(6, (await store.GetMetricsAsync("svc")).Count);
        Assert.Equal(2, (await Points(store, "rolls")).Count);
        Assert.Single((await Points(store, "latency")).Single().Metric.Histogram.DataPoints.Single().Exemplars);
    }

    [Fact]
    public async Task DeleteOlderThan_Metrics_DeletesOldPointsAndForgottenMetrics()
    {
        var store = await OpenAsync();
        await WriteMetrics(store, 1,
            M(Gauge("old", Number(T(0), 1))),
            M(Gauge("steady", Number(T(0), 1), Number(T(200), 2))));

        await store.DeleteOlderThanAsync(T(100));

        Assert.Empty(await Points(store, "old"));
        Assert.Equal([2.0], (await Points(store, "steady")).Select(p => p.Metric.Gauge.DataPoints.Single().AsDouble));
        Assert.Equal(["steady"], (await store.GetMetricsAsync("svc")).Select(m => m.Name));
    }
}
