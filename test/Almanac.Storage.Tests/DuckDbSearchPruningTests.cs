using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>
/// The whole contract again with one search batch per write (the default groups writes until 16,384 spans, so the
/// contract's small writes would otherwise share one batch and pruning would never skip anything).
/// </summary>
public sealed class DuckDbOneBatchPerWriteStoreTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-batches-").FullName;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    protected override Task<ITelemetryStore> CreateStoreAsync() =>
        Task.FromResult<ITelemetryStore>(new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, batchGroupSpans: 1));

    protected override Task<ITelemetryStore> ReopenStoreAsync() => CreateStoreAsync();

    protected override Task CleanUpAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The whole contract again with filter blocks of two rows in groups of up to 64 spans, so searches read runs of
/// rows within batches (the default block is 8,192 rows, more than any contract write).
/// </summary>
public sealed class DuckDbSmallFilterBlocksStoreTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-blocks-").FullName;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    protected override Task<ITelemetryStore> CreateStoreAsync() =>
        Task.FromResult<ITelemetryStore>(new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, batchGroupSpans: 64, filterBlockRows: 2));

    protected override Task<ITelemetryStore> ReopenStoreAsync() => CreateStoreAsync();

    protected override Task CleanUpAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>DuckDB-specific: the pruned search answers exactly what a scan of every span answers.</summary>
public sealed class DuckDbSearchPruningTests : IAsyncLifetime
{
    private const long Ms = 1_000_000;
    private static readonly string[] Services = ["api", "db", "web"];
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-pruning-").FullName;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <param name="blockRows">Filter blocks per batch: the default is one per batch here (25-span batches); 4 rows
    /// make each batch several blocks, so searches read runs of rows within batches.</param>
    [Theory]
    [InlineData(BatchFilter.BlockRows)]
    [InlineData(4)]
    public async Task FindTraceIds_ManySmallBatchesWithInterleavedTimes_EqualsFullScan(int blockRows)
    {
        var random = new Random(1234);
        var queries = new List<TraceQuery>();
        var skipped = 0;
        await using (var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, batchGroupSpans: 25, filterBlockRows: blockRows))
        {
            await store.InitializeAsync();
            // 120 writes of 3..30 spans; each trace's spans land in up to three writes, starts jittered over ±2 s of
            // the write's time, and some writes carry spans from long ago (late arrivals).
            var open = new List<(TraceId Id, long Start)>();
            for (var w = 0; w < 120; w++)
            {
                var now = BaseTimeUnixNano + (w * 100 * Ms);
                var spans = new List<SpanData>();
                var count = random.Next(3, 31);
                for (var i = 0; i < count; i++)
                {
                    (TraceId Id, long Start) trace;
                    if (open.Count > 0 && random.Next(3) == 0)
                    {
                        trace = open[random.Next(open.Count)];
                    }
                    else
                    {
                        var start = random.Next(15) == 0 ? BaseTimeUnixNano - (random.Next(1, 5_000) * Ms) : now - (random.Next(0, 2_000) * Ms);
                        trace = (NewTraceId(), start);
                        open.Add(trace);
                        if (open.Count > 30)
                        {
                            open.RemoveAt(0);
                        }
                    }

                    var spanStart = trace.Start + (random.Next(0, 300) * Ms);
                    var attributes = new List<OpenTelemetry.Proto.Common.V1.KeyValue>
                    {
                        Attr("status", random.Next(10) == 0 ? 500 : 200),
                        Attr("user", "u" + random.Next(200)),
                    };
                    var events = random.Next(8) == 0
                        ? new[] { new Span.Types.Event { Name = "exception", Attributes = { Attr("exception.type", "E" + random.Next(5)) } } }
                        : [];
                    var service = Services[random.Next(Services.Length)];
                    var pod = "pod-" + random.Next(4);
                    spans.Add(ToSpanData(
                        CreateSpan(trace.Id, name: "op" + random.Next(4), startUnixNano: spanStart, durationNanos: random.Next(1, 1_000) * Ms,
                            kind: (Span.Types.SpanKind)random.Next(1, 6), attributes: attributes, events: events),
                        CreateResource(service, Attr("k8s.pod.name", pod))));
                }

                await store.WriteAsync(new TelemetryBatch(spans, w + 1));
            }

            for (var q = 0; q < 150; q++)
            {
                var query = new TraceQuery { Limit = random.Next(1, 40) };
                if (random.Next(2) == 0)
                {
                    query = query with { ServiceName = Services[random.Next(Services.Length)] };
                }

                if (random.Next(4) == 0)
                {
                    query = query with { OperationName = "op" + random.Next(5) };
                }

                if (random.Next(5) == 0)
                {
                    query = query with { SpanKind = (Span.Types.SpanKind)random.Next(1, 6) };
                }

                var attributes = new List<KeyValuePair<string, string>>();
                switch (random.Next(6))
                {
                    case 0:
                        attributes.Add(new("status", "500"));
                        break;
                    case 1:
                        attributes.Add(new("user", "u" + random.Next(220)));
                        break;
                    case 2:
                        attributes.Add(new("k8s.pod.name", "pod-" + random.Next(5)));
                        break;
                    case 3:
                        attributes.Add(new("exception.type", "E" + random.Next(6)));
                        attributes.Add(new("status", random.Next(2) == 0 ? "500" : "200"));
                        break;
                    case 4:
                        attributes.Add(new("missing.key", "x"));
                        break;
                }

                query = query with { Attributes = attributes };
                if (random.Next(3) == 0)
                {
                    query = query with { DurationMinNanos = random.Next(0, 1_000) * Ms };
                }

                if (random.Next(4) == 0)
                {
                    query = query with { DurationMaxNanos = random.Next(0, 1_000) * Ms };
                }

                if (random.Next(3) == 0)
                {
                    var from = BaseTimeUnixNano + (random.Next(-5_000, 12_000) * Ms);
                    query = query with { StartTimeMinUnixNano = from, StartTimeMaxUnixNano = from + (random.Next(0, 6_000) * Ms) };
                }

                queries.Add(query);
                Assert.Equal(await store.FindTraceIdsUnprunedAsync(query), await store.FindTraceIdsAsync(query));
                skipped += store.LastSearchWork.Spans < 1_000 ? 1 : 0;
            }

            // The comparison means something only if the pruned search really left batches unread.
            Assert.InRange(skipped, 100, 150);

            // Retention cuts through batches; what is left must still be found exactly.
            await store.DeleteOlderThanAsync(BaseTimeUnixNano + (3_000 * Ms));
            foreach (var query in queries)
            {
                Assert.Equal(await store.FindTraceIdsUnprunedAsync(query), await store.FindTraceIdsAsync(query));
            }
        }

        // After a restart the filters come from the database file.
        await using var reopened = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, batchGroupSpans: 25, filterBlockRows: blockRows);
        await reopened.InitializeAsync();
        foreach (var query in queries)
        {
            Assert.Equal(await reopened.FindTraceIdsUnprunedAsync(query), await reopened.FindTraceIdsAsync(query));
        }

        Assert.NotEmpty(await reopened.FindTraceIdsAsync(new TraceQuery { Attributes = [new("status", "500")] }));
    }

    [Fact]
    public async Task FindTraceIds_ValueInOneBlockOfABigBatch_ReadsThatBlockOnly()
    {
        // One write of 400 spans (one batch), blocks of 50 rows: the user is on one span, in one block.
        var spans = new List<SpanData>();
        var rare = NewTraceId();
        for (var i = 0; i < 400; i++)
        {
            var traceId = i == 237 ? rare : NewTraceId();
            spans.Add(ToSpanData(
                CreateSpan(traceId, name: "GET", startUnixNano: BaseTimeUnixNano + (i * Ms), durationNanos: Ms,
                    attributes: [Attr("user", i == 237 ? "u-rare" : "u" + i), Attr("status", i % 10 == 0 ? 500 : 200)]),
                CreateResource("api")));
        }

        await using var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, batchGroupSpans: 1_000, filterBlockRows: 50);
        await store.InitializeAsync();
        await store.WriteAsync(new TelemetryBatch(spans, 1));

        var rareQuery = new TraceQuery { ServiceName = "api", Attributes = [new("user", "u-rare")] };
        Assert.Equal([rare], await store.FindTraceIdsAsync(rareQuery));
        Assert.Equal((1, 50L), (store.LastSearchWork.Batches, store.LastSearchWork.Spans));

        // A value every block holds reads the batch whole, and finds what the full scan finds.
        var common = new TraceQuery { ServiceName = "api", Attributes = [new("status", "500")], Limit = 100 };
        var found = await store.FindTraceIdsAsync(common);
        Assert.Equal(40, found.Count);
        Assert.Equal(await store.FindTraceIdsUnprunedAsync(common), found);
        Assert.Equal(400L, store.LastSearchWork.Spans);
    }

    /// <summary>
    /// A rare value in 30 batches, once each: the search reads the newest 20 blocks that hold it in one statement
    /// and looks their traces' starts up once, instead of growing its groups from two batches' worth of rows.
    /// </summary>
    [Fact]
    public async Task FindTraceIds_RareValueInManyBatches_ReadsTheNeededBlocksInOneGroup()
    {
        await using var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, batchGroupSpans: 100, filterBlockRows: 50);
        await store.InitializeAsync();
        var rare = new List<TraceId>();
        for (var w = 0; w < 30; w++)
        {
            var spans = new List<SpanData>();
            for (var i = 0; i < 100; i++)
            {
                var traceId = NewTraceId();
                if (i == 60)
                {
                    rare.Add(traceId);
                }

                spans.Add(ToSpanData(
                    CreateSpan(traceId, name: "GET", startUnixNano: BaseTimeUnixNano + (((w * 100) + i) * Ms), durationNanos: Ms,
                        attributes: [Attr("user", i == 60 ? "u-rare" : $"u{w}-{i}")]),
                    CreateResource("api")));
            }

            await store.WriteAsync(new TelemetryBatch(spans, w + 1));
        }

        var query = new TraceQuery { ServiceName = "api", Attributes = [new("user", "u-rare")], Limit = 20 };
        var found = await store.FindTraceIdsAsync(query);

        Assert.Equal(Enumerable.Reverse(rare).Take(20), found);
        Assert.Equal(await store.FindTraceIdsUnprunedAsync(query), found);
        Assert.Equal((20, 1), (store.LastSearchWork.Batches, store.LastSearchWork.Lookups));
    }

    [Fact]
    public void BlockFilters_RoundTripAndRefuseDamagedBytes()
    {
        var first = BatchFilter.Build([1UL, 2UL], bitsPerItem: 10);
        var second = BatchFilter.Build([3UL << 40], bitsPerItem: 10);
        var decoded = BlockFilters.Decode(BlockFilters.Encode(8_192, [first, second]).Bytes);

        Assert.Equal((8_192, 2), (decoded.BlockRows, decoded.Count));
        Assert.True(decoded.MayContain(0, 2UL));
        Assert.True(decoded.MayContain(1, 3UL << 40));
        Assert.Throws<InvalidDataException>(() => BlockFilters.Decode([1, 0, 0]));
        var damaged = BlockFilters.Encode(8_192, [first, second]).Bytes;
        damaged[12] = 0xFF; // the second block's end beyond the bytes there are
        Assert.Throws<InvalidDataException>(() => BlockFilters.Decode(damaged));
    }

    [Fact]
    public void BatchFilter_AddedItems_AreAlwaysFoundAndOthersRarely()
    {
        var random = new Random(99);
        var added = Enumerable.Range(0, 20_000).Select(_ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63)).ToHashSet();
        var filter = BatchFilter.Build(added, bitsPerItem: 10);

        Assert.All(added, item => Assert.True(BatchFilter.MayContain(filter, item)));
        var falsePositives = Enumerable.Range(0, 100_000).Select(_ => (ulong)random.NextInt64()).Where(i => !added.Contains(i))
            .Count(item => BatchFilter.MayContain(filter, item));
        // About 1–2% at 10 bits per item; 3% would mean the filter is built wrong.
        Assert.InRange(falsePositives, 0, 3_000);
        Assert.InRange(filter.Length, 20_000 * 10 / 8, (20_000 * 10 / 8) + 32);
    }
}
