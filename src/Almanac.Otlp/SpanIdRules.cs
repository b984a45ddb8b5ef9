namespace Almanac.Otlp;

/// <summary>
/// The id rules a span must meet to be stored, in one place for the object path (the flattener) and the raw-bytes
/// path (<see cref="OtlpTraceScanner"/>), so both reject the same spans with the same words.
/// </summary>
public static class SpanIdRules
{
    /// <summary>How many reasons a partial-success message lists before it says "...".</summary>
    public const int MaxReasons = 3;

    /// <summary>Why a span with these ids cannot be stored, or null when it can.</summary>
    public static string? Check(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ReadOnlySpan<byte> parentSpanId)
    {
        if (traceId.Length != 16)
        {
            return $"trace id must be 16 bytes, got {traceId.Length}";
        }

        if (!traceId.ContainsAnyExcept((byte)0))
        {
            return "trace id is all zeros";
        }

        if (spanId.Length != 8)
        {
            return $"span id must be 8 bytes, got {spanId.Length}";
        }

        if (!spanId.ContainsAnyExcept((byte)0))
        {
            return "span id is all zeros";
        }

        // An all-zero parent id is how some exporters say "no parent"; treat it like an empty one.
        if (!parentSpanId.IsEmpty && parentSpanId.Length != 8)
        {
            return $"parent span id must be empty or 8 bytes, got {parentSpanId.Length}";
        }

        return null;
    }

    /// <summary>The partial-success message for <paramref name="rejected"/> spans, listing the first reasons.</summary>
    public static string Message(int rejected, IReadOnlyList<string> reasons) =>
        $"{rejected} span(s) rejected: {string.Join("; ", reasons)}{(rejected > reasons.Count ? "; ..." : string.Empty)}";

    /// <summary>Where a span sits in its request, as partial-success messages name it.</summary>
    public static string Path(int resource, int scope, int span, string reason) =>
        $"resourceSpans[{resource}].scopeSpans[{scope}].spans[{span}]: {reason}";
}
