using System.Text.Json;
using Almanac.Core.Ingest;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Server.Receivers;

/// <summary>OTLP response bodies, in the encoding of the request as the specification asks.</summary>
internal static class OtlpResponses
{
    public const string ProtobufContentType = "application/x-protobuf";
    public const string JsonContentType = "application/json";

    public static ExportTraceServiceResponse TraceResponse(IngestResult result)
    {
        var response = new ExportTraceServiceResponse();
        if (result.Rejected > 0 || !string.IsNullOrEmpty(result.Message))
        {
            response.PartialSuccess = new ExportTracePartialSuccess { RejectedSpans = result.Rejected, ErrorMessage = result.Message ?? string.Empty };
        }

        return response;
    }

    public static ExportLogsServiceResponse LogsResponse(IngestResult result)
    {
        var response = new ExportLogsServiceResponse();
        if (result.Rejected > 0 || !string.IsNullOrEmpty(result.Message))
        {
            response.PartialSuccess = new ExportLogsPartialSuccess { RejectedLogRecords = result.Rejected, ErrorMessage = result.Message ?? string.Empty };
        }

        return response;
    }

    public static ExportMetricsServiceResponse MetricsResponse(IngestResult result)
    {
        var response = new ExportMetricsServiceResponse();
        if (result.Rejected > 0 || !string.IsNullOrEmpty(result.Message))
        {
            response.PartialSuccess = new ExportMetricsPartialSuccess { RejectedDataPoints = result.Rejected, ErrorMessage = result.Message ?? string.Empty };
        }

        return response;
    }

    /// <summary>An export response as OTLP/JSON: <c>{}</c>, or <c>{"partialSuccess":{...}}</c> when something was rejected or said.</summary>
    public static byte[] PartialSuccessJson(string rejectedField, IngestResult result)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (result.Rejected != 0 || !string.IsNullOrEmpty(result.Message))
            {
                writer.WriteStartObject("partialSuccess");
                if (result.Rejected != 0)
                {
                    // OTLP/JSON writes 64-bit integers as strings.
                    writer.WriteString(rejectedField, result.Rejected.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                if (!string.IsNullOrEmpty(result.Message))
                {
                    writer.WriteString("errorMessage", result.Message);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>A google.rpc.Status body: protobuf or JSON.</summary>
    public static byte[] Status(int grpcCode, string message, bool json)
    {
        if (!json)
        {
            return new Google.Rpc.Status { Code = grpcCode, Message = message }.ToByteArray();
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", grpcCode);
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
