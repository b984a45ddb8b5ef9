using System.Security.Cryptography;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>DuckDB-specific: what <see cref="DuckDbStore.ReleaseMemoryAsync"/> gives back, and that queries running alongside it all answer.</summary>
public sealed class DuckDbReleaseMemoryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-memory-").FullName;
    private readonly List<TraceId> _traces = [];

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// 20,000 spans of 5,000 traces in ten writes, made durable: each span carries 4 KB of random text, so reading
    /// them fills far more of DuckDB's buffer pool than the 16 MB it is brought down to.
    /// </summary>
    private async Task<DuckDbStore> FilledStoreAsync()
    {
        var store = new DuckDbStore(Path.Combine(_directory, "spans.duckdb"));
        await store.InitializeAsync();
        for (var batch = 0; batch < 10; batch++)
        {
            var spans = new List<SpanData>();
            for (var t = 0; t < 500; t++)
            {
                var traceId = NewTraceId();
                _traces.Add(traceId);
                spans.AddRange(Enumerable.Range(0, 4).Select(i => ToSpanData(CreateSpan(traceId, name: "op-" + i,
                    startUnixNano: BaseTimeUnixNano + (batch * 1_000_000_000L) + (t * 1000L) + i,
                    attributes: [Attr("payload", Convert.ToHexString(RandomNumberGenerator.GetBytes(2048))), Attr("n", (long)i)]))));
            }

            await store.WriteAsync(new TelemetryBatch(spans, batch + 1));
        }

        await store.FlushAsync();
        return store;
    }

    [Fact]
    public async Task ReleaseMemory_AfterWritesAndReads_GivesBackTheBufferPool()
    {
        await using var store = await FilledStoreAsync();
        // A search reads the attribute text of every span into DuckDB's buffer pool.
        Assert.Equal(5_000, (await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("n", "3")], Limit = 10_000 })).Count);

        var before = await store.GetMemoryInUseAsync();

        await store.ReleaseMemoryAsync();

        var after = await store.GetMemoryInUseAsync();
        Assert.True(before > 32 << 20, $"{before} bytes in use before");
        Assert.True(after < before / 3, $"{before} bytes in use before, {after} after");
        Assert.Equal(4, (await store.GetTraceAsync(_traces[^1]))!.Spans.Count);
    }

    [Fact]
    public async Task ReleaseMemory_WhileQueriesRun_EveryQueryAnswers()
    {
        await using var store = await FilledStoreAsync();
        using var stop = new CancellationTokenSource();
        var queries = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            var answered = 0;
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal(5_000, (await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("n", "3")], Limit = 10_000 })).Count);
                Assert.Equal(4, (await store.GetTraceAsync(_traces[answered % _traces.Count]))!.Spans.Count);
                // Grouping 20,000 distinct 4 KB values needs far more than the 16 MB the cap goes down to.
                Assert.Equal(100, (await store.GetAttributeValuesAsync("payload", null, 0, long.MaxValue, 100)).Count);
                answered++;
            }

            return answered;
        })).ToArray();

        for (var i = 0; i < 10; i++)
        {
            await store.ReleaseMemoryAsync();
        }

        await stop.CancelAsync();
        Assert.All(await Task.WhenAll(queries), answered => Assert.True(answered > 0));
    }
}
