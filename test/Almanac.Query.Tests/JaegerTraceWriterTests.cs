using System.Text.Json;
using Almanac.Core.Model;
using Almanac.Query.Jaeger;
using Almanac.Testing;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Query.Tests.JsonTestHelpers;

namespace Almanac.Query.Tests;

public sealed class JaegerTraceWriterTests
{
    private static JsonElement RenderTrace(params SpanData[] spans)
    {
        var doc = Render(w => JaegerTraceWriter.WriteTrace(w, new TraceData(spans[0].TraceId, spans)));
        return doc.RootElement.Clone();
    }

    private static JsonElement OnlySpan(JsonElement trace) => trace.GetProperty("spans")[0];

    [Fact]
    public void WriteTrace_SingleSpan_HasJaegerTraceShape()
    {
        var traceId = TestData.NewTraceId();
        var spanId = TestData.NewSpanId();
        var span = TestData.ToSpanData(TestData.CreateSpan(traceId, spanId, name: "GET /users",
            startUnixNano: 1_700_000_000_123_456_789, durationNanos: 2_500_999));

        var trace = RenderTrace(span);

        Assert.Equal(traceId.ToHex(), trace.GetProperty("traceID").GetString());
        Assert.Equal(JsonValueKind.Null, trace.GetProperty("warnings").ValueKind);
        var s = OnlySpan(trace);
        Assert.Equal(traceId.ToHex(), s.GetProperty("traceID").GetString());
        Assert.Equal(spanId.ToHex(), s.GetProperty("spanID").GetString());
        Assert.Equal(16, s.GetProperty("spanID").GetString()!.Length);
        Assert.Equal("GET /users", s.GetProperty("operationName").GetString());
        Assert.Equal(1_700_000_000_123_456, s.GetProperty("startTime").GetInt64());
        Assert.Equal(2_500, s.GetProperty("duration").GetInt64());
        Assert.Equal(0, s.GetProperty("references").GetArrayLength());
        Assert.Equal(0, s.GetProperty("logs").GetArrayLength());
        Assert.Equal("p1", s.GetProperty("processID").GetString());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("warnings").ValueKind);
        Assert.Equal(0, s.GetProperty("flags").GetInt32());
        Assert.Equal("svc", trace.GetProperty("processes").GetProperty("p1").GetProperty("serviceName").GetString());
    }

    [Fact]
    public void WriteTrace_TraceIdWithZeroHighHalf_IsStill32HexDigits()
    {
        var traceId = new TraceId(0, 0xabc);
        var span = TestData.ToSpanData(TestData.CreateSpan(traceId));

        var trace = RenderTrace(span);

        Assert.Equal("00000000000000000000000000000abc", trace.GetProperty("traceID").GetString());
        Assert.Equal("00000000000000000000000000000abc", OnlySpan(trace).GetProperty("traceID").GetString());
    }

    [Fact]
    public void WriteTrace_AttributeTypes_MapToJaegerTagTypes()
    {
        var attrs = new[]
        {
            TestData.Attr("s", "text"),
            TestData.Attr("i", 200L),
            TestData.Attr("big", long.MaxValue),
            TestData.Attr("d", 1.5),
            TestData.Attr("b", true),
            TestData.Attr("bytes", new byte[] { 1, 2, 3 }),
            new KeyValue
            {
                Key = "arr",
                Value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = "a" }, new AnyValue { IntValue = 1 }, new AnyValue { BoolValue = false } } } },
            },
            new KeyValue
            {
                Key = "map",
                Value = new AnyValue { KvlistValue = new KeyValueList { Values = { TestData.Attr("k", "v"), TestData.Attr("n", 2L) } } },
            },
            new KeyValue { Key = "empty", Value = new AnyValue() },
            TestData.Attr("nan", double.NaN),
        };
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), kind: Span.Types.SpanKind.Unspecified, attributes: attrs));

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        AssertTag(tags, "s", "string", v => Assert.Equal("text", v.GetString()));
        AssertTag(tags, "i", "int64", v =>
        {
            Assert.Equal(JsonValueKind.Number, v.ValueKind);
            Assert.Equal(200, v.GetInt64());
        });
        AssertTag(tags, "big", "int64", v => Assert.Equal(long.MaxValue, v.GetInt64()));
        AssertTag(tags, "d", "float64", v => Assert.Equal(1.5, v.GetDouble()));
        AssertTag(tags, "b", "bool", v => Assert.Equal(JsonValueKind.True, v.ValueKind));
        AssertTag(tags, "bytes", "binary", v => Assert.Equal("AQID", v.GetString()));
        AssertTag(tags, "arr", "string", v => Assert.Equal("[\"a\",1,false]", v.GetString()));
        AssertTag(tags, "map", "string", v => Assert.Equal("{\"k\":\"v\",\"n\":2}", v.GetString()));
        AssertTag(tags, "empty", "string", v => Assert.Equal(string.Empty, v.GetString()));
        AssertTag(tags, "nan", "string", v => Assert.Equal("NaN", v.GetString()));
        Assert.False(HasTag(tags, "span.kind"));
    }

    [Fact]
    public void WriteTrace_NonAsciiInsideArray_IsNotEscapedInTheTagText()
    {
        var attr = new KeyValue
        {
            Key = "names",
            Value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = "café <b>" } } } },
        };
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), attributes: [attr]));

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        Assert.Equal("[\"café <b>\"]", Tag(tags, "names").GetProperty("value").GetString());
    }

    private static void AssertTag(JsonElement tags, string key, string type, Action<JsonElement> value)
    {
        var tag = Tag(tags, key);
        Assert.Equal(type, tag.GetProperty("type").GetString());
        value(tag.GetProperty("value"));
    }

    [Theory]
    [InlineData(Span.Types.SpanKind.Server, "server")]
    [InlineData(Span.Types.SpanKind.Client, "client")]
    [InlineData(Span.Types.SpanKind.Producer, "producer")]
    [InlineData(Span.Types.SpanKind.Consumer, "consumer")]
    [InlineData(Span.Types.SpanKind.Internal, "internal")]
    public void WriteTrace_SpanKind_BecomesSpanKindTag(Span.Types.SpanKind kind, string expected)
    {
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), kind: kind));

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        Assert.Equal(expected, Tag(tags, "span.kind").GetProperty("value").GetString());
    }

    [Fact]
    public void WriteTrace_ErrorStatus_AddsStatusAndErrorTags()
    {
        var otlp = TestData.CreateSpan(TestData.NewTraceId(), status: Status.Types.StatusCode.Error);
        otlp.Status.Message = "connection refused";

        var tags = OnlySpan(RenderTrace(TestData.ToSpanData(otlp))).GetProperty("tags");

        Assert.Equal("ERROR", Tag(tags, "otel.status_code").GetProperty("value").GetString());
        Assert.Equal("connection refused", Tag(tags, "otel.status_description").GetProperty("value").GetString());
        var error = Tag(tags, "error");
        Assert.Equal("bool", error.GetProperty("type").GetString());
        Assert.True(error.GetProperty("value").GetBoolean());
    }

    [Fact]
    public void WriteTrace_OkStatus_AddsStatusCodeButNoError()
    {
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), status: Status.Types.StatusCode.Ok));

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        Assert.Equal("OK", Tag(tags, "otel.status_code").GetProperty("value").GetString());
        Assert.False(HasTag(tags, "error"));
        Assert.False(HasTag(tags, "otel.status_description"));
    }

    [Fact]
    public void WriteTrace_UnsetStatus_AddsNoStatusTags()
    {
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), status: Status.Types.StatusCode.Unset));

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        Assert.False(HasTag(tags, "otel.status_code"));
        Assert.False(HasTag(tags, "error"));
    }

    [Fact]
    public void WriteTrace_ScopeTraceStateAndDroppedCounts_BecomeTags()
    {
        var otlp = TestData.CreateSpan(TestData.NewTraceId());
        otlp.TraceState = "vendor=abc";
        otlp.DroppedAttributesCount = 3;
        otlp.DroppedEventsCount = 4;
        otlp.DroppedLinksCount = 5;
        var span = TestData.ToSpanData(otlp, scope: TestData.CreateScope("io.opentelemetry.http", "2.1.0"));

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        Assert.Equal("io.opentelemetry.http", Tag(tags, "otel.scope.name").GetProperty("value").GetString());
        Assert.Equal("2.1.0", Tag(tags, "otel.scope.version").GetProperty("value").GetString());
        Assert.Equal("vendor=abc", Tag(tags, "w3c.tracestate").GetProperty("value").GetString());
        Assert.Equal(3, Tag(tags, "otel.dropped_attributes_count").GetProperty("value").GetInt64());
        Assert.Equal(4, Tag(tags, "otel.dropped_events_count").GetProperty("value").GetInt64());
        Assert.Equal(5, Tag(tags, "otel.dropped_links_count").GetProperty("value").GetInt64());
    }

    [Fact]
    public void WriteTrace_EmptyScopeAndNoTraceState_AddNoTags()
    {
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId()), scope: new InstrumentationScope());

        var tags = OnlySpan(RenderTrace(span)).GetProperty("tags");

        Assert.False(HasTag(tags, "otel.scope.name"));
        Assert.False(HasTag(tags, "otel.scope.version"));
        Assert.False(HasTag(tags, "w3c.tracestate"));
        Assert.False(HasTag(tags, "otel.dropped_attributes_count"));
    }

    [Fact]
    public void WriteTrace_ParentAndLinks_BecomeReferencesParentFirst()
    {
        var traceId = TestData.NewTraceId();
        var parentId = TestData.NewSpanId();
        var otherTrace = TestData.NewTraceId();
        var linkedSpan = TestData.NewSpanId();
        var link = new Span.Types.Link
        {
            TraceId = ByteString.CopyFrom(otherTrace.ToBytes()),
            SpanId = ByteString.CopyFrom(linkedSpan.ToBytes()),
            Attributes = { TestData.Attr("lost", "in v1") },
        };
        var span = TestData.ToSpanData(TestData.CreateSpan(traceId, parentSpanId: parentId, links: [link]));

        var refs = OnlySpan(RenderTrace(span)).GetProperty("references");

        Assert.Equal(2, refs.GetArrayLength());
        Assert.Equal("CHILD_OF", refs[0].GetProperty("refType").GetString());
        Assert.Equal(traceId.ToHex(), refs[0].GetProperty("traceID").GetString());
        Assert.Equal(parentId.ToHex(), refs[0].GetProperty("spanID").GetString());
        Assert.Equal("FOLLOWS_FROM", refs[1].GetProperty("refType").GetString());
        Assert.Equal(otherTrace.ToHex(), refs[1].GetProperty("traceID").GetString());
        Assert.Equal(linkedSpan.ToHex(), refs[1].GetProperty("spanID").GetString());
    }

    [Fact]
    public void WriteTrace_LinkWithMalformedIds_IsSkipped()
    {
        var link = new Span.Types.Link { TraceId = ByteString.CopyFrom(1, 2, 3), SpanId = ByteString.CopyFrom(4) };
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), links: [link]));

        var refs = OnlySpan(RenderTrace(span)).GetProperty("references");

        Assert.Equal(0, refs.GetArrayLength());
    }

    [Fact]
    public void WriteTrace_Events_BecomeLogsWithEventField()
    {
        var ev = new Span.Types.Event
        {
            Name = "exception",
            TimeUnixNano = 1_700_000_000_000_001_999,
            Attributes = { TestData.Attr("exception.type", "IOException"), TestData.Attr("attempt", 2L) },
        };
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), events: [ev]));

        var logs = OnlySpan(RenderTrace(span)).GetProperty("logs");

        Assert.Equal(1, logs.GetArrayLength());
        Assert.Equal(1_700_000_000_000_001, logs[0].GetProperty("timestamp").GetInt64());
        var fields = logs[0].GetProperty("fields");
        Assert.Equal(3, fields.GetArrayLength());
        Assert.Equal("event", fields[0].GetProperty("key").GetString());
        Assert.Equal("exception", fields[0].GetProperty("value").GetString());
        Assert.Equal("IOException", Tag(fields, "exception.type").GetProperty("value").GetString());
        Assert.Equal("int64", Tag(fields, "attempt").GetProperty("type").GetString());
        Assert.Equal(2, Tag(fields, "attempt").GetProperty("value").GetInt64());
    }

    [Fact]
    public void WriteTrace_EventWithEventAttribute_AttributeWinsOverName()
    {
        var ev = new Span.Types.Event { Name = "name", Attributes = { TestData.Attr("event", "from-attribute") } };
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), events: [ev]));

        var fields = OnlySpan(RenderTrace(span)).GetProperty("logs")[0].GetProperty("fields");

        Assert.Equal(1, fields.GetArrayLength());
        Assert.Equal("from-attribute", fields[0].GetProperty("value").GetString());
    }

    [Fact]
    public void WriteTrace_SpansFromSameResource_ShareOneProcess()
    {
        var traceId = TestData.NewTraceId();
        // Equal content but distinct instances, as a store reading rows back would produce.
        var a = TestData.ToSpanData(TestData.CreateSpan(traceId), TestData.CreateResource("api", TestData.Attr("host.name", "h1")));
        var b = TestData.ToSpanData(TestData.CreateSpan(traceId), TestData.CreateResource("api", TestData.Attr("host.name", "h1")));
        var c = TestData.ToSpanData(TestData.CreateSpan(traceId), TestData.CreateResource("api", TestData.Attr("host.name", "h2")));
        var d = TestData.ToSpanData(TestData.CreateSpan(traceId), TestData.CreateResource("db"));

        var trace = RenderTrace(a, b, c, d);

        var processes = trace.GetProperty("processes");
        Assert.Equal(3, processes.EnumerateObject().Count());
        var processIds = trace.GetProperty("spans").EnumerateArray().Select(s => s.GetProperty("processID").GetString()!).ToList();
        Assert.All(processIds, id => Assert.True(processes.TryGetProperty(id, out _), $"process {id} missing"));
        Assert.Equal(3, processIds.Distinct().Count());
        Assert.Equal(["p1", "p2", "p3"], processes.EnumerateObject().Select(p => p.Name).ToArray());
    }

    [Fact]
    public void WriteTrace_ProcessTags_ExcludeServiceNameAndKeepTypes()
    {
        var resource = TestData.CreateResource("api", TestData.Attr("host.name", "h1"), TestData.Attr("process.pid", 42L));
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId()), resource);

        var process = RenderTrace(span).GetProperty("processes").GetProperty("p1");

        Assert.Equal("api", process.GetProperty("serviceName").GetString());
        var tags = process.GetProperty("tags");
        Assert.False(HasTag(tags, "service.name"));
        Assert.Equal("h1", Tag(tags, "host.name").GetProperty("value").GetString());
        Assert.Equal("int64", Tag(tags, "process.pid").GetProperty("type").GetString());
        Assert.Equal(42, Tag(tags, "process.pid").GetProperty("value").GetInt64());
    }

    [Fact]
    public void WriteTrace_ResourceWithoutServiceName_UsesUnknownService()
    {
        var span = TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId()), new OpenTelemetry.Proto.Resource.V1.Resource());

        var process = RenderTrace(span).GetProperty("processes").GetProperty("p1");

        Assert.Equal(ServiceNames.Unknown, process.GetProperty("serviceName").GetString());
    }

    [Fact]
    public void WriteTrace_SpansOutOfOrder_AreWrittenByStartTime()
    {
        var traceId = TestData.NewTraceId();
        var late = TestData.ToSpanData(TestData.CreateSpan(traceId, name: "late", startUnixNano: TestData.BaseTimeUnixNano + 5_000));
        var early = TestData.ToSpanData(TestData.CreateSpan(traceId, name: "early", startUnixNano: TestData.BaseTimeUnixNano));

        var spans = RenderTrace(late, early).GetProperty("spans");

        Assert.Equal("early", spans[0].GetProperty("operationName").GetString());
        Assert.Equal("late", spans[1].GetProperty("operationName").GetString());
    }

    [Fact]
    public void WriteTrace_EndBeforeStart_HasZeroDuration()
    {
        var otlp = TestData.CreateSpan(TestData.NewTraceId());
        otlp.EndTimeUnixNano = otlp.StartTimeUnixNano - 1000;

        var span = OnlySpan(RenderTrace(TestData.ToSpanData(otlp)));

        Assert.Equal(0, span.GetProperty("duration").GetInt64());
    }

    [Fact]
    public void WriteTrace_SampledFlag_IsWritten()
    {
        var otlp = TestData.CreateSpan(TestData.NewTraceId());
        otlp.Flags = 0x301; // W3C sampled plus OTLP's has-is-remote bits, which Jaeger has no use for.

        var span = OnlySpan(RenderTrace(TestData.ToSpanData(otlp)));

        Assert.Equal(1, span.GetProperty("flags").GetInt32());
    }
}
