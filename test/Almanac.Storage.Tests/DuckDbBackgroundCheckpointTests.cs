using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>
/// DuckDB-specific: checkpoints run on their own connection while the writer and readers carry on. The contract
/// suite never writes enough WAL to trigger one, so this forces one after every batch.
/// </summary>
public sealed class DuckDbBackgroundCheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-ckpt-").FullName;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Write_CheckpointAfterEveryBatchWithConcurrentReads_KeepsEverySpanAcrossReopen()
    {
        var traceIds = new List<TraceId>();
        await using (var store = new DuckDbStore(DatabasePath, logger: null, checkpointBytes: 1))
        {
            await store.InitializeAsync();
            var writer = Task.Run(async () =>
            {
                for (var batch = 0; batch < 40; batch++)
                {
                    var id = NewTraceId();
                    traceIds.Add(id);
                    var spans = Enumerable.Range(0, 50)
                        .Select(i => ToSpanData(CreateSpan(id, startUnixNano: BaseTimeUnixNano + (batch * 1_000_000L) + i, attributes: [Attr("n", (long)i)])))
                        .ToList();
                    await store.WriteAsync(new TelemetryBatch(spans, batch + 1));
                }
            });
            while (!writer.IsCompleted)
            {
                foreach (var id in await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("n", "49")], Limit = 3 }))
                {
                    Assert.Equal(50, (await store.GetTraceAsync(id))!.Spans.Count);
                }
            }

            await writer;
        }

        await using var reopened = new DuckDbStore(DatabasePath);
        await reopened.InitializeAsync();
        Assert.Equal(40, await reopened.GetCheckpointAsync());
        Assert.Equal(40, (await reopened.FindTraceIdsAsync(new TraceQuery { Limit = 100 })).Count);
        Assert.Equal(50, (await reopened.GetTraceAsync(traceIds[^1]))!.Spans.Count);
    }
}
