using Almanac.Core.Model;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Testing;

/// <summary>Builders for test spans: every parameter optional, so a test names only what it cares about.</summary>
public static class TestData
{
    /// <summary>A fixed, recent base time so tests are deterministic yet inside any default lookback.</summary>
    public static readonly long BaseTimeUnixNano = new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;

    private static long s_nextId = 1;

    public static TraceId NewTraceId() => new(0x0af7651916cd43dd, (ulong)Interlocked.Increment(ref s_nextId));

    public static SpanId NewSpanId() => new((ulong)Interlocked.Increment(ref s_nextId) | 0x1000_0000_0000_0000);

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static KeyValue Attr(string key, double value) => new() { Key = key, Value = new AnyValue { DoubleValue = value } };

    public static KeyValue Attr(string key, bool value) => new() { Key = key, Value = new AnyValue { BoolValue = value } };

    public static KeyValue Attr(string key, byte[] value) => new() { Key = key, Value = new AnyValue { BytesValue = ByteString.CopyFrom(value) } };

    public static Resource CreateResource(string serviceName = "svc", params KeyValue[] attributes)
    {
        var resource = new Resource();
        resource.Attributes.Add(Attr("service.name", serviceName));
        resource.Attributes.Add(attributes);
        return resource;
    }

    public static InstrumentationScope CreateScope(string name = "test.scope", string version = "1.0.0") => new() { Name = name, Version = version };

    public static Span CreateSpan(
        TraceId traceId,
        SpanId? spanId = null,
        SpanId? parentSpanId = null,
        string name = "op",
        Span.Types.SpanKind kind = Span.Types.SpanKind.Server,
        long? startUnixNano = null,
        long durationNanos = 1_000_000,
        Status.Types.StatusCode status = Status.Types.StatusCode.Unset,
        IEnumerable<KeyValue>? attributes = null,
        IEnumerable<Span.Types.Event>? events = null,
        IEnumerable<Span.Types.Link>? links = null)
    {
        var start = startUnixNano ?? BaseTimeUnixNano;
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId.ToBytes()),
            SpanId = ByteString.CopyFrom((spanId ?? NewSpanId()).ToBytes()),
            Name = name,
            Kind = kind,
            StartTimeUnixNano = (ulong)start,
            EndTimeUnixNano = (ulong)(start + durationNanos),
            Status = new Status { Code = status },
        };
        if (parentSpanId is { IsEmpty: false } parent)
        {
            span.ParentSpanId = ByteString.CopyFrom(parent.ToBytes());
        }

        if (attributes is not null)
        {
            span.Attributes.Add(attributes);
        }

        if (events is not null)
        {
            span.Events.Add(events);
        }

        if (links is not null)
        {
            span.Links.Add(links);
        }

        return span;
    }

    /// <summary>An OTLP export request of the spans, sent by <paramref name="serviceName"/> under the test scope.</summary>
    public static ExportTraceServiceRequest CreateRequest(string serviceName, IEnumerable<Span> spans)
    {
        var scopeSpans = new ScopeSpans { Scope = CreateScope() };
        scopeSpans.Spans.Add(spans);
        var resourceSpans = new ResourceSpans { Resource = CreateResource(serviceName) };
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    /// <summary>Flattens a span with its resource and scope the way the ingest pipeline does.</summary>
    public static SpanData ToSpanData(Span span, Resource? resource = null, InstrumentationScope? scope = null)
    {
        resource ??= CreateResource();
        scope ??= CreateScope();
        TraceId.TryRead(span.TraceId.Span, out var traceId);
        SpanId.TryRead(span.SpanId.Span, out var spanId);
        SpanId.TryRead(span.ParentSpanId.Span, out var parentId);
        return new SpanData(traceId, spanId, parentId, ServiceNames.Of(resource), resource, string.Empty, scope, string.Empty, span);
    }
}
