using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;

namespace Almanac.Otlp.Tests;

/// <summary>
/// Protobuf wire bytes built by hand, and FsCheck generators of trace requests at the wire level: the generated
/// message classes can only write what they model, while a sender can send duplicate non-repeated fields, known field
/// numbers with the wrong wire type, unknown fields and groups, stray end-group tags, invalid UTF-8, odd id lengths.
/// </summary>
public static class TraceWire
{
    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    public static byte[] Tag(int field, int wireType) => Varint(((ulong)(uint)field << 3) | (uint)wireType);

    public static byte[] Len(int field, params byte[][] body)
    {
        var payload = Concat(body);
        return Concat(Tag(field, 2), Varint((ulong)payload.Length), payload);
    }

    public static byte[] VarintField(int field, ulong value) => Concat(Tag(field, 0), Varint(value));

    public static byte[] Group(int field, params byte[][] body) => Concat(Tag(field, 3), Concat(body), Tag(field, 4));

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>A request with one resource, one scope and the given spans (each a Span message body).</summary>
    public static byte[] Request(params byte[][] spanBodies) =>
        Len(1, Len(2, [.. spanBodies.Select(s => Len(2, s))]));

    /// <summary>A span body with these ids (null: field absent).</summary>
    public static byte[] Span(byte[]? traceId, byte[]? spanId, byte[]? parentId = null, params byte[][] more) =>
        Concat(
            traceId is null ? [] : Len(1, traceId),
            spanId is null ? [] : Len(2, spanId),
            parentId is null ? [] : Len(4, parentId),
            Len(5, "op"u8.ToArray()),
            Concat(more));

    public static byte[] Id(int length, byte fill = 0xAB) => Enumerable.Repeat(fill, length).ToArray();

    /// <summary>An AnyValue body nesting <paramref name="depth"/> AnyValue levels through arrays (depth 1 = a leaf).</summary>
    public static byte[] NestedArray(int depth)
    {
        var value = Len(1, "leaf"u8.ToArray());
        for (var i = 1; i < depth; i++)
        {
            value = Len(5, Len(1, value));
        }

        return value;
    }

    /// <summary>An AnyValue body nesting <paramref name="depth"/> AnyValue levels through kvlists.</summary>
    public static byte[] NestedKvlist(int depth)
    {
        var value = Len(1, "leaf"u8.ToArray());
        for (var i = 1; i < depth; i++)
        {
            value = Len(6, Len(1, Len(1, "k"u8.ToArray()), Len(2, value)));
        }

        return value;
    }

    /// <summary>A span attribute (Span field 9) whose value is the AnyValue body given.</summary>
    public static byte[] Attribute(byte[] anyValueBody) => Len(9, Len(1, "key"u8.ToArray()), Len(2, anyValueBody));

    // ---- generators ----

    private enum Kind
    {
        Request,
        ResourceSpans,
        Resource,
        EntityRef,
        ScopeSpans,
        Scope,
        Span,
        Event,
        Link,
        Status,
        KeyValue,
        AnyValue,
        ArrayValue,
        KeyValueList,
    }

    private enum FieldType
    {
        String,
        Bytes,
        Id16,
        Id8,
        Varint,
        Fixed32,
        Fixed64,
        Message,
    }

    private readonly record struct FieldSpec(int Number, FieldType Type, Kind Message = Kind.Request);

    private static readonly Dictionary<Kind, FieldSpec[]> Schema = new()
    {
        [Kind.Request] = [new(1, FieldType.Message, Kind.ResourceSpans)],
        [Kind.ResourceSpans] = [new(1, FieldType.Message, Kind.Resource), new(2, FieldType.Message, Kind.ScopeSpans), new(3, FieldType.String)],
        [Kind.Resource] = [new(1, FieldType.Message, Kind.KeyValue), new(2, FieldType.Varint), new(3, FieldType.Message, Kind.EntityRef)],
        [Kind.EntityRef] = [new(1, FieldType.String), new(2, FieldType.String), new(3, FieldType.String), new(4, FieldType.String)],
        [Kind.ScopeSpans] = [new(1, FieldType.Message, Kind.Scope), new(2, FieldType.Message, Kind.Span), new(3, FieldType.String)],
        [Kind.Scope] = [new(1, FieldType.String), new(2, FieldType.String), new(3, FieldType.Message, Kind.KeyValue), new(4, FieldType.Varint)],
        [Kind.Span] =
        [
            new(1, FieldType.Id16), new(2, FieldType.Id8), new(3, FieldType.String), new(4, FieldType.Id8), new(16, FieldType.Fixed32),
            new(5, FieldType.String), new(6, FieldType.Varint), new(7, FieldType.Fixed64), new(8, FieldType.Fixed64),
            new(9, FieldType.Message, Kind.KeyValue), new(10, FieldType.Varint), new(11, FieldType.Message, Kind.Event), new(12, FieldType.Varint),
            new(13, FieldType.Message, Kind.Link), new(14, FieldType.Varint), new(15, FieldType.Message, Kind.Status),
        ],
        [Kind.Event] = [new(1, FieldType.Fixed64), new(2, FieldType.String), new(3, FieldType.Message, Kind.KeyValue), new(4, FieldType.Varint)],
        [Kind.Link] =
        [
            new(1, FieldType.Id16), new(2, FieldType.Id8), new(3, FieldType.String), new(4, FieldType.Message, Kind.KeyValue),
            new(5, FieldType.Varint), new(6, FieldType.Fixed32),
        ],
        [Kind.Status] = [new(2, FieldType.String), new(3, FieldType.Varint)],
        [Kind.KeyValue] = [new(1, FieldType.String), new(2, FieldType.Message, Kind.AnyValue)],
        [Kind.AnyValue] =
        [
            new(1, FieldType.String), new(2, FieldType.Varint), new(3, FieldType.Varint), new(4, FieldType.Fixed64),
            new(5, FieldType.Message, Kind.ArrayValue), new(6, FieldType.Message, Kind.KeyValueList), new(7, FieldType.Bytes),
        ],
        [Kind.ArrayValue] = [new(1, FieldType.Message, Kind.AnyValue)],
        [Kind.KeyValueList] = [new(1, FieldType.Message, Kind.KeyValue)],
    };

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82], [0x61, 0x80],
    ];

    private static readonly Gen<byte[]> ValidText =
        Gen.Elements("", "a", "op", "é", "日本", "😀", "\u0000", "service.name").Select(s => System.Text.Encoding.UTF8.GetBytes(s));

    private static readonly Gen<byte[]> Text = Gen.Frequency((20, ValidText), (1, Gen.Elements(InvalidUtf8)));

    private static readonly Gen<byte[]> RandomBytes = Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Resize(20);

    private static Gen<byte[]> IdOf(int length) =>
        Gen.Frequency(
            (8, Gen.Choose(1, 255).Select(b => (byte)b).ArrayOf(length)),
            (1, Gen.Constant(new byte[length])),
            (1, Gen.Elements(0, 1, 8, 15, 16, 17).Select(n => Id(n))),
            (1, RandomBytes));

    private static readonly Gen<ulong> VarintValue =
        Gen.Frequency((4, Gen.Choose(0, 300).Select(i => (ulong)i)), (1, Gen.Elements(ulong.MaxValue, (ulong)uint.MaxValue, 1UL << 35)));

    /// <summary>Junk that is rarely valid where it lands: each byte string is a whole would-be field.</summary>
    private static readonly Gen<byte[]> Junk = Gen.Elements<byte[]>(
        Tag(3, 4),                                                          // stray end-group
        Tag(2, 6),                                                          // wire type 6
        Tag(2, 7),                                                          // wire type 7
        [0x00],                                                             // field number 0
        [0x80, 0x00],                                                       // field number 0, long form
        [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 11-byte varint
        [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], // 10-byte varint (valid)
        [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],                               // negative length
        [0x0A, 0x05, 0x01],                                                 // length past the end
        Concat(Tag(7, 3), Tag(8, 4)),                                       // mismatched group end
        Tag(7, 3),                                                          // group never ended
        Concat(Tag(99, 3), Tag(99, 4)),                                     // empty group (valid)
        [0x0D, 0x01, 0x02]);                                                // truncated fixed32

    private static readonly ConcurrentDictionary<(Kind, int), Gen<byte[]>> Bodies = new();

    /// <summary>Wire-level trace requests: mostly well-formed and structurally like the schema, with the awkward corners.</summary>
    public static Gen<byte[]> Requests { get; } = Body(Kind.Request, 5);

    public static Arbitrary<byte[]> RequestBytes() => Arb.From(Requests);

    private static Gen<byte[]> Body(Kind kind, int budget) => Bodies.GetOrAdd((kind, budget), key =>
    {
        var (k, b) = key;
        // Lean towards the fields that lead to spans, so most requests carry some.
        var known = Gen.Frequency(Schema[k].Select(spec =>
            (spec.Message is Kind.ResourceSpans or Kind.ScopeSpans or Kind.Span ? 8 : 1, Field(spec, b))));
        var choices = new List<(int, Gen<byte[]>)>
        {
            (20, known),
            (2, WrongWireType(k, b)),
            (2, Unknown(b)),
            (1, Junk),
        };
        var field = Gen.Frequency(choices);
        var size = k is Kind.Request or Kind.ScopeSpans ? 4 : b > 0 ? 3 : 2;
        var fields = field.ListOf().Resize(size).Select(list => Concat([.. list]));
        if (k != Kind.Span)
        {
            return fields;
        }

        // Most spans carry their ids up front (like an SDK); the random fields after them may repeat or break them.
        var ids =
            from traceId in IdOf(16)
            from spanId in IdOf(8)
            from parent in Gen.Frequency((2, Gen.Constant<byte[]?>(null)), (1, IdOf(8).Select(p => (byte[]?)p)))
            select Concat(Len(1, traceId), Len(2, spanId), parent is null ? [] : Len(4, parent));
        return from head in Gen.Frequency((6, ids), (1, Gen.Constant(Array.Empty<byte>())))
               from rest in fields
               select Concat(head, rest);
    });

    private static Gen<byte[]> Field(FieldSpec spec, int budget) => spec.Type switch
    {
        FieldType.String => Text.Select(t => Len(spec.Number, t)),
        FieldType.Bytes => RandomBytes.Select(t => Len(spec.Number, t)),
        FieldType.Id16 => IdOf(16).Select(t => Len(spec.Number, t)),
        FieldType.Id8 => IdOf(8).Select(t => Len(spec.Number, t)),
        FieldType.Varint => VarintValue.Select(v => VarintField(spec.Number, v)),
        FieldType.Fixed32 => Gen.Constant(Concat(Tag(spec.Number, 5), [1, 2, 3, 4])),
        FieldType.Fixed64 => Gen.Constant(Concat(Tag(spec.Number, 1), [1, 2, 3, 4, 5, 6, 7, 8])),
        _ when budget <= 0 => Gen.Constant(Len(spec.Number)),
        _ => Body(spec.Message, budget - 1).Select(body => Len(spec.Number, body)),
    };

    private static Gen<byte[]> WrongWireType(Kind kind, int budget) =>
        from spec in Gen.Elements(Schema[kind])
        from wireType in Gen.Elements(0, 1, 2, 3, 5)
        from value in AnyWireValue(spec.Number, wireType, budget)
        select value;

    private static Gen<byte[]> Unknown(int budget) =>
        from number in Gen.Elements(17, 100, 2047, 536_870_911)
        from wireType in Gen.Elements(0, 1, 2, 3, 5)
        from value in AnyWireValue(number, wireType, budget)
        select value;

    private static Gen<byte[]> AnyWireValue(int number, int wireType, int budget) => wireType switch
    {
        0 => VarintValue.Select(v => VarintField(number, v)),
        1 => Gen.Constant(Concat(Tag(number, 1), [9, 9, 9, 9, 9, 9, 9, 9])),
        2 => RandomBytes.Select(b => Len(number, b)),
        3 when budget > 0 => Unknown(budget - 1).ListOf().Resize(2).Select(inner => Group(number, [.. inner])),
        3 => Gen.Constant(Group(number)),
        _ => Gen.Constant(Concat(Tag(number, 5), [7, 7, 7, 7])),
    };
}
