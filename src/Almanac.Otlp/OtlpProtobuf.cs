using Almanac.Otlp.Json;
using Google.Protobuf;
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
    public static unsafe ExportTraceServiceRequest ParseTraceRequest(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            // An empty body is a valid, empty request (all fields default) — and `fixed` would give a null pointer.
            return new ExportTraceServiceRequest();
        }

        try
        {
            // MessageParser.ParseFrom(span) has no recursion-limit knob; CodedInputStream.CreateWithLimits needs a
            // stream, so wrap the caller's memory without copying it.
            fixed (byte* pointer = bytes)
            {
                using var stream = new UnmanagedMemoryStream(pointer, bytes.Length);
                using var input = CodedInputStream.CreateWithLimits(stream, int.MaxValue, RecursionLimit);
                var request = new ExportTraceServiceRequest();
                request.MergeFrom(input);
                AnyValueDepthGuard.Check(request);
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
