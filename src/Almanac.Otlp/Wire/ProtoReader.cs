using System.Buffers.Binary;

namespace Almanac.Otlp.Wire;

/// <summary>
/// A forward-only reader of the protobuf wire format over bytes in memory, for hot paths that read OTLP without
/// building message objects. It checks only what it must to stay in bounds: a varint longer than 10 bytes, a length
/// past the end, a group without its end or a wire type protobuf does not define throw <see cref="InvalidDataException"/>
/// (the matching of a group's start and end tags is left to ingest's validation).
/// </summary>
public ref struct ProtoReader
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int StartGroup = 3;
    public const int EndGroup = 4;
    public const int Fixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Offset of the next unread byte: with the offset before a tag, the span of a whole field.</summary>
    public readonly int Position => _position;

    /// <summary>Reads the next field's tag; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out int wireType)
    {
        if (_position >= _data.Length)
        {
            field = 0;
            wireType = 0;
            return false;
        }

        var tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field <= 0 || tag > uint.MaxValue)
        {
            throw new InvalidDataException("Invalid protobuf field tag.");
        }

        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new InvalidDataException("Truncated protobuf varint.");
            }

            var b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("Protobuf varint longer than 10 bytes.");
    }

    public ulong ReadFixed64()
    {
        if (_data.Length - _position < 8)
        {
            throw new InvalidDataException("Truncated protobuf fixed64.");
        }

        var value = BinaryPrimitives.ReadUInt64LittleEndian(_data[_position..]);
        _position += 8;
        return value;
    }

    public uint ReadFixed32()
    {
        if (_data.Length - _position < 4)
        {
            throw new InvalidDataException("Truncated protobuf fixed32.");
        }

        var value = BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]);
        _position += 4;
        return value;
    }

    /// <summary>A length-delimited field's payload (bytes, string or embedded message).</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw new InvalidDataException("Protobuf length past the end of the message.");
        }

        var payload = _data.Slice(_position, (int)length);
        _position += (int)length;
        return payload;
    }

    /// <summary>Skips the payload of a field whose tag was just read.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint:
                ReadVarint();
                break;
            case Fixed64:
                ReadFixed64();
                break;
            case LengthDelimited:
                ReadLengthDelimited();
                break;
            case Fixed32:
                ReadFixed32();
                break;
            case StartGroup:
                SkipGroup();
                break;
            default:
                // An end-group tag outside a group, or 6 and 7, which are not wire types at all.
                throw new InvalidDataException($"Unexpected protobuf wire type {wireType}.");
        }
    }

    /// <summary>
    /// Skips a group's fields through its end-group tag. OTLP defines no groups, but an unknown field may use the
    /// deprecated encoding and the generated parser (so ingest) accepts it; groups inside are counted, not recursed.
    /// </summary>
    private void SkipGroup()
    {
        var open = 1;
        while (open > 0)
        {
            if (!TryReadTag(out _, out var wireType))
            {
                throw new InvalidDataException("Protobuf group without its end-group tag.");
            }

            switch (wireType)
            {
                case StartGroup:
                    open++;
                    break;
                case EndGroup:
                    open--;
                    break;
                default:
                    Skip(wireType);
                    break;
            }
        }
    }
}
