using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Json;

/// <summary>
/// Streams an OTLP/JSON trace export body straight into the generated protobuf types. Hand-written rather than
/// Google.Protobuf's JsonParser because OTLP/JSON differs from canonical protobuf JSON (hex ids instead of base64)
/// and because a token reader avoids building a DOM for multi-megabyte bodies.
/// </summary>
internal ref struct OtlpJsonTraceReader
{
    /// <summary>Deepest allowed AnyValue nesting (an attribute value is level 1).</summary>
    public const int MaxAnyValueDepth = 64;

    // A kvlist level costs four JSON levels (AnyValue, KeyValueList, values array, KeyValue); the fixed part covers
    // request → resourceSpans → scopeSpans → spans → events → attributes → value. Anything deeper cannot be valid OTLP
    // (short of deep unknown fields), and the cap keeps the reader's own recursion bounded.
    private const int MaxJsonDepth = (MaxAnyValueDepth * 4) + 32;

    private Utf8JsonReader _reader;
    private readonly JsonPathTracker _path;
    private int _anyValueDepth;

    private OtlpJsonTraceReader(ReadOnlySpan<byte> utf8Json)
    {
        _reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions
        {
            MaxDepth = MaxJsonDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        _path = new JsonPathTracker();
        _anyValueDepth = 0;
    }

    public static ExportTraceServiceRequest Parse(ReadOnlySpan<byte> utf8Json)
    {
        var request = new ExportTraceServiceRequest();

        // Some HTTP clients prepend a UTF-8 byte order mark; Utf8JsonReader would reject it as an invalid token.
        if (utf8Json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..];
        }

        if (IsBlank(utf8Json))
        {
            return request;
        }

        var parser = new OtlpJsonTraceReader(utf8Json);
        try
        {
            parser.ReadRequest(request);
        }
        catch (JsonException ex)
        {
            throw new OtlpFormatException(DescribeJsonError(ex, parser._reader.CurrentDepth), ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            // Defensive: every shape error is checked explicitly, but a reader accessor surprise must still surface
            // as a format error rather than a 500.
            throw new OtlpFormatException($"{parser._path}: invalid value", ex);
        }

        return request;
    }

    private static bool IsBlank(ReadOnlySpan<byte> utf8Json)
    {
        foreach (var b in utf8Json)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    private static string DescribeJsonError(JsonException ex, int depth)
    {
        var where = ex.LineNumber is { } line && ex.BytePositionInLine is { } column
            ? $" at line {line + 1}, byte {column + 1}"
            : string.Empty;
        return depth >= MaxJsonDepth - 1
            ? $"Invalid JSON{where}: nested deeper than {MaxJsonDepth} levels"
            : $"Invalid JSON{where}: {StripPosition(ex.Message)}";
    }

    // System.Text.Json appends " LineNumber: 0 | BytePositionInLine: 5." which we already report 1-based.
    private static string StripPosition(string message)
    {
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return at > 0 ? message[..at] : message;
    }

    private void ReadRequest(ExportTraceServiceRequest request)
    {
        Read();
        if (_reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error("expected a JSON object");
        }

        while (NextProperty())
        {
            if (Is("resourceSpans"u8, "resource_spans"u8))
            {
                if (EnterArray("resourceSpans"))
                {
                    var index = 0;
                    while (NextElement(ref index))
                    {
                        request.ResourceSpans.Add(ReadResourceSpans());
                    }

                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        // Utf8JsonReader rejects trailing non-whitespace only when asked for the next token.
        if (_reader.Read())
        {
            throw new OtlpFormatException("Invalid JSON: unexpected data after the top-level object");
        }
    }

    private ResourceSpans ReadResourceSpans()
    {
        ExpectObject();
        var result = new ResourceSpans();
        while (NextProperty())
        {
            if (Is("resource"u8))
            {
                if (EnterObject("resource"))
                {
                    result.Resource = ReadResource();
                    Exit();
                }
            }
            else if (Is("scopeSpans"u8, "scope_spans"u8))
            {
                if (EnterArray("scopeSpans"))
                {
                    var index = 0;
                    while (NextElement(ref index))
                    {
                        result.ScopeSpans.Add(ReadScopeSpans());
                    }

                    Exit();
                }
            }
            else if (Is("schemaUrl"u8, "schema_url"u8))
            {
                if (Enter("schemaUrl"))
                {
                    result.SchemaUrl = ReadString();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private Resource ReadResource()
    {
        var result = new Resource();
        while (NextProperty())
        {
            if (Is("attributes"u8))
            {
                ReadAttributesInto(result.Attributes);
            }
            else if (Is("droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                if (Enter("droppedAttributesCount"))
                {
                    result.DroppedAttributesCount = ReadUInt32();
                    Exit();
                }
            }
            else if (Is("entityRefs"u8, "entity_refs"u8))
            {
                if (EnterArray("entityRefs"))
                {
                    var index = 0;
                    while (NextElement(ref index))
                    {
                        result.EntityRefs.Add(ReadEntityRef());
                    }

                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private EntityRef ReadEntityRef()
    {
        ExpectObject();
        var result = new EntityRef();
        while (NextProperty())
        {
            if (Is("schemaUrl"u8, "schema_url"u8))
            {
                if (Enter("schemaUrl"))
                {
                    result.SchemaUrl = ReadString();
                    Exit();
                }
            }
            else if (Is("type"u8))
            {
                if (Enter("type"))
                {
                    result.Type = ReadString();
                    Exit();
                }
            }
            else if (Is("idKeys"u8, "id_keys"u8))
            {
                ReadStringsInto(result.IdKeys, "idKeys");
            }
            else if (Is("descriptionKeys"u8, "description_keys"u8))
            {
                ReadStringsInto(result.DescriptionKeys, "descriptionKeys");
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private void ReadStringsInto(Google.Protobuf.Collections.RepeatedField<string> target, string name)
    {
        if (!EnterArray(name))
        {
            return;
        }

        var index = 0;
        while (NextElement(ref index))
        {
            target.Add(ReadString());
        }

        Exit();
    }

    private ScopeSpans ReadScopeSpans()
    {
        ExpectObject();
        var result = new ScopeSpans();
        while (NextProperty())
        {
            if (Is("scope"u8))
            {
                if (EnterObject("scope"))
                {
                    result.Scope = ReadScope();
                    Exit();
                }
            }
            else if (Is("spans"u8))
            {
                if (EnterArray("spans"))
                {
                    var index = 0;
                    while (NextElement(ref index))
                    {
                        result.Spans.Add(ReadSpan());
                    }

                    Exit();
                }
            }
            else if (Is("schemaUrl"u8, "schema_url"u8))
            {
                if (Enter("schemaUrl"))
                {
                    result.SchemaUrl = ReadString();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private InstrumentationScope ReadScope()
    {
        var result = new InstrumentationScope();
        while (NextProperty())
        {
            if (Is("name"u8))
            {
                if (Enter("name"))
                {
                    result.Name = ReadString();
                    Exit();
                }
            }
            else if (Is("version"u8))
            {
                if (Enter("version"))
                {
                    result.Version = ReadString();
                    Exit();
                }
            }
            else if (Is("attributes"u8))
            {
                ReadAttributesInto(result.Attributes);
            }
            else if (Is("droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                if (Enter("droppedAttributesCount"))
                {
                    result.DroppedAttributesCount = ReadUInt32();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private Span ReadSpan()
    {
        ExpectObject();
        var span = new Span();
        while (NextProperty())
        {
            if (Is("traceId"u8, "trace_id"u8))
            {
                if (Enter("traceId"))
                {
                    span.TraceId = ReadHexId();
                    Exit();
                }
            }
            else if (Is("spanId"u8, "span_id"u8))
            {
                if (Enter("spanId"))
                {
                    span.SpanId = ReadHexId();
                    Exit();
                }
            }
            else if (Is("parentSpanId"u8, "parent_span_id"u8))
            {
                if (Enter("parentSpanId"))
                {
                    span.ParentSpanId = ReadHexId();
                    Exit();
                }
            }
            else if (Is("traceState"u8, "trace_state"u8))
            {
                if (Enter("traceState"))
                {
                    span.TraceState = ReadString();
                    Exit();
                }
            }
            else if (Is("flags"u8))
            {
                if (Enter("flags"))
                {
                    span.Flags = ReadUInt32();
                    Exit();
                }
            }
            else if (Is("name"u8))
            {
                if (Enter("name"))
                {
                    span.Name = ReadString();
                    Exit();
                }
            }
            else if (Is("kind"u8))
            {
                if (Enter("kind"))
                {
                    span.Kind = (Span.Types.SpanKind)ReadEnum(SpanKindNames);
                    Exit();
                }
            }
            else if (Is("startTimeUnixNano"u8, "start_time_unix_nano"u8))
            {
                if (Enter("startTimeUnixNano"))
                {
                    span.StartTimeUnixNano = ReadUInt64();
                    Exit();
                }
            }
            else if (Is("endTimeUnixNano"u8, "end_time_unix_nano"u8))
            {
                if (Enter("endTimeUnixNano"))
                {
                    span.EndTimeUnixNano = ReadUInt64();
                    Exit();
                }
            }
            else if (Is("attributes"u8))
            {
                ReadAttributesInto(span.Attributes);
            }
            else if (Is("droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                if (Enter("droppedAttributesCount"))
                {
                    span.DroppedAttributesCount = ReadUInt32();
                    Exit();
                }
            }
            else if (Is("events"u8))
            {
                if (EnterArray("events"))
                {
                    var index = 0;
                    while (NextElement(ref index))
                    {
                        span.Events.Add(ReadEvent());
                    }

                    Exit();
                }
            }
            else if (Is("droppedEventsCount"u8, "dropped_events_count"u8))
            {
                if (Enter("droppedEventsCount"))
                {
                    span.DroppedEventsCount = ReadUInt32();
                    Exit();
                }
            }
            else if (Is("links"u8))
            {
                if (EnterArray("links"))
                {
                    var index = 0;
                    while (NextElement(ref index))
                    {
                        span.Links.Add(ReadLink());
                    }

                    Exit();
                }
            }
            else if (Is("droppedLinksCount"u8, "dropped_links_count"u8))
            {
                if (Enter("droppedLinksCount"))
                {
                    span.DroppedLinksCount = ReadUInt32();
                    Exit();
                }
            }
            else if (Is("status"u8))
            {
                if (EnterObject("status"))
                {
                    span.Status = ReadStatus();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return span;
    }

    private Span.Types.Event ReadEvent()
    {
        ExpectObject();
        var result = new Span.Types.Event();
        while (NextProperty())
        {
            if (Is("timeUnixNano"u8, "time_unix_nano"u8))
            {
                if (Enter("timeUnixNano"))
                {
                    result.TimeUnixNano = ReadUInt64();
                    Exit();
                }
            }
            else if (Is("name"u8))
            {
                if (Enter("name"))
                {
                    result.Name = ReadString();
                    Exit();
                }
            }
            else if (Is("attributes"u8))
            {
                ReadAttributesInto(result.Attributes);
            }
            else if (Is("droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                if (Enter("droppedAttributesCount"))
                {
                    result.DroppedAttributesCount = ReadUInt32();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private Span.Types.Link ReadLink()
    {
        ExpectObject();
        var result = new Span.Types.Link();
        while (NextProperty())
        {
            if (Is("traceId"u8, "trace_id"u8))
            {
                if (Enter("traceId"))
                {
                    result.TraceId = ReadHexId();
                    Exit();
                }
            }
            else if (Is("spanId"u8, "span_id"u8))
            {
                if (Enter("spanId"))
                {
                    result.SpanId = ReadHexId();
                    Exit();
                }
            }
            else if (Is("traceState"u8, "trace_state"u8))
            {
                if (Enter("traceState"))
                {
                    result.TraceState = ReadString();
                    Exit();
                }
            }
            else if (Is("attributes"u8))
            {
                ReadAttributesInto(result.Attributes);
            }
            else if (Is("droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                if (Enter("droppedAttributesCount"))
                {
                    result.DroppedAttributesCount = ReadUInt32();
                    Exit();
                }
            }
            else if (Is("flags"u8))
            {
                if (Enter("flags"))
                {
                    result.Flags = ReadUInt32();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private Status ReadStatus()
    {
        var result = new Status();
        while (NextProperty())
        {
            if (Is("message"u8))
            {
                if (Enter("message"))
                {
                    result.Message = ReadString();
                    Exit();
                }
            }
            else if (Is("code"u8))
            {
                if (Enter("code"))
                {
                    result.Code = (Status.Types.StatusCode)ReadEnum(StatusCodeNames);
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    /// <summary>Reads an <c>attributes</c> (or <c>values</c>) array of KeyValue; the reader is on its property name.</summary>
    private void ReadAttributesInto(Google.Protobuf.Collections.RepeatedField<KeyValue> target, string name = "attributes")
    {
        if (!EnterArray(name))
        {
            return;
        }

        var index = 0;
        while (NextElement(ref index))
        {
            target.Add(ReadKeyValue());
        }

        Exit();
    }

    private KeyValue ReadKeyValue()
    {
        ExpectObject();
        var result = new KeyValue();
        while (NextProperty())
        {
            if (Is("key"u8))
            {
                if (Enter("key"))
                {
                    result.Key = ReadString();
                    Exit();
                }
            }
            else if (Is("value"u8))
            {
                if (Enter("value"))
                {
                    result.Value = ReadAnyValue();
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        return result;
    }

    private AnyValue ReadAnyValue()
    {
        ExpectObject();
        if (++_anyValueDepth > MaxAnyValueDepth)
        {
            throw Error($"attribute values nested deeper than {MaxAnyValueDepth} levels");
        }

        var result = new AnyValue();
        while (NextProperty())
        {
            if (Is("stringValue"u8, "string_value"u8))
            {
                if (Enter("stringValue"))
                {
                    result.StringValue = ReadString();
                    Exit();
                }
            }
            else if (Is("boolValue"u8, "bool_value"u8))
            {
                if (Enter("boolValue"))
                {
                    result.BoolValue = ReadBool();
                    Exit();
                }
            }
            else if (Is("intValue"u8, "int_value"u8))
            {
                if (Enter("intValue"))
                {
                    result.IntValue = ReadInt64();
                    Exit();
                }
            }
            else if (Is("doubleValue"u8, "double_value"u8))
            {
                if (Enter("doubleValue"))
                {
                    result.DoubleValue = ReadDouble();
                    Exit();
                }
            }
            else if (Is("bytesValue"u8, "bytes_value"u8))
            {
                if (Enter("bytesValue"))
                {
                    result.BytesValue = ReadBase64();
                    Exit();
                }
            }
            else if (Is("arrayValue"u8, "array_value"u8))
            {
                if (EnterObject("arrayValue"))
                {
                    var array = new ArrayValue();
                    while (NextProperty())
                    {
                        if (Is("values"u8))
                        {
                            if (EnterArray("values"))
                            {
                                var index = 0;
                                while (NextElement(ref index))
                                {
                                    array.Values.Add(ReadAnyValue());
                                }

                                Exit();
                            }
                        }
                        else
                        {
                            _reader.Skip();
                        }
                    }

                    result.ArrayValue = array;
                    Exit();
                }
            }
            else if (Is("kvlistValue"u8, "kvlist_value"u8))
            {
                if (EnterObject("kvlistValue"))
                {
                    var list = new KeyValueList();
                    while (NextProperty())
                    {
                        if (Is("values"u8))
                        {
                            ReadAttributesInto(list.Values, "values");
                        }
                        else
                        {
                            _reader.Skip();
                        }
                    }

                    result.KvlistValue = list;
                    Exit();
                }
            }
            else
            {
                _reader.Skip();
            }
        }

        _anyValueDepth--;
        return result;
    }

    // ---- structure helpers -------------------------------------------------------------------------------------

    private void Read()
    {
        if (!_reader.Read())
        {
            throw new OtlpFormatException("Invalid JSON: unexpected end of input");
        }
    }

    /// <summary>Advances to the next property of the current object; false at its end. Leaves the reader on the name.</summary>
    private bool NextProperty()
    {
        Read();
        return _reader.TokenType != JsonTokenType.EndObject;
    }

    private readonly bool Is(ReadOnlySpan<byte> name) => _reader.ValueTextEquals(name);

    private readonly bool Is(ReadOnlySpan<byte> camelName, ReadOnlySpan<byte> protoName) =>
        _reader.ValueTextEquals(camelName) || _reader.ValueTextEquals(protoName);

    /// <summary>Moves from a property name to its value; false (nothing pushed) when the value is null, which means "default".</summary>
    private bool Enter(string name)
    {
        Read();
        if (_reader.TokenType == JsonTokenType.Null)
        {
            return false;
        }

        _path.Push(name);
        return true;
    }

    private bool EnterObject(string name)
    {
        if (!Enter(name))
        {
            return false;
        }

        ExpectObject();
        return true;
    }

    private bool EnterArray(string name)
    {
        if (!Enter(name))
        {
            return false;
        }

        if (_reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error("expected an array");
        }

        return true;
    }

    private readonly void Exit() => _path.Pop();

    private bool NextElement(ref int index)
    {
        Read();
        if (_reader.TokenType == JsonTokenType.EndArray)
        {
            _path.SetIndex(-1);
            return false;
        }

        _path.SetIndex(index++);
        return true;
    }

    private readonly void ExpectObject()
    {
        if (_reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error("expected an object");
        }
    }

    private readonly OtlpFormatException Error(string problem) => new($"{_path}: {problem}");

    // ---- scalar readers (the reader is on the value token) ---------------------------------------------------

    private string ReadString()
    {
        if (_reader.TokenType != JsonTokenType.String)
        {
            throw Error("expected a string");
        }

        try
        {
            return _reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader validates UTF-8 lazily, when a string is materialised.
            throw new OtlpFormatException($"{_path}: invalid UTF-8 in string", ex);
        }
    }

    private bool ReadBool() => _reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Error("expected true or false"),
    };

    private long ReadInt64() => ReadInteger<long>("expected an integer");

    private ulong ReadUInt64() => ReadInteger<ulong>("expected an integer (unsigned 64-bit)");

    private uint ReadUInt32() => ReadInteger<uint>("expected an integer (unsigned 32-bit)");

    /// <summary>
    /// An integer field as protobuf JSON allows it: a JSON number or a decimal string, also in exponent or
    /// fractional notation when the value is integral (1e3, "5.0"); out of range for <typeparamref name="T"/> is an error.
    /// </summary>
    private T ReadInteger<T>(string expected)
        where T : IBinaryInteger<T>, IMinMaxValue<T>
    {
        ReadOnlySpan<byte> text;
        if (_reader.TokenType == JsonTokenType.Number)
        {
            // Number tokens hold no escapes, so their bytes parse directly.
            text = _reader.HasValueSequence ? _reader.ValueSequence.ToArray() : _reader.ValueSpan;
        }
        else if (_reader.TokenType == JsonTokenType.String)
        {
            text = UnescapedValue();
        }
        else
        {
            throw Error(expected);
        }

        var style = T.IsNegative(T.MinValue) ? NumberStyles.AllowLeadingSign : NumberStyles.None;
        if (T.TryParse(text, style, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            && IsIntegral(number, decimal.CreateChecked(T.MinValue), decimal.CreateChecked(T.MaxValue)))
        {
            return T.CreateChecked(number);
        }

        throw Error(expected);
    }

    private static bool IsIntegral(decimal number, decimal min, decimal max) =>
        number == decimal.Truncate(number) && number >= min && number <= max;

    private double ReadDouble()
    {
        if (_reader.TokenType == JsonTokenType.Number)
        {
            if (_reader.TryGetDouble(out var value) && double.IsFinite(value))
            {
                return value;
            }
        }
        else if (_reader.TokenType == JsonTokenType.String)
        {
            // Protobuf JSON spells the non-finite values as strings; numeric strings are accepted too.
            if (_reader.ValueTextEquals("NaN"u8))
            {
                return double.NaN;
            }

            if (_reader.ValueTextEquals("Infinity"u8))
            {
                return double.PositiveInfinity;
            }

            if (_reader.ValueTextEquals("-Infinity"u8))
            {
                return double.NegativeInfinity;
            }

            if (double.TryParse(UnescapedValue(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && double.IsFinite(value))
            {
                return value;
            }
        }

        throw Error("expected a number");
    }

    private int ReadEnum(string[] names)
    {
        if (_reader.TokenType == JsonTokenType.Number)
        {
            // Proto3 enums are open: unknown numbers are kept, as protobuf parsers do.
            if (_reader.TryGetInt32(out var value))
            {
                return value;
            }
        }
        else if (_reader.TokenType == JsonTokenType.String)
        {
            for (var i = 0; i < names.Length; i++)
            {
                if (_reader.ValueTextEquals(names[i]))
                {
                    return i;
                }
            }

            if (int.TryParse(UnescapedValue(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            throw Error($"unknown enum value \"{_reader.GetString()}\"");
        }

        throw Error("expected an enum integer or name");
    }

    private static readonly string[] SpanKindNames =
    [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ];

    private static readonly string[] StatusCodeNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

    /// <summary>Decodes a hex id (case-insensitive). OTLP/JSON deliberately differs from protobuf JSON here (hex, not base64).</summary>
    private ByteString ReadHexId()
    {
        if (_reader.TokenType != JsonTokenType.String)
        {
            throw Error("expected a hex string");
        }

        var text = UnescapedValue();
        if (text.Length == 0)
        {
            return ByteString.Empty;
        }

        if ((text.Length & 1) != 0)
        {
            throw Error("expected an even number of hex digits");
        }

        var bytes = new byte[text.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            var high = HexDigit(text[2 * i]);
            var low = HexDigit(text[(2 * i) + 1]);
            if ((high | low) < 0)
            {
                throw Error("expected a hex string");
            }

            bytes[i] = (byte)((high << 4) | low);
        }

        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Decodes base64 as protobuf JSON does: standard or URL-safe alphabet, padding optional.</summary>
    private ByteString ReadBase64()
    {
        if (_reader.TokenType != JsonTokenType.String)
        {
            throw Error("expected a base64 string");
        }

        var text = _reader.GetString()!;
        if (text.Length == 0)
        {
            return ByteString.Empty;
        }

        if (text.AsSpan().IndexOfAny('-', '_') >= 0 || (text.Length % 4) != 0)
        {
            var normalized = new StringBuilder(text.Length + 3).Append(text).Replace('-', '+').Replace('_', '/');
            while ((normalized.Length % 4) != 0)
            {
                normalized.Append('=');
            }

            text = normalized.ToString();
        }

        var buffer = new byte[(text.Length / 4) * 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            throw Error("expected a base64 string");
        }

        return UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, written));
    }

    /// <summary>The current string token's UTF-8 bytes with JSON escapes resolved (escapes are rare, so that path may allocate).</summary>
    private ReadOnlySpan<byte> UnescapedValue() =>
        _reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(_reader.GetString()!) : _reader.ValueSpan;
}
