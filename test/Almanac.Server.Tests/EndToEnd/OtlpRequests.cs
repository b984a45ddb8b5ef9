using System.Net.Http.Headers;
using Almanac.Core.Model;
using Almanac.Testing;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>Hand-built OTLP requests, for tests that must know exactly what was sent and acknowledged.</summary>
public static class OtlpRequests
{
    public static ExportTraceServiceRequest Traces(string service, params Span[] spans)
    {
        var scopeSpans = new ScopeSpans { Scope = TestData.CreateScope() };
        scopeSpans.Spans.Add(spans);
        var resourceSpans = new ResourceSpans { Resource = TestData.CreateResource(service) };
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    /// <summary>A request holding one two-span trace that started just now.</summary>
    public static (ExportTraceServiceRequest Request, TraceId TraceId) OneTrace(string service)
    {
        var traceId = new TraceId((ulong)Random.Shared.NextInt64(1, long.MaxValue), (ulong)Random.Shared.NextInt64(1, long.MaxValue));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var rootId = TestData.NewSpanId();
        var root = TestData.CreateSpan(traceId, rootId, name: "root", startUnixNano: now, durationNanos: 5_000_000);
        var child = TestData.CreateSpan(traceId, parentSpanId: rootId, name: "child", kind: Span.Types.SpanKind.Client, startUnixNano: now + 1_000_000,
            attributes: [TestData.Attr("http.status_code", 200L)]);
        return (Traces(service, root, child), traceId);
    }

    public static ByteArrayContent Protobuf(IMessage message) => Content(message.ToByteArray(), "application/x-protobuf");

    public static ByteArrayContent Content(byte[] body, string contentType, string? encoding = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (encoding is not null)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }

        return content;
    }
}
