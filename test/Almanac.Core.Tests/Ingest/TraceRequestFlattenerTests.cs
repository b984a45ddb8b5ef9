using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Testing;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Tests.Ingest;

public sealed class TraceRequestFlattenerTests
{
    private static ExportTraceServiceRequest Request(params Span[] spans)
    {
        var scopeSpans = new ScopeSpans { Scope = TestData.CreateScope(), SchemaUrl = "https://scope.schema" };
        scopeSpans.Spans.Add(spans);
        var resourceSpans = new ResourceSpans { Resource = TestData.CreateResource("checkout"), SchemaUrl = "https://resource.schema" };
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    [Fact]
    public void Flatten_ValidSpans_KeepsThemWithResourceScopeAndService()
    {
        var traceId = TestData.NewTraceId();
        var root = TestData.CreateSpan(traceId, name: "GET /");
        var request = Request(root);

        var result = TraceRequestFlattener.Flatten(request);

        var span = Assert.Single(result.Spans);
        Assert.Equal(0, result.RejectedSpans);
        Assert.Null(result.RejectionMessage);
        Assert.Equal(traceId, span.TraceId);
        Assert.True(span.ParentSpanId.IsEmpty);
        Assert.Equal("checkout", span.ServiceName);
        Assert.Equal("https://resource.schema", span.ResourceSchemaUrl);
        Assert.Equal("https://scope.schema", span.ScopeSchemaUrl);
        Assert.Same(root, span.Span);
    }

    [Fact]
    public void Flatten_InvalidIds_RejectsThoseSpansKeepsTheRestAndCleansTheRequest()
    {
        var traceId = TestData.NewTraceId();
        var good = TestData.CreateSpan(traceId, name: "good");
        var zeroTrace = TestData.CreateSpan(traceId, name: "zero-trace");
        zeroTrace.TraceId = ByteString.CopyFrom(new byte[16]);
        var shortSpan = TestData.CreateSpan(traceId, name: "short-span-id");
        shortSpan.SpanId = ByteString.CopyFrom(new byte[] { 1, 2, 3 });
        var badParent = TestData.CreateSpan(traceId, name: "bad-parent");
        badParent.ParentSpanId = ByteString.CopyFrom(new byte[] { 1 });
        var zeroSpan = TestData.CreateSpan(traceId, name: "zero-span");
        zeroSpan.SpanId = ByteString.CopyFrom(new byte[8]);
        var request = Request(good, zeroTrace, shortSpan, badParent, zeroSpan);

        var result = TraceRequestFlattener.Flatten(request);

        Assert.Equal("good", Assert.Single(result.Spans).Span.Name);
        Assert.Equal(4, result.RejectedSpans);
        Assert.Contains("4 span(s) rejected", result.RejectionMessage);
        Assert.Contains("trace id is all zeros", result.RejectionMessage);
        Assert.Contains("span id must be 8 bytes, got 3", result.RejectionMessage);
        Assert.Equal(["good"], request.ResourceSpans[0].ScopeSpans[0].Spans.Select(s => s.Name));
    }

    [Fact]
    public void Flatten_AllZeroParent_IsTreatedAsRoot()
    {
        var span = TestData.CreateSpan(TestData.NewTraceId());
        span.ParentSpanId = ByteString.CopyFrom(new byte[8]);

        var result = TraceRequestFlattener.Flatten(Request(span));

        Assert.Equal(SpanId.Empty, Assert.Single(result.Spans).ParentSpanId);
    }

    [Fact]
    public void Flatten_ResourceWithoutServiceName_UsesUnknownService()
    {
        var request = Request(TestData.CreateSpan(TestData.NewTraceId()));
        request.ResourceSpans[0].Resource.Attributes.Clear();

        Assert.Equal(ServiceNames.Unknown, Assert.Single(TraceRequestFlattener.Flatten(request).Spans).ServiceName);
    }

    [Fact]
    public void Flatten_EmptyRequest_AcceptsNothingRejectsNothing()
    {
        var result = TraceRequestFlattener.Flatten(new ExportTraceServiceRequest());
        Assert.Empty(result.Spans);
        Assert.Equal(0, result.RejectedSpans);
    }
}
