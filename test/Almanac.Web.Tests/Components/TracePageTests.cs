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

        // The rows are drawn by app.js from the model the timeline points at.
        Assert.Equal($"/trace/{b.TraceId.ToHex()}/model", cut.Find("#timeline-body").GetAttribute("data-model"));
        Assert.Equal("4", cut.Find("#timeline-body").GetAttribute("data-rows"));
        Assert.Equal(["0ns", "25ms", "50ms", "75ms", "100ms"], cut.FindAll("#ticks span").Select(s => s.TextContent));

        using var model = System.Text.Json.JsonDocument.Parse(TraceModel.ToUtf8Json(TraceView.Build(b.Build())));
        var m = model.RootElement;
        Assert.Equal(b.TraceId.ToHex(), m.GetProperty("traceId").GetString());
        Assert.Equal(100 * TraceBuilder.Ms, m.GetProperty("duration").GetInt64());
        Assert.Equal(TestData.BaseTimeUnixNano.ToString(System.Globalization.CultureInfo.InvariantCulture), m.GetProperty("start").GetString());
        Assert.Equal(["db", "payments", "web"], m.GetProperty("services").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(ServiceColors.For("payments"), m.GetProperty("colors")[1].GetString());
        var rows = m.GetProperty("spans").EnumerateArray().ToList();
        Assert.Equal(["GET /checkout", "POST /pay", "INSERT", "render"], rows.Select(r => r[4].GetString()));
        Assert.Equal([0, 1, 2, 1], rows.Select(r => r[2].GetInt32()));     // depth
        Assert.Equal([-1, 0, 1, 0], rows.Select(r => r[1].GetInt32()));    // parent row
        Assert.Equal([2, 1, 0, 2], rows.Select(r => r[3].GetInt32()));     // service index
        Assert.Equal(10 * TraceBuilder.Ms, rows[1][5].GetInt64());          // start offset
        Assert.Equal(50 * TraceBuilder.Ms, rows[1][6].GetInt64());          // duration
        Assert.Equal([0, TraceModel.FlagError, 0, 0], rows.Select(r => r[7].GetInt32()));
        Assert.StartsWith("payments post /pay ", rows[1][8].GetString());
        Assert.Matches("^[0-9a-f]{16}$", rows[1][0].GetString());

        // Critical path segments: root, pay, insert, render are all on it here.
        Assert.All(rows, r => Assert.True(r[9].GetArrayLength() >= 2));

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
        Assert.Equal(spanId.ToHex(), cut.Find("#timeline-body").GetAttribute("data-selected"));
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
    public void Ten_thousand_spans_are_all_in_the_model()
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
        Assert.Equal("10000", cut.Find("#span-count").TextContent);
        Assert.Equal("10000", cut.Find("#timeline-body").GetAttribute("data-rows"));
        Assert.True(cut.Markup.Length < 100_000, $"the page itself stays small ({cut.Markup.Length} chars): rows come from the model");

        // 10,000 operations: the self-time table lists the top 200 and says how many more there are.
        Assert.Equal(TracePage.SelfTimeRows, cut.FindAll("#self-time tbody tr").Count);
        Assert.StartsWith($"{10_000 - TracePage.SelfTimeRows} more operations", cut.Find("#self-time-rest").TextContent.Trim());

        using var model = System.Text.Json.JsonDocument.Parse(TraceModel.ToUtf8Json(TraceView.Build(b.Build())));
        Assert.Equal(10_000, model.RootElement.GetProperty("spans").GetArrayLength());
        Assert.Equal(10_000, model.RootElement.GetProperty("spanCount").GetInt32());
    }
}
