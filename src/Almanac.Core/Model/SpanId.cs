using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Almanac.Core.Model;

/// <summary>A 64-bit span id, big-endian like its wire bytes.</summary>
public readonly record struct SpanId(ulong Value)
{
    public const int ByteLength = 8;

    public static SpanId Empty => default;

    public bool IsEmpty => Value == 0;

    public static bool TryRead(ReadOnlySpan<byte> bytes, out SpanId id)
    {
        if (bytes.Length != ByteLength)
        {
            id = default;
            return false;
        }

        id = new SpanId(BinaryPrimitives.ReadUInt64BigEndian(bytes));
        return true;
    }

    public void WriteTo(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    public byte[] ToBytes()
    {
        var bytes = new byte[ByteLength];
        WriteTo(bytes);
        return bytes;
    }

    public string ToHex() => Hex.ToString(Value);

    public static bool TryParse([NotNullWhen(true)] string? text, out SpanId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text) || text.Length > 16 || !Hex.TryParse(text, out var value))
        {
            return false;
        }

        id = new SpanId(value);
        return true;
    }

    public override string ToString() => ToHex();
}
