using System.Text.Json;
using Almanac.Core.Storage;
using Almanac.Otlp.Json;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.ApiV3;

/// <summary>api_v3's HTTP gateway JSON: results wrapped in <c>{"result": ...}</c>, errors in <c>{"error": {...}}</c>.</summary>
internal static class ApiV3Responses
{
    public static void WriteError(Utf8JsonWriter writer, int httpCode, string message)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteNumber("httpCode", httpCode);
        writer.WriteString("message", message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static void WriteTraces(Utf8JsonWriter writer, TracesData data)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("result");
        OtlpJson.WriteTracesData(writer, data);
        writer.WriteEndObject();
    }

    public static void WriteServices(Utf8JsonWriter writer, IReadOnlyList<string> services)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("services");
        foreach (var service in services)
        {
            writer.WriteStringValue(service);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteOperations(Utf8JsonWriter writer, IReadOnlyList<OperationInfo> operations)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("operations");
        foreach (var operation in operations)
        {
            writer.WriteStartObject();
            writer.WriteString("name", operation.Name);
            writer.WriteString("spanKind", SpanKinds.ToJaeger(operation.Kind));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
