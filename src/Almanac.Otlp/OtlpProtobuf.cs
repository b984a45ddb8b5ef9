using Almanac.Otlp.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Otlp;

/// <summary>Decodes OTLP protobuf bodies, turning every parser failure into <see cref="OtlpFormatException"/>.</summary>
public static class OtlpProtobuf
{
    /// <summary>
    /// Message nesting allowed while parsing. An AnyValue kvlist level costs three message levels
    /// (AnyValue → KeyValueList → KeyValue), so this admits every request with <see cref="OtlpJson.MaxAnyValueDepth"/>
    /// AnyValue levels while staying far below anything that could exhaust the stack; the exact AnyValue bound is then
    /// enforced after parsing, as the JSON reader does.
    /// </summary>
    public const int RecursionLimit = (OtlpJson.MaxAnyValueDepth * 3) + 8;

    /// <summary>Parses an OTLP/HTTP or gRPC protobuf trace export body.</summary>
    /// <exception cref="OtlpFormatException">
    /// The bytes are not a valid <c>ExportTraceServiceRequest</c>, or attribute values nest deeper than
    /// <see cref="OtlpJson.MaxAnyValueDepth"/>.
    /// </exception>
    public static ExportTraceServiceRequest ParseTraceRequest(ReadOnlySpan<byte> bytes) =>
        Parse<ExportTraceServiceRequest>(bytes, AnyValueDepthGuard.Check);

    /// <summary>
    /// Parses bytes that were already accepted (by <see cref="ParseTraceRequest"/> or <see cref="OtlpTraceScanner"/>),
    /// or a part of them such as a span, resource or scope the store reads from a write-ahead-log record: ingest's
    /// recursion limit, so attributes nested as deep as ingest allows parse again, without repeating the depth check.
    /// </summary>
    /// <exception cref="OtlpFormatException">The bytes are not a valid <typeparamref name="T"/>.</exception>
    public static T ParseAccepted<T>(ReadOnlySpan<byte> bytes)
        where T : IMessage<T>, new() =>
        Parse<T>(bytes, static _ => { });

    /// <summary>Parses an OTLP/HTTP or gRPC protobuf logs export body; same failure rules as <see cref="ParseTraceRequest"/>.</summary>
    public static ExportLogsServiceRequest ParseLogsRequest(ReadOnlySpan<byte> bytes) =>
        Parse<ExportLogsServiceRequest>(bytes, AnyValueDepthGuard.Check);

    /// <summary>Parses an OTLP/HTTP or gRPC protobuf metrics export body; same failure rules as <see cref="ParseTraceRequest"/>.</summary>
    public static ExportMetricsServiceRequest ParseMetricsRequest(ReadOnlySpan<byte> bytes) =>
        Parse<ExportMetricsServiceRequest>(bytes, AnyValueDepthGuard.Check);

    private static unsafe T Parse<T>(ReadOnlySpan<byte> bytes, Action<T> check)
        where T : IMessage<T>, new()
    {
        if (bytes.IsEmpty)
        {
            // An empty body is a valid, empty request (all fields default) — and `fixed` would give a null pointer.
            return new T();
        }

        try
        {
            // MessageParser.ParseFrom(span) has no recursion-limit knob; CodedInputStream.CreateWithLimits needs a
            // stream, so wrap the caller's memory without copying it.
            fixed (byte* pointer = bytes)
            {
                using var stream = new UnmanagedMemoryStream(pointer, bytes.Length);
                using var input = CodedInputStream.CreateWithLimits(stream, int.MaxValue, RecursionLimit);
                var request = new T();
                request.MergeFrom(input);
                check(request);
                return request;
            }
        }
        catch (OtlpFormatException)
        {
            throw;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OtlpFormatException($"Invalid OTLP protobuf body: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new OtlpFormatException("Invalid OTLP protobuf body", ex);
        }
    }
}
