using Almanac.Core.Model;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>Search across many write batches: what a user sees when data arrives over time and out of order.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task FindTraceIds_ManyBatchesWithInterleavedTimes_ReturnsNewestFirstAcrossThem()
    {
        var store = await OpenAsync();
        // 40 writes of 5 traces; write w holds traces starting at w, w + 40, w + 80, ... ms: every write spans the
        // whole time range, as exports from many SDKs do.
        var starts = new Dictionary<TraceId, long>();
        for (var w = 0; w < 40; w++)
        {
            var spans = new List<SpanData>();
            for (var j = 0; j < 5; j++)
            {
                var id = NewTraceId();
                var offset = w + (40 * j);
                starts[id] = T(offset);
                spans.Add(Data(CreateSpan(id, startUnixNano: T(offset), attributes: [Attr("parity", offset % 2)]), offset % 3 == 0 ? "a" : "b"));
            }

            await store.WriteAsync(new TelemetryBatch(spans, w + 1));
        }

        var newest = starts.OrderByDescending(s => s.Value).ThenBy(s => s.Key).Select(s => s.Key).ToList();
        Assert.Equal(newest.Take(7), await store.FindTraceIdsAsync(new TraceQuery { Limit = 7 }));
        Assert.Equal(newest.Where(id => (starts[id] - T(0)) / Ms % 2 == 1).Take(9),
            await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("parity", "1")], Limit = 9 }));
        Assert.Equal(newest.Where(id => (starts[id] - T(0)) / Ms % 3 == 0).Take(5),
            await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "a", Limit = 5 }));
        Assert.Equal(newest.Where(id => starts[id] <= T(100)).Take(4),
            await store.FindTraceIdsAsync(new TraceQuery { StartTimeMaxUnixNano = T(100), Limit = 4 }));
    }

    [Fact]
    public async Task FindTraceIds_LateArrivingOldSpans_AreFoundAndMoveTheirTraceBack()
    {
        var store = await OpenAsync();
        var recent = NewTraceId();
        var middle = NewTraceId();
        var late = NewTraceId();
        await Write(store, 1, Data(CreateSpan(recent, startUnixNano: T(1_000), attributes: [Attr("user", "u1")])));
        await Write(store, 2, Data(CreateSpan(middle, startUnixNano: T(900), attributes: [Attr("user", "u1")])));
        // Written last, started first: a span of a trace nothing else matched, and an early span of `recent`.
        await Write(store, 3,
            Data(CreateSpan(late, startUnixNano: T(100), attributes: [Attr("user", "u1")])),
            Data(CreateSpan(recent, startUnixNano: T(50))));

        // `recent` now starts at 50 ms, so it sorts after the other two.
        Assert.Equal([middle, late, recent], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("user", "u1")] }));
        Assert.Equal([middle], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("user", "u1")], Limit = 1 }));
        Assert.Equal([late], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("user", "u1")], StartTimeMaxUnixNano = T(500) }));
    }

    [Fact]
    public async Task FindTraceIds_AttributeServiceAndDurationAcrossBatches_MatchOnlyTogetherOnOneSpan()
    {
        var store = await OpenAsync();
        var hit = NewTraceId();
        var wrongService = NewTraceId();
        var tooFast = NewTraceId();
        var splitAcrossSpans = NewTraceId();
        var olderHit = NewTraceId();
        await Write(store, 1, Data(CreateSpan(olderHit, startUnixNano: T(10), durationNanos: 900 * Ms, attributes: [Attr("http.response.status_code", 500)]), "api"));
        for (var i = 0; i < 20; i++)
        {
            // Unrelated batches in between: the search must reach past them.
            await Write(store, 2 + i, Data(CreateSpan(NewTraceId(), startUnixNano: T(100 + i), durationNanos: 900 * Ms, attributes: [Attr("http.response.status_code", 200)]), "api"));
        }

        await Write(store, 30,
            Data(CreateSpan(hit, startUnixNano: T(500), durationNanos: 800 * Ms, attributes: [Attr("http.response.status_code", 500)]), "api"),
            Data(CreateSpan(wrongService, startUnixNano: T(510), durationNanos: 800 * Ms, attributes: [Attr("http.response.status_code", 500)]), "web"),
            Data(CreateSpan(tooFast, startUnixNano: T(520), durationNanos: 2 * Ms, attributes: [Attr("http.response.status_code", 500)]), "api"));
        await Write(store, 31,
            Data(CreateSpan(splitAcrossSpans, startUnixNano: T(530), durationNanos: 800 * Ms, attributes: [Attr("http.response.status_code", 200)]), "api"),
            Data(CreateSpan(splitAcrossSpans, startUnixNano: T(531), durationNanos: 1 * Ms, attributes: [Attr("http.response.status_code", 500)]), "api"));

        var query = new TraceQuery { ServiceName = "api", DurationMinNanos = 500 * Ms, Attributes = [new("http.response.status_code", "500")] };
        Assert.Equal([hit, olderHit], await store.FindTraceIdsAsync(query));
        Assert.Equal([hit], await store.FindTraceIdsAsync(query with { Limit = 1 }));
        Assert.Equal([olderHit], await store.FindTraceIdsAsync(query with { DurationMinNanos = 850 * Ms }));
        Assert.Empty(await store.FindTraceIdsAsync(query with { DurationMinNanos = 2_000 * Ms }));
        Assert.Equal([splitAcrossSpans, tooFast], await store.FindTraceIdsAsync(query with { DurationMinNanos = null, DurationMaxNanos = 5 * Ms }));
    }

    [Fact]
    public async Task FindTraceIds_SameStartInDifferentBatches_TieGoesToTheSmallerTraceId()
    {
        var store = await OpenAsync();
        var smaller = NewTraceId();
        var larger = NewTraceId();
        // The larger id is written first, beside a newer span, so it is the one a newest-first search meets first.
        await Write(store, 1,
            Data(CreateSpan(larger, startUnixNano: T(10), attributes: [Attr("k", "v")])),
            Data(CreateSpan(NewTraceId(), startUnixNano: T(20))));
        await Write(store, 2, Data(CreateSpan(smaller, startUnixNano: T(10), attributes: [Attr("k", "v")])));

        Assert.Equal([smaller], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("k", "v")], Limit = 1 }));
        Assert.Equal([smaller, larger], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("k", "v")] }));
    }

    [Fact]
    public async Task FindTraceIds_AfterRetention_FindsOnlyWhatIsLeftAndWhatComesNext()
    {
        var store = await OpenAsync();
        var ids = new List<TraceId>();
        for (var w = 0; w < 10; w++)
        {
            var id = NewTraceId();
            ids.Add(id);
            await Write(store, w + 1, Data(CreateSpan(id, startUnixNano: T(w * 100), attributes: [Attr("k", "v")])));
        }

        await store.DeleteOlderThanAsync(T(450));

        Assert.Equal(Enumerable.Range(5, 5).Reverse().Select(i => ids[i]), await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("k", "v")] }));
        var after = NewTraceId();
        var oldAgain = NewTraceId();
        await Write(store, 20, Data(CreateSpan(after, startUnixNano: T(2_000), attributes: [Attr("k", "v")])));
        await Write(store, 21, Data(CreateSpan(oldAgain, startUnixNano: T(300), attributes: [Attr("k", "w")])));
        Assert.Equal([after, ids[9]], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("k", "v")], Limit = 2 }));
        Assert.Equal([oldAgain], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("k", "w")] }));
    }
}
