using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Almanac.Core.Model;
using Almanac.Otlp;
using Almanac.Otlp.Wire;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// Serializes a span for the span_proto column without the fields that already live in their own columns (ids,
/// name, start, end, kind, and the span's and events' attributes when attr_types says the search text rebuilds
/// them), which would
/// otherwise be most of a span's bytes. A field is left out only when its columns reproduce it exactly, and put
/// back only when it was left out, so even malformed ids round-trip. The end time has no column: it is start +
/// duration unless the end precedes the start (clock trouble, duration 0), and only then does the blob keep it,
/// written even when it is 0 so its presence is what says so. The events' times leave the blob too, for the
/// event_times column (<see cref="EventTimes"/>): an exception event's time is the one thing that makes an error
/// span's blob unique, and unique blobs widened every row's dictionary index (ADR 0008). Reuses its buffers: one
/// instance per writer, not thread-safe.
/// </summary>
internal sealed class SpanCodec
{
    /// <summary>
    /// Every field of OTLP's Span this codec knows: what the columns hold, what <see cref="Encode"/> copies, and the
    /// attributes. A test compares it with the generated descriptor so a newer proto cannot add a field that would
    /// silently be left out of the blob.
    /// </summary>
    internal static readonly int[] KnownFields = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    private const uint EndTag = (Span.EndTimeUnixNanoFieldNumber << 3) | 1; // fixed64
    private const int EventTimeField = 1;

    /// <summary>The blob's content, refilled per span: only what the columns do not reproduce.</summary>
    private readonly Span _rest = new();
    private byte[] _buffer = new byte[4096];
    private readonly List<long> _eventTimes = [];

    /// <summary>
    /// The last encoded span's event times, in event order, as offsets from its start (wrapping like every time
    /// here: a sender may send any 64-bit value); empty without events. Valid until the next call.
    /// </summary>
    public List<long> EventTimes => _eventTimes;

    /// <summary>The stripped encoding; valid until the next call.</summary>
    public Span<byte> Encode(SpanData data, bool stripAttributes, bool stripEventAttributes)
    {
        // Copying references into a reused message and serializing that is much cheaper than serializing the whole
        // span (attributes are most of its bytes) and cutting fields out of the result.
        var span = data.Span;
        var rest = _rest;
        rest.TraceId = !data.TraceId.IsEmpty && IdEquals(span.TraceId, data.TraceId) ? ByteString.Empty : span.TraceId;
        rest.SpanId = !data.SpanId.IsEmpty && IdEquals(span.SpanId, data.SpanId) ? ByteString.Empty : span.SpanId;
        rest.ParentSpanId = !data.ParentSpanId.IsEmpty && IdEquals(span.ParentSpanId, data.ParentSpanId) ? ByteString.Empty : span.ParentSpanId;
        rest.TraceState = span.TraceState;
        rest.Flags = span.Flags;
        // The kind column is a TINYINT; a kind beyond it stays in the blob.
        rest.Kind = (int)span.Kind is >= sbyte.MinValue and <= sbyte.MaxValue ? 0 : span.Kind;
        rest.DroppedAttributesCount = span.DroppedAttributesCount;
        rest.DroppedEventsCount = span.DroppedEventsCount;
        rest.DroppedLinksCount = span.DroppedLinksCount;
        rest.Status = span.Status;
        rest.Attributes.Clear();
        if (!stripAttributes)
        {
            rest.Attributes.Add(span.Attributes);
        }

        rest.Events.Clear();
        _eventTimes.Clear();
        // The object path is the rare one (values the wire reader leaves to it): a copy per event is fine.
        foreach (var evt in span.Events)
        {
            var bare = evt.Clone();
            if (stripEventAttributes)
            {
                bare.Attributes.Clear();
            }

            _eventTimes.Add(unchecked((long)bare.TimeUnixNano - data.StartTimeUnixNano));
            bare.TimeUnixNano = 0;
            rest.Events.Add(bare);
        }

        rest.Links.Clear();
        rest.Links.Add(span.Links);
        UnknownFields(rest) = UnknownFields(span);

        var size = rest.CalculateSize();
        if (_buffer.Length < size + 9)
        {
            _buffer = new byte[Math.Max(size + 9, _buffer.Length * 2)];
        }

        rest.WriteTo(_buffer.AsSpan(0, size));
        // Also catches the wrap-around of absurd times, where end - start overflows.
        if (unchecked(data.StartTimeUnixNano + data.DurationNanos) != data.EndTimeUnixNano)
        {
            _buffer[size++] = (byte)EndTag;
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(size), span.EndTimeUnixNano);
            size += 8;
        }

        // Drop the references so the reused message does not keep the batch alive.
        rest.Status = null;
        rest.Attributes.Clear();
        rest.Events.Clear();
        rest.Links.Clear();
        UnknownFields(rest) = null;
        return _buffer.AsSpan(0, size);
    }

    /// <summary>
    /// <see cref="Encode"/> for a span still in its wire encoding: copies every field the columns do not reproduce
    /// as it was received (unknown fields and fields with an unexpected wire type included, as the message objects
    /// would keep them), so the blob decodes to the same span.
    /// </summary>
    public Span<byte> EncodeRaw(ReadOnlySpan<byte> span, in WireSpan fields, bool stripAttributes, bool stripEventAttributes, long start, long duration)
    {
        // 19: an end time and an all-zero parent id added; 6: room for one event's prefix while it is rewritten.
        if (_buffer.Length < span.Length + 25)
        {
            _buffer = new byte[Math.Max(span.Length + 25, _buffer.Length * 2)];
        }

        var size = 0;
        _eventTimes.Clear();
        var reader = new ProtoReader(span);
        var kindInColumn = fields.Kind is >= sbyte.MinValue and <= sbyte.MaxValue;
        while (true)
        {
            var fieldStart = reader.Position;
            if (!reader.TryReadTag(out var field, out var wireType))
            {
                break;
            }

            if (field == WireSpan.EventsField && wireType == ProtoReader.LengthDelimited)
            {
                size = CopyEvent(reader.ReadLengthDelimited(), stripEventAttributes, start, size);
                continue;
            }

            reader.Skip(wireType);
            var inColumns = field switch
            {
                WireSpan.TraceIdField or WireSpan.SpanIdField or WireSpan.ParentSpanIdField or WireSpan.NameField => wireType == ProtoReader.LengthDelimited,
                WireSpan.KindField => wireType == ProtoReader.Varint && kindInColumn,
                WireSpan.StartField or WireSpan.EndField => wireType == ProtoReader.Fixed64,
                WireSpan.AttributesField => wireType == ProtoReader.LengthDelimited && stripAttributes,
                _ => false,
            };
            if (!inColumns)
            {
                span[fieldStart..reader.Position].CopyTo(_buffer.AsSpan(size));
                size += reader.Position - fieldStart;
            }
        }

        // An all-zero parent id reads as "no parent" in the column; the blob keeps it so the span reads back as sent.
        if (fields.ParentSpanId.Length == SpanId.ByteLength && fields.ParentSpanId.IndexOfAnyExcept((byte)0) < 0)
        {
            _buffer[size++] = (WireSpan.ParentSpanIdField << 3) | ProtoReader.LengthDelimited;
            _buffer[size++] = SpanId.ByteLength;
            _buffer.AsSpan(size, SpanId.ByteLength).Clear();
            size += SpanId.ByteLength;
        }

        if (unchecked(start + duration) != unchecked((long)fields.End))
        {
            _buffer[size++] = (byte)EndTag;
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(size), fields.End);
            size += 8;
        }

        return _buffer.AsSpan(0, size);
    }

    /// <summary>
    /// Appends an event (field 11) with every field but its time (to <see cref="EventTimes"/>) and, when asked, its
    /// attributes, as received; returns the new size.
    /// </summary>
    private int CopyEvent(ReadOnlySpan<byte> evt, bool stripAttributes, long spanStart, int size)
    {
        // The fields go after room for the tag and the longest length prefix, then move up behind the real prefix.
        const int MaxPrefix = 1 + 5;
        var content = size + MaxPrefix;
        var length = 0;
        ulong time = 0;
        var reader = new ProtoReader(evt);
        while (true)
        {
            var fieldStart = reader.Position;
            if (!reader.TryReadTag(out var field, out var wireType))
            {
                break;
            }

            if (field == EventTimeField && wireType == ProtoReader.Fixed64)
            {
                // Sent twice, the last one counts, as for the parser.
                time = reader.ReadFixed64();
                continue;
            }

            reader.Skip(wireType);
            if (field != WireSpan.EventAttributesField || wireType != ProtoReader.LengthDelimited || !stripAttributes)
            {
                evt[fieldStart..reader.Position].CopyTo(_buffer.AsSpan(content + length));
                length += reader.Position - fieldStart;
            }
        }

        _eventTimes.Add(unchecked((long)time - spanStart));

        _buffer[size++] = (WireSpan.EventsField << 3) | ProtoReader.LengthDelimited;
        size += WriteVarint(_buffer.AsSpan(size), (uint)length);
        _buffer.AsSpan(content, length).CopyTo(_buffer.AsSpan(size));
        return size + length;
    }

    private static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Fields a newer sender set that this proto version does not know: kept in the blob like the rest.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_unknownFields")]
    private static extern ref UnknownFieldSet? UnknownFields(Span span);

    /// <summary>Reverses <see cref="Encode"/> given the row's columns.</summary>
    public static Span Decode(byte[] proto, TraceId traceId, ulong spanId, ulong parentSpanId, string name,
        long start, long duration, sbyte kind, string attributeText, string attributeSet, string attributeTypes, IReadOnlyList<long> eventTimes,
        Func<int, string> keyOf)
    {
        // Ingest's recursion limit, not the parser's default: attributes nest as deep as ingest accepted them.
        var span = OtlpProtobuf.ParseAccepted<Span>(proto);
        if (eventTimes.Count != span.Events.Count)
        {
            throw new InvalidDataException($"Stored span has {span.Events.Count} events but {eventTimes.Count} event times.");
        }

        for (var i = 0; i < eventTimes.Count; i++)
        {
            span.Events[i].TimeUnixNano = unchecked((ulong)(start + eventTimes[i]));
        }

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
            SearchText.Rebuild(attributeText, attributeSet, attributeTypes, keyOf, span.Attributes, span.Events);
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
