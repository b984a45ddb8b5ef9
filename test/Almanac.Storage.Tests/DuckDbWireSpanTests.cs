using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>
/// DuckDB-specific: spans handed over in their wire encoding (what the ingest pipeline does) read back exactly as
/// the generated protobuf parser reads the bytes that were sent, whether the writer's wire reader or its object
/// fallback took them. The encodings are written by hand to reach what SDKs rarely send but a peer may.
/// </summary>
public sealed class DuckDbWireSpanTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-wire-").FullName;
    private readonly List<DuckDbStore> _opened = [];

    private DuckDbStore _store => _opened[0];

    public Task InitializeAsync()
    {
        _opened.Add(new DuckDbStore(Path.Combine(_directory, "almanac.duckdb")));
        return _store.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    public static TheoryData<string> Shapes() => [.. SpanShapes.Keys];

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task WireSpan_ReadsBackAsTheProtobufParserReadsIt(string shape)
    {
        var traceId = NewTraceId();
        var spanBytes = SpanShapes[shape](traceId);
        await _store.WriteAsync(new TelemetryBatch([], [Request(spanBytes)], [], [], 1));

        var stored = Assert.Single((await _store.GetTraceAsync(traceId))!.Spans);
        Assert.Equal(Almanac.Otlp.OtlpProtobuf.ParseAccepted<Span>(spanBytes), stored.Span);
        Assert.Equal("wire", stored.ServiceName);
        Assert.Equal("wire.scope", stored.Scope.Name);
    }

    [Fact]
    public void Blob_OfASpanWhoseEventAttributesTheTextRebuilds_DoesNotRepeatThem()
    {
        // The search text holds an exception's type, message and stack trace for search; the blob must not hold them
        // again (they were most of its bytes), on the wire path and the object path alike.
        var span = Full(NewTraceId());
        span.Events[0].Attributes.Add(Attr("exception.stacktrace", "at Shop.Checkout.Pay() in /src/Checkout.cs:line 42"));
        var bytes = span.ToByteArray();
        var text = new SearchText();
        text.Build(span.Attributes, span.Events, key => key.Length);
        Assert.True(text.EventsRebuildable);

        var codec = new SpanCodec();
        var fields = WireSpan.Read(bytes);
        var raw = codec.EncodeRaw(bytes, fields, stripAttributes: true, stripEventAttributes: true, (long)span.StartTimeUnixNano,
            (long)(span.EndTimeUnixNano - span.StartTimeUnixNano)).ToArray();
        var data = new SpanData(NewTraceId(), default, default, "svc", CreateResource("svc"), string.Empty, CreateScope(), string.Empty, span);
        var fromObject = codec.Encode(data, stripAttributes: true, stripEventAttributes: true).ToArray();

        foreach (var blob in new[] { raw, fromObject })
        {
            Assert.Equal(-1, blob.AsSpan().IndexOf("Checkout.cs:line 42"u8));
            Assert.Equal("exception", Almanac.Otlp.OtlpProtobuf.ParseAccepted<Span>(blob).Events[0].Name);
        }
    }

    [Fact]
    public async Task WireSpan_TheParserRefuses_IsSkippedAndTheRestIsStored()
    {
        // Ingest refuses text that is not UTF-8 (the generated parser does); should such a span reach the store
        // anyway, it must not wedge the batch, which the pipeline would retry forever.
        var bad = NewTraceId();
        var good = NewTraceId();
        var badSpan = Concat(Full(bad).ToByteArray(), Field(5, [0x6F, 0xFF, 0x70]));
        await _store.WriteAsync(new TelemetryBatch([], [Request(badSpan, Full(good).ToByteArray())], [], [], 1));

        Assert.Null(await _store.GetTraceAsync(bad));
        Assert.NotNull(await _store.GetTraceAsync(good));
    }

    [Fact]
    public async Task WireRequest_ThatCannotBeRead_IsLeftOutAndTheRestIsStored()
    {
        // Only a defect could hand the store such bytes; failing the batch would wedge the pipeline's retries.
        var good = NewTraceId();
        var truncated = Request(Full(NewTraceId()).ToByteArray()).ToArray()[..^3];
        await _store.WriteAsync(new TelemetryBatch([], [truncated, Request(Full(good).ToByteArray())], [], [], 1));

        Assert.NotNull(await _store.GetTraceAsync(good));
        Assert.Equal(1, await _store.GetCheckpointAsync());
    }

    [Fact]
    public async Task WireSpans_AreSearchableAndSummarizedLikeObjectSpans()
    {
        var traceId = NewTraceId();
        var root = CreateSpan(traceId, name: "GET /rolldice", startUnixNano: BaseTimeUnixNano, durationNanos: 5_000_000,
            status: Status.Types.StatusCode.Error, attributes: [Attr("http.route", "/rolldice"), Attr("http.response.status_code", 500)]);
        var child = CreateSpan(traceId, parentSpanId: SpanId.TryRead(root.SpanId.Span, out var rootId) ? rootId : default, name: "roll",
            startUnixNano: BaseTimeUnixNano + 1_000_000, attributes: [Attr("dice.value", 6L)]);
        await _store.WriteAsync(new TelemetryBatch([], [Request(root.ToByteArray(), child.ToByteArray())], [], [], 1));

        var query = new TraceQuery { ServiceName = "wire", Attributes = [new("http.response.status_code", "500")], Limit = 10 };
        Assert.Equal([traceId], await _store.FindTraceIdsAsync(query));

        var summary = Assert.Single(await _store.GetTraceSummariesAsync([traceId]));
        Assert.Equal("GET /rolldice", summary.RootOperationName);
        Assert.Equal(2, summary.SpanCount);
        Assert.Equal(1, summary.ErrorCount);
        Assert.Contains(await _store.GetOperationsAsync("wire"), o => o.Name == "roll");
    }

    private static readonly Dictionary<string, Func<TraceId, byte[]>> SpanShapes = new()
    {
        ["every field, simple attributes"] = id => Full(id).ToByteArray(),
        ["attribute values the text cannot spell"] = id =>
        {
            var span = Full(id);
            span.Attributes.Add(new KeyValue { Key = "list", Value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { IntValue = 1 } } } } });
            span.Attributes.Add(Attr("blob", new byte[] { 1, 2, 3 }));
            span.Attributes.Add(Attr("nan", double.NaN));
            span.Attributes.Add(Attr("separators", "a\u001eb\u001fc"));
            span.Attributes.Add(new KeyValue { Key = "empty" });
            return span.ToByteArray();
        },
        ["link attribute that is a map"] = id =>
        {
            var span = Full(id);
            span.Links[0].Attributes.Add(new KeyValue { Key = "map", Value = new AnyValue { KvlistValue = new KeyValueList { Values = { Attr("a", "b") } } } });
            return span.ToByteArray();
        },
        ["all-zero parent, kind beyond a byte, end before start"] = id =>
        {
            var span = Full(id);
            span.ParentSpanId = ByteString.CopyFrom(new byte[8]);
            span.Kind = (Span.Types.SpanKind)300;
            span.EndTimeUnixNano = span.StartTimeUnixNano - 5;
            return span.ToByteArray();
        },
        ["negative kind"] = id =>
        {
            var span = Full(id);
            span.Kind = (Span.Types.SpanKind)(-1);
            return span.ToByteArray();
        },
        ["fields repeated: last id and name win, statuses merge"] = id => Concat(
            Field(1, new byte[16].Select((_, i) => (byte)(i + 1)).ToArray()),
            Field(5, "first"u8.ToArray()),
            Full(id).ToByteArray(),
            Field(5, "second"u8.ToArray()),
            Field(15, Message(o => o.WriteString("only a message"), 2))),
        ["unknown fields and known numbers with another wire type"] = id => Concat(
            Full(id).ToByteArray(),
            Varint(100, 7),
            Varint(5, 42),
            Field(101, "future"u8.ToArray())),
        ["events: several, one bare, attributes around the other fields, a searched-for exception"] = id =>
        {
            var span = Full(id);
            span.Events.Add(new Span.Types.Event { Name = "bare", TimeUnixNano = 7 });
            var late = Concat(Field(3, new KeyValue { Key = "first", Value = new AnyValue { IntValue = 1 } }.ToByteArray()),
                Field(2, "split"u8.ToArray()),
                Field(3, new KeyValue { Key = "second", Value = new AnyValue { BoolValue = true } }.ToByteArray()),
                Varint(4, 2));
            return Concat(span.ToByteArray(), Field(11, late));
        },
        ["event attribute the text cannot spell: an array"] = id =>
        {
            var span = Full(id);
            span.Events.Add(new Span.Types.Event { Name = "list", Attributes = { new KeyValue { Key = "l", Value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { IntValue = 1 } } } } } } });
            return span.ToByteArray();
        },
        ["event attribute with a separator in its value"] = id =>
        {
            var span = Full(id);
            span.Events.Add(new Span.Types.Event { Name = "sep", Attributes = { Attr("m", "a\u001eb") } });
            return span.ToByteArray();
        },
        ["event attribute that is NaN, another with an unknown field"] = id =>
        {
            var span = Full(id);
            span.Events.Add(new Span.Types.Event { Name = "nan", Attributes = { Attr("d", double.NaN) } });
            return Concat(span.ToByteArray(), Field(11, Concat(Field(2, "odd"u8.ToArray()),
                Field(3, Concat(new KeyValue { Key = "u", Value = new AnyValue { StringValue = "x" } }.ToByteArray(), Varint(9, 1))))));
        },
        ["span attributes the text cannot spell, event attributes it can"] = id =>
        {
            var span = Full(id);
            span.Attributes.Add(new KeyValue { Key = "bytes", Value = new AnyValue { BytesValue = ByteString.CopyFrom(1, 2) } });
            return span.ToByteArray();
        },
        ["unknown field encoded as a group, also inside an attribute"] = id => Concat(
            Full(id).ToByteArray(),
            Group(200, Concat(Varint(1, 5), Group(2, Field(3, "nested"u8.ToArray())))),
            Field(9, Concat(Field(1, "grouped"u8.ToArray()), Field(2, Field(1, "v"u8.ToArray())), Group(7, Varint(1, 1))))),
        ["attribute with an unknown field"] = id => Concat(
            Full(id).ToByteArray(),
            Field(9, Concat(Field(1, "odd"u8.ToArray()), Field(2, Field(1, "v"u8.ToArray())), Varint(9, 1)))),
        ["attribute value with two members"] = id => Concat(
            Full(id).ToByteArray(),
            Field(9, Concat(Field(1, "two"u8.ToArray()), Field(2, Concat(Field(1, "text"u8.ToArray()), Varint(3, 5)))))),
        ["attributes nested as deep as ingest accepts"] = id =>
        {
            var value = new AnyValue { StringValue = "bottom" };
            for (var depth = 1; depth < Almanac.Otlp.Json.OtlpJson.MaxAnyValueDepth; depth++)
            {
                value = new AnyValue { ArrayValue = new ArrayValue { Values = { value } } };
            }

            var span = Full(id);
            span.Attributes.Add(new KeyValue { Key = "deep", Value = value });
            return span.ToByteArray();
        },
        ["no attributes, events without attributes"] = id =>
        {
            var span = CreateSpan(id);
            span.Events.Add(new Span.Types.Event { Name = "bare", TimeUnixNano = 5 });
            return span.ToByteArray();
        },
    };

    private static Span Full(TraceId id)
    {
        var span = CreateSpan(id, name: "op", kind: Span.Types.SpanKind.Client, status: Status.Types.StatusCode.Error,
            attributes: [Attr("s", "text"), Attr("i", -42L), Attr("d", 2.5), Attr("b", true)],
            events: [new Span.Types.Event { Name = "exception", TimeUnixNano = (ulong)BaseTimeUnixNano + 1, Attributes = { Attr("exception.type", "E") }, DroppedAttributesCount = 1 }],
            links: [new Span.Types.Link { TraceId = ByteString.CopyFrom(NewTraceId().ToBytes()), SpanId = ByteString.CopyFrom(NewSpanId().ToBytes()), Attributes = { Attr("l", 1L) } }]);
        span.TraceState = "k=v";
        span.Flags = 0x301;
        span.DroppedAttributesCount = 2;
        span.DroppedEventsCount = 3;
        span.DroppedLinksCount = 4;
        span.Status.Message = "boom";
        return span;
    }

    private static ReadOnlyMemory<byte> Request(params byte[][] spans)
    {
        var scopeSpans = Concat([Field(1, CreateScope("wire.scope").ToByteArray()), .. spans.Select(s => Field(2, s))]);
        var resourceSpans = Concat(Field(1, CreateResource("wire").ToByteArray()), Field(2, scopeSpans));
        return Field(1, resourceSpans);
    }

    private static byte[] Field(int number, byte[] payload) => Message(o => o.WriteBytes(ByteString.CopyFrom(payload)), number);

    /// <summary>A field in the deprecated group encoding: start-group tag, fields, end-group tag.</summary>
    private static byte[] Group(int number, byte[] fields) =>
        Concat(Tag(number, WireFormat.WireType.StartGroup), fields, Tag(number, WireFormat.WireType.EndGroup));

    private static byte[] Tag(int number, WireFormat.WireType type)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(number, type);
        output.Flush();
        return stream.ToArray();
    }

    private static byte[] Varint(int number, ulong value)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(number, WireFormat.WireType.Varint);
        output.WriteUInt64(value);
        output.Flush();
        return stream.ToArray();
    }

    /// <summary>A length-delimited field whose payload <paramref name="write"/> produces (for a status: field 2, its message).</summary>
    private static byte[] Message(Action<CodedOutputStream> write, int number)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(number, WireFormat.WireType.LengthDelimited);
        write(output);
        output.Flush();
        return stream.ToArray();
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
