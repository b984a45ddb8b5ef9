namespace Almanac.Core.Ingest;

public enum IngestStatus
{
    /// <summary>Durable: every valid item is in the write-ahead log. Check <see cref="IngestResult.Rejected"/>.</summary>
    Accepted,

    /// <summary>Storage is behind; nothing was kept. The client should retry after <see cref="IngestResult.RetryAfter"/>.</summary>
    Overloaded,

    /// <summary>Almanac is starting, stopping or cannot write; nothing was kept. Retryable.</summary>
    Unavailable,
}

/// <summary>The transport-neutral outcome of an export; receivers map it to HTTP or gRPC status.</summary>
public readonly record struct IngestResult(IngestStatus Status, long Rejected, string? Message)
{
    public TimeSpan RetryAfter => TimeSpan.FromSeconds(1);

    public static IngestResult Accepted(long rejected = 0, string? message = null) => new(IngestStatus.Accepted, rejected, message);
}
