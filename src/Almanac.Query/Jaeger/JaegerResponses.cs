using System.Text.Json;
using Almanac.Core.Model;
using Almanac.Core.Storage;

namespace Almanac.Query.Jaeger;

/// <summary>Jaeger v1's response envelope: <c>{"data":..., "total":n, "limit":0, "offset":0, "errors":...}</c>.</summary>
internal static class JaegerResponses
{
    public static void WriteError(Utf8JsonWriter writer, int code, string message)
    {
        writer.WriteStartObject();
        writer.WriteNull("data");
        writer.WriteNumber("total", 0);
        writer.WriteNumber("limit", 0);
        writer.WriteNumber("offset", 0);
        writer.WriteStartArray("errors");
        writer.WriteStartObject();
        writer.WriteNumber("code", code);
        writer.WriteString("msg", message);
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteStrings(Utf8JsonWriter writer, IReadOnlyList<string> values)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("data");
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
        WriteTail(writer, values.Count);
        writer.WriteEndObject();
    }

    public static void WriteOperations(Utf8JsonWriter writer, IReadOnlyList<OperationInfo> operations)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("data");
        foreach (var operation in operations)
        {
            writer.WriteStartObject();
            writer.WriteString("name", operation.Name);
            writer.WriteString("spanKind", SpanKinds.ToJaeger(operation.Kind));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        WriteTail(writer, operations.Count);
        writer.WriteEndObject();
    }

    public static void WriteDependencies(Utf8JsonWriter writer, IReadOnlyList<DependencyLink> links)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("data");
        foreach (var link in links)
        {
            writer.WriteStartObject();
            writer.WriteString("parent", link.Parent);
            writer.WriteString("child", link.Child);
            writer.WriteNumber("callCount", link.CallCount);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        WriteTail(writer, links.Count);
        writer.WriteEndObject();
    }

    /// <summary>Traces, plus per-trace errors for requested ids that are not stored (Jaeger reports those, not a 404).</summary>
    public static void WriteTraces(Utf8JsonWriter writer, IReadOnlyList<TraceData> traces, IReadOnlyList<TraceId> missing)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("data");
        foreach (var trace in traces)
        {
            JaegerTraceWriter.WriteTrace(writer, trace);
        }

        writer.WriteEndArray();
        writer.WriteNumber("total", traces.Count);
        writer.WriteNumber("limit", 0);
        writer.WriteNumber("offset", 0);
        if (missing.Count == 0)
        {
            writer.WriteNull("errors");
        }
        else
        {
            writer.WriteStartArray("errors");
            foreach (var id in missing)
            {
                writer.WriteStartObject();
                writer.WriteString("msg", "trace not found");
                writer.WriteString("traceID", id.ToHex());
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteTail(Utf8JsonWriter writer, int total)
    {
        writer.WriteNumber("total", total);
        writer.WriteNumber("limit", 0);
        writer.WriteNumber("offset", 0);
        writer.WriteNull("errors");
    }
}
