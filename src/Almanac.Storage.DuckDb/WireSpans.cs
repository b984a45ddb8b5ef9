using System.Text.Unicode;
using Almanac.Core.Storage;
using Almanac.Otlp.Wire;

namespace Almanac.Storage.DuckDb;

/// <summary>An attribute value read from the wire: only the four types the search text spells losslessly.</summary>
internal readonly ref struct WireValue(AttributeValueType type, ReadOnlySpan<byte> utf8, long integer, double number, bool boolean)
{
    public AttributeValueType Type { get; } = type;

    public ReadOnlySpan<byte> Utf8 { get; } = utf8;

    public long Int { get; } = integer;

    public double Double { get; } = number;

    public bool Bool { get; } = boolean;
}

/// <summary>
/// The scalar fields of one OTLP span read straight from its encoding (last occurrence wins, as in protobuf), so
/// the writer needs no message objects for the common span. Field numbers are OTLP's (trace/v1/trace.proto).
/// </summary>
internal ref struct WireSpan
{
    public const int TraceIdField = 1;
    public const int SpanIdField = 2;
    public const int ParentSpanIdField = 4;
    public const int NameField = 5;
    public const int KindField = 6;
    public const int StartField = 7;
    public const int EndField = 8;
    public const int AttributesField = 9;
    public const int EventsField = 11;
    public const int LinksField = 13;
    public const int StatusField = 15;
    public const int EventAttributesField = 3;
    public const int LinkAttributesField = 4;
    private const int StatusCodeField = 3;

    public ReadOnlySpan<byte> TraceId;
    public ReadOnlySpan<byte> SpanId;
    public ReadOnlySpan<byte> ParentSpanId;
    public ReadOnlySpan<byte> Name;
    public int Kind;
    public ulong Start;
    public ulong End;
    public int StatusCode;

    /// <summary>Whether the span has an events / links field at all: most have neither, and each walk over the span's fields to find them costs.</summary>
    public bool HasEvents;
    public bool HasLinks;

    public static WireSpan Read(ReadOnlySpan<byte> span)
    {
        var result = default(WireSpan);
        var reader = new ProtoReader(span);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case TraceIdField when wireType == ProtoReader.LengthDelimited:
                    result.TraceId = reader.ReadLengthDelimited();
                    break;
                case SpanIdField when wireType == ProtoReader.LengthDelimited:
                    result.SpanId = reader.ReadLengthDelimited();
                    break;
                case ParentSpanIdField when wireType == ProtoReader.LengthDelimited:
                    result.ParentSpanId = reader.ReadLengthDelimited();
                    break;
                case NameField when wireType == ProtoReader.LengthDelimited:
                    result.Name = reader.ReadLengthDelimited();
                    break;
                case KindField when wireType == ProtoReader.Varint:
                    result.Kind = unchecked((int)reader.ReadVarint());
                    break;
                case StartField when wireType == ProtoReader.Fixed64:
                    result.Start = reader.ReadFixed64();
                    break;
                case EndField when wireType == ProtoReader.Fixed64:
                    result.End = reader.ReadFixed64();
                    break;
                case StatusField when wireType == ProtoReader.LengthDelimited:
                    // Repeated occurrences of a message field merge, so a later status without a code keeps this one's.
                    var status = new ProtoReader(reader.ReadLengthDelimited());
                    while (status.TryReadTag(out var statusField, out var statusWire))
                    {
                        if (statusField == StatusCodeField && statusWire == ProtoReader.Varint)
                        {
                            result.StatusCode = unchecked((int)status.ReadVarint());
                        }
                        else
                        {
                            status.Skip(statusWire);
                        }
                    }

                    break;
                default:
                    result.HasEvents |= field == EventsField;
                    result.HasLinks |= field == LinksField;
                    reader.Skip(wireType);
                    break;
            }
        }

        return result;
    }

    /// <summary>
    /// Where this read found each field in <paramref name="span"/> (the bytes it read), so the writer can keep it
    /// beside the span's place in the batch and take the fields up again after sorting without a second walk over
    /// the span's encoding (a walk over every field of every span was ~5% of the writer's time).
    /// </summary>
    public readonly WireSpanLayout Layout(ReadOnlySpan<byte> span) => new()
    {
        TraceId = WireSpanLayout.Slice.Of(span, TraceId),
        SpanId = WireSpanLayout.Slice.Of(span, SpanId),
        ParentSpanId = WireSpanLayout.Slice.Of(span, ParentSpanId),
        Name = WireSpanLayout.Slice.Of(span, Name),
        Kind = Kind,
        End = End,
        StatusCode = StatusCode,
        HasEvents = HasEvents,
        HasLinks = HasLinks,
    };

    /// <summary>The fields of <paramref name="span"/> as <see cref="Read"/> found them, from their <see cref="Layout"/> (and start).</summary>
    public static WireSpan FromLayout(ReadOnlySpan<byte> span, in WireSpanLayout layout, ulong start) => new()
    {
        TraceId = layout.TraceId.In(span),
        SpanId = layout.SpanId.In(span),
        ParentSpanId = layout.ParentSpanId.In(span),
        Name = layout.Name.In(span),
        Kind = layout.Kind,
        Start = start,
        End = layout.End,
        StatusCode = layout.StatusCode,
        HasEvents = layout.HasEvents,
        HasLinks = layout.HasLinks,
    };

    /// <summary>
    /// Reads a KeyValue whose value is one string (valid UTF-8), int, double or bool and whose key is valid UTF-8;
    /// false for anything else (arrays, maps, bytes, no value, repeated or unknown fields), which the caller leaves
    /// to the message objects so the result cannot differ from theirs.
    /// </summary>
    public static bool TryReadKeyValue(ReadOnlySpan<byte> keyValue, out ReadOnlySpan<byte> key, out WireValue value)
    {
        key = default;
        value = default;
        ReadOnlySpan<byte> any = default;
        bool hasKey = false, hasValue = false;
        var reader = new ProtoReader(keyValue);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (wireType != ProtoReader.LengthDelimited || field > 2 || (field == 1 ? hasKey : hasValue))
            {
                return false;
            }

            if (field == 1)
            {
                key = reader.ReadLengthDelimited();
                hasKey = true;
            }
            else
            {
                any = reader.ReadLengthDelimited();
                hasValue = true;
            }
        }

        return hasValue && Utf8.IsValid(key) && TryReadAnyValue(any, out value);
    }

    private static bool TryReadAnyValue(ReadOnlySpan<byte> any, out WireValue value)
    {
        value = default;
        var reader = new ProtoReader(any);
        if (!reader.TryReadTag(out var field, out var wireType))
        {
            return false;
        }

        switch (field)
        {
            case 1 when wireType == ProtoReader.LengthDelimited:
                var text = reader.ReadLengthDelimited();
                if (!Utf8.IsValid(text))
                {
                    return false;
                }

                value = new WireValue(AttributeValueType.String, text, 0, 0, false);
                break;
            case 2 when wireType == ProtoReader.Varint:
                value = new WireValue(AttributeValueType.Bool, default, 0, 0, reader.ReadVarint() != 0);
                break;
            case 3 when wireType == ProtoReader.Varint:
                value = new WireValue(AttributeValueType.Int, default, unchecked((long)reader.ReadVarint()), 0, false);
                break;
            case 4 when wireType == ProtoReader.Fixed64:
                value = new WireValue(AttributeValueType.Double, default, 0, BitConverter.UInt64BitsToDouble(reader.ReadFixed64()), false);
                break;
            default:
                return false;
        }

        // A second field (another oneof member or an unknown one) is left to the message objects.
        return !reader.TryReadTag(out _, out _);
    }
}

/// <summary>
/// The attributes of a span (<c>attributes</c>) or of its events or links (<c>events[].attributes</c>,
/// <c>links[].attributes</c>), read one KeyValue at a time from the span's encoding in field order.
/// </summary>
internal ref struct WireAttributes
{
    private readonly int _outerField;
    private readonly int _innerField;
    private ProtoReader _outer;
    private ProtoReader _inner;
    private bool _inInner;

    /// <param name="span">The span's encoding.</param>
    /// <param name="outerField">The span field: <see cref="WireSpan.AttributesField"/>, <see cref="WireSpan.EventsField"/> or <see cref="WireSpan.LinksField"/>.</param>
    /// <param name="innerField">For events and links, their attributes field; 0 for the span's own attributes.</param>
    public WireAttributes(ReadOnlySpan<byte> span, int outerField, int innerField)
    {
        _outer = new ProtoReader(span);
        _inner = default;
        _outerField = outerField;
        _innerField = innerField;
        _inInner = false;
    }

    /// <summary>The next attribute's KeyValue encoding; false when there are no more.</summary>
    public bool MoveNext(out ReadOnlySpan<byte> keyValue)
    {
        while (true)
        {
            if (_inInner)
            {
                while (_inner.TryReadTag(out var field, out var wireType))
                {
                    if (field == _innerField && wireType == ProtoReader.LengthDelimited)
                    {
                        keyValue = _inner.ReadLengthDelimited();
                        return true;
                    }

                    _inner.Skip(wireType);
                }

                _inInner = false;
            }

            if (!_outer.TryReadTag(out var outerField, out var outerWire))
            {
                keyValue = default;
                return false;
            }

            if (outerField != _outerField || outerWire != ProtoReader.LengthDelimited)
            {
                _outer.Skip(outerWire);
                continue;
            }

            var payload = _outer.ReadLengthDelimited();
            if (_innerField == 0)
            {
                keyValue = payload;
                return true;
            }

            _inner = new ProtoReader(payload);
            _inInner = true;
        }
    }
}

/// <summary><see cref="WireSpan"/>'s fields as offsets into the span's bytes, which a ref struct cannot keep in an array.</summary>
internal struct WireSpanLayout
{
    public Slice TraceId;
    public Slice SpanId;
    public Slice ParentSpanId;
    public Slice Name;
    public int Kind;
    public int StatusCode;
    public ulong End;
    public bool HasEvents;
    public bool HasLinks;

    /// <summary>Where a field's bytes sit within the span's.</summary>
    public readonly record struct Slice(int Start, int Length)
    {
        /// <summary><paramref name="field"/> lies within <paramref name="span"/> (the reader sliced it from there), or is empty.</summary>
        public static Slice Of(ReadOnlySpan<byte> span, ReadOnlySpan<byte> field) => field.IsEmpty
            ? default
            : new Slice((int)System.Runtime.CompilerServices.Unsafe.ByteOffset(
                ref System.Runtime.InteropServices.MemoryMarshal.GetReference(span), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(field)), field.Length);

        public ReadOnlySpan<byte> In(ReadOnlySpan<byte> span) => span.Slice(Start, Length);
    }
}
