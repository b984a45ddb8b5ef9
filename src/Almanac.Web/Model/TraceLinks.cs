using Almanac.Core.Model;

namespace Almanac.Web.Model;

/// <summary>
/// The only links the UI builds from data: to a trace by its id. The id is a parsed <see cref="TraceId"/> printed
/// as 32 hex digits, so nothing from the data can reach an href but hex.
/// </summary>
public static class TraceLinks
{
    public static string Href(TraceId traceId) => "/trace/" + traceId.ToHex();

    public static string Href(TraceId traceId, SpanId spanId) => "/trace/" + traceId.ToHex() + "?span=" + spanId.ToHex();

    public static string Fragment(TraceId traceId, SpanId spanId) => "/trace/" + traceId.ToHex() + "/span/" + spanId.ToHex();

    /// <summary>Strict: 1 to 32 hex digits, not all zero (what OTLP and Jaeger accept as a trace id).</summary>
    public static bool TryParse(string? text, out TraceId traceId) =>
        TraceId.TryParse(text, out traceId) && !traceId.IsEmpty;
}
