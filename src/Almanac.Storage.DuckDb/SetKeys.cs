namespace Almanac.Storage.DuckDb;

/// <summary>
/// The attribute keys some attribute set holds (ADR 0008), so that a search for a pair whose key no set holds (ids,
/// addresses: the keys searched for most) skips looking through every set's text, which cost ~4 ms a search at 10M
/// spans. The writer marks a set's keys when it makes the set, before the write commits; a search reads the marks
/// after its snapshot has begun. So a search that can see a span using a set also sees that set's keys marked.
/// Marks are never cleared: retention may delete every set of a key, and a stale mark only costs a search the look.
/// Written by the writer (or on open), read from any thread.
/// </summary>
internal sealed class SetKeys
{
    /// <summary>Key ids are numbered densely from 1; one past this is not a key id, and marks are an array indexed by it.</summary>
    private const int MaxKeyId = 1 << 20;

    private readonly Lock _lock = new();

    /// <summary>Replaced whole when a larger key id arrives, so a reader holding the old array never sees it torn.</summary>
    private bool[] _marked = new bool[64];

    /// <summary>Set once a set's text could not be read: then any key may be in a set.</summary>
    private volatile bool _any;

    /// <summary>Whether some set may hold pairs of <paramref name="keyId"/>.</summary>
    public bool MayHold(int keyId)
    {
        var marked = Volatile.Read(ref _marked);
        return _any || ((uint)keyId < (uint)marked.Length && Volatile.Read(ref marked[keyId]));
    }

    public void Mark(int keyId)
    {
        if ((uint)keyId > MaxKeyId)
        {
            _any = true;
            return;
        }

        var current = Volatile.Read(ref _marked);
        if ((uint)keyId < (uint)current.Length && current[keyId])
        {
            return;
        }

        lock (_lock)
        {
            var marked = _marked;
            if (keyId >= marked.Length)
            {
                Array.Resize(ref marked, Math.Max(keyId + 1, marked.Length * 2));
                marked[keyId] = true;
                Volatile.Write(ref _marked, marked);
            }
            else
            {
                Volatile.Write(ref marked[keyId], true);
            }
        }
    }

    /// <summary>
    /// Marks the keys of a set's text, spelled as <see cref="SearchText"/> spells pairs: a record separator, the key
    /// id's digits, a unit separator, the value (which never holds a separator), and a record separator closing the
    /// last pair.
    /// </summary>
    public void MarkKeysOf(ReadOnlySpan<byte> setText)
    {
        var position = 0;
        while (position < setText.Length - 1)
        {
            if (setText[position] != SearchText.RecordSeparator)
            {
                break;
            }

            var keyId = 0;
            position++;
            while (position < setText.Length && setText[position] is >= (byte)'0' and <= (byte)'9')
            {
                keyId = (keyId * 10) + (setText[position++] - '0');
                if (keyId > MaxKeyId)
                {
                    _any = true;
                    return;
                }
            }

            if (position >= setText.Length || setText[position] != SearchText.UnitSeparator)
            {
                break;
            }

            Mark(keyId);
            var next = setText[position..].IndexOf(SearchText.RecordSeparator);
            if (next < 0)
            {
                break;
            }

            position += next;
        }

        if (position != setText.Length - 1)
        {
            // Not the spelling this reads (it is the writer's own, so this would be a bug): rather than trust marks
            // that may miss a key, let every search look through the sets again.
            _any = true;
        }
    }
}
