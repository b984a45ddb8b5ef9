using Almanac.Core.Model;
using Almanac.Testing;
using Almanac.Web.Components.Pages;
using Almanac.Web.Model;
using Almanac.Web.Tests.Model;
using Bunit;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Components;

public class TracePageTests : ComponentTestBase
{
    private IRenderedComponent<TracePage> RenderTrace(string id, string query = "")
    {
        NavigateTo($"/trace/{id}{query}");
        return Render<TracePage>(p => p.Add(c => c.Id, id));
    }

    [Fact]
    public void Header_tree_and_bars()
    {
        var b = new TraceBuilder();
        var root = b.Span("GET /checkout", 0, 100, service: "web");
        var pay = b.Span("POST /pay", 10, 60, root, service: "payments", error: true);
        b.Span("INSERT", 20, 30, pay, service: "db");
        b.Span("render", 70, 90, root, service: "web");
        Reader.Add([.. b.Spans]);

        var cut = RenderTrace(b.TraceId.ToHex());
        Assert.Contains("web: GET /checkout", cut.Find("#trace-title").TextContent);
        Assert.Equal("100ms", cut.Find("#trace-duration").TextContent);
        Assert.Equal("3", cut.Find("#service-count").TextContent);
        Assert.Equal("3", cut.Find("#trace-depth").TextContent);
        Assert.Equal("4", cut.Find("#span-count").TextContent);
        Assert.Equal("1", cut.Find("#error-count").TextContent);

        var rows = cut.FindAll("#timeline-body .tl-row");
        Assert.Equal(["GET /checkout", "POST /pay", "INSERT", "render"], rows.Select(r => r.QuerySelector(".op")!.TextContent));
        Assert.Equal(["0", "1", "2", "1"], rows.Select(r => r.GetAttribute("data-depth")));

        // Parents have a collapse toggle; leaves do not.
        Assert.Equal([true, true, false, false], rows.Select(r => r.QuerySelector("button.tog") is not null));
        Assert.Equal("true", rows[0].QuerySelector("button.tog")!.GetAttribute("aria-expanded"));

        // Bars to scale, in the service's colour; the error span is marked.
        var payBar = rows[1].QuerySelector(".bar")!;
        Assert.Equal($"left: 10%; width: 50%; background: {ServiceColors.For("payments")}", payBar.GetAttribute("style"));
        Assert.Contains("error", payBar.ClassList);
        Assert.NotNull(rows[1].QuerySelector(".err-mark"));
        Assert.Equal("50ms", rows[1].QuerySelector(".label")!.TextContent);

        // Critical path drawn on the bars: root, pay, insert, render are all on it here.
        Assert.Equal(["true", "true", "true", "true"], rows.Select(r => r.GetAttribute("data-critical")));
        Assert.NotEmpty(rows[0].QuerySelectorAll(".cp"));

        // Each row links to the span (no-script) and to its details fragment.
        var spanHex = rows[1].GetAttribute("data-span-id");
        Assert.Equal($"/trace/{b.TraceId.ToHex()}?span={spanHex}", rows[1].QuerySelector("a.span-link")!.GetAttribute("href"));
        Assert.Equal($"/trace/{b.TraceId.ToHex()}/span/{spanHex}", rows[1].GetAttribute("data-fragment"));
        Assert.Contains("payments post /pay", rows[1].GetAttribute("data-text"));

        // Self-time table and raw JSON link.
        Assert.Equal(4, cut.FindAll("#self-time tbody tr").Count);
        Assert.Equal($"/api/traces/{b.TraceId.ToHex()}", cut.Find("#raw-json").GetAttribute("href"));
        Assert.True(cut.Find("#details").HasAttribute("hidden"));
    }

    [Fact]
    public void Selected_span_shows_its_details()
    {
        var traceId = TestData.NewTraceId();
        var linked = TestData.NewTraceId();
        var spanId = TestData.NewSpanId();
        var span = TestData.CreateSpan(traceId, spanId, name: "GET /x", kind: Span.Types.SpanKind.Client, durationNanos: 10_000_000,
            status: Status.Types.StatusCode.Error,
            attributes: [TestData.Attr("http.status_code", 503L), TestData.Attr("retry", true), TestData.Attr("ratio", 0.5), TestData.Attr("peer", "db-1")],
            events: [new Span.Types.Event { Name = "exception", TimeUnixNano = (ulong)(TestData.BaseTimeUnixNano + 2_000_000), Attributes = { TestData.Attr("exception.type", "Timeout") } }],
            links: [new Span.Types.Link { TraceId = Google.Protobuf.ByteString.CopyFrom(linked.ToBytes()), SpanId = Google.Protobuf.ByteString.CopyFrom(TestData.NewSpanId().ToBytes()) }]);
        span.Status.Message = "upstream timed out";
        Reader.Add(TestData.ToSpanData(span, TestData.CreateResource("api", TestData.Attr("host.name", "box")), TestData.CreateScope("my.lib", "2.1")));

        var cut = RenderTrace(traceId.ToHex(), "?span=" + spanId.ToHex());
        Assert.False(cut.Find("#details").HasAttribute("hidden"));
        Assert.Equal("client", cut.Find("#detail-kind").TextContent);
        Assert.Equal("error: upstream timed out", cut.Find("#detail-status").TextContent);
        var attrs = cut.FindAll("#detail-attributes tr").Select(r => r.TextContent.Trim()).ToList();
        Assert.Contains("http.status_code503 int", attrs);
        Assert.Contains("retrytrue bool", attrs);
        Assert.Contains("ratio0.5 double", attrs);
        Assert.Contains("peerdb-1 string", attrs);
        Assert.Contains("exception +2ms from span start", cut.Find("#detail-events").TextContent);
        Assert.Contains("Timeout", cut.Find("#detail-events").TextContent);
        Assert.Equal($"/trace/{linked.ToHex()}", cut.Find("#detail-links a").GetAttribute("href"));
        Assert.Contains("host.name", cut.Find("#detail-resource").TextContent);
        Assert.Contains("my.lib", cut.Find("#detail-scope").TextContent);
        Assert.Contains("2.1", cut.Find("#detail-scope").TextContent);
        Assert.Contains("selected", cut.Find("#timeline-body .tl-row").ClassList);
    }

    [Fact]
    public void Unknown_and_invalid_ids()
    {
        Assert.NotNull(RenderTrace(new TraceId(1, 2).ToHex()).Find("#not-found"));
        Assert.NotNull(RenderTrace("not-hex").Find("#invalid-id"));
        Assert.NotNull(RenderTrace(new string('0', 32)).Find("#invalid-id"));
        Assert.NotNull(RenderTrace(new string('a', 33)).Find("#invalid-id"));
    }

    [Fact]
    public void Backend_error()
    {
        Reader.FailWith = new InvalidOperationException("database is locked");
        Assert.Contains("database is locked", RenderTrace(new TraceId(1, 2).ToHex()).Find("#backend-error").TextContent);
    }

    [Fact]
    public void Ten_thousand_spans_render_every_row()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 20_000);
        var ids = new List<SpanId> { root };
        for (var i = 1; i < 10_000; i++)
        {
            ids.Add(b.Span("op" + i, i, i + 3, ids[(i - 1) / 4]));
        }

        Reader.Add([.. b.Spans]);
        var cut = RenderTrace(b.TraceId.ToHex());
        Assert.Equal(10_000, cut.FindAll("#timeline-body .tl-row").Count);
        Assert.Equal("10000", cut.Find("#span-count").TextContent);
    }
}
