using System.Text;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Tests.Json;

public sealed class OtlpJsonParseTests
{
    private static ExportTraceServiceRequest Parse(string json) => OtlpJson.ParseTraceRequest(Encoding.UTF8.GetBytes(json));

    private static Span ParseSingleSpan(string spanJson) =>
        Parse($$"""{"resourceSpans":[{"scopeSpans":[{"spans":[{{spanJson}}]}]}]}""").ResourceSpans[0].ScopeSpans[0].Spans[0];

    private static AnyValue ParseAttributeValue(string valueJson) =>
        ParseSingleSpan($$"""{"attributes":[{"key":"k","value":{{valueJson}}}]}""").Attributes[0].Value;

    private static OtlpFormatException ParseFails(string json) => ParseFails(Encoding.UTF8.GetBytes(json));

    private static OtlpFormatException ParseFails(byte[] body) =>
        Assert.Throws<OtlpFormatException>(() => OtlpJson.ParseTraceRequest(body));

    [Fact]
    public void ParseTraceRequest_SpecExampleTrace_EveryFieldLands()
    {
        var request = OtlpJson.ParseTraceRequest(FixtureFiles.Read("otlp-spec-examples", "trace.json"));

        var resourceSpans = Assert.Single(request.ResourceSpans);
        var resourceAttribute = Assert.Single(resourceSpans.Resource.Attributes);
        Assert.Equal("service.name", resourceAttribute.Key);
        Assert.Equal("my.service", resourceAttribute.Value.StringValue);

        var scopeSpans = Assert.Single(resourceSpans.ScopeSpans);
        Assert.Equal("my.library", scopeSpans.Scope.Name);
        Assert.Equal("1.0.0", scopeSpans.Scope.Version);
        var scopeAttribute = Assert.Single(scopeSpans.Scope.Attributes);
        Assert.Equal("my.scope.attribute", scopeAttribute.Key);
        Assert.Equal("some scope attribute", scopeAttribute.Value.StringValue);

        var span = Assert.Single(scopeSpans.Spans);
        Assert.Equal(Convert.FromHexString("5B8EFFF798038103D269B633813FC60C"), span.TraceId.ToByteArray());
        Assert.Equal(Convert.FromHexString("EEE19B7EC3C1B174"), span.SpanId.ToByteArray());
        Assert.Equal(Convert.FromHexString("EEE19B7EC3C1B173"), span.ParentSpanId.ToByteArray());
        Assert.Equal("I'm a server span", span.Name);
        Assert.Equal(1544712660000000000UL, span.StartTimeUnixNano);
        Assert.Equal(1544712661000000000UL, span.EndTimeUnixNano);
        Assert.Equal(Span.Types.SpanKind.Server, span.Kind);
        var spanAttribute = Assert.Single(span.Attributes);
        Assert.Equal("my.span.attr", spanAttribute.Key);
        Assert.Equal("some value", spanAttribute.Value.StringValue);
    }

    [Fact]
    public void ParseTraceRequest_FullTraceFixture_EveryFieldLands()
    {
        var request = OtlpJson.ParseTraceRequest(FixtureFiles.Read("almanac-full-trace.json"));

        var resourceSpans = Assert.Single(request.ResourceSpans);
        Assert.Equal("https://opentelemetry.io/schemas/1.29.0", resourceSpans.SchemaUrl);
        Assert.Equal(1u, resourceSpans.Resource.DroppedAttributesCount);
        Assert.Equal(8, resourceSpans.Resource.Attributes[1].Value.IntValue);

        var scopeSpans = Assert.Single(resourceSpans.ScopeSpans);
        Assert.Equal("https://opentelemetry.io/schemas/1.30.0", scopeSpans.SchemaUrl);
        Assert.Equal("io.almanac.tests", scopeSpans.Scope.Name);
        Assert.Equal("2.1.0", scopeSpans.Scope.Version);
        Assert.True(scopeSpans.Scope.Attributes[0].Value.BoolValue);
        Assert.Equal(2u, scopeSpans.Scope.DroppedAttributesCount);

        var span = Assert.Single(scopeSpans.Spans);
        Assert.Equal(Convert.FromHexString("5b8efff798038103d269b633813fc60c"), span.TraceId.ToByteArray());
        Assert.Equal(Convert.FromHexString("eee19b7ec3c1b174"), span.SpanId.ToByteArray());
        Assert.Equal(Convert.FromHexString("EEE19B7EC3C1B173"), span.ParentSpanId.ToByteArray());
        Assert.Equal("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", span.TraceState);
        Assert.Equal(257u, span.Flags);
        Assert.Equal("POST /cart", span.Name);
        Assert.Equal(Span.Types.SpanKind.Server, span.Kind);
        Assert.Equal(1544712660000000000UL, span.StartTimeUnixNano);
        Assert.Equal(1544712661000000000UL, span.EndTimeUnixNano);
        Assert.Equal(3u, span.DroppedAttributesCount);

        var attributes = span.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal(AnyValue.ValueOneofCase.StringValue, attributes["str"].ValueCase);
        Assert.Equal("hello", attributes["str"].StringValue);
        Assert.Equal(AnyValue.ValueOneofCase.IntValue, attributes["int"].ValueCase);
        Assert.Equal(long.MinValue, attributes["int"].IntValue);
        Assert.Equal(AnyValue.ValueOneofCase.IntValue, attributes["int.number"].ValueCase);
        Assert.Equal(42, attributes["int.number"].IntValue);
        Assert.Equal(AnyValue.ValueOneofCase.DoubleValue, attributes["double"].ValueCase);
        Assert.Equal(3.5, attributes["double"].DoubleValue);
        Assert.Equal(AnyValue.ValueOneofCase.BoolValue, attributes["bool"].ValueCase);
        Assert.False(attributes["bool"].BoolValue);
        Assert.Equal(AnyValue.ValueOneofCase.BytesValue, attributes["bytes"].ValueCase);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, attributes["bytes"].BytesValue.ToByteArray());
        Assert.Equal(AnyValue.ValueOneofCase.ArrayValue, attributes["array"].ValueCase);
        Assert.Equal("a", attributes["array"].ArrayValue.Values[0].StringValue);
        Assert.Equal(1, attributes["array"].ArrayValue.Values[1].IntValue);
        Assert.Equal(AnyValue.ValueOneofCase.KvlistValue, attributes["kvlist"].ValueCase);
        Assert.Equal("inner", attributes["kvlist"].KvlistValue.Values[0].Key);
        Assert.Equal(-0.25, attributes["kvlist"].KvlistValue.Values[0].Value.DoubleValue);
        Assert.Equal(AnyValue.ValueOneofCase.None, attributes["empty"].ValueCase);

        var spanEvent = Assert.Single(span.Events);
        Assert.Equal(1544712660500000000UL, spanEvent.TimeUnixNano);
        Assert.Equal("cache.miss", spanEvent.Name);
        Assert.Equal("cart:42", spanEvent.Attributes[0].Value.StringValue);
        Assert.Equal(4u, spanEvent.DroppedAttributesCount);
        Assert.Equal(5u, span.DroppedEventsCount);

        var link = Assert.Single(span.Links);
        Assert.Equal(Convert.FromHexString("0102030405060708090a0b0c0d0e0f10"), link.TraceId.ToByteArray());
        Assert.Equal(Convert.FromHexString("1112131415161718"), link.SpanId.ToByteArray());
        Assert.Equal("vendor=1", link.TraceState);
        Assert.Equal("follows", link.Attributes[0].Value.StringValue);
        Assert.Equal(6u, link.DroppedAttributesCount);
        Assert.Equal(769u, link.Flags);
        Assert.Equal(7u, span.DroppedLinksCount);

        Assert.Equal(Status.Types.StatusCode.Error, span.Status.Code);
        Assert.Equal("payment declined", span.Status.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \r\n\t")]
    [InlineData("{}")]
    [InlineData("""{"resourceSpans":[]}""")]
    [InlineData("""{"resourceSpans":null}""")]
    public void ParseTraceRequest_EmptyBodies_EmptyRequest(string json) =>
        Assert.Empty(Parse(json).ResourceSpans);

    [Theory]
    [InlineData("\"1544712660000000000\"", 1544712660000000000UL)]
    [InlineData("1544712660000000000", 1544712660000000000UL)]
    [InlineData("\"18446744073709551615\"", ulong.MaxValue)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("1.5e18", 1500000000000000000UL)]
    [InlineData("\"0\"", 0UL)]
    [InlineData("null", 0UL)]
    public void ParseTraceRequest_Fixed64AsStringOrNumber_Parsed(string json, ulong expected) =>
        Assert.Equal(expected, ParseSingleSpan($$"""{"startTimeUnixNano":{{json}}}""").StartTimeUnixNano);

    [Theory]
    [InlineData("\"9223372036854775807\"", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("\"-17\"", -17L)]
    [InlineData("17", 17L)]
    [InlineData("5.0", 5L)]
    public void ParseTraceRequest_IntValueAsStringOrNumber_StaysInt(string json, long expected)
    {
        var value = ParseAttributeValue($$"""{"intValue":{{json}}}""");
        Assert.Equal(AnyValue.ValueOneofCase.IntValue, value.ValueCase);
        Assert.Equal(expected, value.IntValue);
    }

    [Theory]
    [InlineData("\"NaN\"", double.NaN)]
    [InlineData("\"Infinity\"", double.PositiveInfinity)]
    [InlineData("\"-Infinity\"", double.NegativeInfinity)]
    [InlineData("\"2.5\"", 2.5)]
    [InlineData("1e-300", 1e-300)]
    [InlineData("7", 7.0)]
    public void ParseTraceRequest_DoubleValueForms_Parsed(string json, double expected)
    {
        var value = ParseAttributeValue($$"""{"doubleValue":{{json}}}""");
        Assert.Equal(AnyValue.ValueOneofCase.DoubleValue, value.ValueCase);
        Assert.Equal(expected, value.DoubleValue);
    }

    [Theory]
    [InlineData("\"AAEC/w==\"")]
    [InlineData("\"AAEC/w\"")]
    [InlineData("\"AAEC_w==\"")]
    public void ParseTraceRequest_BytesValueStandardOrUrlSafeBase64_Decoded(string json) =>
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, ParseAttributeValue($$"""{"bytesValue":{{json}}}""").BytesValue.ToByteArray());

    [Fact]
    public void ParseTraceRequest_SnakeCaseNames_Accepted()
    {
        var request = Parse("""
            {"resource_spans":[{"schema_url":"s","resource":{"dropped_attributes_count":1},
              "scope_spans":[{"schema_url":"t","scope":{"dropped_attributes_count":2},"spans":[{
                "trace_id":"0102","span_id":"0304","parent_span_id":"0506","trace_state":"a=b",
                "start_time_unix_nano":"1","end_time_unix_nano":2,"dropped_attributes_count":3,
                "dropped_events_count":4,"dropped_links_count":5,
                "events":[{"time_unix_nano":"6","dropped_attributes_count":7}],
                "links":[{"trace_id":"0708","span_id":"090a","trace_state":"c=d","dropped_attributes_count":8}],
                "attributes":[
                  {"key":"s","value":{"string_value":"x"}},{"key":"b","value":{"bool_value":true}},
                  {"key":"i","value":{"int_value":"9"}},{"key":"d","value":{"double_value":1.5}},
                  {"key":"y","value":{"bytes_value":"AQ=="}},
                  {"key":"a","value":{"array_value":{"values":[{"int_value":1}]}}},
                  {"key":"k","value":{"kvlist_value":{"values":[{"key":"n","value":{"string_value":"v"}}]}}}]
              }]}]}]}
            """);

        var resourceSpans = request.ResourceSpans[0];
        Assert.Equal("s", resourceSpans.SchemaUrl);
        Assert.Equal(1u, resourceSpans.Resource.DroppedAttributesCount);
        Assert.Equal("t", resourceSpans.ScopeSpans[0].SchemaUrl);
        Assert.Equal(2u, resourceSpans.ScopeSpans[0].Scope.DroppedAttributesCount);
        var span = resourceSpans.ScopeSpans[0].Spans[0];
        Assert.Equal(new byte[] { 1, 2 }, span.TraceId.ToByteArray());
        Assert.Equal(new byte[] { 3, 4 }, span.SpanId.ToByteArray());
        Assert.Equal(new byte[] { 5, 6 }, span.ParentSpanId.ToByteArray());
        Assert.Equal("a=b", span.TraceState);
        Assert.Equal(1UL, span.StartTimeUnixNano);
        Assert.Equal(2UL, span.EndTimeUnixNano);
        Assert.Equal(3u, span.DroppedAttributesCount);
        Assert.Equal(4u, span.DroppedEventsCount);
        Assert.Equal(5u, span.DroppedLinksCount);
        Assert.Equal(6UL, span.Events[0].TimeUnixNano);
        Assert.Equal(7u, span.Events[0].DroppedAttributesCount);
        Assert.Equal(new byte[] { 7, 8 }, span.Links[0].TraceId.ToByteArray());
        Assert.Equal(new byte[] { 9, 10 }, span.Links[0].SpanId.ToByteArray());
        Assert.Equal("c=d", span.Links[0].TraceState);
        Assert.Equal(8u, span.Links[0].DroppedAttributesCount);
        Assert.Equal("x", span.Attributes[0].Value.StringValue);
        Assert.True(span.Attributes[1].Value.BoolValue);
        Assert.Equal(9, span.Attributes[2].Value.IntValue);
        Assert.Equal(1.5, span.Attributes[3].Value.DoubleValue);
        Assert.Equal(new byte[] { 1 }, span.Attributes[4].Value.BytesValue.ToByteArray());
        Assert.Equal(1, span.Attributes[5].Value.ArrayValue.Values[0].IntValue);
        Assert.Equal("v", span.Attributes[6].Value.KvlistValue.Values[0].Value.StringValue);
    }

    [Fact]
    public void ParseTraceRequest_UnknownFieldsAnywhere_Ignored()
    {
        var request = Parse("""
            {"extra":{"deep":[{"a":[1,2,{"b":null}]},"x"]},"resourceSpans":[{"unknownObject":{"resourceSpans":[{}]},
              "scopeSpans":[{"unknownArray":[[[]]],"spans":[{"name":"kept","futureField":{"spans":[1]},
                "attributes":[{"key":"k","value":{"futureValue":{"x":1},"stringValue":"v"},"extra":true}],
                "status":{"code":1,"deprecated_code":2}}]}]}],"trailer":123}
            """);

        var span = Assert.Single(Assert.Single(Assert.Single(request.ResourceSpans).ScopeSpans).Spans);
        Assert.Equal("kept", span.Name);
        Assert.Equal("v", span.Attributes[0].Value.StringValue);
        Assert.Equal(Status.Types.StatusCode.Ok, span.Status.Code);
    }

    [Fact]
    public void ParseTraceRequest_NullFields_Default()
    {
        var span = ParseSingleSpan("""
            {"traceId":null,"name":null,"kind":null,"attributes":null,"events":null,"status":null,"flags":null}
            """);

        Assert.Equal(new Span(), span);
    }

    [Theory]
    [InlineData("\"SPAN_KIND_SERVER\"", Span.Types.SpanKind.Server)]
    [InlineData("\"SPAN_KIND_CONSUMER\"", Span.Types.SpanKind.Consumer)]
    [InlineData("3", Span.Types.SpanKind.Client)]
    [InlineData("\"4\"", Span.Types.SpanKind.Producer)]
    public void ParseTraceRequest_SpanKindIntegerOrName_Parsed(string json, Span.Types.SpanKind expected) =>
        Assert.Equal(expected, ParseSingleSpan($$"""{"kind":{{json}}}""").Kind);

    [Fact]
    public void ParseTraceRequest_StatusCodeName_Parsed() =>
        Assert.Equal(Status.Types.StatusCode.Error, ParseSingleSpan("""{"status":{"code":"STATUS_CODE_ERROR"}}""").Status.Code);

    [Fact]
    public void ParseTraceRequest_UnknownEnumNumber_KeptAsProtobufDoes() =>
        Assert.Equal(9, (int)ParseSingleSpan("""{"kind":9}""").Kind);

    [Fact]
    public void ParseTraceRequest_HexIds_CaseInsensitiveAndEmptyAllowed()
    {
        var span = ParseSingleSpan("""{"traceId":"aBcDeF0123456789ABCDEF0123456789","spanId":"","parentSpanId":""}""");

        Assert.Equal(Convert.FromHexString("ABCDEF0123456789ABCDEF0123456789"), span.TraceId.ToByteArray());
        Assert.True(span.SpanId.IsEmpty);
        Assert.True(span.ParentSpanId.IsEmpty);
    }

    [Fact]
    public void ParseTraceRequest_EscapedStringsAndNames_Unescaped()
    {
        var span = ParseSingleSpan("""{"n\u0061me":"caf\u00e9 \"quoted\"","traceId":"\u0030\u0031"}""");

        Assert.Equal("café \"quoted\"", span.Name);
        Assert.Equal(new byte[] { 1 }, span.TraceId.ToByteArray());
    }

    [Fact]
    public void ParseTraceRequest_NonAsciiText_Preserved() =>
        Assert.Equal("日本語 😀", ParseSingleSpan("""{"name":"日本語 😀"}""").Name);

    [Fact]
    public void ParseTraceRequest_LeadingUtf8ByteOrderMark_Skipped()
    {
        var body = new byte[] { 0xEF, 0xBB, 0xBF }.Concat("""{"resourceSpans":[{}]}"""u8.ToArray()).ToArray();

        Assert.Single(OtlpJson.ParseTraceRequest(body).ResourceSpans);
    }

    [Fact]
    public void ParseTraceRequest_WrongTypeForTime_ErrorNamesTheField()
    {
        var error = ParseFails("""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{},{},{},{"startTimeUnixNano":true}]}]}]}
            """);

        Assert.StartsWith("resourceSpans[0].scopeSpans[0].spans[3].startTimeUnixNano: expected an integer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTraceRequest_SnakeCaseFieldInError_ReportedWithCanonicalName()
    {
        var error = ParseFails("""{"resource_spans":[{"scope_spans":[{"spans":[{"end_time_unix_nano":"soon"}]}]}]}""");

        Assert.StartsWith("resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTraceRequest_WrongTypeInNestedAttribute_ErrorNamesThePath()
    {
        var error = ParseFails("""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"arrayValue":{"values":[{"boolValue":"yes"}]}}}]}]}]}]}
            """);

        Assert.Equal(
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values[0].boolValue: expected true or false",
            error.Message);
    }

    [Theory]
    [InlineData("""{"traceId":"0g"}""", "traceId")]
    [InlineData("""{"traceId":"abc"}""", "traceId")]
    [InlineData("""{"spanId":"zzzzzzzzzzzzzzzz"}""", "spanId")]
    [InlineData("""{"parentSpanId":"0102-304"}""", "parentSpanId")]
    [InlineData("""{"links":[{"traceId":"x1"}]}""", "links[0].traceId")]
    [InlineData("""{"links":[{"spanId":"123"}]}""", "links[0].spanId")]
    [InlineData("""{"traceId":12}""", "traceId")]
    [InlineData("""{"name":5}""", "name")]
    [InlineData("""{"kind":"SERVER"}""", "kind")]
    [InlineData("""{"kind":1.5}""", "kind")]
    [InlineData("""{"flags":-1}""", "flags")]
    [InlineData("""{"flags":"4294967296"}""", "flags")]
    [InlineData("""{"droppedAttributesCount":1.5}""", "droppedAttributesCount")]
    [InlineData("""{"startTimeUnixNano":"-1"}""", "startTimeUnixNano")]
    [InlineData("""{"startTimeUnixNano":"18446744073709551616"}""", "startTimeUnixNano")]
    [InlineData("""{"startTimeUnixNano":"12abc"}""", "startTimeUnixNano")]
    [InlineData("""{"attributes":{}}""", "attributes")]
    [InlineData("""{"attributes":[5]}""", "attributes[0]")]
    [InlineData("""{"attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]}""", "attributes[0].value.intValue")]
    [InlineData("""{"attributes":[{"key":"k","value":{"doubleValue":"fast"}}]}""", "attributes[0].value.doubleValue")]
    [InlineData("""{"attributes":[{"key":"k","value":{"bytesValue":"***"}}]}""", "attributes[0].value.bytesValue")]
    [InlineData("""{"attributes":[{"key":"k","value":"plain"}]}""", "attributes[0].value")]
    [InlineData("""{"attributes":[{"key":7}]}""", "attributes[0].key")]
    [InlineData("""{"events":[{"timeUnixNano":{}}]}""", "events[0].timeUnixNano")]
    [InlineData("""{"status":[]}""", "status")]
    [InlineData("""{"status":{"code":"STATUS_CODE_MAYBE"}}""", "status.code")]
    public void ParseTraceRequest_InvalidSpanField_ErrorNamesTheField(string spanJson, string field)
    {
        var error = ParseFails($$"""{"resourceSpans":[{"scopeSpans":[{"spans":[{{spanJson}}]}]}]}""");

        Assert.StartsWith($"resourceSpans[0].scopeSpans[0].spans[0].{field}:", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"resourceSpans\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("{\"resourceSpans\":[}")]
    [InlineData("{\"resourceSpans\":[]} trailing")]
    [InlineData("{} {}")]
    [InlineData("{\"resourceSpans\":[],}")]
    [InlineData("{\"resourceSpans\":5}")]
    [InlineData("{\"resourceSpans\":[5]}")]
    [InlineData("{\"resourceSpans\":[null]}")]
    [InlineData("{/* comment */}")]
    [InlineData("{'single':'quotes'}")]
    [InlineData("\u00ff\u00fe")]
    public void ParseTraceRequest_MalformedDocument_OtlpFormatException(string json)
    {
        var error = ParseFails(json);

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void ParseTraceRequest_InvalidUtf8InString_OtlpFormatException()
    {
        byte[] body = [.. "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\""u8, 0xC3, 0x28, .. "\"}]}]}]}"u8];

        var error = ParseFails(body);

        Assert.StartsWith("resourceSpans[0].scopeSpans[0].spans[0].name: invalid UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTraceRequest_AnyValueNestedAtLimit_Accepted()
    {
        var value = ParseAttributeValue(NestedArrayValue(OtlpJson.MaxAnyValueDepth));

        var depth = 1;
        while (value.ValueCase == AnyValue.ValueOneofCase.ArrayValue)
        {
            value = value.ArrayValue.Values[0];
            depth++;
        }

        Assert.Equal(OtlpJson.MaxAnyValueDepth, depth);
    }

    [Fact]
    public void ParseTraceRequest_AnyValueNestedPastLimit_OtlpFormatException()
    {
        var error = Assert.Throws<OtlpFormatException>(() => ParseAttributeValue(NestedArrayValue(OtlpJson.MaxAnyValueDepth + 1)));

        Assert.Contains("nested deeper than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTraceRequest_KvlistNestedPastLimit_OtlpFormatException()
    {
        var json = new StringBuilder();
        for (var i = 0; i < OtlpJson.MaxAnyValueDepth + 1; i++)
        {
            json.Append("""{"kvlistValue":{"values":[{"key":"k","value":""");
        }

        json.Append("{}");
        for (var i = 0; i < OtlpJson.MaxAnyValueDepth + 1; i++)
        {
            json.Append("}]}}");
        }

        Assert.Throws<OtlpFormatException>(() => ParseAttributeValue(json.ToString()));
    }

    [Theory]
    [InlineData(10_000)]
    [InlineData(100_000)]
    public void ParseTraceRequest_HostileDeepArrayValueNesting_OtlpFormatException(int depth) =>
        Assert.Throws<OtlpFormatException>(() => ParseAttributeValue(NestedArrayValue(depth)));

    [Fact]
    public void ParseTraceRequest_HostileDeepUnknownField_OtlpFormatException()
    {
        var json = "{\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}";

        Assert.Throws<OtlpFormatException>(() => Parse(json));
    }

    [Fact]
    public void ParseTraceRequest_IdsAreIndependentCopies_NotAliasingInput()
    {
        var body = Encoding.UTF8.GetBytes("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102"}]}]}]}""");
        var request = OtlpJson.ParseTraceRequest(body);
        Array.Clear(body);

        Assert.Equal(ByteString.CopyFrom(1, 2), request.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId);
    }

    private static string NestedArrayValue(int depth)
    {
        var json = new StringBuilder(depth * 32);
        for (var i = 1; i < depth; i++)
        {
            json.Append("""{"arrayValue":{"values":[""");
        }

        json.Append("""{"intValue":"1"}""");
        for (var i = 1; i < depth; i++)
        {
            json.Append("]}}");
        }

        return json.ToString();
    }
}
