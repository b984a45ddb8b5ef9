using System.Buffers.Binary;
using Almanac.Core.Model;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// Serializes a span for the span_proto column without the fields that already live in their own columns (ids,
/// name, start, end, kind, and the attributes when attr_types says the search text rebuilds them), which would
/// otherwise be most of a span's bytes. A field is left out only when its columns reproduce it exactly, and put
/// back only when it was left out, so even malformed ids round-trip. The end time has no column: it is start +
/// duration unless the end precedes the start (clock trouble, duration 0), and only then does the blob keep it,
/// written even when it is 0 so its presence is what says so. Reuses its buffers: one instance per writer, not
/// thread-safe.
/// </summary>
internal sealed class SpanCodec
{
    private const int TraceIdField = 1;
    private const int SpanIdField = 2;
    private const int ParentSpanIdField = 4;
    private const int NameField = 5;
    private const int KindField = 6;
    private const int StartField = 7;
    private const int EndField = 8;
    private const int AttributesField = 9;
    private const uint EndTag = (EndField << 3) | 1; // fixed64

    private byte[] _full = new byte[4096];
    private byte[] _stripped = new byte[4096];

    /// <summary>The stripped encoding; valid until the next call.</summary>
    public Span<byte> Encode(SpanData data, bool stripAttributes)
    {
        var span = data.Span;
        var size = span.CalculateSize();
        if (_full.Length < size + 9)
        {
            _full = new byte[Math.Max(size + 9, _full.Length * 2)];
            _stripped = new byte[_full.Length];
        }

        span.WriteTo(_full.AsSpan(0, size));

        var stripTrace = !data.TraceId.IsEmpty && IdEquals(span.TraceId, data.TraceId);
        var stripSpan = !data.SpanId.IsEmpty && IdEquals(span.SpanId, data.SpanId);
        var stripParent = !data.ParentSpanId.IsEmpty && IdEquals(span.ParentSpanId, data.ParentSpanId);
        var stripKind = (int)span.Kind is >= sbyte.MinValue and <= sbyte.MaxValue;
        // Also catches the wrap-around of absurd times, where end - start overflows.
        var endInBlob = unchecked(data.StartTimeUnixNano + data.DurationNanos) != data.EndTimeUnixNano;

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
                KindField => stripKind,
                AttributesField => stripAttributes,
                _ => false,
            };
            if (!skip)
            {
                _full.AsSpan(fieldStart, fieldEnd - fieldStart).CopyTo(_stripped.AsSpan(written));
                written += fieldEnd - fieldStart;
            }
        }

        if (endInBlob)
        {
            _stripped[written++] = (byte)EndTag;
            BinaryPrimitives.WriteUInt64LittleEndian(_stripped.AsSpan(written), span.EndTimeUnixNano);
            written += 8;
        }

        return _stripped.AsSpan(0, written);
    }

    /// <summary>Reverses <see cref="Encode"/> given the row's columns.</summary>
    public static Span Decode(byte[] proto, TraceId traceId, ulong spanId, ulong parentSpanId, string name,
        long start, long duration, sbyte kind, string attributeText, string attributeTypes, Func<int, string> keyOf)
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

        if (span.Kind == 0)
        {
            span.Kind = (Span.Types.SpanKind)kind;
        }

        if (attributeTypes != SearchText.InBlob)
        {
            SearchText.Rebuild(attributeText, attributeTypes, keyOf, span.Attributes);
        }

        span.Name = name;
        span.StartTimeUnixNano = unchecked((ulong)start);
        if (!HasField(proto, EndTag))
        {
            span.EndTimeUnixNano = unchecked((ulong)(start + duration));
        }

        return span;
    }

    private static bool HasField(byte[] proto, uint wanted)
    {
        var input = new CodedInputStream(proto);
        while (true)
        {
            var tag = input.ReadTag();
            if (tag == 0)
            {
                return false;
            }

            if (tag == wanted)
            {
                return true;
            }

            input.SkipLastField();
        }
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
