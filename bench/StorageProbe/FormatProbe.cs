using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using DuckDB.NET.Data;

/// <summary>
/// `StorageProbe format &lt;data-dir&gt; [block rows] [brotli quality]`: how many bytes the spans a data directory holds
/// would take in a span block format of our own, against what DuckDB's file takes (the benchmark issue's ≤ 40 bytes per
/// span). It reads the spans table as stored (rows in write order, each trace's rows together) and encodes each block
/// of rows as separately compressed streams: trace ids once per run of a trace, start times as deltas within a trace,
/// durations and parent offsets as varints, span ids raw, one "shape" number per row for the few-valued columns
/// (service, operation, kind, status, resource, scope, attribute set, attribute types), and the search text's pairs
/// split by key, so each key's values (user ids, addresses, paths) are compressed together. Brotli stands in for
/// whichever compressor such a format would use, and its time is reported per span.
/// </summary>
internal static class FormatProbe
{
    private const byte RecordSeparator = 0x1E;
    private const byte UnitSeparator = 0x1F;

    public static void Run(string dataDirectory, int blockRows, int quality)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using (var attach = connection.CreateCommand())
        {
            attach.CommandText = $"ATTACH '{Path.Combine(dataDirectory, "almanac.duckdb").Replace("'", "''", StringComparison.Ordinal)}' AS s (READ_ONLY)";
            attach.ExecuteNonQuery();
        }

        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (trace_id >> 64)::UBIGINT, (trace_id & 18446744073709551615::UHUGEINT)::UBIGINT, span_id, parent_offset,
                   parent_span_id, start_ns, duration_ns, service, name, kind, status_code, resource_id, scope_id, attrs,
                   attr_set, attr_types, span_proto, event_times
            FROM s.spans ORDER BY rowid
            """;
        using var reader = command.ExecuteReader();
        var totals = new Dictionary<string, long>();
        var encoder = new BlockEncoder(quality);
        long spans = 0;
        var rows = 0;
        while (reader.Read())
        {
            encoder.Add(reader);
            spans++;
            if (++rows == blockRows)
            {
                encoder.Flush(totals);
                rows = 0;
            }
        }

        encoder.Flush(totals);
        var fileBytes = new FileInfo(Path.Combine(dataDirectory, "almanac.duckdb")).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{spans:N0} spans; blocks of {blockRows:N0} rows, Brotli quality {quality}: {totals.Values.Sum() / (double)Math.Max(1, spans):F2} bytes/span "
            + $"(DuckDB's whole file: {fileBytes / (double)Math.Max(1, spans):F2}); {encoder.RawBytes / (double)Math.Max(1, spans):F1} bytes/span before "
            + $"compression, compressing took {encoder.CompressTime.TotalMicroseconds / Math.Max(1, spans):F2} µs/span; decompressing a whole block "
            + $"(what a trace read would do at least) {encoder.DecompressTime.TotalMilliseconds / Math.Max(1, encoder.Blocks):F2} ms"));
        foreach (var (stream, bytes) in totals.OrderByDescending(t => t.Value))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {stream,-12} {bytes / (double)Math.Max(1, spans):F2}"));
        }
    }

    /// <summary>One block's streams, compressed and counted at <see cref="Flush"/>.</summary>
    private sealed class BlockEncoder(int quality)
    {
        private readonly Dictionary<string, MemoryStream> _streams = [];
        private readonly Dictionary<string, int> _shapes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, MemoryStream> _values = new(StringComparer.Ordinal);
        private (ulong High, ulong Low)? _trace;
        private long _previousStart;

        public long RawBytes { get; private set; }

        public TimeSpan CompressTime { get; private set; }

        public TimeSpan DecompressTime { get; private set; }

        public int Blocks { get; private set; }

        public void Add(DuckDBDataReader row)
        {
            var trace = (Convert.ToUInt64(row.GetValue(0), CultureInfo.InvariantCulture), Convert.ToUInt64(row.GetValue(1), CultureInfo.InvariantCulture));
            var start = row.GetInt64(5);
            var newTrace = _trace != trace;
            Stream("trace").WriteByte(newTrace ? (byte)1 : (byte)0);
            if (newTrace)
            {
                Fixed(Stream("trace"), trace.Item1);
                Fixed(Stream("trace"), trace.Item2);
                Fixed(Stream("start"), (ulong)start);
                _trace = trace;
            }
            else
            {
                Varint(Stream("start"), ZigZag(start - _previousStart));
            }

            _previousStart = start;
            Fixed(Stream("span_id"), Convert.ToUInt64(row.GetValue(2), CultureInfo.InvariantCulture));
            var parentOffset = row.GetInt32(3);
            Varint(Stream("parent"), (ulong)parentOffset);
            if (parentOffset == 0)
            {
                Varint(Stream("parent"), Convert.ToUInt64(row.GetValue(4), CultureInfo.InvariantCulture));
            }

            Varint(Stream("duration"), (ulong)row.GetInt64(6));
            var shape = string.Join('\u0001', row.GetString(7), row.GetString(8), Text(row, 9), Text(row, 10), Text(row, 11), Text(row, 12),
                Text(row, 14), row.GetString(15));
            if (!_shapes.TryGetValue(shape, out var id))
            {
                id = _shapes.Count;
                _shapes.Add(shape, id);
                Stream("shape").Write(Encoding.UTF8.GetBytes(shape + "\0"));
            }

            Varint(Stream("shape"), (ulong)id);
            AddAttributes(Encoding.UTF8.GetBytes(row.GetString(13)));
            using (var proto = (Stream)row.GetValue(16))
            {
                Varint(Stream("proto"), (ulong)proto.Length);
                proto.CopyTo(Stream("proto"));
            }

            var events = (System.Collections.IList)row.GetValue(17);
            Varint(Stream("events"), (ulong)events.Count);
            foreach (var time in events)
            {
                Varint(Stream("events"), ZigZag(Convert.ToInt64(time, CultureInfo.InvariantCulture)));
            }
        }

        /// <summary>The pairs' keys in order into one stream, each value into its key's stream.</summary>
        private void AddAttributes(ReadOnlySpan<byte> text)
        {
            var keys = Stream("attr.keys");
            foreach (var range in text.Split(RecordSeparator))
            {
                var pair = text[range];
                var unit = pair.IndexOf(UnitSeparator);
                if (unit <= 0)
                {
                    continue;
                }

                var key = Encoding.ASCII.GetString(pair[..unit]);
                keys.Write(pair[..(unit + 1)]);
                if (!_values.TryGetValue(key, out var values))
                {
                    _values.Add(key, values = new MemoryStream());
                }

                values.Write(pair[(unit + 1)..]);
                values.WriteByte(0);
            }

            keys.WriteByte(RecordSeparator);
        }

        public void Flush(Dictionary<string, long> totals)
        {
            if (_streams.Count > 0)
            {
                Blocks++;
            }

            foreach (var (name, stream) in _streams)
            {
                Count(totals, name.Split('.')[0], stream);
            }

            foreach (var values in _values.Values)
            {
                Count(totals, "attr", values);
            }

            _streams.Clear();
            _values.Clear();
            _shapes.Clear();
            _trace = null;
        }

        private void Count(Dictionary<string, long> totals, string name, MemoryStream stream)
        {
            var data = stream.GetBuffer().AsSpan(0, (int)stream.Length);
            RawBytes += data.Length;
            var output = new byte[BrotliEncoder.GetMaxCompressedLength(data.Length)];
            var clock = Stopwatch.StartNew();
            BrotliEncoder.TryCompress(data, output, out var written, quality, 22);
            CompressTime += clock.Elapsed;

            // Reading a trace back decompresses every stream of its block: that time bounds trace by id from below.
            var back = new byte[data.Length];
            clock.Restart();
            BrotliDecoder.TryDecompress(output.AsSpan(0, written), back, out _);
            DecompressTime += clock.Elapsed;
            // A stream that does not compress is kept as it is; two bytes say which and how long.
            totals[name] = totals.GetValueOrDefault(name) + Math.Min(written, data.Length) + 2;
        }

        private MemoryStream Stream(string name)
        {
            if (!_streams.TryGetValue(name, out var stream))
            {
                _streams.Add(name, stream = new MemoryStream());
            }

            return stream;
        }

        private static string Text(DuckDBDataReader row, int column) => Convert.ToString(row.GetValue(column), CultureInfo.InvariantCulture) ?? string.Empty;

        private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

        private static void Fixed(MemoryStream stream, ulong value)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
            stream.Write(bytes);
        }

        private static void Varint(MemoryStream stream, ulong value)
        {
            while (value >= 0x80)
            {
                stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            stream.WriteByte((byte)value);
        }
    }
}
