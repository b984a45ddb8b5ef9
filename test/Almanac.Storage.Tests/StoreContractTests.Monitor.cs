using Almanac.Core.Model;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>Span-derived RED metrics (Jaeger's Monitor tab): what every backend's GetSpanMetricsAsync must answer.</summary>
public abstract partial class StoreContractTests
{
    private static SpanMetricsQuery Metrics(params string[] services) => new()
    {
        ServiceNames = services,
        EndUnixNano = T(60_000),
        LookbackNano = 60 * Second,
        StepNano = 10 * Second,
        Quantiles = [0.5, 0.95, 0.99],
    };

    private static SpanData MonitorSpan(string service, long startMs, long durationMs = 10, string name = "GET /",
        Span.Types.SpanKind kind = Span.Types.SpanKind.Server, bool error = false) =>
        Data(CreateSpan(NewTraceId(), name: name, kind: kind, startUnixNano: T(startMs), durationNanos: durationMs * Ms,
            status: error ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Ok), service);

    [Fact]
    public async Task SpanMetrics_SpansInBuckets_CountsCallsAndErrorsPerSampleTime()
    {
        var store = await OpenAsync();
        await Write(store, 1,
            MonitorSpan("api", 1_000), MonitorSpan("api", 2_000, error: true), MonitorSpan("api", 10_000),
            MonitorSpan("api", 15_000, error: true), MonitorSpan("api", 55_000),
            MonitorSpan("other", 3_000));

        var series = await store.GetSpanMetricsAsync(Metrics("api"));

        var only = Assert.Single(series);
        Assert.Equal("api", only.Service);
        Assert.Null(only.Operation);
        // A sample at t covers spans that started in (t - step, t]: 1 s, 2 s and 10 s land on 10 s.
        Assert.Equal(
            [(T(10_000), 3L, 1L), (T(20_000), 1L, 1L), (T(60_000), 1L, 0L)],
            only.Points.Select(p => (p.TimestampUnixNano, p.Calls, p.Errors)).ToArray());
    }

    [Fact]
    public async Task SpanMetrics_Durations_InterpolatedQuantilesInNanoseconds()
    {
        var store = await OpenAsync();
        await Write(store, 1,
            MonitorSpan("api", 11_000, durationMs: 40), MonitorSpan("api", 12_000, durationMs: 10),
            MonitorSpan("api", 13_000, durationMs: 30), MonitorSpan("api", 14_000, durationMs: 20));

        var point = Assert.Single(Assert.Single(await store.GetSpanMetricsAsync(Metrics("api"))).Points);

        Assert.Equal(T(20_000), point.TimestampUnixNano);
        Assert.Equal(3, point.LatencyQuantilesNano.Count);
        Assert.Equal(25 * Ms, point.LatencyQuantilesNano[0], 3);
        Assert.Equal(38.5 * Ms, point.LatencyQuantilesNano[1], 3);
        Assert.Equal(39.7 * Ms, point.LatencyQuantilesNano[2], 3);
    }

    [Fact]
    public async Task SpanMetrics_NoQuantilesAsked_PointsCarryNone()
    {
        var store = await OpenAsync();
        await Write(store, 1, MonitorSpan("api", 11_000));

        var point = Assert.Single(Assert.Single(await store.GetSpanMetricsAsync(Metrics("api") with { Quantiles = [] })).Points);

        Assert.Empty(point.LatencyQuantilesNano);
        Assert.Equal(1, point.Calls);
    }

    [Fact]
    public async Task SpanMetrics_KindFilter_ServerByDefaultChosenKindsOrAll()
    {
        var store = await OpenAsync();
        await Write(store, 1,
            MonitorSpan("api", 11_000, kind: Span.Types.SpanKind.Server),
            MonitorSpan("api", 12_000, kind: Span.Types.SpanKind.Client),
            MonitorSpan("api", 13_000, kind: Span.Types.SpanKind.Consumer),
            MonitorSpan("api", 14_000, kind: Span.Types.SpanKind.Internal));

        async Task<long> Calls(SpanMetricsQuery q) => Assert.Single(Assert.Single(await store.GetSpanMetricsAsync(q)).Points).Calls;

        Assert.Equal(1, await Calls(Metrics("api")));
        Assert.Equal(2, await Calls(Metrics("api") with { SpanKinds = [Span.Types.SpanKind.Server, Span.Types.SpanKind.Consumer] }));
        Assert.Equal(1, await Calls(Metrics("api") with { SpanKinds = [Span.Types.SpanKind.Client] }));
        Assert.Equal(4, await Calls(Metrics("api") with { SpanKinds = [] }));
    }

    [Fact]
    public async Task SpanMetrics_GroupByOperation_OneSeriesPerOperationSortedByName()
    {
        var store = await OpenAsync();
        await Write(store, 1,
            MonitorSpan("api", 11_000, name: "POST /order", error: true), MonitorSpan("api", 12_000, name: "GET /"),
            MonitorSpan("api", 21_000, name: "GET /"), MonitorSpan("web", 11_000, name: "GET /home"));

        var grouped = await store.GetSpanMetricsAsync(Metrics("web", "api") with { GroupByOperation = true });

        Assert.Equal(
            [("api", "GET /"), ("api", "POST /order"), ("web", "GET /home")],
            grouped.Select(s => (s.Service, s.Operation!)).ToArray());
        Assert.Equal([(T(20_000), 1L, 0L), (T(30_000), 1L, 0L)], grouped[0].Points.Select(p => (p.TimestampUnixNano, p.Calls, p.Errors)).ToArray());
        Assert.Equal([(T(20_000), 1L, 1L)], grouped[1].Points.Select(p => (p.TimestampUnixNano, p.Calls, p.Errors)).ToArray());

        var perService = await store.GetSpanMetricsAsync(Metrics("web", "api"));
        Assert.Equal(["api", "web"], perService.Select(s => s.Service).ToArray());
        Assert.All(perService, s => Assert.Null(s.Operation));
        Assert.Equal(2, perService[0].Points[0].Calls);
    }

    [Fact]
    public async Task SpanMetrics_WindowLongerThanStep_SpanCountsInEveryWindowThatHoldsIt()
    {
        var store = await OpenAsync();
        await Write(store, 1, MonitorSpan("api", 5_000, durationMs: 7), MonitorSpan("api", 20_000, durationMs: 9));

        var series = Assert.Single(await store.GetSpanMetricsAsync(Metrics("api") with { WindowNano = 20 * Second }));

        // Windows (t - 20 s, t]: the 5 s span is in the windows ending at 10 s and 20 s; the 20 s span in 20 s and 30 s.
        Assert.Equal(
            [(T(10_000), 1L), (T(20_000), 2L), (T(30_000), 1L)],
            series.Points.Select(p => (p.TimestampUnixNano, p.Calls)).ToArray());
        Assert.Equal(8 * Ms, series.Points[1].LatencyQuantilesNano[0], 3);
    }

    [Theory]
    [InlineData(20_000)]
    [InlineData(25_000)]
    [InlineData(60_000)]
    public async Task SpanMetrics_OverlappingWindowsCountsOnly_SameAsWithQuantiles(long windowMs)
    {
        var store = await OpenAsync();
        await Write(store, 1,
            MonitorSpan("api", -30_000), MonitorSpan("api", -5_000, error: true), MonitorSpan("api", 0), MonitorSpan("api", 5_000),
            MonitorSpan("api", 10_000, error: true), MonitorSpan("api", 12_500), MonitorSpan("api", 20_000), MonitorSpan("api", 44_999),
            MonitorSpan("api", 59_999, error: true), MonitorSpan("api", 60_000), MonitorSpan("api", 60_001));
        var query = Metrics("api") with { WindowNano = windowMs * Ms, GroupByOperation = true };

        var counted = Assert.Single(await store.GetSpanMetricsAsync(query with { Quantiles = [] }));
        var withQuantiles = Assert.Single(await store.GetSpanMetricsAsync(query));

        Assert.Equal(
            withQuantiles.Points.Select(p => (p.TimestampUnixNano, p.Calls, p.Errors)).ToArray(),
            counted.Points.Select(p => (p.TimestampUnixNano, p.Calls, p.Errors)).ToArray());
        // Spot check against the definition: the sample at 20 s covers (20 s - window, 20 s].
        var expected = new long[] { -30_000, -5_000, 0, 5_000, 10_000, 12_500, 20_000 }.Count(s => s > 20_000 - windowMs);
        Assert.Equal(expected, counted.Points.Single(p => p.TimestampUnixNano == T(20_000)).Calls);
    }

    [Fact]
    public async Task SpanMetrics_SpansOutsideTheRange_NotCounted()
    {
        var store = await OpenAsync();
        // The first sample (at 0 s) covers (-10 s, 0 s]; a span at exactly -10 s or after the end is outside.
        await Write(store, 1, MonitorSpan("api", -10_000), MonitorSpan("api", -9_000), MonitorSpan("api", 60_001));

        var series = Assert.Single(await store.GetSpanMetricsAsync(Metrics("api")));

        Assert.Equal([(T(0), 1L)], series.Points.Select(p => (p.TimestampUnixNano, p.Calls)).ToArray());
        Assert.Empty(await store.GetSpanMetricsAsync(Metrics("nobody")));
    }

    [Fact]
    public async Task SpanMetrics_TooManyPoints_Refused()
    {
        var store = await OpenAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.GetSpanMetricsAsync(Metrics("api") with { StepNano = 1 * Ms, LookbackNano = 60 * Second }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetSpanMetricsAsync(Metrics("api") with { Quantiles = [1.5] }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetSpanMetricsAsync(Metrics() with { }));
    }
}
