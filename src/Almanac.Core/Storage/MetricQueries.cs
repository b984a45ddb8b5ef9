namespace Almanac.Core.Storage;

/// <summary>The OTLP metric data types (the <c>Metric.data</c> oneof), numbered as in the protobuf.</summary>
public enum MetricType
{
    Gauge = 5,
    Sum = 7,
    Histogram = 9,
    ExponentialHistogram = 10,
    Summary = 11,
}

/// <summary>OTLP aggregation temporality; <see cref="Unspecified"/> for gauges and summaries.</summary>
public enum MetricTemporality
{
    Unspecified = 0,
    Delta = 1,
    Cumulative = 2,
}

/// <summary>A metric as the catalogue knows it (for lists and autocomplete).</summary>
public sealed record MetricInfo(
    string ServiceName,
    string Name,
    MetricType Type,
    string Unit,
    string Description,
    MetricTemporality Temporality,
    bool IsMonotonic,
    long LastSeenUnixNano);

/// <summary>
/// Which points to read: one metric of one service in a time window (on the point's time), optionally only points
/// whose own attributes or resource attributes have each given key with the given text value (an int 200 matches "200").
/// </summary>
public sealed record MetricPointQuery
{
    public const int DefaultLimit = 200_000;

    public required string ServiceName { get; init; }

    public required string MetricName { get; init; }

    /// <summary>Only this type when given (a name reported with two types is two metrics).</summary>
    public MetricType? Type { get; init; }

    /// <summary>Inclusive lower bound on the point's time (unix ns).</summary>
    public long StartTimeMinUnixNano { get; init; }

    /// <summary>Inclusive upper bound on the point's time (unix ns).</summary>
    public long StartTimeMaxUnixNano { get; init; } = long.MaxValue;

    public IReadOnlyList<KeyValuePair<string, string>> Attributes { get; init; } = [];

    /// <summary>The most points to return (the oldest first).</summary>
    public int Limit { get; init; } = DefaultLimit;
}
