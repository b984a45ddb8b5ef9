using Almanac.Core.Model;

namespace Almanac.Core.Storage;

/// <summary>
/// A batch of validated spans, log records and metrics handed to a backend in one write. <see cref="Checkpoint"/>
/// is the write-ahead-log position just past the last record whose data this batch completes; a backend that can
/// (see <see cref="StoreCapabilities.AtomicCheckpoint"/>) stores it in the same transaction as the data, so replay
/// after a crash resumes exactly where the store left off.
/// </summary>
public sealed class TelemetryBatch
{
    public TelemetryBatch(IReadOnlyList<SpanData> spans, long checkpoint)
        : this(spans, [], [], checkpoint)
    {
    }

    public TelemetryBatch(IReadOnlyList<SpanData> spans, IReadOnlyList<LogRecordData> logs, IReadOnlyList<MetricData> metrics, long checkpoint)
        : this(spans, [], logs, metrics, checkpoint)
    {
    }

    public TelemetryBatch(IReadOnlyList<SpanData> spans, IReadOnlyList<ReadOnlyMemory<byte>> traceRequests, IReadOnlyList<LogRecordData> logs,
        IReadOnlyList<MetricData> metrics, long checkpoint)
    {
        Spans = spans;
        TraceRequests = traceRequests;
        Logs = logs;
        Metrics = metrics;
        Checkpoint = checkpoint;
    }

    public IReadOnlyList<SpanData> Spans { get; }

    /// <summary>
    /// More spans, still in their OTLP encoding: each an encoded <c>ExportTraceServiceRequest</c> whose spans all passed
    /// the ingest validation (ids of the right length, not zero). The ingest pipeline hands the write-ahead log's
    /// records over as they are, so a backend that reads the wire format builds no message objects for them.
    /// </summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> TraceRequests { get; }

    public IReadOnlyList<LogRecordData> Logs { get; }

    public IReadOnlyList<MetricData> Metrics { get; }

    public long Checkpoint { get; }
}
