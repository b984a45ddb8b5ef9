using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Otlp.Json;
using Almanac.Storage.DuckDb;
using Almanac.Testing;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
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

    private (IngestPipeline Pipeline, DuckDbStore Store) Create(string storeName, long maxPendingBytes = 64 << 20, TimeSpan? flushInterval = null, TimeSpan? maxAdmissionWait = null,
        long walSegmentBytes = 64L << 20)
    {
        Directory.CreateDirectory(_dir);
        var store = new DuckDbStore(Path.Combine(_dir, storeName + ".duckdb"));
        var options = new IngestOptions
        {
            WalDirectory = Path.Combine(_dir, "wal"),
            MaxPendingBytes = maxPendingBytes,
            FlushInterval = flushInterval ?? TimeSpan.FromMilliseconds(50),
            MaxAdmissionWait = maxAdmissionWait ?? TimeSpan.FromSeconds(2),
            WalSegmentBytes = walSegmentBytes,
        };
        return (new IngestPipeline(store, options, NullLogger<IngestPipeline>.Instance), store);
    }

    private static (ExportTraceServiceRequest Request, TraceId TraceId) OneTrace()
    {
        var traceId = TestData.NewTraceId();
        return (TestData.CreateRequest("pipeline-svc", [TestData.CreateSpan(traceId, name: "work")]), traceId);
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
        var (pipeline, store) = Create("a", maxPendingBytes: 1, flushInterval: TimeSpan.FromHours(1), maxAdmissionWait: TimeSpan.FromMilliseconds(100));
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
    public async Task Export_BeyondPendingBudget_WaitsForTheStoreInsteadOfRefusing()
    {
        // The first export fills the budget until the next flush (200 ms); the second is held until then, not refused.
        var (pipeline, store) = Create("a", maxPendingBytes: 1, flushInterval: TimeSpan.FromMilliseconds(200), maxAdmissionWait: TimeSpan.FromSeconds(30));
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (first, firstId) = OneTrace();
        var (second, secondId) = OneTrace();

        Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(first)).Status);
        Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(second)).Status);

        await pipeline.StopAsync();
        Assert.NotNull(await store.GetTraceAsync(firstId));
        Assert.NotNull(await store.GetTraceAsync(secondId));
    }

    [Fact]
    public async Task Export_HeldForBudget_IsRefusedAsUnavailableWhenStopping()
    {
        var (pipeline, store) = Create("a", maxPendingBytes: 1, flushInterval: TimeSpan.FromHours(1), maxAdmissionWait: TimeSpan.FromMinutes(5));
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (first, firstId) = OneTrace();
        var (second, secondId) = OneTrace();
        Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(first)).Status);
        var held = pipeline.ExportTracesAsync(second);

        await pipeline.StopAsync();

        Assert.Equal(IngestStatus.Unavailable, (await held.WaitAsync(TimeSpan.FromSeconds(30))).Status);
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

    private static (ExportTraceServiceRequest Request, TraceId TraceId) TraceOf(int spans, Func<int, Span, Span>? shape = null)
    {
        var traceId = TestData.NewTraceId();
        var request = TestData.CreateRequest("raw-svc", Enumerable.Range(0, spans).Select(i =>
        {
            var span = TestData.CreateSpan(traceId, name: $"op-{i}", attributes: [TestData.Attr("i", i)]);
            return shape is null ? span : shape(i, span);
        }));
        return (request, traceId);
    }

    private static async Task<TraceData?> WaitForTraceAsync(DuckDbStore store, TraceId traceId, int spans)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var trace = await store.GetTraceAsync(traceId);
            if (trace?.Spans.Count >= spans || DateTime.UtcNow > deadline)
            {
                return trace;
            }

            await Task.Delay(20);
        }
    }

    private byte[] WalBytes()
    {
        using var buffer = new MemoryStream();
        foreach (var segment in Directory.GetFiles(Path.Combine(_dir, "wal"), "*.wal").Order())
        {
            using var file = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(buffer);
        }

        return buffer.ToArray();
    }

    [Fact]
    public async Task ExportRawTraces_AllSpansValid_LogsTheBytesAsReceivedAndStoresEverySpan()
    {
        var (pipeline, store) = Create("a", flushInterval: TimeSpan.FromHours(1));
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (request, traceId) = TraceOf(20);
        // A top-level unknown field with a non-minimal varint: re-encoding the parsed request would write it as 0x01.
        var received = request.ToByteArray().Concat(new byte[] { 0x98, 0x06, 0x81, 0x80, 0x00 }).ToArray();

        var result = await pipeline.ExportTracesAsync(received);

        Assert.Equal(IngestResult.Accepted(), result);
        Assert.Equal(received.Length, pipeline.PendingBytes);
        Assert.True(WalBytes().AsSpan().IndexOf((byte[])[1, .. received]) > 0, "the received bytes are the write-ahead-log record");
        await pipeline.StopAsync();
        Assert.Equal(0, pipeline.PendingBytes);
        var stored = await store.GetTraceAsync(traceId);
        Assert.NotNull(stored);
        Assert.Equal(request.ResourceSpans[0].ScopeSpans[0].Spans.OrderBy(s => s.Name), stored.Spans.Select(s => s.Span).OrderBy(s => s.Name));
        Assert.All(stored.Spans, s => Assert.Equal("raw-svc", s.ServiceName));
    }

    [Fact]
    public async Task ExportRawTraces_SomeSpansInvalid_SamePartialSuccessAsDecodedExportAndValidSpansStored()
    {
        var (pipeline, store) = Create("a");
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (request, traceId) = TraceOf(6, (i, span) =>
        {
            if (i is 1 or 4)
            {
                span.SpanId = ByteString.CopyFrom(new byte[8]);
            }

            return span;
        });
        var expected = TraceRequestFlattener.Flatten(request.Clone());

        var result = await pipeline.ExportTracesAsync(request.ToByteArray());

        Assert.Equal(IngestResult.Accepted(2, expected.RejectionMessage), result);
        Assert.Equal(
            "2 span(s) rejected: resourceSpans[0].scopeSpans[0].spans[1]: span id is all zeros; resourceSpans[0].scopeSpans[0].spans[4]: span id is all zeros",
            result.Message);
        var stored = await WaitForTraceAsync(store, traceId, 4);
        Assert.Equal(["op-0", "op-2", "op-3", "op-5"], stored!.Spans.Select(s => s.Span.Name).Order());
        await pipeline.StopAsync();
    }

    [Fact]
    public async Task ExportRawTraces_MalformedBytes_RefusedWithOtlpFormatExceptionAndNothingKept()
    {
        var (pipeline, store) = Create("a");
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var (request, traceId) = TraceOf(3);
        var bytes = request.ToByteArray();

        await Assert.ThrowsAsync<OtlpFormatException>(() => pipeline.ExportTracesAsync(bytes.AsMemory(0, bytes.Length - 1)));

        Assert.Equal(0, pipeline.PendingBytes);
        Assert.Equal(IngestResult.Accepted(), await pipeline.ExportTracesAsync(bytes));
        Assert.Equal(3, (await WaitForTraceAsync(store, traceId, 3))!.Spans.Count);
        await pipeline.StopAsync();
    }

    [Fact]
    public async Task Start_ReplaysRawTraceExportsWithDeeplyNestedAttributes()
    {
        // 33 kvlist levels put the innermost value 101 message levels deep in the request: within ingest's limit,
        // beyond Google.Protobuf's default of 100 (yet within it for the span alone, which is what the store decodes).
        var value = new AnyValue { StringValue = "leaf" };
        for (var i = 1; i < 33; i++)
        {
            var list = new KeyValueList();
            list.Values.Add(new KeyValue { Key = "k", Value = value });
            value = new AnyValue { KvlistValue = list };
        }

        var (a, storeA) = Create("a", flushInterval: TimeSpan.FromHours(1));
        await a.StartAsync(CancellationToken.None);
        var (request, traceId) = TraceOf(2, (_, span) =>
        {
            span.Attributes.Add(new KeyValue { Key = "deep", Value = value });
            return span;
        });
        Assert.Equal(IngestResult.Accepted(), await a.ExportTracesAsync(request.ToByteArray()));

        var (b, storeB) = Create("b");
        await using var _ = storeB;
        await b.StartAsync(CancellationToken.None);

        var stored = await storeB.GetTraceAsync(traceId);
        Assert.Equal(2, stored?.Spans.Count);
        Assert.Equal(value, stored!.Spans[0].Span.Attributes.Single(kv => kv.Key == "deep").Value);
        await b.StopAsync();
        await a.StopAsync();
        await storeA.DisposeAsync();
    }

    [Fact]
    public async Task Settle_AfterIngest_StoreDurableLogTrimmedAndIngestGoesOn()
    {
        var (pipeline, store) = Create("a", walSegmentBytes: 4096);
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        var traces = new List<TraceId>();
        for (var i = 0; i < 40; i++)
        {
            var (request, traceId) = TraceOf(5);
            Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(request.ToByteArray())).Status);
            traces.Add(traceId);
        }

        Assert.Equal(5, (await WaitForTraceAsync(store, traces[^1], 5))?.Spans.Count);
        // Stored but not yet durable (the store checkpoints after 256 MB or a minute): the log keeps every segment.
        Assert.True(store.DurableCheckpoint < pipeline.StoredCheckpoint);
        var segments = Directory.GetFiles(Path.Combine(_dir, "wal"), "*.wal").Length;
        Assert.True(segments > 3, $"{segments} segments");

        await pipeline.SettleAsync();

        Assert.Equal(pipeline.StoredCheckpoint, store.DurableCheckpoint);
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "wal"), "*.wal")); // only the one being written
        foreach (var traceId in traces)
        {
            Assert.Equal(5, (await store.GetTraceAsync(traceId))?.Spans.Count);
        }

        var (after, afterId) = TraceOf(3);
        Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(after.ToByteArray())).Status);
        Assert.Equal(3, (await WaitForTraceAsync(store, afterId, 3))?.Spans.Count);
        await pipeline.StopAsync();
    }
}
