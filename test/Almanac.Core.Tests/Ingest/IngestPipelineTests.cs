using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Storage.DuckDb;
using Almanac.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Tests.Ingest;

public sealed class IngestPipelineTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "almanac-pipeline-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private (IngestPipeline Pipeline, DuckDbStore Store) Create(string storeName, long maxPendingBytes = 64 << 20, TimeSpan? flushInterval = null)
    {
        Directory.CreateDirectory(_dir);
        var store = new DuckDbStore(Path.Combine(_dir, storeName + ".duckdb"));
        var options = new IngestOptions
        {
            WalDirectory = Path.Combine(_dir, "wal"),
            MaxPendingBytes = maxPendingBytes,
            FlushInterval = flushInterval ?? TimeSpan.FromMilliseconds(50),
        };
        return (new IngestPipeline(store, options, NullLogger<IngestPipeline>.Instance), store);
    }

    private static (ExportTraceServiceRequest Request, TraceId TraceId) OneTrace()
    {
        var traceId = TestData.NewTraceId();
        var scopeSpans = new ScopeSpans { Scope = TestData.CreateScope() };
        scopeSpans.Spans.Add(TestData.CreateSpan(traceId, name: "work"));
        var resourceSpans = new ResourceSpans { Resource = TestData.CreateResource("pipeline-svc") };
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return (request, traceId);
    }

    [Fact]
    public async Task Export_BeforeStart_IsUnavailable()
    {
        var (pipeline, store) = Create("a");
        await using var _ = store;
        var result = await pipeline.ExportTracesAsync(OneTrace().Request);
        Assert.Equal(IngestStatus.Unavailable, result.Status);
    }

    [Fact]
    public async Task Export_Accepted_ReachesStoreAndAdvancesCheckpoint()
    {
        var (pipeline, store) = Create("a");
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (request, traceId) = OneTrace();

        var result = await pipeline.ExportTracesAsync(request);

        Assert.Equal(IngestStatus.Accepted, result.Status);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        TraceData? trace = null;
        while (trace is null && DateTime.UtcNow < deadline)
        {
            trace = await store.GetTraceAsync(traceId);
            await Task.Delay(20);
        }

        Assert.NotNull(trace);
        await pipeline.StopAsync();
        Assert.True(await store.GetCheckpointAsync() > 0);
        Assert.Equal(0, pipeline.PendingBytes);
    }

    [Fact]
    public async Task Export_BeyondPendingBudget_IsOverloadedAndKeepsNothing()
    {
        // The store loop waits an hour before writing, so the first export stays pending.
        var (pipeline, store) = Create("a", maxPendingBytes: 1, flushInterval: TimeSpan.FromHours(1));
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (first, firstId) = OneTrace();
        var (second, secondId) = OneTrace();

        Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(first)).Status);
        var refused = await pipeline.ExportTracesAsync(second);

        Assert.Equal(IngestStatus.Overloaded, refused.Status);
        Assert.True(refused.RetryAfter > TimeSpan.Zero);

        // Stopping drains what was acknowledged, and only that.
        await pipeline.StopAsync();
        Assert.NotNull(await store.GetTraceAsync(firstId));
        Assert.Null(await store.GetTraceAsync(secondId));
    }

    [Fact]
    public async Task Start_ReplaysAcknowledgedExportsTheStoreDoesNotHave()
    {
        // Pipeline A acknowledges but never flushes (as if killed): the exports exist only in the log.
        var (a, storeA) = Create("a", flushInterval: TimeSpan.FromHours(1));
        await a.StartAsync(CancellationToken.None);
        var ids = new List<TraceId>();
        for (var i = 0; i < 5; i++)
        {
            var (request, id) = OneTrace();
            Assert.Equal(IngestStatus.Accepted, (await a.ExportTracesAsync(request)).Status);
            ids.Add(id);
        }

        // Pipeline B: same log, a fresh store (checkpoint 0): everything is replayed before it reports ready.
        var (b, storeB) = Create("b");
        await using var _ = storeB;
        await b.StartAsync(CancellationToken.None);
        Assert.True(b.IsReady);
        foreach (var id in ids)
        {
            Assert.NotNull(await storeB.GetTraceAsync(id));
        }

        await b.StopAsync();
        await a.StopAsync();
        await storeA.DisposeAsync();
    }
}
