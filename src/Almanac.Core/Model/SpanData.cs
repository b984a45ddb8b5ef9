using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Model;

/// <summary>
/// One span with the resource and scope it was reported under: the flattened OTLP shape that storage backends
/// write and read. <see cref="Resource"/> and <see cref="Scope"/> instances are shared by every span of the same
/// ResourceSpans/ScopeSpans, so a backend can dedupe them by reference. Nothing OTLP carries is dropped: the
/// protobuf messages keep every field, attribute type and dropped count.
/// </summary>
public sealed class SpanData
{
    public SpanData(TraceId traceId, SpanId spanId, SpanId parentSpanId, string serviceName, Resource resource,
        string resourceSchemaUrl, InstrumentationScope scope, string scopeSchemaUrl, Span span)
    {
        TraceId = traceId;
        SpanId = spanId;
        ParentSpanId = parentSpanId;
        ServiceName = serviceName;
        Resource = resource;
        ResourceSchemaUrl = resourceSchemaUrl;
        Scope = scope;
        ScopeSchemaUrl = scopeSchemaUrl;
        Span = span;
    }

    public TraceId TraceId { get; }

    public SpanId SpanId { get; }

    /// <summary><see cref="SpanId.Empty"/> for a root span.</summary>
    public SpanId ParentSpanId { get; }

    /// <summary>The resource's <c>service.name</c>, or <see cref="ServiceNames.Unknown"/> when it has none.</summary>
    public string ServiceName { get; }

    public Resource Resource { get; }

    public string ResourceSchemaUrl { get; }

    public InstrumentationScope Scope { get; }

    public string ScopeSchemaUrl { get; }

    public Span Span { get; }

    public long StartTimeUnixNano => unchecked((long)Span.StartTimeUnixNano);

    public long EndTimeUnixNano => unchecked((long)Span.EndTimeUnixNano);

    /// <summary>Never negative: a span whose end precedes its start (clock trouble) lasts zero.</summary>
    public long DurationNanos => Math.Max(0, EndTimeUnixNano - StartTimeUnixNano);

    public bool IsError => Span.Status?.Code == Status.Types.StatusCode.Error;
}

/// <summary>All stored spans of one trace, in no particular order.</summary>
public sealed record TraceData(TraceId TraceId, IReadOnlyList<SpanData> Spans);

public static class ServiceNames
{
    /// <summary>What the OpenTelemetry SDK specification names a service that did not name itself.</summary>
    public const string Unknown = "unknown_service";

    public const string AttributeKey = "service.name";

    public static string Of(Resource? resource)
    {
        if (resource is not null)
        {
            foreach (var kv in resource.Attributes)
            {
                if (kv.Key == AttributeKey && kv.Value?.ValueCase == AnyValue.ValueOneofCase.StringValue
                    && kv.Value.StringValue.Length > 0)
                {
                    return kv.Value.StringValue;
                }
            }
        }

        return Unknown;
    }
}
