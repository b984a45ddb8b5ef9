using Almanac.Core.Model;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// Serializes a span for the span_proto column without the fields that already live in their own columns (ids,
/// name, start/end), which would otherwise be the biggest part of a small span. A field is left out only when its
/// column reproduces it byte for byte, and put back only when it was left out, so even malformed ids round-trip.
/// Reuses its buffers: one instance per writer, not thread-safe.
/// </summary>
internal sealed class SpanCodec
{
    private const int TraceIdField = 1;
    private const int SpanIdField = 2;
    private const int ParentSpanIdField = 4;
    private const int NameField = 5;
    private const int StartField = 7;
    private const int EndField = 8;

    private byte[] _full = new byte[4096];
    private byte[] _stripped = new byte[4096];

    /// <summary>The stripped encoding; valid until the next call.</summary>
    public Span<byte> Encode(SpanData data)
    {
        var span = data.Span;
        var size = span.CalculateSize();
        if (_full.Length < size)
        {
            _full = new byte[Math.Max(size, _full.Length * 2)];
            _stripped = new byte[_full.Length];
        }

        span.WriteTo(_full.AsSpan(0, size));

        var stripTrace = !data.TraceId.IsEmpty && IdEquals(span.TraceId, data.TraceId);
        var stripSpan = !data.SpanId.IsEmpty && IdEquals(span.SpanId, data.SpanId);
        var stripParent = !data.ParentSpanId.IsEmpty && IdEquals(span.ParentSpanId, data.ParentSpanId);

        var input = new CodedInputStream(_full, 0, size);
        var written = 0;
        while (true)
        {
            var fieldStart = (int)input.Position;
            var tag = input.ReadTag();
            if (tag == 0)
            {
                break;
            }

            input.SkipLastField();
            var fieldEnd = (int)input.Position;
            var skip = WireFormat.GetTagFieldNumber(tag) switch
            {
                TraceIdField => stripTrace,
                SpanIdField => stripSpan,
                ParentSpanIdField => stripParent,
                // Defaults are never serialized, so these are present only when non-default, which the columns hold.
                NameField or StartField or EndField => true,
                _ => false,
            };
            if (!skip)
            {
                _full.AsSpan(fieldStart, fieldEnd - fieldStart).CopyTo(_stripped.AsSpan(written));
                written += fieldEnd - fieldStart;
            }
        }

        return _stripped.AsSpan(0, written);
    }

    /// <summary>Reverses <see cref="Encode"/> given the row's columns.</summary>
    public static Span Decode(Stream proto, TraceId traceId, ulong spanId, ulong parentSpanId, string name, long start, long end)
    {
        var span = Span.Parser.ParseFrom(proto);
        if (span.TraceId.IsEmpty && !traceId.IsEmpty)
        {
            span.TraceId = ByteString.CopyFrom(traceId.ToBytes());
        }

        if (span.SpanId.IsEmpty && spanId != 0)
        {
            span.SpanId = ByteString.CopyFrom(new SpanId(spanId).ToBytes());
        }

        if (span.ParentSpanId.IsEmpty && parentSpanId != 0)
        {
            span.ParentSpanId = ByteString.CopyFrom(new SpanId(parentSpanId).ToBytes());
        }

        span.Name = name;
        span.StartTimeUnixNano = unchecked((ulong)start);
        span.EndTimeUnixNano = unchecked((ulong)end);
        return span;
    }

    private static bool IdEquals(ByteString bytes, TraceId id)
    {
        Span<byte> expected = stackalloc byte[TraceId.ByteLength];
        id.WriteTo(expected);
        return bytes.Span.SequenceEqual(expected);
    }

    private static bool IdEquals(ByteString bytes, SpanId id)
    {
        Span<byte> expected = stackalloc byte[SpanId.ByteLength];
        id.WriteTo(expected);
        return bytes.Span.SequenceEqual(expected);
    }
}
