using System.Runtime.CompilerServices;
using System.Text.Unicode;
using Almanac.Otlp.Json;

namespace Almanac.Otlp;

/// <summary>What <see cref="OtlpTraceScanner.Scan"/> found in an <c>ExportTraceServiceRequest</c>.</summary>
/// <param name="Spans">Spans that pass <see cref="SpanIdRules"/>.</param>
/// <param name="RejectedSpans">Spans that do not.</param>
/// <param name="RejectionMessage">The partial-success message when some were rejected, else null.</param>
/// <param name="Length">
/// How many leading bytes make up the request. Always the whole input, except when the top level holds an end-group
/// tag: Google.Protobuf stops reading there and ignores the rest, so only the bytes before it are the request.
/// </param>
public readonly record struct TraceScan(int Spans, int RejectedSpans, string? RejectionMessage, int Length);

/// <summary>
/// Validates an OTLP protobuf trace export and counts its spans in one pass over the bytes, without building the
/// protobuf object graph: it accepts exactly what <see cref="OtlpProtobuf.ParseTraceRequest"/> accepts (same
/// recursion limit, wire-format and UTF-8 checks, unknown fields skipped but well-formed, the AnyValue depth bound)
/// and reports what the flattener would reject, so the receive path can write the received bytes to the
/// write-ahead log as they are. It allocates nothing unless a span is rejected.
/// </summary>
public static class OtlpTraceScanner
{
    /// <summary>Scans <paramref name="bytes"/>.</summary>
    /// <exception cref="OtlpFormatException">The bytes are not a request <see cref="OtlpProtobuf.ParseTraceRequest"/> accepts.</exception>
    public static TraceScan Scan(ReadOnlySpan<byte> bytes)
    {
        var scanner = new WireScanner(bytes);
        scanner.ScanRequest();
        if (scanner.AnyValueTooDeep)
        {
            // The wire nests an attribute value deeper than the bound, but the parsed object may not: a later oneof
            // field or a repeated occurrence of a message field replaces or merges what came before, so a deep
            // branch can be discarded. Deciding that exactly needs the object; such requests are rare and hostile.
            return ScanParsed(bytes, scanner.Length);
        }

        return new TraceScan(scanner.Spans, scanner.Rejected, scanner.RejectionMessage(), scanner.Length);
    }

    private static TraceScan ScanParsed(ReadOnlySpan<byte> bytes, int length)
    {
        var request = OtlpProtobuf.ParseTraceRequest(bytes);
        var spans = 0;
        var rejected = 0;
        List<string>? reasons = null;
        for (var r = 0; r < request.ResourceSpans.Count; r++)
        {
            var scopes = request.ResourceSpans[r].ScopeSpans;
            for (var s = 0; s < scopes.Count; s++)
            {
                var list = scopes[s].Spans;
                for (var i = 0; i < list.Count; i++)
                {
                    var span = list[i];
                    if (SpanIdRules.Check(span.TraceId.Span, span.SpanId.Span, span.ParentSpanId.Span) is { } reason)
                    {
                        rejected++;
                        if ((reasons ??= []).Count < SpanIdRules.MaxReasons)
                        {
                            reasons.Add(SpanIdRules.Path(r, s, i, reason));
                        }
                    }
                    else
                    {
                        spans++;
                    }
                }
            }
        }

        return new TraceScan(spans, rejected, rejected > 0 ? SpanIdRules.Message(rejected, reasons!) : null, length);
    }

    /// <summary>
    /// The wire-format walk. Mirrors Google.Protobuf's reader: a message's fields are read up to its length; a known
    /// field with its declared wire type is checked as that type, anything else is an unknown field that must still
    /// be well-formed (groups included); an end-group tag ends a message early, which is an error for an embedded
    /// message and the end of the input at the top level; nesting (messages and groups) is capped at
    /// <see cref="OtlpProtobuf.RecursionLimit"/>.
    /// </summary>
    private ref struct WireScanner
    {
        private const int EndGroup = 4;
        private readonly ReadOnlySpan<byte> _data;
        private int _pos;
        private int _limit;
        private string? _reason0;
        private string? _reason1;
        private string? _reason2;

        public WireScanner(ReadOnlySpan<byte> data)
        {
            _data = data;
            _limit = data.Length;
            Length = data.Length;
        }

        public int Spans { get; private set; }

        public int Rejected { get; private set; }

        public bool AnyValueTooDeep { get; private set; }

        public int Length { get; private set; }

        public readonly string? RejectionMessage()
        {
            if (Rejected == 0)
            {
                return null;
            }

            string[] reasons = Rejected switch
            {
                1 => [_reason0!],
                2 => [_reason0!, _reason1!],
                _ => [_reason0!, _reason1!, _reason2!],
            };
            return SpanIdRules.Message(Rejected, reasons);
        }

        public void ScanRequest()
        {
            var resource = 0;
            while (true)
            {
                var tagStart = _pos;
                var tag = ReadTag();
                if (tag == 0)
                {
                    return;
                }

                if ((tag & 7) == EndGroup)
                {
                    // Google.Protobuf's top-level read stops here without complaint and ignores what follows.
                    Length = tagStart;
                    return;
                }

                if (tag == 10)
                {
                    ScanResourceSpans(0, resource++);
                }
                else
                {
                    SkipField(tag, 0);
                }
            }
        }

        private void ScanResourceSpans(int parentDepth, int r)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            var scope = 0;
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10:
                        ScanResource(depth);
                        break;
                    case 18:
                        ScanScopeSpans(depth, r, scope++);
                        break;
                    case 26:
                        ReadString();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanResource(int parentDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10:
                        ScanKeyValue(depth, 1);
                        break;
                    case 16:
                        ReadVarint();
                        break;
                    case 26:
                        ScanEntityRef(depth);
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanEntityRef(int parentDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10 or 18 or 26 or 34:
                        ReadString();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanScopeSpans(int parentDepth, int r, int s)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            var span = 0;
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10:
                        ScanScope(depth);
                        break;
                    case 18:
                        ScanSpan(depth, r, s, span++);
                        break;
                    case 26:
                        ReadString();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanScope(int parentDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10 or 18:
                        ReadString();
                        break;
                    case 26:
                        ScanKeyValue(depth, 1);
                        break;
                    case 32:
                        ReadVarint();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanSpan(int parentDepth, int r, int s, int i)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            // A non-repeated bytes field that occurs more than once keeps its last value, as in the parsed message.
            ReadOnlySpan<byte> traceId = default, spanId = default, parentId = default;
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10:
                        traceId = ReadBytes();
                        break;
                    case 18:
                        spanId = ReadBytes();
                        break;
                    case 34:
                        parentId = ReadBytes();
                        break;
                    case 26 or 42:
                        ReadString();
                        break;
                    case 48 or 80 or 96 or 112:
                        ReadVarint();
                        break;
                    case 57 or 65:
                        Skip(8);
                        break;
                    case 133:
                        Skip(4);
                        break;
                    case 74:
                        ScanKeyValue(depth, 1);
                        break;
                    case 90:
                        ScanEvent(depth);
                        break;
                    case 106:
                        ScanLink(depth);
                        break;
                    case 122:
                        ScanStatus(depth);
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
            if (SpanIdRules.Check(traceId, spanId, parentId) is { } reason)
            {
                Reject(SpanIdRules.Path(r, s, i, reason));
            }
            else
            {
                Spans++;
            }
        }

        private void Reject(string reason)
        {
            switch (Rejected++)
            {
                case 0:
                    _reason0 = reason;
                    break;
                case 1:
                    _reason1 = reason;
                    break;
                case 2:
                    _reason2 = reason;
                    break;
            }
        }

        private void ScanEvent(int parentDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 9:
                        Skip(8);
                        break;
                    case 18:
                        ReadString();
                        break;
                    case 26:
                        ScanKeyValue(depth, 1);
                        break;
                    case 32:
                        ReadVarint();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanLink(int parentDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10 or 18:
                        ReadBytes();
                        break;
                    case 26:
                        ReadString();
                        break;
                    case 34:
                        ScanKeyValue(depth, 1);
                        break;
                    case 40:
                        ReadVarint();
                        break;
                    case 53:
                        Skip(4);
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanStatus(int parentDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 18:
                        ReadString();
                        break;
                    case 24:
                        ReadVarint();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        /// <summary>A KeyValue whose value is an AnyValue at <paramref name="anyDepth"/> (1 for an attribute).</summary>
        private void ScanKeyValue(int parentDepth, int anyDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10:
                        ReadString();
                        break;
                    case 18:
                        ScanAnyValue(depth, anyDepth);
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanAnyValue(int parentDepth, int anyDepth)
        {
            if (anyDepth > OtlpJson.MaxAnyValueDepth)
            {
                AnyValueTooDeep = true;
            }

            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                switch (tag)
                {
                    case 10:
                        ReadString();
                        break;
                    case 16 or 24:
                        ReadVarint();
                        break;
                    case 33:
                        Skip(8);
                        break;
                    case 42:
                        ScanArrayValue(depth, anyDepth);
                        break;
                    case 50:
                        ScanKeyValueList(depth, anyDepth);
                        break;
                    case 58:
                        ReadBytes();
                        break;
                    default:
                        SkipField(tag, depth);
                        break;
                }
            }

            _limit = outer;
        }

        private void ScanArrayValue(int parentDepth, int anyDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                if (tag == 10)
                {
                    ScanAnyValue(depth, anyDepth + 1);
                }
                else
                {
                    SkipField(tag, depth);
                }
            }

            _limit = outer;
        }

        private void ScanKeyValueList(int parentDepth, int anyDepth)
        {
            var depth = parentDepth + 1;
            var outer = Enter(parentDepth);
            uint tag;
            while ((tag = ReadMessageTag()) != 0)
            {
                if (tag == 10)
                {
                    ScanKeyValue(depth, anyDepth + 1);
                }
                else
                {
                    SkipField(tag, depth);
                }
            }

            _limit = outer;
        }

        /// <summary>Reads an embedded message's length and narrows the limit to it; returns the outer limit.</summary>
        private int Enter(int parentDepth)
        {
            var length = ReadLength();
            if (parentDepth >= OtlpProtobuf.RecursionLimit)
            {
                Fail("messages nested too deeply");
            }

            var outer = _limit;
            _limit = _pos + length;
            return outer;
        }

        /// <summary>The next tag of an embedded message, 0 at its end; an end-group tag cannot end one.</summary>
        private uint ReadMessageTag()
        {
            var tag = ReadTag();
            if ((tag & 7) == EndGroup)
            {
                Fail("end-group tag without a start-group");
            }

            return tag;
        }

        private uint ReadTag()
        {
            if (_pos >= _limit)
            {
                return 0;
            }

            var tag = (uint)ReadVarint();
            if (tag >> 3 == 0)
            {
                Fail("invalid tag (field number 0)");
            }

            return tag;
        }

        private void SkipField(uint tag, int depth)
        {
            switch (tag & 7)
            {
                case 0:
                    ReadVarint();
                    break;
                case 1:
                    Skip(8);
                    break;
                case 2:
                    Skip(ReadLength());
                    break;
                case 3:
                    SkipGroup(tag, depth);
                    break;
                case 5:
                    Skip(4);
                    break;
                default:
                    // 4 (end-group) never reaches here: callers handle it. 6 and 7 are not wire types.
                    Fail($"invalid wire type {tag & 7}");
                    break;
            }
        }

        private void SkipGroup(uint startTag, int depth)
        {
            if (depth >= OtlpProtobuf.RecursionLimit)
            {
                Fail("groups nested too deeply");
            }

            while (true)
            {
                var tag = ReadTag();
                if (tag == 0)
                {
                    Fail("group without its end-group tag");
                }

                if ((tag & 7) == EndGroup)
                {
                    if (tag != ((startTag & ~7u) | EndGroup))
                    {
                        Fail("mismatched end-group tag");
                    }

                    return;
                }

                SkipField(tag, depth + 1);
            }
        }

        private void ReadString()
        {
            var value = ReadBytes();
            // Google.Protobuf decodes strings with a throwing UTF-8 decoder, so invalid UTF-8 fails today's parse.
            if (!Utf8.IsValid(value))
            {
                Fail("string field is not valid UTF-8");
            }
        }

        private ReadOnlySpan<byte> ReadBytes()
        {
            var length = ReadLength();
            var value = _data.Slice(_pos, length);
            _pos += length;
            return value;
        }

        private int ReadLength()
        {
            // Like Google.Protobuf: a varint whose low 32 bits are the length, which must be non-negative and fit.
            var length = (int)(uint)ReadVarint();
            if (length < 0)
            {
                Fail("negative length");
            }

            if (length > _limit - _pos)
            {
                Fail("truncated (a length runs past the end of its message)");
            }

            return length;
        }

        private void Skip(int count)
        {
            if (count > _limit - _pos)
            {
                Fail("truncated (a field runs past the end of its message)");
            }

            _pos += count;
        }

        /// <summary>A varint of at most 10 bytes; Google.Protobuf reads 32-bit fields the same way, dropping high bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ulong ReadVarint()
        {
            // Most tags and lengths are one byte.
            if (_pos < _limit && _data[_pos] < 0x80)
            {
                return _data[_pos++];
            }

            return ReadLongVarint();
        }

        private ulong ReadLongVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (_pos >= _limit)
                {
                    Fail("truncated (the input ends inside a varint)");
                }

                var b = _data[_pos++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            Fail("malformed varint");
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private readonly void Fail(string what) =>
            throw new OtlpFormatException($"Invalid OTLP protobuf body: {what} at byte {_pos}");
    }
}
