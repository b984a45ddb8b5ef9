namespace Almanac.Core.Ingest;

public sealed class IngestOptions
{
    /// <summary>Where the write-ahead log lives.</summary>
    public required string WalDirectory { get; init; }

    /// <summary>
    /// Accepted-but-not-yet-stored bytes (serialized) beyond which new exports are refused as "overloaded" so the
    /// client retries later. Bounds memory when storage falls behind.
    /// </summary>
    public long MaxPendingBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long an export that finds the budget full waits for the store to catch up before it is refused as
    /// "overloaded". Well inside OTLP exporters' default 10 s timeout.
    /// </summary>
    public TimeSpan MaxAdmissionWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A batch is written to storage at this many items (spans, log records, metric points)...</summary>
    public int MaxBatchItems { get; init; } = 50_000;

    /// <summary>...or after this long, whichever comes first: the "queryable within a second" bound.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    public long WalSegmentBytes { get; init; } = 64L * 1024 * 1024;
}
