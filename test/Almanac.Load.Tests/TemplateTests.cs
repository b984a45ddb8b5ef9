using Almanac.Load.Templates;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Load.Tests;

public class TemplateTests
{
    public static TheoryData<WireFormat, Shape> Cases => new()
    {
        { WireFormat.Protobuf, Shape.Realistic },
        { WireFormat.Json, Shape.Realistic },
        { WireFormat.Protobuf, Shape.Small },
        { WireFormat.Json, Shape.Small },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_patched_request_has_fresh_valid_ids_and_times_near_now(WireFormat format, Shape shape)
    {
        var (request, sentinels) = TemplateBuilder.Build(new ShapeOptions(shape), 512, seed: 3);
        var template = EncodedTemplate.Create(request, sentinels, format);
        Assert.Equal(512, template.SpanCount);

        var random = new Random(11);
        var scratch = new byte[template.ScratchSize];
        var body = (byte[])template.Bytes.Clone();
        var spanIds = new HashSet<string>();
        var traceIds = new HashSet<string>();
        for (var round = 0; round < 5; round++)
        {
            var now = NowUnixNanos();
            template.Patch(body, now, random, scratch);
            var decoded = Decode(format, body);
            var spans = decoded.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
            Assert.Equal(512, spans.Count);
            var byId = new Dictionary<string, Span>();
            var roundTraces = new HashSet<string>();
            foreach (var span in spans)
            {
                Assert.Equal(16, span.TraceId.Length);
                Assert.Equal(8, span.SpanId.Length);
                Assert.Contains(span.TraceId.Span.ToArray(), b => b != 0);
                Assert.Contains(span.SpanId.Span.ToArray(), b => b != 0);
                var spanId = Convert.ToHexString(span.SpanId.Span);
                Assert.True(spanIds.Add(spanId), $"span id {spanId} repeated");
                byId[spanId] = span;
                var traceId = Convert.ToHexString(span.TraceId.Span);
                if (roundTraces.Add(traceId))
                {
                    Assert.True(traceIds.Add(traceId), $"trace id {traceId} repeated in a later request");
                }

                Assert.InRange(span.StartTimeUnixNano, now - 30_000_000_000UL, now);
                Assert.InRange(span.EndTimeUnixNano, span.StartTimeUnixNano, now);
                foreach (var e in span.Events)
                {
                    Assert.InRange(e.TimeUnixNano, now - 30_000_000_000UL, now);
                }
            }

            // Parents are patched with their span's new id, and belong to the same trace.
            foreach (var span in spans.Where(s => !s.ParentSpanId.IsEmpty))
            {
                Assert.True(byId.TryGetValue(Convert.ToHexString(span.ParentSpanId.Span), out var parent), "parent id does not match a span in the request");
                Assert.Equal(parent.TraceId, span.TraceId);
            }

            Assert.Contains(spans, s => s.ParentSpanId.IsEmpty);
        }
    }

    [Fact]
    public void Patching_does_not_touch_anything_but_ids_and_times()
    {
        var (request, sentinels) = TemplateBuilder.Build(new ShapeOptions(), 64, seed: 5);
        var template = EncodedTemplate.Create(request, sentinels, WireFormat.Protobuf);
        var body = (byte[])template.Bytes.Clone();
        template.Patch(body, NowUnixNanos(), new Random(1), new byte[template.ScratchSize]);
        var patched = OtlpProtobuf.ParseTraceRequest(body);
        var original = request.Clone();
        foreach (var (a, b) in original.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)
                     .Zip(patched.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)))
        {
            Assert.Equal(a.Name, b.Name);
            Assert.Equal(a.Attributes, b.Attributes);
            Assert.Equal(a.Status, b.Status);
            Assert.Equal(a.Events.Select(e => e.Attributes), b.Events.Select(e => e.Attributes));
        }

        Assert.Equal(original.ResourceSpans.Select(r => r.Resource), patched.ResourceSpans.Select(r => r.Resource));
    }

    private static ExportTraceServiceRequest Decode(WireFormat format, byte[] body) =>
        format == WireFormat.Json ? OtlpJson.ParseTraceRequest(body) : OtlpProtobuf.ParseTraceRequest(body);

    private static ulong NowUnixNanos() => (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
}
