using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Storage;

/// <summary>
/// A trace search. A trace matches when at least one of its spans satisfies every given filter at once (service,
/// operation, kind, all attributes, duration and start time), as Jaeger defines search. Attribute filters match
/// the span's own attributes, its events' attributes or its resource's attributes, comparing the value's text form
/// (an int 200 matches "200", a bool true matches "true").
/// </summary>
public sealed record TraceQuery
{
    public const int DefaultLimit = 20;

    public string? ServiceName { get; init; }

    public string? OperationName { get; init; }

    public Span.Types.SpanKind? SpanKind { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Attributes { get; init; } = [];

    /// <summary>Inclusive lower bound on a matching span's start (unix ns).</summary>
    public long StartTimeMinUnixNano { get; init; }

    /// <summary>Inclusive upper bound on a matching span's start (unix ns).</summary>
    public long StartTimeMaxUnixNano { get; init; } = long.MaxValue;

    public long? DurationMinNanos { get; init; }

    public long? DurationMaxNanos { get; init; }

    /// <summary>The most trace ids to return: newest traces first (by trace start, then trace id).</summary>
    public int Limit { get; init; } = DefaultLimit;
}
