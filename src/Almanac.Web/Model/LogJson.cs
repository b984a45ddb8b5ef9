using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp.Json;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Web.Model;

/// <summary>
/// The <c>/api/logs</c> answer: each record with its id (a cursor), service, resource, scope and the OTLP/JSON
/// <c>LogRecord</c> itself, so every field and value type comes back as it was sent (64-bit integers as strings,
/// ids as hex, as OTLP/JSON writes them).
/// </summary>
public static class LogJson
{
    // HTML-sensitive characters stay escaped (the default encoder) so the JSON is safe to embed anywhere.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.Default };

    public static byte[] ToUtf8Json(LogPage page)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Options))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("logs");
            foreach (var entry in page.Entries)
            {
                WriteEntry(writer, entry.Id, entry.Log);
            }

            writer.WriteEndArray();
            if (page.NextBefore is { } next)
            {
                writer.WriteString("next", next);
            }
            else
            {
                writer.WriteNull("next");
            }

            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    public static void WriteEntry(Utf8JsonWriter writer, string id, LogRecordData log)
    {
        var record = log.Record;
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("service", log.ServiceName);
        writer.WriteString("time", DateTimeOffset.FromUnixTimeMilliseconds(log.TimestampUnixNano / 1_000_000).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        writer.WriteString("severity", LogSearchForm.SeverityName((int)record.SeverityNumber));
        writer.WritePropertyName("resource");
        WriteResource(writer, log.Resource);
        writer.WriteString("resourceSchemaUrl", log.ResourceSchemaUrl);
        writer.WritePropertyName("scope");
        WriteScope(writer, log.Scope);
        writer.WriteString("scopeSchemaUrl", log.ScopeSchemaUrl);

        writer.WriteStartObject("logRecord");
        writer.WriteString("timeUnixNano", record.TimeUnixNano.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("observedTimeUnixNano", record.ObservedTimeUnixNano.ToString(CultureInfo.InvariantCulture));
        writer.WriteNumber("severityNumber", (int)record.SeverityNumber);
        writer.WriteString("severityText", record.SeverityText);
        if (record.Body is not null)
        {
            writer.WritePropertyName("body");
            OtlpJson.WriteAnyValue(writer, record.Body);
        }

        writer.WritePropertyName("attributes");
        OtlpJson.WriteKeyValues(writer, record.Attributes);
        writer.WriteNumber("droppedAttributesCount", record.DroppedAttributesCount);
        writer.WriteNumber("flags", record.Flags);
        if (!record.TraceId.IsEmpty)
        {
            writer.WriteString("traceId", Convert.ToHexStringLower(record.TraceId.Span));
        }

        if (!record.SpanId.IsEmpty)
        {
            writer.WriteString("spanId", Convert.ToHexStringLower(record.SpanId.Span));
        }

        writer.WriteString("eventName", record.EventName);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteResource(Utf8JsonWriter writer, Resource resource)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("attributes");
        OtlpJson.WriteKeyValues(writer, resource.Attributes);
        writer.WriteNumber("droppedAttributesCount", resource.DroppedAttributesCount);
        writer.WriteEndObject();
    }

    private static void WriteScope(Utf8JsonWriter writer, InstrumentationScope scope)
    {
        writer.WriteStartObject();
        writer.WriteString("name", scope.Name);
        writer.WriteString("version", scope.Version);
        writer.WritePropertyName("attributes");
        OtlpJson.WriteKeyValues(writer, scope.Attributes);
        writer.WriteNumber("droppedAttributesCount", scope.DroppedAttributesCount);
        writer.WriteEndObject();
    }
}
