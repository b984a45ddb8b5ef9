using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Model;

/// <summary>Span kinds by their short lower-case names (<c>server</c>, …, <c>unspecified</c>), for URLs, APIs and pages.</summary>
public static class SpanKindNames
{
    public static string Name(Span.Types.SpanKind kind) => kind switch
    {
        Span.Types.SpanKind.Server => "server",
        Span.Types.SpanKind.Client => "client",
        Span.Types.SpanKind.Producer => "producer",
        Span.Types.SpanKind.Consumer => "consumer",
        Span.Types.SpanKind.Internal => "internal",
        _ => "unspecified",
    };

    /// <summary>A kind from its short name, case-insensitively; false for anything else.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out Span.Types.SpanKind kind)
    {
        Span.Types.SpanKind? parsed = name.ToString().ToUpperInvariant() switch
        {
            "SERVER" => Span.Types.SpanKind.Server,
            "CLIENT" => Span.Types.SpanKind.Client,
            "PRODUCER" => Span.Types.SpanKind.Producer,
            "CONSUMER" => Span.Types.SpanKind.Consumer,
            "INTERNAL" => Span.Types.SpanKind.Internal,
            "UNSPECIFIED" => Span.Types.SpanKind.Unspecified,
            _ => null,
        };
        kind = parsed ?? default;
        return parsed is not null;
    }
}
