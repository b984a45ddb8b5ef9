using System.Text.Json;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Json;

/// <summary>
/// The OTLP/JSON mapping (OTLP specification, "JSON Protobuf Encoding"): trace and span ids as hex, lowerCamelCase
/// field names, 64-bit integers as decimal strings (numbers accepted on input), enums as integers.
/// </summary>
public static class OtlpJson
{
    /// <summary>Parses an OTLP/HTTP JSON trace export body. Throws <see cref="OtlpFormatException"/> with a user-facing message on bad input.</summary>
    public static ExportTraceServiceRequest ParseTraceRequest(ReadOnlySpan<byte> utf8Json) =>
        throw new NotImplementedException();

    /// <summary>Writes <paramref name="data"/> as an OTLP/JSON <c>TracesData</c> object (<c>{"resourceSpans":[...]}</c>).</summary>
    public static void WriteTracesData(Utf8JsonWriter writer, TracesData data) =>
        throw new NotImplementedException();
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
