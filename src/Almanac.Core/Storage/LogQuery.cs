using Almanac.Core.Model;

namespace Almanac.Core.Storage;

/// <summary>
/// A log search. A record matches when it satisfies every given filter. Attribute filters match the record's own
/// attributes or its resource's attributes by the value's text form (an int 200 matches "200"), as trace search does.
/// </summary>
public sealed record LogQuery
{
    public const int DefaultLimit = 100;

    /// <summary>The most records one query returns (and the most <see cref="ILogReader.GetTraceLogsAsync"/> returns by default).</summary>
    public const int MaxLimit = 10_000;

    public string? ServiceName { get; init; }

    /// <summary>Only records whose severity number is at least this (1..24); records without a severity (0) then never match.</summary>
    public int? MinSeverityNumber { get; init; }

    /// <summary>Text the body must contain: a case-insensitive substring, or a regular expression (RE2 syntax) when <see cref="TextIsRegex"/>.</summary>
    public string? Text { get; init; }

    public bool TextIsRegex { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Attributes { get; init; } = [];

    public TraceId? TraceId { get; init; }

    public SpanId? SpanId { get; init; }

    /// <summary>Inclusive lower bound on the record's timestamp (unix ns).</summary>
    public long StartTimeMinUnixNano { get; init; }

    /// <summary>Inclusive upper bound on the record's timestamp (unix ns).</summary>
    public long StartTimeMaxUnixNano { get; init; } = long.MaxValue;

    public int Limit { get; init; } = DefaultLimit;

    /// <summary>A <see cref="LogEntry.Id"/> (usually <see cref="LogPage.NextBefore"/>): only records that come after it in newest-first order.</summary>
    public string? Before { get; init; }
}
