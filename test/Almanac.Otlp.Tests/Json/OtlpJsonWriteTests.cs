using System.Text;
using System.Text.Json;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Tests.Json;

public sealed class OtlpJsonWriteTests
{
    internal static byte[] Write(ExportTraceServiceRequest request)
    {
        var data = new TracesData();
        data.ResourceSpans.AddRange(request.ResourceSpans);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OtlpJson.WriteTracesData(writer, data);
        }

        return buffer.ToArray();
    }

    private static string WriteSpan(Span span)
    {
        var request = new ExportTraceServiceRequest();
        var scopeSpans = new ScopeSpans();
        scopeSpans.Spans.Add(span);
        var resourceSpans = new ResourceSpans();
        resourceSpans.ScopeSpans.Add(scopeSpans);
        request.ResourceSpans.Add(resourceSpans);
        return Encoding.UTF8.GetString(Write(request));
    }

    private static string WriteValue(AnyValue value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OtlpJson.WriteAnyValue(writer, value);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Fact]
    public void WriteTracesData_Empty_WritesEmptyResourceSpans() =>
        Assert.Equal("""{"resourceSpans":[]}""", Encoding.UTF8.GetString(Write(new ExportTraceServiceRequest())));

    [Fact]
    public void WriteTracesData_DefaultSpan_AlwaysWritesIdentityAndTiming() =>
        Assert.Equal(
            """{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"","spanId":"","name":"","kind":0,"startTimeUnixNano":"0","endTimeUnixNano":"0"}]}]}]}""",
            WriteSpan(new Span()));

    [Fact]
    public void WriteTracesData_FullSpan_CanonicalForm()
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Convert.FromHexString("5B8EFFF798038103D269B633813FC60C")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString("EEE19B7EC3C1B174")),
            ParentSpanId = ByteString.CopyFrom(Convert.FromHexString("EEE19B7EC3C1B173")),
            TraceState = "a=b",
            Flags = 257,
            Name = "op",
            Kind = Span.Types.SpanKind.Client,
            StartTimeUnixNano = 1544712660000000000,
            EndTimeUnixNano = ulong.MaxValue,
            DroppedAttributesCount = 1,
            DroppedEventsCount = 2,
            DroppedLinksCount = 3,
            Status = new Status { Code = Status.Types.StatusCode.Error, Message = "bad" },
        };
        span.Attributes.Add(new KeyValue { Key = "n", Value = new AnyValue { IntValue = -5 } });
        span.Events.Add(new Span.Types.Event { TimeUnixNano = 7, Name = "e" });
        span.Links.Add(new Span.Types.Link { TraceId = ByteString.CopyFrom(0xAB), SpanId = ByteString.CopyFrom(0xCD), Flags = 1 });

        var expected = """
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "traceState":"a=b","parentSpanId":"eee19b7ec3c1b173","flags":257,"name":"op","kind":3,
            "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"18446744073709551615",
            "attributes":[{"key":"n","value":{"intValue":"-5"}}],"droppedAttributesCount":1,
            "events":[{"timeUnixNano":"7","name":"e"}],"droppedEventsCount":2,
            "links":[{"traceId":"ab","spanId":"cd","flags":1}],"droppedLinksCount":3,
            "status":{"message":"bad","code":2}}]}]}]}
            """.ReplaceLineEndings(string.Empty);

        Assert.Equal(
            expected,
            WriteSpan(span));
    }

    [Theory]
    [InlineData(double.NaN, "\"NaN\"")]
    [InlineData(double.PositiveInfinity, "\"Infinity\"")]
    [InlineData(double.NegativeInfinity, "\"-Infinity\"")]
    [InlineData(1.5, "1.5")]
    public void WriteAnyValue_Double_NonFiniteAsStrings(double value, string expected) =>
        Assert.Equal($$"""{"doubleValue":{{expected}}}""", WriteValue(new AnyValue { DoubleValue = value }));

    [Fact]
    public void WriteAnyValue_EveryKind_ProtobufJsonShapes()
    {
        Assert.Equal("{}", WriteValue(new AnyValue()));
        Assert.Equal("""{"stringValue":""}""", WriteValue(new AnyValue { StringValue = string.Empty }));
        Assert.Equal("""{"boolValue":false}""", WriteValue(new AnyValue { BoolValue = false }));
        Assert.Equal("""{"intValue":"9223372036854775807"}""", WriteValue(new AnyValue { IntValue = long.MaxValue }));
        Assert.Equal("""{"bytesValue":"AAEC/w=="}""", WriteValue(new AnyValue { BytesValue = ByteString.CopyFrom(0, 1, 2, 255) }));
        Assert.Equal("""{"arrayValue":{}}""", WriteValue(new AnyValue { ArrayValue = new ArrayValue() }));
        Assert.Equal("""{"kvlistValue":{}}""", WriteValue(new AnyValue { KvlistValue = new KeyValueList() }));

        var list = new KeyValueList();
        list.Values.Add(new KeyValue { Key = "k", Value = new AnyValue { BoolValue = true } });
        list.Values.Add(new KeyValue { Key = "no-value" });
        Assert.Equal(
            """{"kvlistValue":{"values":[{"key":"k","value":{"boolValue":true}},{"key":"no-value"}]}}""",
            WriteValue(new AnyValue { KvlistValue = list }));
    }

    [Theory]
    [InlineData("almanac-full-trace.json")]
    [InlineData("otlp-spec-examples/trace.json")]
    public void WriteTracesData_Fixture_RoundTripsThroughParser(string fixture)
    {
        var original = OtlpJson.ParseTraceRequest(FixtureFiles.Read(fixture.Split('/')));

        Assert.Equal(original, OtlpJson.ParseTraceRequest(Write(original)));
    }

    [Property(Arbitrary = [typeof(OtlpArbitraries)], MaxTest = 300)]
    public Property WriteTracesData_RandomRequest_ParsesBackEqual(ExportTraceServiceRequest request)
    {
        var json = Write(request);
        var parsed = OtlpJson.ParseTraceRequest(json);
        return parsed.Equals(request).Label(Encoding.UTF8.GetString(json));
    }
}
