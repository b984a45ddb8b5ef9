using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Otlp.Tests;

/// <summary>
/// FsCheck generators for whole OTLP trace requests. Values lean towards the awkward: every AnyValue kind, escapes and
/// astral-plane text, extreme integers, arbitrary double bit patterns, odd id lengths, unknown enum numbers.
/// </summary>
public static class OtlpArbitraries
{
    public static Arbitrary<ExportTraceServiceRequest> Requests() => Arb.From(RequestGen);

    private static readonly string[] TextPieces =
    [
        "a", "Z", "0", " ", "é", "日本", "😀", "\"", "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u2028", "<", ">", "&", "'",
        "service.name", "http.route",
    ];

    private static readonly Gen<string> Text =
        Gen.Elements(TextPieces).ListOf().Select(pieces => string.Concat(pieces)).Resize(6);

    private static readonly Gen<uint> UInt32 =
        Gen.Frequency((3, Gen.Constant(0u)), (3, Gen.Choose(0, 1000).Select(i => (uint)i)), (2, Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i))));

    private static readonly Gen<ulong> UInt64 =
        Gen.Frequency(
            (1, Gen.Constant(0UL)),
            (1, Gen.Constant(ulong.MaxValue)),
            (4, Gen.Choose(int.MinValue, int.MaxValue).Two().Select(t => ((ulong)unchecked((uint)t.Item1) << 32) | unchecked((uint)t.Item2))));

    private static readonly Gen<long> Int64 = UInt64.Select(u => unchecked((long)u));

    // Raw bit patterns reach subnormals, -0.0 and extreme exponents. NaN payloads are canonicalised because JSON can
    // only say "NaN", and protobuf equality compares doubles bitwise.
    private static readonly Gen<double> Double =
        Gen.Frequency(
            (1, Gen.Elements(0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, double.MinValue, 0.1)),
            (3, Int64.Select(BitConverter.Int64BitsToDouble).Select(d => double.IsNaN(d) ? double.NaN : d)));

    private static readonly Gen<ByteString> Bytes =
        Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Resize(24).Select(ByteString.CopyFrom);

    private static readonly Gen<ByteString> TraceId =
        Gen.Frequency((6, Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(16).Select(ByteString.CopyFrom)), (1, Bytes));

    private static readonly Gen<ByteString> SpanId =
        Gen.Frequency((6, Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(8).Select(ByteString.CopyFrom)), (1, Bytes));

    private static Gen<AnyValue> AnyValueGen(int depth)
    {
        var leaves = new List<(int, Gen<AnyValue>)>
        {
            (1, Gen.Constant(0).Select(_ => new AnyValue())),
            (3, Text.Select(s => new AnyValue { StringValue = s })),
            (2, Gen.Elements(true, false).Select(b => new AnyValue { BoolValue = b })),
            (3, Int64.Select(i => new AnyValue { IntValue = i })),
            (3, Double.Select(d => new AnyValue { DoubleValue = d })),
            (2, Bytes.Select(b => new AnyValue { BytesValue = b })),
        };
        if (depth > 0)
        {
            leaves.Add((1, AnyValueGen(depth - 1).ListOf().Resize(3).Select(values =>
            {
                var array = new ArrayValue();
                array.Values.AddRange(values);
                return new AnyValue { ArrayValue = array };
            })));
            leaves.Add((1, KeyValueGen(depth - 1).ListOf().Resize(3).Select(values =>
            {
                var list = new KeyValueList();
                list.Values.AddRange(values);
                return new AnyValue { KvlistValue = list };
            })));
        }

        return Gen.Frequency(leaves);
    }

    private static Gen<KeyValue> KeyValueGen(int depth) =>
        from key in Text
        from value in Gen.Frequency((1, Gen.Constant<AnyValue?>(null)), (8, AnyValueGen(depth).Select(v => (AnyValue?)v)))
        select new KeyValue { Key = key, Value = value };

    private static readonly Gen<List<KeyValue>> Attributes = KeyValueGen(3).ListOf().Resize(4).Select(l => l.ToList());

    private static readonly Gen<Span.Types.Event> EventGen =
        from time in UInt64
        from name in Text
        from attributes in Attributes
        from dropped in UInt32
        select WithAttributes(new Span.Types.Event { TimeUnixNano = time, Name = name, DroppedAttributesCount = dropped }, e => e.Attributes, attributes);

    private static readonly Gen<Span.Types.Link> LinkGen =
        from traceId in TraceId
        from spanId in SpanId
        from traceState in Text
        from attributes in Attributes
        from dropped in UInt32
        from flags in UInt32
        select WithAttributes(
            new Span.Types.Link { TraceId = traceId, SpanId = spanId, TraceState = traceState, DroppedAttributesCount = dropped, Flags = flags },
            l => l.Attributes,
            attributes);

    private static readonly Gen<Status?> StatusGen =
        Gen.Frequency(
            (1, Gen.Constant<Status?>(null)),
            (3, from code in Gen.Choose(0, 3)
                from message in Text
                select (Status?)new Status { Code = (Status.Types.StatusCode)code, Message = message }));

    private static readonly Gen<Span> SpanGen =
        from ids in Gen.Zip(TraceId, SpanId, (t, s) => (Trace: t, Span: s))
        from parent in Gen.Frequency((1, Gen.Constant(ByteString.Empty)), (2, SpanId))
        from traceState in Text
        from flags in UInt32
        from name in Text
        from kind in Gen.Choose(0, 7)
        from times in UInt64.Two()
        from attributes in Attributes
        from counts in UInt32.Three()
        from events in EventGen.ListOf().Resize(3)
        from links in LinkGen.ListOf().Resize(2)
        from status in StatusGen
        select BuildSpan(ids.Trace, ids.Span, parent, traceState, flags, name, kind, times, attributes, counts, events, links, status);

    private static Span BuildSpan(
        ByteString traceId, ByteString spanId, ByteString parent, string traceState, uint flags, string name, int kind,
        (ulong Start, ulong End) times, List<KeyValue> attributes, (uint, uint, uint) counts,
        IEnumerable<Span.Types.Event> events, IEnumerable<Span.Types.Link> links, Status? status)
    {
        var span = new Span
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = parent,
            TraceState = traceState,
            Flags = flags,
            Name = name,
            Kind = (Span.Types.SpanKind)kind,
            StartTimeUnixNano = times.Start,
            EndTimeUnixNano = times.End,
            DroppedAttributesCount = counts.Item1,
            DroppedEventsCount = counts.Item2,
            DroppedLinksCount = counts.Item3,
            Status = status,
        };
        span.Attributes.AddRange(attributes);
        span.Events.AddRange(events);
        span.Links.AddRange(links);
        return span;
    }

    private static readonly Gen<InstrumentationScope?> ScopeGen =
        Gen.Frequency(
            (1, Gen.Constant<InstrumentationScope?>(null)),
            (3, from name in Text
                from version in Text
                from attributes in Attributes
                from dropped in UInt32
                select (InstrumentationScope?)WithAttributes(
                    new InstrumentationScope { Name = name, Version = version, DroppedAttributesCount = dropped },
                    s => s.Attributes,
                    attributes)));

    private static readonly Gen<ScopeSpans> ScopeSpansGen =
        from scope in ScopeGen
        from spans in SpanGen.ListOf().Resize(3)
        from schemaUrl in Text
        select WithAttributes(new ScopeSpans { Scope = scope, SchemaUrl = schemaUrl }, s => s.Spans, spans);

    private static readonly Gen<EntityRef> EntityRefGen =
        from schemaUrl in Text
        from type in Text
        from idKeys in Text.ListOf().Resize(2)
        from descriptionKeys in Text.ListOf().Resize(2)
        select BuildEntityRef(schemaUrl, type, idKeys, descriptionKeys);

    private static EntityRef BuildEntityRef(string schemaUrl, string type, IEnumerable<string> idKeys, IEnumerable<string> descriptionKeys)
    {
        var entityRef = new EntityRef { SchemaUrl = schemaUrl, Type = type };
        entityRef.IdKeys.AddRange(idKeys);
        entityRef.DescriptionKeys.AddRange(descriptionKeys);
        return entityRef;
    }

    private static readonly Gen<Resource?> ResourceGen =
        Gen.Frequency(
            (1, Gen.Constant<Resource?>(null)),
            (4, from attributes in Attributes
                from dropped in UInt32
                from entityRefs in EntityRefGen.ListOf().Resize(2)
                select (Resource?)WithAttributes(
                    WithAttributes(new Resource { DroppedAttributesCount = dropped }, r => r.Attributes, attributes),
                    r => r.EntityRefs,
                    entityRefs)));

    private static readonly Gen<ResourceSpans> ResourceSpansGen =
        from resource in ResourceGen
        from scopeSpans in ScopeSpansGen.ListOf().Resize(3)
        from schemaUrl in Text
        select WithAttributes(new ResourceSpans { Resource = resource, SchemaUrl = schemaUrl }, r => r.ScopeSpans, scopeSpans);

    private static readonly Gen<ExportTraceServiceRequest> RequestGen =
        ResourceSpansGen.ListOf().Resize(3).Select(resourceSpans =>
        {
            var request = new ExportTraceServiceRequest();
            request.ResourceSpans.AddRange(resourceSpans);
            return request;
        });

    private static T WithAttributes<T, TItem>(T message, Func<T, Google.Protobuf.Collections.RepeatedField<TItem>> field, IEnumerable<TItem> items)
    {
        field(message).AddRange(items);
        return message;
    }
}
