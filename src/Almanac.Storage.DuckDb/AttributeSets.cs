using System.IO.Hashing;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// The writer's side of attribute sets (ADR 0008). Most of a span's attributes take one of a few values per key
/// (method, route, status, database statement, user agent, exception type); spelled out in every row they were most
/// of the search text's compressed bytes, because DuckDB compresses that column 2,048 rows at a time and cannot
/// refer back further. So the pairs of such keys go, as one text per distinct combination, into
/// <c>attr_sets</c>, and the span row keeps only the set's number; the pairs of keys with many values (ids,
/// addresses, paths with ids) stay in the row's own text.
/// <para>
/// Which keys are common is learned from what is written: every <see cref="Options.SampleEvery"/>th span's pairs
/// are counted per key, and a key is common once it has <see cref="Options.MinSamples"/> samples, its sampled values
/// stay within <see cref="Options.MaxDistinct"/>, and they repeat: on average <see cref="Options.MinRepeats"/>
/// samples a value (so while new values keep coming, a key can fall back to the row for a while; reads do not mind).
/// One that passes the bound is rare for good (until a restart). Without the repeats, a key with a
/// new value every span (a user id) counted as common from its 64th sample to its 257th, and its values went into
/// sets at every start: a set a span, and every search for an id had to look through the sets too. Reads never
/// depend on the choice: each span's <c>attr_types</c> says which text holds which attribute.
/// </para>
/// Writer-only, guarded by the store's write lock, except <see cref="Keys"/>. Sets found or made during a write are
/// pending until it commits.
/// </summary>
internal sealed class AttributeSets
{
    private static readonly byte[] Empty = [];

    private readonly Options _options;
    private readonly Dictionary<byte[], int> _sets = new(TextComparer.Instance);
    private readonly Dictionary<byte[], int> _pending = new(TextComparer.Instance);
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _setsByText;
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _pendingByText;
    private readonly List<(int Id, byte[] Text)> _pendingRows = [];
    private KeyStats?[] _keys = new KeyStats?[64];
    private int _nextId = 1;
    private long _spans;
    private long _bytes;
    private long _pendingBytes;

    public AttributeSets(Options? options = null)
    {
        _options = options ?? Options.Default;
        _setsByText = _sets.GetAlternateLookup<ReadOnlySpan<byte>>();
        _pendingByText = _pending.GetAlternateLookup<ReadOnlySpan<byte>>();
        IsCommon = KeyIsCommon;
    }

    /// <summary>The keys of every set made or loaded, for searches (any thread).</summary>
    public SetKeys Keys { get; } = new();

    /// <summary>Whether a key id's pairs go into sets; cached delegate for <see cref="SearchText.Split"/>.</summary>
    public Func<int, bool> IsCommon { get; }

    /// <summary>Sets made by the current write, for its transaction to insert.</summary>
    public IReadOnlyList<(int Id, byte[] Text)> PendingRows => _pendingRows;

    /// <summary>Numbering goes on after the stored sets; the texts are not loaded (a set made again gets a new number).</summary>
    public void Load(int maxStoredId) => _nextId = Math.Max(_nextId, maxStoredId + 1);

    /// <summary>Starts a write: sets pending from a write that did not commit are forgotten.</summary>
    public void Begin()
    {
        _pending.Clear();
        _pendingRows.Clear();
        _pendingBytes = 0;
    }

    /// <summary>After the commit: the write's new sets exist now.</summary>
    public void Committed()
    {
        foreach (var (id, text) in _pendingRows)
        {
            _sets[text] = id;
        }

        _nextId += _pendingRows.Count;
        _bytes += _pendingBytes;
        Begin();
    }

    /// <summary>Retention may have deleted sets no span refers to any more: stop handing out the numbers of any of them.</summary>
    public void Forget()
    {
        _sets.Clear();
        _bytes = 0;
    }

    /// <summary>Counts the span's pairs per key, one span in <see cref="Options.SampleEvery"/>.</summary>
    public void Observe(SearchText text)
    {
        if (_spans++ % _options.SampleEvery != 0)
        {
            return;
        }

        for (var p = 0; p < text.PairCount; p++)
        {
            var key = text.PairKey(p);
            if (key >= _keys.Length)
            {
                Array.Resize(ref _keys, Math.Max(key + 1, _keys.Length * 2));
            }

            var stats = _keys[key] ??= new KeyStats();
            if (stats.Values is not { } values)
            {
                continue;
            }

            stats.Samples++;
            values.Add(XxHash3.HashToUInt64(text.PairText(p)));
            if (values.Count > _options.MaxDistinct)
            {
                stats.Values = null;
            }
        }
    }

    /// <summary>
    /// The number of the set with exactly this text, made (pending) if it is new; 0 when the text is empty or the
    /// writer already knows <see cref="Options.MaxSets"/> sets or <see cref="Options.MaxBytes"/> of their text (then
    /// the span keeps every pair in its own text): a sender with long, ever-new values cannot grow this without bound.
    /// </summary>
    public int IdOf(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return 0;
        }

        if (_setsByText.TryGetValue(text, out var id) || _pendingByText.TryGetValue(text, out id))
        {
            return id;
        }

        if (_sets.Count + _pending.Count >= _options.MaxSets || _bytes + _pendingBytes + text.Length > _options.MaxBytes)
        {
            return 0;
        }

        _pendingBytes += text.Length;
        var copy = text.ToArray();
        // Before the write commits: a search that sees spans using this set must see its keys too.
        Keys.MarkKeysOf(copy);
        id = _nextId + _pendingRows.Count;
        _pending.Add(copy, id);
        _pendingRows.Add((id, copy));
        return id;
    }

    private bool KeyIsCommon(int key) =>
        key < _keys.Length && _keys[key] is { Values: { } values } stats && stats.Samples >= _options.MinSamples
        && (long)values.Count * _options.MinRepeats <= stats.Samples;

    /// <summary>How sets are learned and bounded; tests make every key common at once.</summary>
    public sealed record Options(
        int SampleEvery = 16, int MinSamples = 64, int MaxDistinct = 256, int MinRepeats = 4, int MaxSets = 250_000, long MaxBytes = 64L << 20)
    {
        public static readonly Options Default = new();
    }

    private sealed class KeyStats
    {
        public int Samples;

        /// <summary>Hashes of the sampled pairs; null once there were too many (the key is rare).</summary>
        public HashSet<ulong>? Values = [];
    }

    /// <summary>Set texts compared by content, looked up by span without a copy.</summary>
    private sealed class TextComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly TextComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => (x ?? Empty).AsSpan().SequenceEqual(y ?? Empty);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => unchecked((int)XxHash3.HashToUInt64(alternate));

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
