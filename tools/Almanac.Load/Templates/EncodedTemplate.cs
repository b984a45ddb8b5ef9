using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Encodings.Web;
using Almanac.Otlp.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Load.Templates;

public enum WireFormat
{
    Protobuf,
    Json,
}

/// <summary>
/// One export request encoded once, with the byte offsets of every trace id, span id, parent span id and timestamp.
/// <see cref="Patch"/> rewrites those in place with fresh random ids and times near now, so a send costs a copy and a
/// few thousand small writes instead of an encode. Patching never changes the length.
/// </summary>
public sealed class EncodedTemplate
{
    private static readonly byte[] JsonIdKey = "Id\":\""u8.ToArray();
    private static readonly byte[] JsonTimeKey = "UnixNano\":\""u8.ToArray();
    private static readonly byte[] HexDigits = "0123456789abcdef"u8.ToArray();

    private readonly Variable[] _variables;
    private readonly int[] _valueOffsets;
    private readonly int _idBytes;
    private readonly Slot[] _slots;

    private EncodedTemplate(WireFormat format, byte[] bytes, int spanCount, IReadOnlyList<Variable> variables, Slot[] slots)
    {
        Format = format;
        Bytes = bytes;
        SpanCount = spanCount;
        _variables = [.. variables];
        _slots = slots;
        _valueOffsets = new int[_variables.Length];
        for (var i = 0; i < _variables.Length; i++)
        {
            if (_variables[i].Kind != VariableKind.Time)
            {
                _valueOffsets[i] = _idBytes;
                _idBytes += _variables[i].Length;
            }
        }
    }

    public WireFormat Format { get; }

    /// <summary>The encoded request with sentinel ids and times; copy it, then <see cref="Patch"/> the copy.</summary>
    public byte[] Bytes { get; }

    /// <summary>Spans (or, for logs and metrics, log records or data points) in the request.</summary>
    public int SpanCount { get; }

    public int SlotCount => _slots.Length;

    /// <summary>Scratch space a caller keeps per sender for <see cref="Patch"/>.</summary>
    public int ScratchSize => _idBytes;

    internal static EncodedTemplate Create(ExportTraceServiceRequest request, Sentinels sentinels, WireFormat format)
    {
        var spanCount = request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count));
        byte[] bytes;
        Slot[] slots;
        if (format == WireFormat.Protobuf)
        {
            bytes = request.ToByteArray();
            slots = FindProtobufSlots(bytes, sentinels.Variables.Count);
        }
        else
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(1 << 20);
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                var data = new TracesData();
                data.ResourceSpans.AddRange(request.ResourceSpans);
                OtlpJson.WriteTracesData(writer, data);
            }

            bytes = buffer.WrittenSpan.ToArray();
            slots = FindJsonSlots(bytes, sentinels.Variables);
        }

        return Checked(format, bytes, spanCount, sentinels, slots);
    }

    /// <summary>Any OTLP export request (logs, metrics) as protobuf; <paramref name="itemCount"/> log records or data points.</summary>
    internal static EncodedTemplate CreateProtobuf(IMessage request, Sentinels sentinels, int itemCount)
    {
        var bytes = request.ToByteArray();
        return Checked(WireFormat.Protobuf, bytes, itemCount, sentinels, FindProtobufSlots(bytes, sentinels.Variables.Count));
    }

    private static EncodedTemplate Checked(WireFormat format, byte[] bytes, int spanCount, Sentinels sentinels, Slot[] slots)
    {
        var seen = new bool[sentinels.Variables.Count];
        foreach (var slot in slots)
        {
            seen[slot.Variable] = true;
        }

        var missing = Array.IndexOf(seen, false);
        if (missing >= 0)
        {
            throw new InvalidOperationException($"Template variable {missing} ({sentinels.Variables[missing].Kind}) not found in the encoded {format} request");
        }

        return new EncodedTemplate(format, bytes, spanCount, sentinels.Variables, slots);
    }

    /// <summary>
    /// Writes fresh ids (random, never all zero; a span's id and its children's parent ids stay equal) and times
    /// (<paramref name="nowUnixNanos"/> plus each time's offset) into <paramref name="target"/>, a copy of <see cref="Bytes"/>.
    /// </summary>
    public void Patch(Span<byte> target, ulong nowUnixNanos, Random random, Span<byte> scratch)
    {
        if (target.Length != Bytes.Length)
        {
            throw new ArgumentException("target must be a copy of the template", nameof(target));
        }

        var values = scratch[.._idBytes];
        random.NextBytes(values);
        for (var i = 0; i < _variables.Length; i++)
        {
            if (_variables[i].Kind != VariableKind.Time)
            {
                var id = values.Slice(_valueOffsets[i], _variables[i].Length);
                if (!id.ContainsAnyExcept((byte)0))
                {
                    id[^1] = 1;
                }
            }
        }

        var json = Format == WireFormat.Json;
        foreach (var slot in _slots)
        {
            var variable = _variables[slot.Variable];
            if (variable.Kind == VariableKind.Time)
            {
                var time = (ulong)((long)nowUnixNanos + variable.RelativeNanos);
                if (json)
                {
                    if (!Utf8Formatter.TryFormat(time, target.Slice(slot.Offset, 19), out var written) || written != 19)
                    {
                        throw new InvalidOperationException("Unix-nanosecond time is not 19 digits wide");
                    }
                }
                else
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(target.Slice(slot.Offset, 8), time);
                }
            }
            else
            {
                var id = values.Slice(_valueOffsets[slot.Variable], variable.Length);
                if (json)
                {
                    var hex = target.Slice(slot.Offset, variable.Length * 2);
                    for (var b = 0; b < id.Length; b++)
                    {
                        hex[2 * b] = HexDigits[id[b] >> 4];
                        hex[(2 * b) + 1] = HexDigits[id[b] & 0xF];
                    }
                }
                else
                {
                    id.CopyTo(target.Slice(slot.Offset, variable.Length));
                }
            }
        }
    }

    private static Slot[] FindProtobufSlots(byte[] bytes, int variableCount)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, Sentinels.Magic);
        var slots = new List<Slot>();
        var position = 0;
        while (true)
        {
            var found = bytes.AsSpan(position).IndexOf(magic);
            if (found < 0)
            {
                break;
            }

            var at = position + found;
            var offset = at - 4;
            if (offset >= 0)
            {
                var index = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset, 4));
                if (index < variableCount)
                {
                    slots.Add(new Slot(offset, index));
                }
            }

            position = at + 4;
        }

        return [.. slots];
    }

    private static Slot[] FindJsonSlots(byte[] bytes, IReadOnlyList<Variable> variables)
    {
        var slots = new List<Slot>();
        Span<byte> idBytes = stackalloc byte[8];
        foreach (var key in new[] { JsonIdKey, JsonTimeKey })
        {
            var position = 0;
            while (true)
            {
                var found = bytes.AsSpan(position).IndexOf(key);
                if (found < 0)
                {
                    break;
                }

                var offset = position + found + key.Length;
                position = offset;
                var end = bytes.AsSpan(offset).IndexOf((byte)'"');
                if (end < 0)
                {
                    break;
                }

                var text = bytes.AsSpan(offset, end);
                ulong value;
                if (key == JsonIdKey)
                {
                    if (text.Length < 16 || Convert.FromHexString(Encoding.ASCII.GetString(text[..16]), idBytes, out _, out _) != System.Buffers.OperationStatus.Done)
                    {
                        continue;
                    }

                    value = BinaryPrimitives.ReadUInt64LittleEndian(idBytes);
                }
                else if (!Utf8Parser.TryParse(text, out value, out var consumed) || consumed != text.Length)
                {
                    continue;
                }

                if (Sentinels.TryDecode(value, out var index) && index < variables.Count)
                {
                    var expectedLength = variables[index].Kind == VariableKind.Time ? 19 : variables[index].Length * 2;
                    if (text.Length != expectedLength)
                    {
                        throw new InvalidOperationException($"Template variable {index} is {text.Length} characters wide in JSON, expected {expectedLength}");
                    }

                    slots.Add(new Slot(offset, index));
                }
            }
        }

        return [.. slots];
    }
}
