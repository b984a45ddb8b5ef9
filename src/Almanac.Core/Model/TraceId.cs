using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Almanac.Core.Model;

/// <summary>A 128-bit W3C trace id, held as two big-endian halves so it sorts and compares like its bytes.</summary>
public readonly record struct TraceId(ulong High, ulong Low) : IComparable<TraceId>
{
    public const int ByteLength = 16;

    public static TraceId Empty => default;

    public bool IsEmpty => High == 0 && Low == 0;

    /// <summary>Reads exactly 16 bytes; anything else (OTLP requires 16) is not a trace id.</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out TraceId id)
    {
        if (bytes.Length != ByteLength)
        {
            id = default;
            return false;
        }

        id = new TraceId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
        return true;
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[ByteLength];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>32 lower-case hex digits, the form OTLP/JSON and Jaeger's api_v3 use.</summary>
    public string ToHex() => string.Create(32, this, static (chars, id) =>
    {
        Hex.Write(id.High, chars);
        Hex.Write(id.Low, chars[16..]);
    });

    /// <summary>
    /// Jaeger v1's form: 64-bit ids (high half zero) print as 16 digits, as Jaeger does for ids that came from
    /// 64-bit tracers; everything else as 32.
    /// </summary>
    public string ToJaegerHex() => High == 0 ? Hex.ToString(Low) : ToHex();

    /// <summary>Parses 1..32 hex digits, left-padded with zeros as Jaeger accepts short ids.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out TraceId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text) || text.Length > 32)
        {
            return false;
        }

        ReadOnlySpan<char> s = text;
        var lowStart = Math.Max(0, s.Length - 16);
        if (!Hex.TryParse(s[lowStart..], out var low))
        {
            return false;
        }

        ulong high = 0;
        if (lowStart > 0 && !Hex.TryParse(s[..lowStart], out high))
        {
            return false;
        }

        id = new TraceId(high, low);
        return true;
    }

    public int CompareTo(TraceId other)
    {
        var c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }

    public static bool operator <(TraceId left, TraceId right) => left.CompareTo(right) < 0;

    public static bool operator <=(TraceId left, TraceId right) => left.CompareTo(right) <= 0;

    public static bool operator >(TraceId left, TraceId right) => left.CompareTo(right) > 0;

    public static bool operator >=(TraceId left, TraceId right) => left.CompareTo(right) >= 0;

    public override string ToString() => ToHex();
}
