using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query;

/// <summary>Span kind names as Jaeger spells them: lower-case, and empty for an unspecified kind.</summary>
internal static class SpanKinds
{
    public static string ToJaeger(Span.Types.SpanKind kind) => kind switch
    {
        Span.Types.SpanKind.Server => "server",
        Span.Types.SpanKind.Client => "client",
        Span.Types.SpanKind.Producer => "producer",
        Span.Types.SpanKind.Consumer => "consumer",
        Span.Types.SpanKind.Internal => "internal",
        _ => string.Empty,
    };

    /// <summary>
    /// Parses a kind filter. Empty means no filter. Accepts Jaeger's lower-case names and the OTLP enum names
    /// (<c>SPAN_KIND_SERVER</c>), case-insensitively, since api_v3 clients send either.
    /// </summary>
    public static bool TryParse(string? text, out Span.Types.SpanKind? kind)
    {
        kind = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        var name = text.StartsWith("SPAN_KIND_", StringComparison.OrdinalIgnoreCase) ? text["SPAN_KIND_".Length..] : text;
        kind = name.ToUpperInvariant() switch
        {
            "SERVER" => Span.Types.SpanKind.Server,
            "CLIENT" => Span.Types.SpanKind.Client,
            "PRODUCER" => Span.Types.SpanKind.Producer,
            "CONSUMER" => Span.Types.SpanKind.Consumer,
            "INTERNAL" => Span.Types.SpanKind.Internal,
            "UNSPECIFIED" => Span.Types.SpanKind.Unspecified,
            _ => null,
        };
        return kind is not null;
    }
}
