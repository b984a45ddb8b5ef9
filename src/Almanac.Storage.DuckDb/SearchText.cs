using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Common.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// A span's attributes as one string the search scans and, for the common value types, the only copy kept:
/// <c>RS key-id US value RS key-id US value RS</c> (RS = U+001E, US = U+001F) with each key as the decimal id the
/// store gave it (table attribute_key_ids; keys repeat on every span, ids are a byte or two) and each value in its
/// <see cref="AttributeText"/> spelling, span attributes first, then event attributes. One string column is far
/// cheaper to append and to scan than two parallel lists, and an attribute filter becomes a plain substring test
/// for <c>RS key-id US value RS</c>. The separators cannot occur inside a value: they are replaced by U+001A (SUB)
/// here and in the query's needle alike, so such a value is still found.
/// <para>
/// The span attributes are rebuilt from this text on read when every one is a string, int, finite double or bool
/// spelled without a separator (the column <c>attr_types</c> then holds one letter per attribute); otherwise
/// <c>attr_types</c> is <see cref="InBlob"/> and the span blob keeps the attributes, so nothing is lost either way.
/// The events' attributes are rebuilt the same way when they qualify too: <c>attr_types</c> then goes on with
/// <see cref="EventsMark"/> and, per event in order, its attributes' letters and <see cref="EventEnd"/> (the
/// blob keeps the events without their attributes). They are exception stack traces and messages, mostly: kept in
/// both places they were most of the blob's bytes.
/// Reuses its buffers: one instance per writer, not thread-safe.
/// </summary>
internal sealed class SearchText
{
    public const byte RecordSeparator = 0x1E;
    public const byte UnitSeparator = 0x1F;
    private const byte Substitute = 0x1A;

    /// <summary>attr_types value meaning "the attributes are in span_proto".</summary>
    public const string InBlob = "*";

    /// <summary>In attr_types: the span attributes' letters end here and the events' begin.</summary>
    public const char EventsMark = '|';

    /// <summary>In attr_types: closes one event's letters (an event without attributes is just this).</summary>
    public const char EventEnd = '.';

    private static readonly byte[] InBlobBytes = "*"u8.ToArray();

    private byte[] _text = new byte[1024];
    private byte[] _types = new byte[64];
    private int _length;
    private int _typeCount;
    private bool _rebuildable;
    private byte[] _eventTypes = new byte[64];
    private int _eventTypeCount;
    private bool _eventsRebuildable;
    private int[] _pairKeys = new int[64];
    private int[] _pairStarts = new int[64];
    private int[] _pairEnds = new int[64];
    private byte[] _pairTypes = new byte[64];
    private byte[] _rare = new byte[1024];
    private byte[] _common = new byte[1024];
    private byte[] _splitTypes = new byte[64];
    private int _rareLength;
    private int _commonLength;
    private int _splitTypeCount;

    /// <summary>Pairs in the last <see cref="Build"/>: span attributes first (<see cref="SpanPairCount"/>), then event attributes.</summary>
    public int PairCount { get; private set; }

    public int SpanPairCount { get; private set; }

    /// <summary>Key id of pair i, so the catalogue can count keys without hashing their strings again.</summary>
    public int PairKey(int i) => _pairKeys[i];

    /// <summary>Value type (<see cref="Almanac.Core.Storage.AttributeValueType"/>) of pair i.</summary>
    public byte PairType(int i) => _pairTypes[i];

    /// <summary>
    /// Pair i as stored, <c>key-id US value</c> without the record separators around it: the exact bytes a query's
    /// <see cref="Needle"/> spells between its separators, so the batch filter (<see cref="BatchFilter"/>) can hash both alike.
    /// </summary>
    public ReadOnlySpan<byte> PairText(int i) => _text.AsSpan(_pairStarts[i], _pairEnds[i] - _pairStarts[i]);

    /// <summary>The UTF-8 search text of the last <see cref="Build"/>; valid until the next call.</summary>
    public Span<byte> Text => _text.AsSpan(0, _length);

    /// <summary>The attr_types value of the last <see cref="Build"/> (ASCII); valid until the next call.</summary>
    public Span<byte> Types
    {
        get
        {
            if (!_rebuildable)
            {
                return InBlobBytes;
            }

            if (!EventsRebuildable)
            {
                return _types.AsSpan(0, _typeCount);
            }

            Grow(ref _types, _typeCount + 1 + _eventTypeCount);
            _types[_typeCount] = (byte)EventsMark;
            _eventTypes.AsSpan(0, _eventTypeCount).CopyTo(_types.AsSpan(_typeCount + 1));
            return _types.AsSpan(0, _typeCount + 1 + _eventTypeCount);
        }
    }

    /// <summary>Whether the last span's attributes can be dropped from its blob.</summary>
    public bool Rebuildable => _rebuildable;

    /// <summary>
    /// Whether the last span's event attributes can be dropped from its blob too: the span's own can, and there are
    /// event attributes, each of a type the text spells losslessly.
    /// </summary>
    public bool EventsRebuildable => _rebuildable && _eventsRebuildable && PairCount > SpanPairCount;

    public void Build(RepeatedField<KeyValue> spanAttributes, RepeatedField<OpenTelemetry.Proto.Trace.V1.Span.Types.Event> events, Func<string, int> keyId)
    {
        Reset();
        SpanPairCount = spanAttributes.Count;
        if (spanAttributes.Count == 0 && events.Count == 0)
        {
            return;
        }

        Put(RecordSeparator);
        foreach (var kv in spanAttributes)
        {
            var type = TypeLetter(kv.Value);
            var clean = Pair(kv, keyId);
            Letter(clean && !HasUnknownFields(kv) ? type : (byte)0, spanAttribute: true);
        }

        foreach (var evt in events)
        {
            foreach (var kv in evt.Attributes)
            {
                var type = TypeLetter(kv.Value);
                var clean = Pair(kv, keyId);
                Letter(clean && !HasUnknownFields(kv) ? type : (byte)0, spanAttribute: false);
            }

            AddEventType((byte)EventEnd);
        }

        if (_length == 1)
        {
            // Events without attributes: no pairs, so no text.
            _length = 0;
        }
    }

    /// <summary>Starts a span's text for <see cref="AddRaw"/>; <see cref="EndRaw"/> finishes it.</summary>
    public void BeginRaw()
    {
        Reset();
        Put(RecordSeparator);
    }

    /// <summary>Forgets the last span's text, letters and pairs.</summary>
    private void Reset()
    {
        _length = 0;
        _typeCount = 0;
        _rebuildable = true;
        _eventTypeCount = 0;
        _eventsRebuildable = true;
        PairCount = 0;
        SpanPairCount = 0;
    }

    /// <summary>After an event's attributes (<see cref="AddRaw"/> with spanAttribute false): closes its letters.</summary>
    public void EndRawEvent() => AddEventType((byte)EventEnd);

    /// <summary>
    /// Adds one attribute read straight from the wire (<see cref="WireValue"/>: string, int, double or bool), span
    /// attributes before event attributes, exactly as <see cref="Build"/> spells them.
    /// </summary>
    public void AddRaw(int keyId, in WireValue value, bool spanAttribute)
    {
        if (spanAttribute)
        {
            SpanPairCount++;
        }

        StartPair(keyId, value.Type);
        var clean = true;
        switch (value.Type)
        {
            case AttributeValueType.String:
                clean = PutUtf8(value.Utf8);
                break;
            case AttributeValueType.Int:
                PutInt(value.Int);
                break;
            case AttributeValueType.Double:
                PutDouble(value.Double);
                break;
            default:
                PutAscii(value.Bool ? "true"u8 : "false"u8);
                break;
        }

        EndPair();
        var type = value.Type switch
        {
            AttributeValueType.String => (byte)'s',
            AttributeValueType.Int => (byte)'i',
            AttributeValueType.Double when double.IsFinite(value.Double) => (byte)'d',
            AttributeValueType.Bool => (byte)'b',
            _ => (byte)0,
        };
        Letter(clean ? type : (byte)0, spanAttribute);
    }

    /// <summary>
    /// Records an attribute's type letter in attr_types, or with 0 (a value the text cannot spell back exactly) that
    /// the span's attributes, or its events', must stay in the blob.
    /// </summary>
    private void Letter(byte type, bool spanAttribute)
    {
        if (type == 0)
        {
            if (spanAttribute)
            {
                _rebuildable = false;
            }
            else
            {
                _eventsRebuildable = false;
            }
        }
        else if (spanAttribute)
        {
            AddType(type);
        }
        else
        {
            AddEventType(type);
        }
    }

    public void EndRaw()
    {
        if (_length == 1)
        {
            _length = 0;
        }
    }

    /// <summary>After <see cref="Split"/>: the pairs whose keys are not common, as their own search text.</summary>
    public Span<byte> RareText => _rare.AsSpan(0, _rareLength);

    /// <summary>After <see cref="Split"/>: the pairs whose keys are common (an attribute set's text).</summary>
    public Span<byte> CommonText => _common.AsSpan(0, _commonLength);

    /// <summary>After <see cref="Split"/>: <see cref="Types"/> with the letters of the common pairs upper-cased.</summary>
    public Span<byte> SplitTypes => _splitTypes.AsSpan(0, _splitTypeCount);

    /// <summary>
    /// Splits the last text in two (ADR 0008): the pairs whose key <paramref name="isCommon"/> says repeats few values
    /// (<see cref="CommonText"/>, stored once per distinct combination as an attribute set) and the rest
    /// (<see cref="RareText"/>), each spelled like a whole text so a needle matches either. The letters of the common
    /// pairs are upper-cased in <see cref="SplitTypes"/>, which is how a read knows which text each attribute is in.
    /// False when no pair is common (nothing to split).
    /// </summary>
    public bool Split(Func<int, bool> isCommon)
    {
        _rareLength = 0;
        _commonLength = 0;
        var anyCommon = false;
        var spanLetters = _rebuildable;
        var eventLetters = EventsRebuildable;
        var types = Types;
        Grow(ref _splitTypes, types.Length);
        types.CopyTo(_splitTypes);
        _splitTypeCount = types.Length;
        var eventLetter = _typeCount + 1; // past the span letters and the mark
        for (var p = 0; p < PairCount; p++)
        {
            var pair = PairText(p);
            var common = isCommon(_pairKeys[p]);
            ref var buffer = ref common ? ref _common : ref _rare;
            ref var length = ref common ? ref _commonLength : ref _rareLength;
            Grow(ref buffer, length + pair.Length + 2);
            if (length == 0)
            {
                buffer[length++] = RecordSeparator;
            }

            pair.CopyTo(buffer.AsSpan(length));
            length += pair.Length;
            buffer[length++] = RecordSeparator;
            anyCommon |= common;

            // The pair's letter, when the types list it: span pairs in order, event pairs after the mark, skipping
            // each event's end.
            var letter = -1;
            if (p < SpanPairCount)
            {
                letter = spanLetters ? p : -1;
            }
            else if (eventLetters)
            {
                while (_splitTypes[eventLetter] == (byte)EventEnd)
                {
                    eventLetter++;
                }

                letter = eventLetter++;
            }

            if (common && letter >= 0)
            {
                _splitTypes[letter] = (byte)char.ToUpperInvariant((char)_splitTypes[letter]);
            }
        }

        return anyCommon;
    }

    /// <summary>The substring an attribute filter looks for (same separators and substitution as stored text).</summary>
    public static string Needle(int keyId, string value)
    {
        var builder = new StringBuilder(value.Length + 12);
        builder.Append((char)RecordSeparator);
        builder.Append(keyId.ToString(CultureInfo.InvariantCulture));
        builder.Append((char)UnitSeparator);
        AppendClean(builder, value);
        builder.Append((char)RecordSeparator);
        return builder.ToString();
    }

    /// <summary>
    /// Rebuilds the span attributes attr_types lists from a stored search text, and the events' when it lists them
    /// too (<paramref name="events"/> are the span's events as the blob kept them, without their attributes). An
    /// upper-case letter's attribute is in <paramref name="common"/> (the span's attribute set), a lower-case one's in
    /// <paramref name="text"/>; each text is read in order.
    /// </summary>
    public static void Rebuild(string text, string common, string types, Func<int, string> keyOf, RepeatedField<KeyValue> into,
        RepeatedField<OpenTelemetry.Proto.Trace.V1.Span.Types.Event> events)
    {
        var mark = types.IndexOf(EventsMark, StringComparison.Ordinal);
        var cursor = new Cursor(text, common);
        Rebuild(ref cursor, mark < 0 ? types : types[..mark], keyOf, into);
        if (mark < 0)
        {
            return;
        }

        var next = mark + 1;
        foreach (var evt in events)
        {
            var end = types.IndexOf(EventEnd, next);
            if (end < 0)
            {
                throw new InvalidDataException("Stored span lists fewer events in attr_types than its blob holds.");
            }

            Rebuild(ref cursor, types[next..end], keyOf, evt.Attributes);
            next = end + 1;
        }

        if (next != types.Length)
        {
            throw new InvalidDataException("Stored span lists more events in attr_types than its blob holds.");
        }
    }

    /// <summary>Where the next pair of each text starts (1: past the leading RS).</summary>
    private struct Cursor(string rare, string common)
    {
        public readonly string Rare = rare;
        public readonly string Common = common;
        public int RarePosition = 1;
        public int CommonPosition = 1;
    }

    /// <summary>Rebuilds one attribute per letter of <paramref name="types"/>, moving the cursor past what it read.</summary>
    private static void Rebuild(ref Cursor cursor, string types, Func<int, string> keyOf, RepeatedField<KeyValue> into)
    {
        foreach (var letter in types)
        {
            var inCommon = char.IsAsciiLetterUpper(letter);
            var text = inCommon ? cursor.Common : cursor.Rare;
            ref var position = ref inCommon ? ref cursor.CommonPosition : ref cursor.RarePosition;
            var unit = text.IndexOf((char)UnitSeparator, position);
            var end = unit < 0 ? -1 : text.IndexOf((char)RecordSeparator, unit + 1);
            if (end < 0)
            {
                throw new InvalidDataException("Stored span lists more attributes in attr_types than its search text holds.");
            }

            var key = keyOf(int.Parse(text.AsSpan(position, unit - position), NumberStyles.None, CultureInfo.InvariantCulture));
            var value = text.AsSpan(unit + 1, end - unit - 1);
            var any = new AnyValue();
            switch (char.ToLowerInvariant(letter))
            {
                case 's':
                    any.StringValue = value.ToString();
                    break;
                case 'i':
                    any.IntValue = long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                    break;
                case 'd':
                    any.DoubleValue = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
                    break;
                case 'b':
                    any.BoolValue = value.SequenceEqual("true");
                    break;
                default:
                    throw new InvalidDataException($"Unknown attribute type letter '{letter}' in stored span.");
            }

            into.Add(new KeyValue { Key = key, Value = any });
            position = end + 1;
        }
    }

    private static void AppendClean(StringBuilder builder, string text)
    {
        foreach (var c in text)
        {
            builder.Append(c is (char)RecordSeparator or (char)UnitSeparator ? (char)Substitute : c);
        }
    }

    /// <summary>Fields a newer sender put in the attribute: the text cannot carry them, the blob can.</summary>
    private static bool HasUnknownFields(KeyValue kv) => UnknownFields(kv) is not null || (kv.Value is { } value && UnknownFields(value) is not null);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_unknownFields")]
    private static extern ref UnknownFieldSet? UnknownFields(KeyValue kv);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_unknownFields")]
    private static extern ref UnknownFieldSet? UnknownFields(AnyValue value);

    /// <summary>Letter for a type this text spells losslessly, or 0.</summary>
    private static byte TypeLetter(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => (byte)'s',
        AnyValue.ValueOneofCase.IntValue => (byte)'i',
        // NaN payloads and infinities are left to the blob rather than trusted to a text round trip.
        AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(value.DoubleValue) => (byte)'d',
        AnyValue.ValueOneofCase.BoolValue => (byte)'b',
        _ => 0,
    };

    /// <summary>Appends <c>key-id US value RS</c>; false when a separator in the value had to be substituted.</summary>
    private bool Pair(KeyValue kv, Func<string, int> keyId)
    {
        StartPair(keyId(kv.Key), AttributeText.TypeOf(kv.Value));
        var clean = true;
        var value = kv.Value;
        switch (value?.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                clean &= PutText(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                PutInt(value.IntValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                PutAscii(value.BoolValue ? "true"u8 : "false"u8);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                PutDouble(value.DoubleValue);
                break;
            default:
                clean &= PutText(AttributeText.Of(value));
                break;
        }

        EndPair();
        return clean;
    }

    /// <summary>Records the pair's key and type and appends <c>key-id US</c>.</summary>
    private void StartPair(int id, AttributeValueType type)
    {
        if (PairCount == _pairKeys.Length)
        {
            Array.Resize(ref _pairKeys, PairCount * 2);
            Array.Resize(ref _pairTypes, PairCount * 2);
            Array.Resize(ref _pairStarts, PairCount * 2);
            Array.Resize(ref _pairEnds, PairCount * 2);
        }

        _pairStarts[PairCount] = _length;
        _pairKeys[PairCount] = id;
        _pairTypes[PairCount++] = (byte)type;
        Ensure(12);
        Utf8Formatter.TryFormat(id, _text.AsSpan(_length), out var idLength);
        _length += idLength;
        Put(UnitSeparator);
    }

    /// <summary>Ends the pair's value (its extent is what <see cref="PairText"/> returns) with the record separator.</summary>
    private void EndPair()
    {
        _pairEnds[PairCount - 1] = _length;
        Put(RecordSeparator);
    }

    private void AddType(byte type)
    {
        Grow(ref _types, _typeCount + 1);
        _types[_typeCount++] = type;
    }

    private void AddEventType(byte type)
    {
        Grow(ref _eventTypes, _eventTypeCount + 1);
        _eventTypes[_eventTypeCount++] = type;
    }

    private void PutInt(long value)
    {
        Ensure(24);
        Utf8Formatter.TryFormat(value, _text.AsSpan(_length), out var written);
        _length += written;
    }

    private void PutDouble(double value)
    {
        Ensure(40);
        value.TryFormat(_text.AsSpan(_length), out var written, "R", CultureInfo.InvariantCulture);
        _length += written;
    }

    /// <summary>Appends valid UTF-8 as is; false when a separator had to be substituted.</summary>
    private bool PutUtf8(ReadOnlySpan<byte> utf8)
    {
        Ensure(utf8.Length);
        var target = _text.AsSpan(_length, utf8.Length);
        utf8.CopyTo(target);
        _length += utf8.Length;
        return Clean(target);
    }

    private bool PutText(string text)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(text.Length));
        var target = _text.AsSpan(_length);
        var written = Encoding.UTF8.GetBytes(text, target);
        _length += written;
        return Clean(target[..written]);
    }

    /// <summary>Substitutes separators inside a value; false when there were any.</summary>
    private static bool Clean(Span<byte> bytes)
    {
        if (bytes.IndexOfAny(RecordSeparator, UnitSeparator) < 0)
        {
            return true;
        }

        bytes.Replace(RecordSeparator, Substitute);
        bytes.Replace(UnitSeparator, Substitute);
        return false;
    }

    private void PutAscii(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_text.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Put(byte b)
    {
        Ensure(1);
        _text[_length++] = b;
    }

    private void Ensure(int more) => Grow(ref _text, _length + more);

    /// <summary>Makes <paramref name="buffer"/> hold at least <paramref name="length"/> bytes, doubling as it grows.</summary>
    private static void Grow(ref byte[] buffer, int length)
    {
        if (length > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(length, buffer.Length * 2));
        }
    }
}
