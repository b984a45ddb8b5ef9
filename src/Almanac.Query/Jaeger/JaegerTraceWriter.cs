using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Almanac.Core.Model;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.Jaeger;

/// <summary>
/// Writes a trace in the Jaeger v1 UI JSON model (what <c>/api/traces</c> returns and Jaeger UI and Grafana read),
/// translating OTLP the way Jaeger's own OTLP-to-Jaeger translator does: span kind, status, scope and trace state
/// become tags, events become logs, the parent and links become references, resources become deduplicated processes.
/// </summary>
internal static class JaegerTraceWriter
{
    private const long NanosPerMicro = 1_000;

    /// <summary>
    /// The default encoder escapes every non-ASCII character; inside a tag's JSON text those escapes would reach the
    /// user literally ("\u00e9" instead of "é"). Relaxed escaping is safe here: the output is JSON, never HTML.
    /// </summary>
    internal static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteTrace(Utf8JsonWriter writer, TraceData trace)
    {
        // Sorted so output is deterministic whatever order storage returned; the UI re-sorts into a tree anyway.
        var spans = trace.Spans.ToArray();
        Array.Sort(spans, static (a, b) =>
        {
            var c = a.StartTimeUnixNano.CompareTo(b.StartTimeUnixNano);
            return c != 0 ? c : a.SpanId.Value.CompareTo(b.SpanId.Value);
        });

        // Jaeger's UI model keys processes p1, p2, ... and dedupes equal processes, so a trace with a thousand spans
        // from three services carries three processes, not a thousand.
        var processIds = new Dictionary<ProcessKey, string>();
        var processes = new List<(string Id, SpanData Span)>();
        var spanProcessIds = new string[spans.Length];
        for (var i = 0; i < spans.Length; i++)
        {
            var key = new ProcessKey(spans[i].ServiceName, spans[i].Resource);
            if (!processIds.TryGetValue(key, out var id))
            {
                id = "p" + (processes.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                processIds.Add(key, id);
                processes.Add((id, spans[i]));
            }

            spanProcessIds[i] = id;
        }

        var traceId = trace.TraceId.ToHex();
        writer.WriteStartObject();
        writer.WriteString("traceID", traceId);
        writer.WriteStartArray("spans");
        for (var i = 0; i < spans.Length; i++)
        {
            WriteSpan(writer, spans[i], spanProcessIds[i]);
        }

        writer.WriteEndArray();
        writer.WriteStartObject("processes");
        foreach (var (id, span) in processes)
        {
            writer.WriteStartObject(id);
            writer.WriteString("serviceName", span.ServiceName);
            writer.WriteStartArray("tags");
            foreach (var kv in span.Resource.Attributes)
            {
                if (kv.Key != ServiceNames.AttributeKey)
                {
                    WriteTag(writer, kv.Key, kv.Value);
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteNull("warnings");
        writer.WriteEndObject();
    }

    private static void WriteSpan(Utf8JsonWriter writer, SpanData data, string processId)
    {
        var span = data.Span;
        var traceId = data.TraceId.ToHex();
        writer.WriteStartObject();
        writer.WriteString("traceID", traceId);
        writer.WriteString("spanID", data.SpanId.ToHex());
        writer.WriteString("operationName", span.Name);

        writer.WriteStartArray("references");
        if (!data.ParentSpanId.IsEmpty)
        {
            // The parent comes first: Jaeger UI takes the first CHILD_OF reference as the tree parent.
            WriteReference(writer, "CHILD_OF", traceId, data.ParentSpanId.ToHex());
        }

        foreach (var link in span.Links)
        {
            if (TraceId.TryRead(link.TraceId.Span, out var linkTraceId) && SpanId.TryRead(link.SpanId.Span, out var linkSpanId))
            {
                WriteReference(writer, IsOpenTracingChildOf(link) ? "CHILD_OF" : "FOLLOWS_FROM", linkTraceId.ToHex(), linkSpanId.ToHex());
            }
        }

        writer.WriteEndArray();
        writer.WriteNumber("startTime", data.StartTimeUnixNano / NanosPerMicro);
        writer.WriteNumber("duration", data.DurationNanos / NanosPerMicro);

        writer.WriteStartArray("tags");
        WriteSpanTags(writer, data);
        writer.WriteEndArray();

        writer.WriteStartArray("logs");
        foreach (var ev in span.Events)
        {
            WriteLog(writer, ev);
        }

        writer.WriteEndArray();
        writer.WriteString("processID", processId);
        writer.WriteNull("warnings");
        // Only the W3C trace flags byte means anything to Jaeger (bit 0, sampled, is Jaeger's sampled flag too).
        writer.WriteNumber("flags", span.Flags & 0xFF);
        writer.WriteEndObject();
    }

    private static void WriteReference(Utf8JsonWriter writer, string refType, string traceId, string spanId)
    {
        writer.WriteStartObject();
        writer.WriteString("refType", refType);
        writer.WriteString("traceID", traceId);
        writer.WriteString("spanID", spanId);
        writer.WriteEndObject();
    }

    /// <summary>Spans bridged from OpenTracing mark extra parents as links with this attribute; Jaeger turns them back.</summary>
    private static bool IsOpenTracingChildOf(Span.Types.Link link)
    {
        foreach (var kv in link.Attributes)
        {
            if (kv.Key == "opentracing.ref_type" && kv.Value?.ValueCase == AnyValue.ValueOneofCase.StringValue)
            {
                return kv.Value.StringValue == "child_of";
            }
        }

        return false;
    }

    private static void WriteSpanTags(Utf8JsonWriter writer, SpanData data)
    {
        var span = data.Span;
        foreach (var kv in span.Attributes)
        {
            WriteTag(writer, kv.Key, kv.Value);
        }

        if (!string.IsNullOrEmpty(data.Scope.Name))
        {
            WriteStringTag(writer, "otel.scope.name", data.Scope.Name);
        }

        if (!string.IsNullOrEmpty(data.Scope.Version))
        {
            WriteStringTag(writer, "otel.scope.version", data.Scope.Version);
        }

        var kind = SpanKinds.ToJaeger(span.Kind);
        if (kind.Length > 0)
        {
            WriteStringTag(writer, "span.kind", kind);
        }

        var status = span.Status;
        if (status is not null)
        {
            switch (status.Code)
            {
                case Status.Types.StatusCode.Ok:
                    WriteStringTag(writer, "otel.status_code", "OK");
                    break;
                case Status.Types.StatusCode.Error:
                    WriteStringTag(writer, "otel.status_code", "ERROR");
                    writer.WriteStartObject();
                    writer.WriteString("key", "error");
                    writer.WriteString("type", "bool");
                    writer.WriteBoolean("value", true);
                    writer.WriteEndObject();
                    break;
            }

            if (!string.IsNullOrEmpty(status.Message))
            {
                WriteStringTag(writer, "otel.status_description", status.Message);
            }
        }

        if (!string.IsNullOrEmpty(span.TraceState))
        {
            WriteStringTag(writer, "w3c.tracestate", span.TraceState);
        }

        WriteCountTag(writer, "otel.dropped_attributes_count", span.DroppedAttributesCount);
        WriteCountTag(writer, "otel.dropped_events_count", span.DroppedEventsCount);
        WriteCountTag(writer, "otel.dropped_links_count", span.DroppedLinksCount);
    }

    private static void WriteLog(Utf8JsonWriter writer, Span.Types.Event ev)
    {
        writer.WriteStartObject();
        writer.WriteNumber("timestamp", unchecked((long)ev.TimeUnixNano) / NanosPerMicro);
        writer.WriteStartArray("fields");
        // The event name travels as the OpenTracing "event" field, unless an attribute already claims that key.
        if (ev.Name.Length > 0 && !ev.Attributes.Any(static kv => kv.Key == "event"))
        {
            WriteStringTag(writer, "event", ev.Name);
        }

        foreach (var kv in ev.Attributes)
        {
            WriteTag(writer, kv.Key, kv.Value);
        }

        WriteCountTag(writer, "otel.dropped_attributes_count", ev.DroppedAttributesCount);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteCountTag(Utf8JsonWriter writer, string key, uint count)
    {
        if (count == 0)
        {
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("key", key);
        writer.WriteString("type", "int64");
        writer.WriteNumber("value", count);
        writer.WriteEndObject();
    }

    private static void WriteStringTag(Utf8JsonWriter writer, string key, string value)
    {
        writer.WriteStartObject();
        writer.WriteString("key", key);
        writer.WriteString("type", "string");
        writer.WriteString("value", value);
        writer.WriteEndObject();
    }

    /// <summary>One Jaeger key/value: primitives keep their type; arrays and maps become a string holding their JSON.</summary>
    internal static void WriteTag(Utf8JsonWriter writer, string key, AnyValue? value)
    {
        writer.WriteStartObject();
        writer.WriteString("key", key);
        switch (value?.ValueCase ?? AnyValue.ValueOneofCase.None)
        {
            case AnyValue.ValueOneofCase.StringValue:
                writer.WriteString("type", "string");
                writer.WriteString("value", value!.StringValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                writer.WriteString("type", "bool");
                writer.WriteBoolean("value", value!.BoolValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                writer.WriteString("type", "int64");
                writer.WriteNumber("value", value!.IntValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(value!.DoubleValue):
                writer.WriteString("type", "float64");
                writer.WriteNumber("value", value.DoubleValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                // JSON has no NaN or infinity; a string keeps the value visible instead of failing the whole trace.
                writer.WriteString("type", "string");
                writer.WriteString("value", NonFiniteText(value!.DoubleValue));
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                // Jaeger's Go JSON encoding renders []byte as base64.
                writer.WriteString("type", "binary");
                writer.WriteBase64String("value", value!.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
            case AnyValue.ValueOneofCase.KvlistValue:
                writer.WriteString("type", "string");
                writer.WriteString("value", ToJsonText(value!));
                break;
            default:
                writer.WriteString("type", "string");
                writer.WriteString("value", string.Empty);
                break;
        }

        writer.WriteEndObject();
    }

    private static string NonFiniteText(double value) =>
        double.IsNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";

    /// <summary>The JSON text of a structured value, as the OpenTelemetry Collector's AsString renders it.</summary>
    private static string ToJsonText(AnyValue value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            WriteRawValue(json, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteRawValue(Utf8JsonWriter writer, AnyValue? value)
    {
        switch (value?.ValueCase ?? AnyValue.ValueOneofCase.None)
        {
            case AnyValue.ValueOneofCase.StringValue:
                writer.WriteStringValue(value!.StringValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                writer.WriteBooleanValue(value!.BoolValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                writer.WriteNumberValue(value!.IntValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(value!.DoubleValue):
                writer.WriteNumberValue(value.DoubleValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                writer.WriteStringValue(NonFiniteText(value!.DoubleValue));
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                writer.WriteBase64StringValue(value!.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                writer.WriteStartArray();
                foreach (var item in value!.ArrayValue.Values)
                {
                    WriteRawValue(writer, item);
                }

                writer.WriteEndArray();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                writer.WriteStartObject();
                foreach (var kv in value!.KvlistValue.Values)
                {
                    writer.WritePropertyName(kv.Key);
                    WriteRawValue(writer, kv.Value);
                }

                writer.WriteEndObject();
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    /// <summary>
    /// A Jaeger process is a service plus its tags (the resource minus service.name). Protobuf messages compare by
    /// value, so equal resources read back as separate instances still share one process.
    /// </summary>
    private readonly record struct ProcessKey(string ServiceName, Resource Resource);
}
