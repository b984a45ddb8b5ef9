using Almanac.Core.Model;

namespace Almanac.Core.Storage;

/// <summary>
/// A batch of validated spans handed to a backend in one write. <see cref="Checkpoint"/> is the write-ahead-log
/// position just past the last record whose spans this batch completes; a backend that can (see
/// <see cref="StoreCapabilities.AtomicCheckpoint"/>) stores it in the same transaction as the spans, so replay
/// after a crash resumes exactly where the store left off.
/// </summary>
public sealed class SpanBatch
{
    public SpanBatch(IReadOnlyList<SpanData> spans, long checkpoint)
    {
        Spans = spans;
        Checkpoint = checkpoint;
    }

    public IReadOnlyList<SpanData> Spans { get; }

    public long Checkpoint { get; }
}
