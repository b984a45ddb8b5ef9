using System.Buffers.Binary;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// A batch's search filter (<c>span_batches.filter</c>): one Bloom filter (<see cref="BatchFilter.Build"/>) per block of
/// <see cref="BlockRows"/> consecutive rows (by <c>seq</c>), so a search reads only the blocks that may hold what it
/// asks for, not the whole batch: a value that a batch holds once (a user id) costs a read of one block instead of
/// a batch of up to 50,000 rows (ADR 0009).
/// <para>
/// Stored as: block rows (uint32, little-endian; 0 means one filter for the whole batch, what layout 7 stored),
/// block count (uint32), each block filter's end offset within the filter bytes (uint32 each), the filters.
/// </para>
/// </summary>
internal sealed class BlockFilters
{
    private const int HeaderBytes = 8;

    private readonly int[] _ends;
    private readonly int _start;

    private BlockFilters(byte[] bytes, int blockRows, int[] ends)
    {
        Bytes = bytes;
        BlockRows = blockRows;
        _ends = ends;
        _start = HeaderBytes + (4 * ends.Length);
    }

    /// <summary>No spans: holds nothing.</summary>
    public static BlockFilters Empty { get; } = Encode(0, []);

    /// <summary>Rows per block; 0 when one filter covers the whole batch.</summary>
    public int BlockRows { get; }

    public int Count => _ends.Length;

    /// <summary>The stored form.</summary>
    public byte[] Bytes { get; }

    public static BlockFilters Encode(int blockRows, IReadOnlyList<byte[]> filters)
    {
        var length = HeaderBytes + (4 * filters.Count) + filters.Sum(f => f.Length);
        var bytes = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)blockRows);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)filters.Count);
        var ends = new int[filters.Count];
        var offset = 0;
        var data = bytes.AsSpan(HeaderBytes + (4 * filters.Count));
        for (var i = 0; i < filters.Count; i++)
        {
            filters[i].CopyTo(data[offset..]);
            offset += filters[i].Length;
            ends[i] = offset;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(HeaderBytes + (4 * i)), (uint)offset);
        }

        return new BlockFilters(bytes, blockRows, ends);
    }

    /// <summary>Reads the stored form; a malformed one (a damaged file) is refused rather than half-trusted.</summary>
    public static BlockFilters Decode(byte[] bytes)
    {
        if (bytes.Length < HeaderBytes)
        {
            throw new InvalidDataException("A span batch's filter is shorter than its header.");
        }

        var blockRows = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        if (blockRows > int.MaxValue || count > (uint)(bytes.Length - HeaderBytes) / 4)
        {
            throw new InvalidDataException("A span batch's filter has an impossible header.");
        }

        var ends = new int[count];
        var dataLength = bytes.Length - HeaderBytes - (4 * (int)count);
        var previous = 0;
        for (var i = 0; i < ends.Length; i++)
        {
            var end = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(HeaderBytes + (4 * i)));
            if (end < previous || end > dataLength)
            {
                throw new InvalidDataException("A span batch's filter has an impossible block offset.");
            }

            ends[i] = previous = (int)end;
        }

        return new BlockFilters(bytes, (int)blockRows, ends);
    }

    /// <summary>Layout 7's single filter over the whole batch, as a one-block filter (the conversion on open).</summary>
    public static BlockFilters WholeBatch(byte[] filter) => Encode(0, [filter]);

    /// <summary>False only when no span of the block had the item.</summary>
    public bool MayContain(int block, ulong item)
    {
        var from = block == 0 ? 0 : _ends[block - 1];
        return BatchFilter.MayContain(Bytes.AsSpan(_start + from, _ends[block] - from), item);
    }
}
