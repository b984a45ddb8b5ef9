using Almanac.Core.Model;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Storage;

/// <summary>
/// What a trace looks like at a glance, kept up to date as spans arrive in any order. The root is the span
/// without a parent; until one arrives the earliest span stands in and <see cref="HasRoot"/> is false.
/// </summary>
public sealed record TraceSummary(
    TraceId TraceId,
    long StartTimeUnixNano,
    long EndTimeUnixNano,
    string RootServiceName,
    string RootOperationName,
    bool HasRoot,
    int SpanCount,
    int ErrorCount,
    IReadOnlyDictionary<string, int> SpansPerService)
{
    public long DurationNanos => Math.Max(0, EndTimeUnixNano - StartTimeUnixNano);
}

public sealed record OperationInfo(string Name, Span.Types.SpanKind Kind);

/// <summary>Calls from spans of <see cref="Parent"/> to child spans of <see cref="Child"/>.</summary>
public sealed record DependencyLink(string Parent, string Child, long CallCount);

public enum AttributeValueType
{
    Empty = 0,
    String = 1,
    Bool = 2,
    Int = 3,
    Double = 4,
    Array = 5,
    KvList = 6,
    Bytes = 7,
}

public enum AttributeTarget
{
    Span = 0,
    Resource = 1,
    Event = 2,
    Scope = 3,
    Link = 4,
}

/// <summary>An attribute key seen in stored data, where and with which value type (for autocomplete).</summary>
public sealed record AttributeKeyInfo(string Key, AttributeValueType Type, AttributeTarget Target);

[Flags]
public enum StoreCapabilities
{
    None = 0,

    /// <summary>The checkpoint is committed atomically with the spans: replay never duplicates.</summary>
    AtomicCheckpoint = 1,

    /// <summary>Data survives disposing the store and opening it again on the same location.</summary>
    Durable = 2,
}
