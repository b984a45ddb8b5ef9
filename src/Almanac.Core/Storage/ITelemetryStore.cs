using Almanac.Core.Model;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Storage;

/// <summary>Reads stored traces. Every backend answers these the same way; the contract test suite holds them to it.</summary>
public interface ISpanReader
{
    /// <summary>All spans of a trace, without a time window; null when no span of it is stored.</summary>
    Task<TraceData?> GetTraceAsync(TraceId traceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stored ones of several traces, in the order given (an id given twice, twice). By default a read per trace, as
    /// many at a time as there are processors; a backend that can read them together does.
    /// </summary>
    async Task<IReadOnlyList<TraceData>> GetTracesAsync(IReadOnlyList<TraceId> traceIds, CancellationToken cancellationToken = default)
    {
        var traces = new TraceData?[traceIds.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, traceIds.Count), options,
            async (i, token) => traces[i] = await GetTraceAsync(traceIds[i], token));
        return [.. traces.OfType<TraceData>()];
    }

    /// <summary>Ids of matching traces, newest trace start first (ties by trace id), at most <see cref="TraceQuery.Limit"/>.</summary>
    Task<IReadOnlyList<TraceId>> FindTraceIdsAsync(TraceQuery query, CancellationToken cancellationToken = default);

    /// <summary>Summaries of the given traces that are stored, in the order given.</summary>
    Task<IReadOnlyList<TraceSummary>> GetTraceSummariesAsync(IReadOnlyList<TraceId> traceIds, CancellationToken cancellationToken = default);

    /// <summary>Names of services that reported spans, sorted ordinally.</summary>
    Task<IReadOnlyList<string>> GetServicesAsync(CancellationToken cancellationToken = default);

    /// <summary>Operations of a service (name + span kind), sorted by name then kind; filtered by kind when given.</summary>
    Task<IReadOnlyList<OperationInfo>> GetOperationsAsync(string serviceName, Span.Types.SpanKind? kind = null, CancellationToken cancellationToken = default);

    /// <summary>Service-to-service calls (parent span's service → child span's service, across services only) for child spans starting in the window.</summary>
    Task<IReadOnlyList<DependencyLink>> GetDependenciesAsync(long startUnixNano, long endUnixNano, CancellationToken cancellationToken = default);

    /// <summary>Attribute keys seen, optionally only those seen on a service's spans/resources, sorted by key.</summary>
    Task<IReadOnlyList<AttributeKeyInfo>> GetAttributeKeysAsync(string? serviceName = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls, errors and latency quantiles per sample time of the query's services (and operations when grouped),
    /// computed from stored spans in one pass. Series sorted by service then operation, points by time; a series
    /// with no span in any window is absent. Throws <see cref="ArgumentException"/> for a query that fails
    /// <see cref="SpanMetricsQuery.Validate"/>.
    /// </summary>
    Task<IReadOnlyList<SpanMetricsSeries>> GetSpanMetricsAsync(SpanMetricsQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// For every service with spans starting in the window: how many distinct traces those spans belong to — exactly
    /// the number of traces a search for that service over the same window finds without a limit. Sorted by service.
    /// </summary>
    Task<IReadOnlyList<ServiceTraces>> GetServiceTraceCountsAsync(long startUnixNano, long endUnixNano, CancellationToken cancellationToken = default);

    /// <summary>
    /// The values <paramref name="key"/> had as a span, event or resource attribute on spans starting in the window
    /// (optionally only spans of one service), as the text attribute filters match, with how many spans had each:
    /// most frequent first, ties by value (ordinal), at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<AttributeValueStat>> GetAttributeValuesAsync(string key, string? serviceName, long startUnixNano, long endUnixNano, int limit,
        CancellationToken cancellationToken = default);
}

/// <summary>Writes batches of spans, logs and metrics. Batches are large (thousands of items); a backend appends them without a round trip per item.</summary>
public interface ITelemetryWriter
{
    Task WriteAsync(TelemetryBatch batch, CancellationToken cancellationToken = default);
}

/// <summary>A storage backend: the embedded default, ClickHouse later. One contract test suite covers every backend.</summary>
public interface ITelemetryStore : ISpanReader, ILogReader, IMetricReader, ITelemetryWriter, IAsyncDisposable
{
    StoreCapabilities Capabilities { get; }

    /// <summary>Creates or migrates the schema. Called once before any other member.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>The last <see cref="TelemetryBatch.Checkpoint"/> committed; 0 for an empty store.</summary>
    Task<long> GetCheckpointAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The checkpoint a crash of the process (kill -9, power loss) would leave the store at: everything the ingest
    /// write-ahead log holds before it may be deleted, and nothing after it. A store that syncs each write before
    /// <see cref="ITelemetryWriter.WriteAsync"/> returns reports its last committed checkpoint; one that makes writes
    /// durable later, in bulk, reports less, and the ingest log keeps the rest until it catches up.
    /// </summary>
    long DurableCheckpoint { get; }

    /// <summary>Makes every committed batch durable now, so <see cref="DurableCheckpoint"/> catches up (ingest calls it when it stops).</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives back memory the store holds only to go faster (caches of what it read or wrote, buffer pools); called
    /// when Almanac has gone quiet, after <see cref="FlushAsync"/>. Stored data, writes and queries are unaffected
    /// apart from reading from disk again.
    /// </summary>
    Task ReleaseMemoryAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes spans that started before the cutoff, log records whose timestamp is before it, the summaries of
    /// traces left without spans, and catalogue entries last seen before it. Runs alongside writes and queries. Returns the number of spans deleted.
    /// </summary>
    Task<long> DeleteOlderThanAsync(long cutoffUnixNano, CancellationToken cancellationToken = default);
}
