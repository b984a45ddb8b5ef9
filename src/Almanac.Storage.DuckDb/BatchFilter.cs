using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using DuckDB.NET.Data;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// What trace search prunes on (ADR 0004): spans are written in numbered batches (the <c>batch</c> column of
/// <c>spans</c>, constant within a batch so it costs next to nothing and zone maps skip on it), and each batch has a
/// row in <c>span_batches</c> with its start-time range, longest duration, span count and split-block Bloom filters,
/// one per block of <see cref="BlockRows"/> rows (ADR 0009), over what searches ask for: every span and event attribute
/// pair (exactly as <see cref="SearchText"/> spells it), service names, operation names and resource ids. A search
/// reads only the blocks whose filter may hold every pair it asks for, newest batch first, and stops once no further
/// batch can beat the traces it already has. A second
/// filter per batch holds its trace ids: trace by id and trace summaries read only the batches it admits (ADR 0005).
/// <para>
/// A batch is one or more consecutive writes: small writes (a quiet system flushes a few spans every 200 ms) are
/// grouped until the group holds <see cref="GroupSpans"/> spans, with the group's row rewritten on each commit, so the
/// number of rows, the filters' memory and a search's per-batch work stay bounded by spans stored, not by writes.
/// </para>
/// Writer-side state; guarded by the store's write lock.
/// </summary>
internal sealed class BatchFilter
{
    /// <summary>
    /// Spans after which a group is closed. Large enough that per-batch overhead (a row, an array entry, a candidate
    /// check per search) stays negligible, small enough that a rare value's batch is a small read.
    /// </summary>
    public const int GroupSpans = 16_384;

    /// <summary>
    /// Filter bits per distinct item. A split-block Bloom filter with 8 bits set per item gives about 1–2% false
    /// positives at 10 bits per item; a false positive only costs reading one batch that turns out to hold nothing.
    /// </summary>
    private const int BitsPerItem = 10;

    /// <summary>
    /// Rows per search-filter block (<see cref="BlockFilters"/>). Measured on 10M load-generator spans (ADR 0009): at
    /// 2,048 rows (DuckDB's vector) a block repeats the items most blocks share often enough to add 0.8 bytes per span,
    /// and a batch's 25 blocks gave it 25 chances of a false positive; 8,192 adds 0.5 and made a high-cardinality
    /// search 27% faster than whole batches. A read costs about the same either way: each one starts a scan of the
    /// search-text column, whose set-up, not the rows, is most of it.
    /// </summary>
    public const int BlockRows = 8192;

    /// <summary>
    /// Bits per trace id: every trace-by-id lookup probes every batch (about 200 at 10M spans), so a false positive
    /// (a batch read for nothing) matters more than for search items. At 16 bits a lookup met one in about 10% of
    /// cases at 10M spans; 24 bits make it about 0.004% per batch (under 1% of lookups), for three bytes per trace.
    /// </summary>
    private const int BitsPerTrace = 24;

    private const int BlockBytes = 32;

    // The salts of the split-block Bloom filter as Parquet specifies it: one odd multiplier per 32-bit word of a block.
    private static readonly uint[] Salts = [0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU, 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U];

    private readonly int _groupSpans;
    private readonly int _blockRows;

    // The open group's items per block (by seq / block rows) and each block's filter as last built: a commit rebuilds
    // only the blocks its spans went to.
    private readonly List<HashSet<ulong>> _blockItems = new();
    private readonly List<byte[]> _blockFilters = new();
    private int _blocksUsed;
    private int _block = -1;
    private int _firstDirtyBlock = int.MaxValue;
    private readonly HashSet<ulong> _traces = new();
    private readonly byte[] _scratch = new byte[8];
    private int _nextBatch = 1;
    private SpanBatchInfo? _open;
    private SpanBatchInfo? _pending;
    private int _pendingSpans;
    private long _minStart;
    private long _maxStart;
    private long _maxDuration;
    private int _spans;
    private int _rows;
    private int _pendingRows;
    private long _lastResource = -1;
    private string? _lastService;
    private string? _lastName;

    /// <summary>Item kinds: the seed of each item's hash, so a service named like an attribute pair is another item.</summary>
    private enum Kind : long
    {
        Pair = 1,
        Service = 2,
        Operation = 3,
        Resource = 4,
    }

    /// <summary>Tests close groups sooner and make blocks smaller, to get many batches and blocks out of few spans.</summary>
    public BatchFilter(int groupSpans = GroupSpans, int blockRows = BlockRows)
    {
        _groupSpans = groupSpans;
        _blockRows = blockRows;
    }

    /// <summary>Spans after which a group is closed.</summary>
    public int GroupSize => _groupSpans;

    /// <summary>Continues numbering after the stored batches (a restart always opens a new group).</summary>
    public void Load(IReadOnlyList<SpanBatchInfo> stored) =>
        _nextBatch = stored.Count == 0 ? 1 : stored.Max(b => b.Batch) + 1;

    /// <summary>The batch number the spans of the current write carry (set by <see cref="Begin"/>).</summary>
    public int Batch => _open!.Batch;

    /// <summary>Starts a write; returns the batch number its spans carry.</summary>
    public int Begin()
    {
        if (_pending is not null || _open is null)
        {
            // Either no group is open or the last write did not commit: its items may be in the set, so start afresh
            // rather than keep a filter that describes spans that were rolled back (harmless, but not needed).
            NewGroup();
        }

        _pendingSpans = 0;
        _pendingRows = 0;
        _pending = _open;
        return _open!.Batch;
    }

    /// <summary>
    /// The first <c>seq</c> of the write's <paramref name="count"/> rows: numbers go on across the writes of a group
    /// (a span that turns out invalid leaves its number unused), so a batch and a seq name one row.
    /// </summary>
    public int ReserveRows(int count)
    {
        _pendingRows = count;
        return _rows;
    }

    /// <param name="seq">The span's row in its batch (from <see cref="ReserveRows"/>): which block's filter it goes to.</param>
    /// <param name="serviceUtf8">The UTF-8 of <paramref name="service"/>, which the writer has at hand: hashing the string
    /// would encode it into a new array for (nearly) every span, since a trace's spans mostly differ in name.</param>
    /// <param name="nameUtf8">The UTF-8 of <paramref name="name"/>.</param>
    public void AddSpan(int seq, string service, ReadOnlySpan<byte> serviceUtf8, string name, ReadOnlySpan<byte> nameUtf8, long resourceId,
        long start, long duration, SearchText text)
    {
        _pendingSpans++;
        var items = ItemsOf(seq / _blockRows);
        _minStart = Math.Min(_minStart, start);
        _maxStart = Math.Max(_maxStart, start);
        _maxDuration = Math.Max(_maxDuration, duration);

        // Consecutive spans usually share these: skip re-hashing the same strings.
        if (!ReferenceEquals(service, _lastService))
        {
            _lastService = service;
            items.Add(Hash(Kind.Service, serviceUtf8));
        }

        if (!ReferenceEquals(name, _lastName))
        {
            _lastName = name;
            items.Add(Hash(Kind.Operation, nameUtf8));
        }

        if (resourceId != _lastResource)
        {
            _lastResource = resourceId;
            items.Add(ResourceHash(resourceId));
        }

        for (var p = 0; p < text.PairCount; p++)
        {
            items.Add(XxHash3.HashToUInt64(text.PairText(p), (long)Kind.Pair));
        }
    }

    /// <summary>The item set of a block, started afresh (with the last-seen shortcuts) when spans move on to it.</summary>
    private HashSet<ulong> ItemsOf(int block)
    {
        if (block != _block)
        {
            while (_blocksUsed <= block)
            {
                if (_blocksUsed == _blockItems.Count)
                {
                    _blockItems.Add(new HashSet<ulong>());
                    _blockFilters.Add([]);
                }

                _blockItems[_blocksUsed].Clear();
                _blockFilters[_blocksUsed] = [];
                _blocksUsed++;
            }

            _block = block;
            _firstDirtyBlock = Math.Min(_firstDirtyBlock, block);
            _lastResource = -1;
            _lastService = null;
            _lastName = null;
        }

        return _blockItems[block];
    }

    public void AddTrace(Almanac.Core.Model.TraceId traceId) => _traces.Add(TraceHash(traceId));

    /// <summary>Writes (or rewrites) the group's row inside the batch's transaction.</summary>
    public void Write(DuckDBConnection writer)
    {
        if (_pendingSpans == 0)
        {
            // A write without spans (logs or metrics only) leaves the group's row as it is.
            return;
        }

        var filter = BuildFilter();
        var traceFilter = Build(_traces, BitsPerTrace);
        using var command = writer.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO span_batches VALUES ($1, $2, $3, $4, $5, $6, $7)";
        command.Parameters.Add(new DuckDBParameter(_open!.Batch));
        command.Parameters.Add(new DuckDBParameter(_minStart));
        command.Parameters.Add(new DuckDBParameter(_maxStart));
        command.Parameters.Add(new DuckDBParameter(_maxDuration));
        command.Parameters.Add(new DuckDBParameter(_spans + _pendingSpans));
        command.Parameters.Add(new DuckDBParameter(filter.Bytes));
        command.Parameters.Add(new DuckDBParameter(traceFilter));
        command.ExecuteNonQuery();
        _open = new SpanBatchInfo(_open.Batch, _minStart, _maxStart, _maxDuration, _spans + _pendingSpans, filter, traceFilter);
    }

    /// <summary>The filters over the open group's items so far, one per block; only blocks written to since the last build are built again.</summary>
    public BlockFilters BuildFilter()
    {
        for (var block = _firstDirtyBlock; block < _blocksUsed; block++)
        {
            _blockFilters[block] = Build(_blockItems[block], BitsPerItem);
        }

        // The next write's spans may go on filling the last block: forgetting which block spans went to makes the
        // next span mark its block for building again.
        _firstDirtyBlock = int.MaxValue;
        _block = -1;
        return BlockFilters.Encode(_blockRows, _blockFilters.GetRange(0, _blocksUsed));
    }

    /// <summary>After the commit: publishes the group to searches and closes it once it is big enough.</summary>
    public void Committed(SpanBatches index)
    {
        _pending = null;
        _rows += _pendingRows;
        if (_pendingSpans == 0)
        {
            return;
        }

        _spans += _pendingSpans;
        index.Put(_open!);
        if (_spans >= _groupSpans)
        {
            _open = null;
        }
    }

    /// <summary>Retention may have deleted the open group's row: the next write starts a new one.</summary>
    public void Close() => _open = null;

    private void NewGroup()
    {
        _blocksUsed = 0;
        _block = -1;
        _firstDirtyBlock = int.MaxValue;
        _traces.Clear();
        _open = new SpanBatchInfo(_nextBatch++, 0, 0, 0, 0, BlockFilters.Empty, []);
        _minStart = long.MaxValue;
        _maxStart = long.MinValue;
        _maxDuration = 0;
        _spans = 0;
        _rows = 0;
        _lastResource = -1;
        _lastService = null;
        _lastName = null;
    }

    // ------------------------------------------------------------------ items and filters (readers too)

    public static ulong ServiceHash(string service) => Hash(Kind.Service, service);

    public static ulong OperationHash(string name) => Hash(Kind.Operation, name);

    public static ulong ResourceHash(long resourceId)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, resourceId);
        return XxHash3.HashToUInt64(bytes, (long)Kind.Resource);
    }

    /// <summary>The item an attribute filter looks for: the bytes between the separators of its search needle.</summary>
    public static ulong PairHash(int keyId, string value)
    {
        var needle = SearchText.Needle(keyId, value);
        return XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(needle, 1, needle.Length - 2), (long)Kind.Pair);
    }

    /// <summary>
    /// A trace id is already uniformly random (W3C trace ids are required to be), but not every sender's is: mixing
    /// both halves keeps a sender with a constant high half from crowding one block.
    /// </summary>
    public static ulong TraceHash(Almanac.Core.Model.TraceId traceId)
    {
        Span<byte> bytes = stackalloc byte[16];
        traceId.WriteTo(bytes);
        return XxHash3.HashToUInt64(bytes);
    }

    private static ulong Hash(Kind kind, string text) => Hash(kind, Encoding.UTF8.GetBytes(text));

    private static ulong Hash(Kind kind, ReadOnlySpan<byte> utf8) => XxHash3.HashToUInt64(utf8, (long)kind);

    /// <summary>A split-block Bloom filter over the items, sized to the given bits per distinct item.</summary>
    public static byte[] Build(IReadOnlyCollection<ulong> items, int bitsPerItem)
    {
        var blocks = Math.Max(1, (int)(((long)items.Count * bitsPerItem + 255) / 256));
        var filter = new byte[blocks * BlockBytes];
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(filter.AsSpan());
        foreach (var item in items)
        {
            var block = Block(item, blocks) * 8;
            var low = (uint)item;
            for (var i = 0; i < 8; i++)
            {
                words[block + i] |= 1U << (int)((low * Salts[i]) >> 27);
            }
        }

        return filter;
    }

    /// <summary>False only when the item was certainly not added; an empty filter (no spans) holds nothing.</summary>
    public static bool MayContain(ReadOnlySpan<byte> filter, ulong item)
    {
        var blocks = filter.Length / BlockBytes;
        if (blocks == 0)
        {
            return false;
        }

        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(filter);
        var block = Block(item, blocks) * 8;
        var low = (uint)item;
        for (var i = 0; i < 8; i++)
        {
            if ((words[block + i] & (1U << (int)((low * Salts[i]) >> 27))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    // The high half picks the block (multiply-shift instead of a modulo), the low half the bits within it.
    private static int Block(ulong item, int blocks) => (int)(((item >> 32) * (ulong)blocks) >> 32);
}

/// <summary>One <c>span_batches</c> row as searches use it.</summary>
internal sealed record SpanBatchInfo(int Batch, long MinStart, long MaxStart, long MaxDuration, int Spans, BlockFilters Filter, byte[] TraceFilter);

/// <summary>
/// The batches' rows in memory, for searches: loaded at start, replaced after each commit, trimmed by retention.
/// Readers take the current array (copy-on-write), so a search never locks against the writer.
/// </summary>
internal sealed class SpanBatches
{
    private readonly object _gate = new();
    private SpanBatchInfo[] _batches = [];

    /// <summary>In batch order (the order spans were written in).</summary>
    public SpanBatchInfo[] Snapshot => Volatile.Read(ref _batches);

    public static List<SpanBatchInfo> Read(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT batch, min_start_ns, max_start_ns, max_duration_ns, spans, filter, trace_filter FROM span_batches ORDER BY batch";
        using var reader = command.ExecuteReader();
        var rows = new List<SpanBatchInfo>();
        while (reader.Read())
        {
            rows.Add(new SpanBatchInfo(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt32(4),
                BlockFilters.Decode(DuckDbStore.ReadBytes(reader, 5)), DuckDbStore.ReadBytes(reader, 6)));
        }

        return rows;
    }

    public void Load(IEnumerable<SpanBatchInfo> rows)
    {
        lock (_gate)
        {
            Volatile.Write(ref _batches, rows.OrderBy(b => b.Batch).ToArray());
        }
    }

    /// <summary>Adds a batch or replaces the row of the same number (a growing group is always the last one).</summary>
    public void Put(SpanBatchInfo batch)
    {
        lock (_gate)
        {
            var current = _batches;
            if (current.Length > 0 && current[^1].Batch == batch.Batch)
            {
                var copy = (SpanBatchInfo[])current.Clone();
                copy[^1] = batch;
                Volatile.Write(ref _batches, copy);
            }
            else
            {
                Volatile.Write(ref _batches, [.. current, batch]);
            }
        }
    }

    /// <summary>What retention did to span_batches: rows wholly before the cutoff are gone, the others start at it at the earliest.</summary>
    public void DeleteOlderThan(long cutoff)
    {
        lock (_gate)
        {
            Volatile.Write(ref _batches, _batches.Where(b => b.MaxStart >= cutoff)
                .Select(b => b.MinStart < cutoff ? b with { MinStart = cutoff } : b).ToArray());
        }
    }
}
