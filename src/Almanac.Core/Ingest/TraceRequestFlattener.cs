using Almanac.Core.Model;
using Almanac.Otlp;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Core.Ingest;

/// <summary>The valid spans of a request, flattened, and what was rejected and why.</summary>
public sealed record FlattenResult(List<SpanData> Spans, int RejectedSpans, string? RejectionMessage);

/// <summary>
/// Validates an export request and flattens it into <see cref="SpanData"/>. Invalid spans (trace id not 16 bytes or
/// all zero, span id not 8 bytes or all zero, parent id neither empty nor 8 bytes) are removed from the request in
/// place, so the request that goes on to the write-ahead log holds exactly the spans that were accepted.
/// </summary>
public static class TraceRequestFlattener
{
    public static FlattenResult Flatten(ExportTraceServiceRequest request)
    {
        var spans = new List<SpanData>();
        var rejected = 0;
        List<string>? reasons = null;

        for (var r = 0; r < request.ResourceSpans.Count; r++)
        {
            var resourceSpans = request.ResourceSpans[r];
            var resource = resourceSpans.Resource ??= new Resource();
            var serviceName = ServiceNames.Of(resource);
            for (var s = 0; s < resourceSpans.ScopeSpans.Count; s++)
            {
                var scopeSpans = resourceSpans.ScopeSpans[s];
                var scope = scopeSpans.Scope ??= new InstrumentationScope();
                var list = scopeSpans.Spans;
                var rejectedHere = 0;
                for (var i = 0; i < list.Count; i++)
                {
                    var span = list[i];
                    var reason = Validate(span, out var traceId, out var spanId, out var parentId);
                    if (reason is not null)
                    {
                        rejected++;
                        rejectedHere++;
                        if ((reasons ??= []).Count < SpanIdRules.MaxReasons)
                        {
                            reasons.Add(SpanIdRules.Path(r, s, i, reason));
                        }

                        continue;
                    }

                    spans.Add(new SpanData(traceId, spanId, parentId, serviceName, resource, resourceSpans.SchemaUrl, scope, scopeSpans.SchemaUrl, span));
                }

                if (rejectedHere > 0)
                {
                    RemoveInvalid(list);
                }
            }
        }

        string? message = null;
        if (rejected > 0)
        {
            message = SpanIdRules.Message(rejected, reasons!);
        }

        return new FlattenResult(spans, rejected, message);
    }

    private static string? Validate(OpenTelemetry.Proto.Trace.V1.Span span, out TraceId traceId, out SpanId spanId, out SpanId parentId)
    {
        traceId = default;
        spanId = default;
        parentId = default;
        // The rules and their words live in SpanIdRules, shared with the raw-bytes scanner of the receive path.
        if (SpanIdRules.Check(span.TraceId.Span, span.SpanId.Span, span.ParentSpanId.Span) is { } reason)
        {
            return reason;
        }

        TraceId.TryRead(span.TraceId.Span, out traceId);
        SpanId.TryRead(span.SpanId.Span, out spanId);
        if (!span.ParentSpanId.IsEmpty)
        {
            SpanId.TryRead(span.ParentSpanId.Span, out parentId);
        }

        return null;
    }

    private static void RemoveInvalid(Google.Protobuf.Collections.RepeatedField<OpenTelemetry.Proto.Trace.V1.Span> list)
    {
        for (var i = list.Count - 1; i >= 0; i--)
        {
            if (Validate(list[i], out _, out _, out _) is not null)
            {
                list.RemoveAt(i);
            }
        }
    }
}
