namespace Almanac.Load.Templates;

/// <summary>
/// Placeholder values put into a request before it is encoded, so that their positions in the encoded bytes can be
/// found afterwards and patched per send. Every sentinel is the 64-bit value <c>Magic &lt;&lt; 32 | n</c> with a
/// unique <c>n</c>: ids carry it (little-endian) in their first eight bytes, timestamps are it. Its decimal form has
/// 19 digits, like every Unix-nanosecond time between 2001 and 2286, so JSON time strings keep their width.
/// </summary>
internal sealed class Sentinels
{
    public const uint Magic = 0x5BE13CA7;

    private readonly List<Variable> _variables = [];

    public IReadOnlyList<Variable> Variables => _variables;

    /// <summary>A new trace id variable: 16 bytes, fresh random per send.</summary>
    public byte[] TraceId() => Id(VariableKind.TraceId, 16);

    /// <summary>A new span id variable: 8 bytes, fresh random per send. Reuse the returned bytes as a child's parent id.</summary>
    public byte[] SpanId() => Id(VariableKind.SpanId, 8);

    /// <summary>A time variable: written per send as "now" plus <paramref name="relativeNanos"/> (negative: in the past).</summary>
    public ulong Time(long relativeNanos)
    {
        var value = Next(VariableKind.Time, 8, relativeNanos);
        return value;
    }

    public static bool TryDecode(ulong value, out int index)
    {
        index = (int)(value & 0xFFFF_FFFF);
        return value >> 32 == Magic;
    }

    private byte[] Id(VariableKind kind, int length)
    {
        var bytes = new byte[length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, Next(kind, length, 0));
        return bytes;
    }

    private ulong Next(VariableKind kind, int length, long relativeNanos)
    {
        var index = _variables.Count;
        _variables.Add(new Variable(kind, length, relativeNanos));
        return ((ulong)Magic << 32) | (uint)index;
    }
}

internal enum VariableKind
{
    TraceId,
    SpanId,
    Time,
}

/// <summary>One value that changes per send; <see cref="RelativeNanos"/> only for times.</summary>
internal readonly record struct Variable(VariableKind Kind, int Length, long RelativeNanos);

/// <summary>Where a variable sits in an encoded template.</summary>
internal readonly record struct Slot(int Offset, int Variable);
