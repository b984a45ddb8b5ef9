using Almanac.Core.Model;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query;

/// <summary>Span kind names as Jaeger spells them: lower-case, and empty for an unspecified kind.</summary>
internal static class SpanKinds
{
    public static string ToJaeger(Span.Types.SpanKind kind) =>
        kind == Span.Types.SpanKind.Unspecified ? string.Empty : SpanKindNames.Name(kind);

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

        var name = text.StartsWith("SPAN_KIND_", StringComparison.OrdinalIgnoreCase) ? text.AsSpan("SPAN_KIND_".Length) : text.AsSpan();
        if (!SpanKindNames.TryParse(name, out var parsed))
        {
            return false;
        }

        kind = parsed;
        return true;
    }
}
