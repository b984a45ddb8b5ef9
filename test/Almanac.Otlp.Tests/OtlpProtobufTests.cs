using FsCheck.Xunit;
using Almanac.Otlp.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Tests;

public sealed class OtlpProtobufTests
{
    [Property(Arbitrary = [typeof(OtlpArbitraries)], MaxTest = 300)]
    public bool ParseTraceRequest_RandomRequest_RoundTripsEqual(ExportTraceServiceRequest request) =>
        OtlpProtobuf.ParseTraceRequest(request.ToByteArray()).Equals(request);

    [Fact]
    public void ParseTraceRequest_Empty_EmptyRequest() =>
        Assert.Empty(OtlpProtobuf.ParseTraceRequest([]).ResourceSpans);

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0x0A, 0x05, 0x01 })]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(new byte[] { 0x0F })]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })]
    public void ParseTraceRequest_Garbage_OtlpFormatException(byte[] bytes) =>
        Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseTraceRequest(bytes));

    [Fact]
    public void ParseTraceRequest_JsonTextInsteadOfProtobuf_OtlpFormatException() =>
        Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseTraceRequest("{\"resourceSpans\":[]}"u8));

    [Fact]
    public void ParseTraceRequest_AnyValueNestedAtJsonLimit_Accepted()
    {
        var request = RequestWithAttribute(NestedKvlist(OtlpJson.MaxAnyValueDepth));

        Assert.Equal(request, OtlpProtobuf.ParseTraceRequest(request.ToByteArray()));
    }

    [Fact]
    public void ParseTraceRequest_KvlistNestedPastJsonLimit_OtlpFormatExceptionNamingTheAttribute()
    {
        var request = RequestWithAttribute(NestedKvlist(OtlpJson.MaxAnyValueDepth + 1));

        var error = Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseTraceRequest(request.ToByteArray()));

        Assert.StartsWith("resourceSpans[0].scopeSpans[0].spans[0].events[0].attributes[0].value: attribute values nested deeper than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTraceRequest_ArrayNestedPastJsonLimitOnResource_OtlpFormatException()
    {
        var value = new AnyValue { IntValue = 1 };
        for (var i = 0; i < OtlpJson.MaxAnyValueDepth; i++)
        {
            var array = new ArrayValue();
            array.Values.Add(value);
            value = new AnyValue { ArrayValue = array };
        }

        var request = new ExportTraceServiceRequest();
        var resourceSpans = new ResourceSpans { Resource = new OpenTelemetry.Proto.Resource.V1.Resource() };
        resourceSpans.Resource.Attributes.Add(new KeyValue { Key = "deep", Value = value });
        request.ResourceSpans.Add(resourceSpans);

        var error = Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseTraceRequest(request.ToByteArray()));

        Assert.StartsWith("resourceSpans[0].resource.attributes[0].value:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTraceRequest_HostileDeepNesting_OtlpFormatException()
    {
        // Built by hand: the generated types would recurse just as deeply to serialise 10,000 levels.
        // Each level is AnyValue{ array_value (5): ArrayValue{ values (1): AnyValue{...} } }.
        byte[] inner = [];
        for (var i = 0; i < 10_000; i++)
        {
            var arrayValue = Frame(0x0A, inner);
            inner = Frame(0x2A, arrayValue);
        }

        var keyValue = Frame(0x12, inner);
        var span = Frame(0x4A, keyValue);
        var scopeSpans = Frame(0x12, span);
        var resourceSpans = Frame(0x12, scopeSpans);
        var body = Frame(0x0A, resourceSpans);

        Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseTraceRequest(body));
    }

    private static byte[] Frame(byte tag, byte[] payload)
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte(tag);
        var length = (uint)payload.Length;
        while (length >= 0x80)
        {
            buffer.WriteByte((byte)(length | 0x80));
            length >>= 7;
        }

        buffer.WriteByte((byte)length);
        buffer.Write(payload);
        return buffer.ToArray();
    }

    private static AnyValue NestedKvlist(int depth)
    {
        var value = new AnyValue { StringValue = "leaf" };
        for (var i = 1; i < depth; i++)
        {
            var list = new KeyValueList();
            list.Values.Add(new KeyValue { Key = "k", Value = value });
            value = new AnyValue { KvlistValue = list };
        }

        return value;
    }

    private static ExportTraceServiceRequest RequestWithAttribute(AnyValue value)
    {
        var span = new Span { Name = "s" };
        var spanEvent = new Span.Types.Event { Name = "e" };
        spanEvent.Attributes.Add(new KeyValue { Key = "deep", Value = value });
        span.Events.Add(spanEvent);
        var scopeSpans = new ScopeSpans();
        scopeSpans.Spans.Add(span);
        var resourceSpans = new ResourceSpans();
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }
}
