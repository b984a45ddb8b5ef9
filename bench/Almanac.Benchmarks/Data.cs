using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Load;
using Almanac.Load.Templates;
using Almanac.Otlp;
using Almanac.Storage.DuckDb;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almanac.Benchmarks;

/// <summary>
/// Realistic data from the load generator's own templates (8 services, depth 4, fan-out 3, 8–12 attributes per
/// span, 5% errors with exception events), so the micro-benchmarks time what the end-to-end benchmark sends.
/// </summary>
internal static class Data
{
    private static readonly Random Random = new(42);

    /// <summary>Realistic export request bodies of <paramref name="spansPerRequest"/> spans, fresh ids and times.</summary>
    public static IReadOnlyList<byte[]> Requests(WireFormat format, int spansPerRequest, int count)
    {
        var load = new TraceLoad(new TraceLoadOptions
        {
            Protocol = format == WireFormat.Json ? Protocol.HttpJson : Protocol.HttpProtobuf,
            Batch = spansPerRequest,
            Spans = (long)spansPerRequest * count,
        });
        var templates = load.Templates.Where(t => t.SpanCount == spansPerRequest).ToList();
        var scratch = new byte[templates.Max(t => t.ScratchSize)];
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var bodies = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var template = templates[i % templates.Count];
            var body = (byte[])template.Bytes.Clone();
            // Spread the requests over the last hour, as a live system's recent data would be.
            template.Patch(body, now - (ulong)(count - i) * 100_000_000UL, Random, scratch);
            bodies.Add(body);
        }

        return bodies;
    }

    /// <summary>A batch of <paramref name="spans"/> validated spans, as the ingest pipeline hands the store.</summary>
    public static List<SpanData> Spans(int spans, int spansPerRequest = 500)
    {
        var list = new List<SpanData>(spans);
        foreach (var body in Requests(WireFormat.Protobuf, spansPerRequest, (spans + spansPerRequest - 1) / spansPerRequest))
        {
            list.AddRange(TraceRequestFlattener.Flatten(OtlpProtobuf.ParseTraceRequest(body)).Spans);
        }

        return list.Take(spans).ToList();
    }

    /// <summary>A store in a fresh temporary directory with <paramref name="spans"/> realistic spans in 10k batches.</summary>
    public static async Task<(DuckDbStore Store, string Dir, List<TraceId> TraceIds)> StoreAsync(int spans)
    {
        var dir = Path.Combine(Path.GetTempPath(), "almanac-benchmarks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var store = new DuckDbStore(Path.Combine(dir, "almanac.duckdb"), NullLogger<DuckDbStore>.Instance);
        await store.InitializeAsync();
        var traceIds = new List<TraceId>();
        for (var written = 0; written < spans; written += 10_000)
        {
            var batch = Spans(Math.Min(10_000, spans - written));
            traceIds.AddRange(batch.Select(s => s.TraceId).Distinct());
            await store.WriteAsync(new TelemetryBatch(batch, checkpoint: written + batch.Count));
        }

        return (store, dir, traceIds);
    }

    public static void Delete(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
