using Almanac.Load.Templates;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Load.Tests;

public class ShapeTests
{
    private static readonly string[] ResourceKeys =
        ["service.name", "service.version", "host.name", "k8s.pod.name", "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version"];

    [Fact]
    public void Realistic_spans_have_the_promised_attributes_kinds_and_resources()
    {
        var (request, _) = TemplateBuilder.Build(new ShapeOptions(Services: 6), 4000, seed: 9);
        Assert.Equal(6, request.ResourceSpans.Count);
        foreach (var resourceSpans in request.ResourceSpans)
        {
            var keys = resourceSpans.Resource.Attributes.Select(a => a.Key).ToHashSet();
            Assert.All(ResourceKeys, k => Assert.Contains(k, keys));
        }

        var spans = request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
        Assert.Equal(4000, spans.Count);
        Assert.All(spans, s => Assert.InRange(s.Attributes.Count, 8, 12));
        Assert.Contains(spans, s => s.Kind == Span.Types.SpanKind.Server && Has(s, "http.route") && Has(s, "url.path") && Has(s, "client.address") && Has(s, "enduser.id"));
        Assert.Contains(spans, s => s.Kind == Span.Types.SpanKind.Client && Has(s, "url.full"));
        Assert.Contains(spans, s => s.Kind == Span.Types.SpanKind.Client && Has(s, "db.system") && Has(s, "db.statement"));
        Assert.Contains(spans, s => s.Kind == Span.Types.SpanKind.Producer && Has(s, "messaging.system") && Has(s, "messaging.destination.name"));

        // High cardinality: URL paths with ids and user ids vary from span to span.
        var paths = spans.SelectMany(s => s.Attributes).Where(a => a.Key == "url.path").Select(a => a.Value.StringValue).ToList();
        Assert.True(paths.Distinct().Count() > paths.Count * 0.9, "url.path values should be nearly all distinct");
        var users = spans.SelectMany(s => s.Attributes).Where(a => a.Key == "enduser.id").Select(a => a.Value.StringValue).ToList();
        Assert.True(users.Distinct().Count() > users.Count * 0.9, "enduser.id values should be nearly all distinct");
    }

    [Fact]
    public void About_five_percent_of_realistic_spans_are_errors_with_exception_events()
    {
        var (request, _) = TemplateBuilder.Build(new ShapeOptions(), 8000, seed: 4);
        var spans = request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
        var errors = spans.Where(s => s.Status?.Code == Status.Types.StatusCode.Error).ToList();
        Assert.InRange(errors.Count / (double)spans.Count, 0.035, 0.065);
        foreach (var span in errors)
        {
            var exception = Assert.Single(span.Events, e => e.Name == "exception");
            var keys = exception.Attributes.Select(a => a.Key).ToList();
            Assert.Contains("exception.type", keys);
            Assert.Contains("exception.message", keys);
            Assert.Contains("exception.stacktrace", keys);
        }

        Assert.All(spans.Where(s => s.Status?.Code != Status.Types.StatusCode.Error), s => Assert.Empty(s.Events));
    }

    [Theory]
    [InlineData(4, 3)]
    [InlineData(6, 2)]
    [InlineData(2, 5)]
    public void Realistic_traces_reach_the_depth_and_respect_the_fanout(int depth, int fanout)
    {
        var (request, _) = TemplateBuilder.Build(new ShapeOptions(Depth: depth, Fanout: fanout), 3000, seed: 2);
        var spans = request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
        var byId = spans.ToDictionary(s => s.SpanId);
        int Depth(Span s) => s.ParentSpanId.IsEmpty ? 1 : 1 + Depth(byId[s.ParentSpanId]);
        var depths = spans.Select(Depth).ToList();
        Assert.Equal(depth, depths.Max());
        var children = spans.Where(s => !s.ParentSpanId.IsEmpty).GroupBy(s => s.ParentSpanId).Select(g => g.Count()).ToList();
        Assert.InRange(children.Max(), 1, fanout);

        // Every complete trace (all but possibly the last, cut at the request's span count) reaches the depth.
        var traces = spans.GroupBy(s => s.TraceId).ToList();
        Assert.True(traces.Count > 10);
        foreach (var trace in traces.SkipLast(1))
        {
            Assert.Equal(depth, trace.Max(Depth));
        }
    }

    [Fact]
    public void Small_shape_is_telemetrygen_like()
    {
        var (request, _) = TemplateBuilder.Build(new ShapeOptions(Shape.Small), 100, seed: 1);
        var spans = request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
        Assert.Equal(100, spans.Count);
        Assert.Equal(50, spans.Count(s => s.Name == "lets-go" && s.ParentSpanId.IsEmpty));
        Assert.Equal(50, spans.Count(s => s.Name == "okey-dokey-0" && !s.ParentSpanId.IsEmpty));
        Assert.All(spans, s => Assert.InRange(s.Attributes.Count, 0, 2));
        Assert.Equal("telemetrygen", Assert.Single(request.ResourceSpans).Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue);
    }

    private static bool Has(Span span, string key) => span.Attributes.Any(a => a.Key == key);
}
