using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using Microsoft.Extensions.Logging.Abstractions;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>
/// DuckDB-specific: the store writes no log of its own (ADR 0007), so a batch is durable only once a checkpoint put
/// it in the file, and until then the ingest write-ahead log must keep its requests. A crash is simulated by
/// copying the data directory while Almanac runs: between checkpoints the database file does not change, so the
/// copy is what a kill -9 at that moment leaves behind.
/// </summary>
public sealed class DuckDbCrashRecoveryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-crash-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task DurableCheckpoint_TrailsCommitsUntilACheckpoint_AndCoversEverythingAfterClose()
    {
        var path = Path.Combine(_directory, "almanac.duckdb");
        await using (var store = new DuckDbStore(path, logger: null, checkpointBytes: long.MaxValue))
        {
            await store.InitializeAsync();
            for (var batch = 1; batch <= 3; batch++)
            {
                await store.WriteAsync(new TelemetryBatch([ToSpanData(CreateSpan(NewTraceId()))], batch));
            }

            Assert.Equal(3, await store.GetCheckpointAsync());
            Assert.Equal(0, store.DurableCheckpoint);

            await store.FlushAsync();
            Assert.Equal(3, store.DurableCheckpoint);

            await store.WriteAsync(new TelemetryBatch([ToSpanData(CreateSpan(NewTraceId()))], 4));
            Assert.Equal(3, store.DurableCheckpoint);
        }

        // Closing checkpoints: the next start has nothing to replay.
        await using var reopened = new DuckDbStore(path);
        await reopened.InitializeAsync();
        Assert.Equal(4, await reopened.GetCheckpointAsync());
        Assert.Equal(4, reopened.DurableCheckpoint);
    }

    [Fact]
    public async Task Crash_AfterCommitsThatNoCheckpointCovers_ReplaysThemFromTheIngestLog()
    {
        var live = Path.Combine(_directory, "live");
        var (pipeline, store) = Create(live);
        var beforeCheckpoint = new List<TraceId>();
        var afterCheckpoint = new List<TraceId>();
        try
        {
            await pipeline.StartAsync(CancellationToken.None);
            await ExportAsync(pipeline, store, beforeCheckpoint, 15);
            await store.FlushAsync();
            var segmentsAtCheckpoint = WalSegments(live);
            await ExportAsync(pipeline, store, afterCheckpoint, 15);

            // The log let go of what the checkpoint made durable, and kept everything after it.
            Assert.True(WalSegments(live) < segmentsAtCheckpoint + 15,
                $"no write-ahead log segment was deleted after the checkpoint ({WalSegments(live)} segments, {segmentsAtCheckpoint} at the checkpoint)");
            Assert.True(store.DurableCheckpoint < pipeline.StoredCheckpoint);

            CopyDirectory(live, Path.Combine(_directory, "crashed"));
        }
        finally
        {
            await pipeline.StopAsync();
            await store.DisposeAsync();
        }

        var (recovered, recoveredStore) = Create(Path.Combine(_directory, "crashed"));
        await using var _ = recoveredStore;
        await recovered.StartAsync(CancellationToken.None);
        foreach (var id in beforeCheckpoint.Concat(afterCheckpoint))
        {
            var trace = await recoveredStore.GetTraceAsync(id);
            Assert.True(trace is not null, $"trace {id.ToHex()} was acknowledged before the crash and is gone after it");
            Assert.Single(trace.Spans);
        }

        await recovered.StopAsync();
    }

    [Fact]
    public async Task Stop_MakesEveryStoredBatchDurable_AndLeavesNoLogTheStoreHolds()
    {
        var live = Path.Combine(_directory, "live");
        var (pipeline, store) = Create(live);
        await using var _ = store;
        await pipeline.StartAsync(CancellationToken.None);
        await ExportAsync(pipeline, store, [], 15);
        Assert.True(WalSegments(live) >= 15, $"expected a segment per export, found {WalSegments(live)}");

        await pipeline.StopAsync();

        Assert.Equal(pipeline.StoredCheckpoint, store.DurableCheckpoint);
        // The last segment stays (it was being written); every one before it went.
        Assert.True(WalSegments(live) <= 1, $"{WalSegments(live)} write-ahead log segments left after a clean stop");
    }

    private static (IngestPipeline Pipeline, DuckDbStore Store) Create(string directory)
    {
        Directory.CreateDirectory(directory);
        // Checkpoints only when the test asks; one write-ahead log segment per export.
        var store = new DuckDbStore(Path.Combine(directory, "almanac.duckdb"), logger: null, checkpointBytes: long.MaxValue);
        var options = new IngestOptions
        {
            WalDirectory = Path.Combine(directory, "wal"),
            WalSegmentBytes = 1,
            FlushInterval = TimeSpan.FromMilliseconds(10),
        };
        return (new IngestPipeline(store, options, NullLogger<IngestPipeline>.Instance), store);
    }

    /// <summary>Exports one-span traces one at a time, each acknowledged, then waits until the store has the last.</summary>
    private static async Task ExportAsync(IngestPipeline pipeline, DuckDbStore store, List<TraceId> ids, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var traceId = NewTraceId();
            var request = CreateRequest("crash-svc", [CreateSpan(traceId, name: "crash-work")]);
            Assert.Equal(IngestStatus.Accepted, (await pipeline.ExportTracesAsync(request)).Status);
            ids.Add(traceId);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await store.GetTraceAsync(ids[^1]) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the store did not catch up with the acknowledged exports");
            await Task.Delay(10);
        }
    }

    private static int WalSegments(string directory) => Directory.GetFiles(Path.Combine(directory, "wal")).Length;

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}
