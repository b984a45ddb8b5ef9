using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace Story.Telemetry;

/// <summary>
/// Zipkin's B3 propagation (https://github.com/openzipkin/b3-propagation), as the OpenTelemetry propagators
/// specification describes it: <c>b3multi</c> injects the <c>X-B3-*</c> headers, <c>b3</c> the single <c>b3</c>
/// header. Extraction reads both formats whichever was configured; the single header wins when both are there.
/// </summary>
/// <remarks>
/// 64-bit trace ids are left-padded with zeros to 128 bits. The debug flag (<c>d</c>, <c>X-B3-Flags: 1</c>) means
/// sampled; an absent sampling state (a deferred decision) means not sampled, as in the other OpenTelemetry SDKs.
/// <c>X-B3-ParentSpanId</c> is read past but never sent: the receiver does not need it.
/// </remarks>
public sealed class B3Propagator : TextMapPropagator
{
    public const string TraceIdHeader = "X-B3-TraceId";
    public const string SpanIdHeader = "X-B3-SpanId";
    public const string ParentSpanIdHeader = "X-B3-ParentSpanId";
    public const string SampledHeader = "X-B3-Sampled";
    public const string FlagsHeader = "X-B3-Flags";
    public const string SingleHeader = "b3";

    private static readonly HashSet<string> AllFields =
        new(StringComparer.OrdinalIgnoreCase) { TraceIdHeader, SpanIdHeader, ParentSpanIdHeader, SampledHeader, FlagsHeader, SingleHeader };

    /// <param name="singleHeader">true to inject the single <c>b3</c> header (<c>OTEL_PROPAGATORS=b3</c>),
    /// false for the multiple <c>X-B3-*</c> headers (<c>b3multi</c>).</param>
    public B3Propagator(bool singleHeader = false) => SingleHeaderInjection = singleHeader;

    public bool SingleHeaderInjection { get; }

    public override ISet<string> Fields => AllFields;

    public override void Inject<T>(PropagationContext context, T carrier, Action<T, string, string> setter)
    {
        ArgumentNullException.ThrowIfNull(setter);
        var activity = context.ActivityContext;
        if (activity.TraceId == default || activity.SpanId == default || carrier is null)
        {
            return;
        }

        var sampled = (activity.TraceFlags & ActivityTraceFlags.Recorded) != 0;
        if (SingleHeaderInjection)
        {
            setter(carrier, SingleHeader, $"{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-{(sampled ? '1' : '0')}");
        }
        else
        {
            setter(carrier, TraceIdHeader, activity.TraceId.ToHexString());
            setter(carrier, SpanIdHeader, activity.SpanId.ToHexString());
            setter(carrier, SampledHeader, sampled ? "1" : "0");
        }
    }

    public override PropagationContext Extract<T>(PropagationContext context, T carrier, Func<T, string, IEnumerable<string>?> getter)
    {
        ArgumentNullException.ThrowIfNull(getter);

        // An earlier propagator in a composite already found a context: keep it.
        if (context.ActivityContext.IsValid() || carrier is null)
        {
            return context;
        }

        var single = First(getter(carrier, SingleHeader));
        if (single is not null)
        {
            return TryParseSingle(single, out var fromSingle) ? new PropagationContext(fromSingle, context.Baggage) : context;
        }

        return TryParseMulti(
            First(getter(carrier, TraceIdHeader)),
            First(getter(carrier, SpanIdHeader)),
            First(getter(carrier, SampledHeader)),
            First(getter(carrier, FlagsHeader)),
            out var fromMulti)
            ? new PropagationContext(fromMulti, context.Baggage)
            : context;
    }

    /// <summary>Parses <c>{TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]</c>. A lone sampling state
    /// (<c>b3: 0</c>) carries no ids, so it yields no context.</summary>
    public static bool TryParseSingle(string value, out ActivityContext context)
    {
        context = default;
        var parts = value.Trim().Split('-');
        if (parts.Length is < 2 or > 4)
        {
            return false;
        }

        if (!TryParseTraceId(parts[0], out var traceId) || !TryParseSpanId(parts[1], out var spanId))
        {
            return false;
        }

        var sampled = false;
        if (parts.Length >= 3)
        {
            switch (parts[2])
            {
                case "1":
                case "d":
                    sampled = true;
                    break;
                case "0":
                    break;
                default:
                    return false;
            }
        }

        if (parts.Length == 4 && !TryParseSpanId(parts[3], out _))
        {
            return false;
        }

        context = new ActivityContext(traceId, spanId, sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, isRemote: true);
        return true;
    }

    public static bool TryParseMulti(string? traceIdText, string? spanIdText, string? sampledText, string? flagsText, out ActivityContext context)
    {
        context = default;
        if (traceIdText is null || spanIdText is null
            || !TryParseTraceId(traceIdText.Trim(), out var traceId) || !TryParseSpanId(spanIdText.Trim(), out var spanId))
        {
            return false;
        }

        // Debug implies sampled. "true" is what some old Zipkin clients sent for "1".
        var sampled = flagsText?.Trim() == "1" || sampledText?.Trim() is "1" or "true";
        context = new ActivityContext(traceId, spanId, sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, isRemote: true);
        return true;
    }

    /// <summary>32 hex characters, or 16 (a 64-bit id, left-padded with zeros); never all zeros.</summary>
    public static bool TryParseTraceId(string text, out ActivityTraceId traceId)
    {
        traceId = default;
        if ((text.Length != 32 && text.Length != 16) || !IsHexNotAllZeros(text))
        {
            return false;
        }

        traceId = ActivityTraceId.CreateFromString(text.Length == 16 ? "0000000000000000" + text.ToLowerInvariant() : text.ToLowerInvariant());
        return true;
    }

    public static bool TryParseSpanId(string text, out ActivitySpanId spanId)
    {
        spanId = default;
        if (text.Length != 16 || !IsHexNotAllZeros(text))
        {
            return false;
        }

        spanId = ActivitySpanId.CreateFromString(text.ToLowerInvariant());
        return true;
    }

    private static bool IsHexNotAllZeros(string text)
    {
        var anyNonZero = false;
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }

            anyNonZero |= c != '0';
        }

        return anyNonZero;
    }

    private static string? First(IEnumerable<string>? values) => values?.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}
