using System.Buffers.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Json;

/// <summary>
/// The OTLP/JSON mapping (OTLP specification, "JSON Protobuf Encoding"): trace and span ids as hex, lowerCamelCase
/// field names, 64-bit integers as decimal strings (numbers accepted on input), enums as integers.
/// </summary>
public static class OtlpJson
{
    /// <summary>
    /// Deepest AnyValue nesting accepted (an attribute value is level 1); deeper bodies are rejected with
    /// <see cref="OtlpFormatException"/> so a hostile payload cannot exhaust the stack.
    /// </summary>
    public const int MaxAnyValueDepth = OtlpJsonTraceReader.MaxAnyValueDepth;

    /// <summary>Parses an OTLP/HTTP JSON trace export body. Throws <see cref="OtlpFormatException"/> with a user-facing message on bad input.</summary>
    /// <remarks>
    /// Accepts lowerCamelCase and original proto field names, 64-bit integers as strings or numbers, enums as
    /// integers or names, and ignores unknown fields. An empty body or <c>{}</c> is an empty request.
    /// </remarks>
    public static ExportTraceServiceRequest ParseTraceRequest(ReadOnlySpan<byte> utf8Json) =>
        OtlpJsonTraceReader.Parse(utf8Json);

    /// <summary>Parses an OTLP/HTTP JSON logs export body; same rules as <see cref="ParseTraceRequest"/>.</summary>
    public static ExportLogsServiceRequest ParseLogsRequest(ReadOnlySpan<byte> utf8Json) =>
        OtlpJsonMessageReader.Parse<ExportLogsServiceRequest>(utf8Json, AnyValueDepthGuard.Check);

    /// <summary>Parses an OTLP/HTTP JSON metrics export body; same rules as <see cref="ParseTraceRequest"/>.</summary>
    public static ExportMetricsServiceRequest ParseMetricsRequest(ReadOnlySpan<byte> utf8Json) =>
        OtlpJsonMessageReader.Parse<ExportMetricsServiceRequest>(utf8Json, AnyValueDepthGuard.Check);

    /// <summary>Writes <paramref name="data"/> as an OTLP/JSON <c>TracesData</c> object (<c>{"resourceSpans":[...]}</c>).</summary>
    /// <remarks>
    /// Canonical form: lowerCamelCase names, lower-case hex ids, 64-bit integers as strings, enums as integers, default
    /// scalars and empty repeated fields omitted, except that spans always carry traceId, spanId, name, kind and both
    /// timestamps. String escaping follows the writer's encoder (the default escapes non-ASCII; pass
    /// <c>JavaScriptEncoder.UnsafeRelaxedJsonEscaping</c> for raw UTF-8 in responses).
    /// </remarks>
    public static void WriteTracesData(Utf8JsonWriter writer, TracesData data)
    {
        writer.WriteStartObject();
        writer.WriteStartArray(Names.ResourceSpans);
        foreach (var resourceSpans in data.ResourceSpans)
        {
            WriteResourceSpans(writer, resourceSpans);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Writes one OTLP/JSON <c>AnyValue</c> object (<c>{}</c> for an empty value).</summary>
    public static void WriteAnyValue(Utf8JsonWriter writer, AnyValue value)
    {
        writer.WriteStartObject();
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                writer.WriteString(Names.StringValue, value.StringValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                writer.WriteBoolean(Names.BoolValue, value.BoolValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                WriteInt64String(writer, Names.IntValue, value.IntValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                WriteDouble(writer, Names.DoubleValue, value.DoubleValue);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                writer.WriteBase64String(Names.BytesValue, value.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                writer.WriteStartObject(Names.ArrayValue);
                if (value.ArrayValue.Values.Count > 0)
                {
                    writer.WriteStartArray(Names.Values);
                    foreach (var item in value.ArrayValue.Values)
                    {
                        WriteAnyValue(writer, item);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                writer.WriteStartObject(Names.KvlistValue);
                if (value.KvlistValue.Values.Count > 0)
                {
                    writer.WritePropertyName(Names.Values);
                    WriteKeyValues(writer, value.KvlistValue.Values);
                }

                writer.WriteEndObject();
                break;
            case AnyValue.ValueOneofCase.None:
            default:
                break;
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes a JSON array of OTLP <c>KeyValue</c> objects (the shape of every <c>attributes</c> field).</summary>
    public static void WriteKeyValues(Utf8JsonWriter writer, IEnumerable<KeyValue> keyValues)
    {
        writer.WriteStartArray();
        if (keyValues is RepeatedField<KeyValue> repeated)
        {
            // The common case: index instead of going through a boxed IEnumerable enumerator.
            for (var i = 0; i < repeated.Count; i++)
            {
                WriteKeyValue(writer, repeated[i]);
            }
        }
        else
        {
            foreach (var keyValue in keyValues)
            {
                WriteKeyValue(writer, keyValue);
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteKeyValue(Utf8JsonWriter writer, KeyValue keyValue)
    {
        writer.WriteStartObject();
        writer.WriteString(Names.Key, keyValue.Key);
        if (keyValue.Value is not null)
        {
            writer.WritePropertyName(Names.Value);
            WriteAnyValue(writer, keyValue.Value);
        }

        writer.WriteEndObject();
    }

    private static void WriteResourceSpans(Utf8JsonWriter writer, ResourceSpans resourceSpans)
    {
        writer.WriteStartObject();
        if (resourceSpans.Resource is not null)
        {
            writer.WritePropertyName(Names.Resource);
            WriteResource(writer, resourceSpans.Resource);
        }

        if (resourceSpans.ScopeSpans.Count > 0)
        {
            writer.WriteStartArray(Names.ScopeSpans);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                WriteScopeSpans(writer, scopeSpans);
            }

            writer.WriteEndArray();
        }

        WriteStringIfSet(writer, Names.SchemaUrl, resourceSpans.SchemaUrl);
        writer.WriteEndObject();
    }

    private static void WriteResource(Utf8JsonWriter writer, Resource resource)
    {
        writer.WriteStartObject();
        WriteAttributesIfAny(writer, resource.Attributes);
        WriteUInt32IfSet(writer, Names.DroppedAttributesCount, resource.DroppedAttributesCount);
        if (resource.EntityRefs.Count > 0)
        {
            writer.WriteStartArray(Names.EntityRefs);
            foreach (var entityRef in resource.EntityRefs)
            {
                writer.WriteStartObject();
                WriteStringIfSet(writer, Names.SchemaUrl, entityRef.SchemaUrl);
                WriteStringIfSet(writer, Names.Type, entityRef.Type);
                WriteStringsIfAny(writer, Names.IdKeys, entityRef.IdKeys);
                WriteStringsIfAny(writer, Names.DescriptionKeys, entityRef.DescriptionKeys);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteScopeSpans(Utf8JsonWriter writer, ScopeSpans scopeSpans)
    {
        writer.WriteStartObject();
        if (scopeSpans.Scope is { } scope)
        {
            writer.WriteStartObject(Names.Scope);
            WriteStringIfSet(writer, Names.Name, scope.Name);
            WriteStringIfSet(writer, Names.Version, scope.Version);
            WriteAttributesIfAny(writer, scope.Attributes);
            WriteUInt32IfSet(writer, Names.DroppedAttributesCount, scope.DroppedAttributesCount);
            writer.WriteEndObject();
        }

        if (scopeSpans.Spans.Count > 0)
        {
            writer.WriteStartArray(Names.Spans);
            foreach (var span in scopeSpans.Spans)
            {
                WriteSpan(writer, span);
            }

            writer.WriteEndArray();
        }

        WriteStringIfSet(writer, Names.SchemaUrl, scopeSpans.SchemaUrl);
        writer.WriteEndObject();
    }

    private static void WriteSpan(Utf8JsonWriter writer, Span span)
    {
        writer.WriteStartObject();

        // Identity and timing are always written, even when zero, so consumers never have to infer them.
        WriteHex(writer, Names.TraceId, span.TraceId);
        WriteHex(writer, Names.SpanId, span.SpanId);
        WriteStringIfSet(writer, Names.TraceState, span.TraceState);
        if (!span.ParentSpanId.IsEmpty)
        {
            WriteHex(writer, Names.ParentSpanId, span.ParentSpanId);
        }

        WriteUInt32IfSet(writer, Names.Flags, span.Flags);
        writer.WriteString(Names.Name, span.Name);
        writer.WriteNumber(Names.Kind, (int)span.Kind);
        WriteUInt64String(writer, Names.StartTimeUnixNano, span.StartTimeUnixNano);
        WriteUInt64String(writer, Names.EndTimeUnixNano, span.EndTimeUnixNano);
        WriteAttributesIfAny(writer, span.Attributes);
        WriteUInt32IfSet(writer, Names.DroppedAttributesCount, span.DroppedAttributesCount);

        if (span.Events.Count > 0)
        {
            writer.WriteStartArray(Names.Events);
            foreach (var spanEvent in span.Events)
            {
                writer.WriteStartObject();
                if (spanEvent.TimeUnixNano != 0)
                {
                    WriteUInt64String(writer, Names.TimeUnixNano, spanEvent.TimeUnixNano);
                }

                WriteStringIfSet(writer, Names.Name, spanEvent.Name);
                WriteAttributesIfAny(writer, spanEvent.Attributes);
                WriteUInt32IfSet(writer, Names.DroppedAttributesCount, spanEvent.DroppedAttributesCount);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        WriteUInt32IfSet(writer, Names.DroppedEventsCount, span.DroppedEventsCount);

        if (span.Links.Count > 0)
        {
            writer.WriteStartArray(Names.Links);
            foreach (var link in span.Links)
            {
                writer.WriteStartObject();
                WriteHex(writer, Names.TraceId, link.TraceId);
                WriteHex(writer, Names.SpanId, link.SpanId);
                WriteStringIfSet(writer, Names.TraceState, link.TraceState);
                WriteAttributesIfAny(writer, link.Attributes);
                WriteUInt32IfSet(writer, Names.DroppedAttributesCount, link.DroppedAttributesCount);
                WriteUInt32IfSet(writer, Names.Flags, link.Flags);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        WriteUInt32IfSet(writer, Names.DroppedLinksCount, span.DroppedLinksCount);

        if (span.Status is { } status)
        {
            writer.WriteStartObject(Names.Status);
            WriteStringIfSet(writer, Names.Message, status.Message);
            if (status.Code != Status.Types.StatusCode.Unset)
            {
                writer.WriteNumber(Names.Code, (int)status.Code);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteAttributesIfAny(Utf8JsonWriter writer, RepeatedField<KeyValue> attributes)
    {
        if (attributes.Count > 0)
        {
            writer.WritePropertyName(Names.Attributes);
            WriteKeyValues(writer, attributes);
        }
    }

    private static void WriteStringsIfAny(Utf8JsonWriter writer, JsonEncodedText name, RepeatedField<string> values)
    {
        if (values.Count > 0)
        {
            writer.WriteStartArray(name);
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }
    }

    private static void WriteStringIfSet(Utf8JsonWriter writer, JsonEncodedText name, string value)
    {
        if (value.Length > 0)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteUInt32IfSet(Utf8JsonWriter writer, JsonEncodedText name, uint value)
    {
        if (value != 0)
        {
            writer.WriteNumber(name, value);
        }
    }

    private static void WriteUInt64String(Utf8JsonWriter writer, JsonEncodedText name, ulong value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        writer.WriteString(name, digits[..written]);
    }

    private static void WriteInt64String(Utf8JsonWriter writer, JsonEncodedText name, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        writer.WriteString(name, digits[..written]);
    }

    private static void WriteDouble(Utf8JsonWriter writer, JsonEncodedText name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            // JSON has no literal for these; protobuf JSON spells them as strings.
            writer.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WriteHex(Utf8JsonWriter writer, JsonEncodedText name, ByteString id)
    {
        const int StackLimit = 128;
        var source = id.Span;
        Span<byte> hex = source.Length * 2 <= StackLimit ? stackalloc byte[StackLimit] : new byte[source.Length * 2];
        for (var i = 0; i < source.Length; i++)
        {
            hex[2 * i] = HexDigits[source[i] >> 4];
            hex[(2 * i) + 1] = HexDigits[source[i] & 0xF];
        }

        writer.WriteString(name, hex[..(source.Length * 2)]);
    }

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>Pre-encoded property names: the writer copies these bytes instead of escaping each name per use.</summary>
    private static class Names
    {
        public static readonly JsonEncodedText ResourceSpans = JsonEncodedText.Encode("resourceSpans");
        public static readonly JsonEncodedText Resource = JsonEncodedText.Encode("resource");
        public static readonly JsonEncodedText ScopeSpans = JsonEncodedText.Encode("scopeSpans");
        public static readonly JsonEncodedText SchemaUrl = JsonEncodedText.Encode("schemaUrl");
        public static readonly JsonEncodedText Attributes = JsonEncodedText.Encode("attributes");
        public static readonly JsonEncodedText DroppedAttributesCount = JsonEncodedText.Encode("droppedAttributesCount");
        public static readonly JsonEncodedText EntityRefs = JsonEncodedText.Encode("entityRefs");
        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
        public static readonly JsonEncodedText IdKeys = JsonEncodedText.Encode("idKeys");
        public static readonly JsonEncodedText DescriptionKeys = JsonEncodedText.Encode("descriptionKeys");
        public static readonly JsonEncodedText Scope = JsonEncodedText.Encode("scope");
        public static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
        public static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
        public static readonly JsonEncodedText Spans = JsonEncodedText.Encode("spans");
        public static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("traceId");
        public static readonly JsonEncodedText SpanId = JsonEncodedText.Encode("spanId");
        public static readonly JsonEncodedText TraceState = JsonEncodedText.Encode("traceState");
        public static readonly JsonEncodedText ParentSpanId = JsonEncodedText.Encode("parentSpanId");
        public static readonly JsonEncodedText Flags = JsonEncodedText.Encode("flags");
        public static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
        public static readonly JsonEncodedText StartTimeUnixNano = JsonEncodedText.Encode("startTimeUnixNano");
        public static readonly JsonEncodedText EndTimeUnixNano = JsonEncodedText.Encode("endTimeUnixNano");
        public static readonly JsonEncodedText Events = JsonEncodedText.Encode("events");
        public static readonly JsonEncodedText TimeUnixNano = JsonEncodedText.Encode("timeUnixNano");
        public static readonly JsonEncodedText DroppedEventsCount = JsonEncodedText.Encode("droppedEventsCount");
        public static readonly JsonEncodedText Links = JsonEncodedText.Encode("links");
        public static readonly JsonEncodedText DroppedLinksCount = JsonEncodedText.Encode("droppedLinksCount");
        public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
        public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
        public static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
        public static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
        public static readonly JsonEncodedText Value = JsonEncodedText.Encode("value");
        public static readonly JsonEncodedText Values = JsonEncodedText.Encode("values");
        public static readonly JsonEncodedText StringValue = JsonEncodedText.Encode("stringValue");
        public static readonly JsonEncodedText BoolValue = JsonEncodedText.Encode("boolValue");
        public static readonly JsonEncodedText IntValue = JsonEncodedText.Encode("intValue");
        public static readonly JsonEncodedText DoubleValue = JsonEncodedText.Encode("doubleValue");
        public static readonly JsonEncodedText BytesValue = JsonEncodedText.Encode("bytesValue");
        public static readonly JsonEncodedText ArrayValue = JsonEncodedText.Encode("arrayValue");
        public static readonly JsonEncodedText KvlistValue = JsonEncodedText.Encode("kvlistValue");
    }
}

/// <summary>An OTLP payload that cannot be decoded; the message is safe to show to the sender.</summary>
public sealed class OtlpFormatException : Exception
{
    public OtlpFormatException(string message) : base(message)
    {
    }

    public OtlpFormatException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public OtlpFormatException()
    {
    }
}
