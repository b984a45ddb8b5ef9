using Almanac.Core.Model;
using Almanac.Query.ApiV3;
using Almanac.Testing;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.Tests;

public sealed class TracesDataBuilderTests
{
    [Fact]
    public void Build_SpansOfEqualResourcesAndScopes_GroupTogether()
    {
        var traceId = TestData.NewTraceId();
        // Separate but equal instances, as a store reading rows back would produce.
        var a = TestData.ToSpanData(TestData.CreateSpan(traceId, name: "a"), TestData.CreateResource("api"), TestData.CreateScope("s1"));
        var b = TestData.ToSpanData(TestData.CreateSpan(traceId, name: "b", startUnixNano: TestData.BaseTimeUnixNano + 1),
            TestData.CreateResource("api"), TestData.CreateScope("s1"));
        var c = TestData.ToSpanData(TestData.CreateSpan(traceId, name: "c", startUnixNano: TestData.BaseTimeUnixNano + 2),
            TestData.CreateResource("api"), TestData.CreateScope("s2"));
        var d = TestData.ToSpanData(TestData.CreateSpan(traceId, name: "d", startUnixNano: TestData.BaseTimeUnixNano + 3),
            TestData.CreateResource("db"), TestData.CreateScope("s1"));

        var data = TracesDataBuilder.Build([new TraceData(traceId, [d, c, b, a])]);

        Assert.Equal(2, data.ResourceSpans.Count);
        var api = data.ResourceSpans.Single(r => ServiceNames.Of(r.Resource) == "api");
        Assert.Equal(2, api.ScopeSpans.Count);
        Assert.Equal(["a", "b"], api.ScopeSpans.Single(s => s.Scope.Name == "s1").Spans.Select(s => s.Name).ToArray());
        Assert.Equal(["c"], api.ScopeSpans.Single(s => s.Scope.Name == "s2").Spans.Select(s => s.Name).ToArray());
        var db = data.ResourceSpans.Single(r => ServiceNames.Of(r.Resource) == "db");
        Assert.Equal(["d"], db.ScopeSpans.Single().Spans.Select(s => s.Name).ToArray());
    }

    [Fact]
    public void Build_DifferentSchemaUrls_StaySeparate()
    {
        var traceId = TestData.NewTraceId();
        var resource = TestData.CreateResource("api");
        var scope = TestData.CreateScope();
        var span1 = TestData.CreateSpan(traceId);
        var span2 = TestData.CreateSpan(traceId);
        var span3 = TestData.CreateSpan(traceId);
        var plain = TestData.ToSpanData(span1, resource, scope);
        var v1 = new SpanData(traceId, new SpanId(2), SpanId.Empty, "api", resource, "https://opentelemetry.io/schemas/1.21.0", scope, "", span2);
        var scoped = new SpanData(traceId, new SpanId(3), SpanId.Empty, "api", resource, "", scope, "https://opentelemetry.io/schemas/1.26.0", span3);

        var data = TracesDataBuilder.Build([new TraceData(traceId, [plain, v1, scoped])]);

        Assert.Equal(2, data.ResourceSpans.Count);
        var noSchema = data.ResourceSpans.Single(r => r.SchemaUrl.Length == 0);
        Assert.Equal(2, noSchema.ScopeSpans.Count);
        Assert.Contains(noSchema.ScopeSpans, s => s.SchemaUrl == "https://opentelemetry.io/schemas/1.26.0");
        Assert.Equal("https://opentelemetry.io/schemas/1.21.0", data.ResourceSpans.Single(r => r.SchemaUrl.Length > 0).SchemaUrl);
    }

    [Fact]
    public void Build_SeveralTraces_KeepsEverySpanOnce()
    {
        var t1 = GoldenTraceTests.CreateTrace();
        var otherId = TestData.NewTraceId();
        var t2 = new TraceData(otherId, [TestData.ToSpanData(TestData.CreateSpan(otherId))]);

        var data = TracesDataBuilder.Build([t1, t2]);

        var spans = data.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
        Assert.Equal(4, spans.Count);
        Assert.Equal(4, spans.Select(s => s.SpanId).Distinct().Count());
        Assert.All(data.ResourceSpans, r => Assert.All(r.ScopeSpans, s => Assert.NotEmpty(s.Spans)));
    }

    [Fact]
    public void Build_NoTraces_IsEmpty()
    {
        Assert.Empty(TracesDataBuilder.Build([]).ResourceSpans);
    }

    [Fact]
    public void Build_Span_IsTheStoredSpanUnchanged()
    {
        var traceId = TestData.NewTraceId();
        var otlp = TestData.CreateSpan(traceId, kind: Span.Types.SpanKind.Consumer, attributes: [TestData.Attr("k", 1L)]);

        var data = TracesDataBuilder.Build([new TraceData(traceId, [TestData.ToSpanData(otlp)])]);

        Assert.Equal(otlp, data.ResourceSpans[0].ScopeSpans[0].Spans[0]);
    }
}
