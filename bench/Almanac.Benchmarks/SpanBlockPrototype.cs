using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Almanac.Core.Storage;
using Almanac.Otlp.Wire;
using Almanac.Storage.DuckDb;

namespace Almanac.Benchmarks;

/// <summary>
/// The write path ADR 0010 proposes, as a prototype to measure, not to ship: encoded export requests straight into
/// the column streams of one span block (trace ids once per run of a trace, start deltas within a trace, durations,
/// span and parent ids, one shape number for resource, name, kind and status, each attribute key's values in a
/// stream of their own, the span's other fields as bytes), each stream compressed with Brotli's fastest setting, the
/// block written to a file and fsynced, with a split-block Bloom filter per 8,192 rows over the search items (each
/// attribute pair, each shape) and one over the block's trace ids, and the row where each trace's run begins. Left
/// out, so it costs less than a real store would: trace summaries, the catalogue, parent references, checksums.
/// </summary>
internal sealed class SpanBlockPrototype(string path)
{
    private static readonly byte[] NoParent = new byte[8];

    /// <summary>Rows per search filter, as the DuckDB store's blocks (ADR 0009).</summary>
    private const int FilterRows = 8192;

    private readonly Dictionary<string, ArrayBufferWriter<byte>> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<int, ArrayBufferWriter<byte>> _values = [];
    private readonly Dictionary<ulong, int> _keyIds = [];
    private readonly Dictionary<ulong, int> _shapes = [];
    private readonly Dictionary<ulong, int> _resources = [];
    private readonly List<HashSet<ulong>> _searchItems = [];
    private readonly HashSet<ulong> _traceItems = [];
    private int _lastShape = -1;
    private SpanAt[] _spans = new SpanAt[4096];
    private WireSpanLayout[] _layouts = new WireSpanLayout[4096];
    private byte[] _compressed = new byte[1 << 20];
    private int _count;

    /// <summary>Encodes, compresses and durably writes the requests' spans as one block; returns its size in bytes.</summary>
    public long Write(IReadOnlyList<ReadOnlyMemory<byte>> requests)
    {
        _count = 0;
        for (var q = 0; q < requests.Count; q++)
        {
            Scan(requests[q].Span, q);
        }

        _spans.AsSpan(0, _count).Sort(static (a, b) =>
            a.TraceHigh != b.TraceHigh ? a.TraceHigh.CompareTo(b.TraceHigh)
            : a.TraceLow != b.TraceLow ? a.TraceLow.CompareTo(b.TraceLow)
            : a.Start.CompareTo(b.Start));
        (ulong, ulong) trace = default;
        long previousStart = 0;
        for (var i = 0; i < _count; i++)
        {
            ref readonly var at = ref _spans[i];
            var bytes = requests[at.Request].Span.Slice(at.Offset, at.Length);
            var fields = WireSpan.FromLayout(bytes, _layouts[at.Index], (ulong)at.Start);
            var newTrace = i == 0 || (at.TraceHigh, at.TraceLow) != trace;
            Stream("trace.flag").Write([newTrace ? (byte)1 : (byte)0]);
            var items = Items(i / FilterRows);
            if (i % FilterRows == 0)
            {
                _lastShape = -1; // a new filter needs the shapes its rows have
            }

            if (newTrace)
            {
                trace = (at.TraceHigh, at.TraceLow);
                Varint(Stream("trace.rows"), (ulong)i);
                _traceItems.Add(at.TraceHigh ^ (at.TraceLow * 0x9E3779B97F4A7C15UL));
                Fixed(Stream("trace"), at.TraceHigh);
                Fixed(Stream("trace"), at.TraceLow);
                Fixed(Stream("start"), (ulong)at.Start);
            }
            else
            {
                Varint(Stream("start"), ZigZag(at.Start - previousStart));
            }

            previousStart = at.Start;
            Stream("span_id").Write(fields.SpanId);
            Stream("parent").Write(fields.ParentSpanId.Length == 8 ? fields.ParentSpanId : NoParent);
            Varint(Stream("duration"), fields.End - fields.Start);
            var shape = Shape(at.Resource, fields);
            Varint(Stream("shape"), (ulong)shape);
            if (shape != _lastShape)
            {
                _lastShape = shape;
                items.Add((ulong)shape * 0x9E3779B97F4A7C15UL);
            }

            Fields(bytes, items);
        }

        return Flush();
    }

    /// <summary>One walk over the span's fields: attributes into their keys' streams, whatever no column holds as bytes.</summary>
    private void Fields(ReadOnlySpan<byte> span, HashSet<ulong> items)
    {
        var keys = Stream("attr.keys");
        var rest = Stream("rest");
        var reader = new ProtoReader(span);
        while (true)
        {
            var fieldStart = reader.Position;
            if (!reader.TryReadTag(out var field, out var wireType))
            {
                break;
            }

            if (field == WireSpan.AttributesField && wireType == ProtoReader.LengthDelimited
                && WireSpan.TryReadKeyValue(reader.ReadLengthDelimited(), out var key, out var value))
            {
                var id = KeyId(key);
                Varint(keys, (ulong)((id << 3) | (int)value.Type));
                var values = Values(id);
                switch (value.Type)
                {
                    case AttributeValueType.String:
                        Varint(values, (ulong)value.Utf8.Length);
                        values.Write(value.Utf8);
                        items.Add(XxHash3.HashToUInt64(value.Utf8, id));
                        break;
                    case AttributeValueType.Int:
                        Varint(values, ZigZag(value.Int));
                        items.Add(((ulong)value.Int * 0x9E3779B97F4A7C15UL) ^ (ulong)id);
                        break;
                    case AttributeValueType.Double:
                        Fixed(values, BitConverter.DoubleToUInt64Bits(value.Double));
                        break;
                    default:
                        values.Write([value.Bool ? (byte)1 : (byte)0]);
                        break;
                }

                continue;
            }

            if (field is WireSpan.AttributesField)
            {
                // An attribute the prototype does not spell (arrays, maps): kept as bytes.
                rest.Write(span[fieldStart..reader.Position]);
                continue;
            }

            reader.Skip(wireType);
            if (field is not (WireSpan.TraceIdField or WireSpan.SpanIdField or WireSpan.ParentSpanIdField or WireSpan.NameField
                or WireSpan.KindField or WireSpan.StartField or WireSpan.EndField or WireSpan.StatusField))
            {
                rest.Write(span[fieldStart..reader.Position]);
            }
        }

        Varint(keys, 0);
        Varint(rest, 0);
    }

    private void Scan(ReadOnlySpan<byte> request, int q)
    {
        var resources = new ProtoReader(request);
        while (resources.TryReadTag(out var field, out var wireType))
        {
            if (field != 1 || wireType != ProtoReader.LengthDelimited)
            {
                resources.Skip(wireType);
                continue;
            }

            var resourceSpans = resources.ReadLengthDelimited();
            var resourceSpansOffset = resources.Position - resourceSpans.Length;
            var resource = 0;
            var scopes = new ProtoReader(resourceSpans);
            while (scopes.TryReadTag(out var f, out var w))
            {
                if (f == 1 && w == ProtoReader.LengthDelimited)
                {
                    resource = Id(_resources, scopes.ReadLengthDelimited());
                }
                else if (f == 2 && w == ProtoReader.LengthDelimited)
                {
                    var scopeSpans = scopes.ReadLengthDelimited();
                    ScanScope(scopeSpans, resourceSpansOffset + scopes.Position - scopeSpans.Length, q, resource);
                }
                else
                {
                    scopes.Skip(w);
                }
            }
        }
    }

    private void ScanScope(ReadOnlySpan<byte> scopeSpans, int offset, int q, int resource)
    {
        var reader = new ProtoReader(scopeSpans);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field != 2 || wireType != ProtoReader.LengthDelimited)
            {
                reader.Skip(wireType);
                continue;
            }

            var span = reader.ReadLengthDelimited();
            if (_count == _spans.Length)
            {
                Array.Resize(ref _spans, _count * 2);
                Array.Resize(ref _layouts, _count * 2);
            }

            var read = WireSpan.Read(span);
            Almanac.Core.Model.TraceId.TryRead(read.TraceId, out var trace);
            _layouts[_count] = read.Layout(span);
            _spans[_count] = new SpanAt(q, offset + reader.Position - span.Length, span.Length, _count, (long)read.Start, trace.High, trace.Low, resource);
            _count++;
        }
    }

    private int Shape(int resource, in WireSpan fields)
    {
        var hash = XxHash3.HashToUInt64(fields.Name, (resource * 31L) + (fields.Kind * 7L) + fields.StatusCode);
        if (!_shapes.TryGetValue(hash, out var id))
        {
            id = _shapes.Count;
            _shapes.Add(hash, id);
            var dictionary = Stream("shape.dict");
            Varint(dictionary, (ulong)resource);
            Varint(dictionary, (ulong)fields.Kind);
            Varint(dictionary, (ulong)fields.StatusCode);
            Varint(dictionary, (ulong)fields.Name.Length);
            dictionary.Write(fields.Name);
        }

        return id;
    }

    private int KeyId(ReadOnlySpan<byte> key)
    {
        var hash = XxHash3.HashToUInt64(key);
        if (!_keyIds.TryGetValue(hash, out var id))
        {
            id = _keyIds.Count + 1;
            _keyIds.Add(hash, id);
        }

        return id;
    }

    private static int Id(Dictionary<ulong, int> ids, ReadOnlySpan<byte> bytes)
    {
        var hash = XxHash3.HashToUInt64(bytes);
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, hash, out var exists);
        if (!exists)
        {
            id = ids.Count;
        }

        return id;
    }

    private long Flush()
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        long size = 0;
        foreach (var stream in _streams.Values.Concat(_values.Values))
        {
            size += Compress(stream.WrittenSpan, file);
            stream.ResetWrittenCount();
        }

        foreach (var items in _searchItems)
        {
            var filter = BatchFilter.Build(items, 10);
            file.Write(filter);
            size += filter.Length;
            items.Clear();
        }

        var traces = BatchFilter.Build(_traceItems, 24);
        file.Write(traces);
        size += traces.Length;
        _traceItems.Clear();
        _shapes.Clear();
        _lastShape = -1;
        file.Flush(flushToDisk: true);
        return size;
    }

    private long Compress(ReadOnlySpan<byte> data, FileStream file)
    {
        var room = BrotliEncoder.GetMaxCompressedLength(data.Length);
        if (_compressed.Length < room)
        {
            _compressed = new byte[room];
        }

        BrotliEncoder.TryCompress(data, _compressed, out var written, quality: 1, window: 22);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, written);
        file.Write(length);
        file.Write(_compressed, 0, written);
        return written + 4;
    }

    private HashSet<ulong> Items(int subBlock)
    {
        while (_searchItems.Count <= subBlock)
        {
            _searchItems.Add([]);
        }

        return _searchItems[subBlock];
    }

    private ArrayBufferWriter<byte> Stream(string name)
    {
        if (!_streams.TryGetValue(name, out var stream))
        {
            _streams.Add(name, stream = new ArrayBufferWriter<byte>(1 << 16));
        }

        return stream;
    }

    private ArrayBufferWriter<byte> Values(int key)
    {
        if (!_values.TryGetValue(key, out var stream))
        {
            _values.Add(key, stream = new ArrayBufferWriter<byte>(1 << 14));
        }

        return stream;
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static void Fixed(ArrayBufferWriter<byte> stream, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(stream.GetSpan(8), value);
        stream.Advance(8);
    }

    private static void Varint(ArrayBufferWriter<byte> stream, ulong value)
    {
        var span = stream.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        stream.Advance(i);
    }

    private readonly record struct SpanAt(int Request, int Offset, int Length, int Index, long Start, ulong TraceHigh, ulong TraceLow, int Resource);
}
