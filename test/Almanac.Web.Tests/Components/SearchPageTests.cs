using Almanac.Testing;
using Almanac.Web.Components.Pages;
using Almanac.Web.Model;
using Almanac.Web.Tests.Model;
using Bunit;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Components;

public class SearchPageTests : ComponentTestBase
{
    private TraceBuilder AddTrace(string service, string name, long durationMs, int errors = 0, long startMs = 0)
    {
        var b = new TraceBuilder();
        var root = b.Span(name, startMs, startMs + durationMs, service: service);
        b.Span("db query", startMs + 1, startMs + 2, root, service: "db", error: errors > 0);
        Reader.Add([.. b.Spans]);
        return b;
    }

    [Fact]
    public void No_data_at_all_says_how_to_send_some()
    {
        NavigateTo("/search");
        var cut = Render<Search>();
        Assert.Contains("No traces yet", cut.Find("#no-data").TextContent);
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317", cut.Markup);
    }

    [Fact]
    public void Without_a_query_it_lists_services_and_waits()
    {
        AddTrace("checkout", "GET /cart", 10);
        NavigateTo("/search");
        var cut = Render<Search>();
        Assert.NotNull(cut.Find("#start-hint"));
        Assert.Equal(["", "checkout", "db"], cut.FindAll("#f-service option").Select(o => o.GetAttribute("value")));
        Assert.Null(Reader.LastQuery);
    }

    [Fact]
    public void Known_attribute_keys_of_the_service_are_offered()
    {
        var b = new TraceBuilder();
        b.Span("GET /", 0, 10, service: "checkout");
        var spans = b.Spans.ToList();
        spans[0].Span.Attributes.Add(TestData.Attr("http.route", "/"));
        spans[0].Span.Attributes.Add(TestData.Attr("user.id", "u1"));
        Reader.Add([.. spans]);
        NavigateTo("/search?service=checkout");
        var cut = Render<Search>();
        Assert.Equal(["http.route", "user.id"], cut.FindAll("#attribute-keys button.key").Select(k => k.GetAttribute("data-key")));
        Assert.Contains("string, span", cut.Find("#attribute-keys li").TextContent);
    }

    [Fact]
    public void Form_is_filled_from_the_url()
    {
        AddTrace("checkout", "GET /cart", 10);
        NavigateTo("/search?service=checkout&operation=GET%20%2Fcart&spanKind=server&tags=a%3D1%0Ab%3D2&lookback=2d&minDuration=5ms&maxDuration=1s&limit=33&sort=longest");
        var cut = Render<Search>();
        Assert.Equal("checkout", cut.Find("#f-service option[selected]").GetAttribute("value"));
        Assert.Equal("GET /cart", cut.Find("#f-operation option[selected]").GetAttribute("value"));
        Assert.Contains("(server)", cut.Find("#f-operation option[selected]").TextContent);
        Assert.Equal("server", cut.Find("#f-kind option[selected]").GetAttribute("value"));
        Assert.Equal("a=1\nb=2", cut.Find("#f-tags").TextContent);
        Assert.Equal("2d", cut.Find("#f-lookback option[selected]").GetAttribute("value"));
        Assert.Equal("5ms", cut.Find("#f-min").GetAttribute("value"));
        Assert.Equal("1s", cut.Find("#f-max").GetAttribute("value"));
        Assert.Equal("33", cut.Find("#f-limit").GetAttribute("value"));
        Assert.Equal("longest", cut.Find("#sort a.active").GetAttribute("data-sort"));
        Assert.Equal("/search?service=checkout&operation=GET%20%2Fcart&spanKind=server&tags=a%3D1%0Ab%3D2&lookback=2d&minDuration=5ms&maxDuration=1s&limit=33&sort=shortest",
            cut.Find("#sort a[data-sort='shortest']").GetAttribute("href"));
        Assert.DoesNotContain("sort=", cut.Find("#sort a[data-sort='recent']").GetAttribute("href"));
        Assert.Equal("/search", cut.Find("#search-form").GetAttribute("action"));
        Assert.Equal("get", cut.Find("#search-form").GetAttribute("method"));

        // What the form submits is what the URL said: the query round-trips.
        var q = Reader.LastQuery!;
        Assert.Equal("checkout", q.ServiceName);
        Assert.Equal("GET /cart", q.OperationName);
        Assert.Equal(Span.Types.SpanKind.Server, q.SpanKind);
        Assert.Equal(33, q.Limit);
        Assert.Equal(5_000_000, q.DurationMinNanos);
    }

    [Fact]
    public void Results_show_name_counts_services_and_relative_duration()
    {
        var fast = AddTrace("checkout", "GET /fast", 10, startMs: 100);
        var slow = AddTrace("checkout", "GET /slow", 40, errors: 1, startMs: 0);
        NavigateTo("/search?service=checkout");
        var cut = Render<Search>();

        Assert.Equal("2 traces", cut.Find("#result-count").TextContent);
        var results = cut.FindAll("#results .result");
        Assert.Equal(2, results.Count);
        Assert.Equal(TraceLinks.Href(fast.TraceId), results[0].GetAttribute("href")); // most recent first
        Assert.Contains("checkout: GET /fast", results[0].QuerySelector(".name")!.TextContent);
        Assert.Equal("2 spans", results[0].QuerySelector(".span-count")!.TextContent);
        Assert.Null(results[0].QuerySelector(".error-count"));
        Assert.Equal("1 error", results[1].QuerySelector(".error-count")!.TextContent);
        Assert.Contains("has-error", results[1].ClassList);
        Assert.Equal(["checkout1", "db1"], results[1].QuerySelectorAll(".chip.service").Select(c => c.TextContent.Replace(" ", "")));
        Assert.Contains($"background: {ServiceColors.For("db")}", results[1].QuerySelectorAll(".chip.service .dot")[1].GetAttribute("style"));
        Assert.Equal("width: 100%", results[1].QuerySelector(".durbar span")!.GetAttribute("style"));
        Assert.Equal("width: 25%", results[0].QuerySelector(".durbar span")!.GetAttribute("style"));
        Assert.Equal("10 minutes ago", results[1].QuerySelector(".age")!.TextContent);

        // The scatter plot links every point to its trace; the error trace is marked.
        var points = cut.FindAll("#scatter a");
        Assert.Equal(2, points.Count);
        Assert.Single(cut.FindAll("#scatter circle.err"));

        // Axis labels: durations (0, half, max) and trace start times at both ends and the middle.
        Assert.Equal(["20ms", "40ms", "0"], cut.FindAll("#scatter text.y-tick").Select(t => t.TextContent));
        Assert.Equal(3, cut.FindAll("#scatter text.x-tick").Count);
        Assert.Contains("trace start (UTC)", cut.Find("#scatter").TextContent);
        Assert.Contains("duration", cut.Find("#scatter .axis-title").TextContent);
        Assert.StartsWith("/api/traces?service=checkout&", cut.Find("#download-json").GetAttribute("href"));
    }

    [Theory]
    [InlineData("longest", "GET /slow")]
    [InlineData("shortest", "GET /fast")]
    [InlineData("recent", "GET /fast")]
    [InlineData("most", "GET /big")]
    [InlineData("least", "GET /fast")]
    public void Sorting(string sort, string first)
    {
        AddTrace("checkout", "GET /fast", 10, startMs: 100);
        AddTrace("checkout", "GET /slow", 40, startMs: 0);
        var big = new TraceBuilder();
        var root = big.Span("GET /big", 50, 70, service: "checkout");
        for (var i = 0; i < 5; i++)
        {
            big.Span("child", 51, 52, root, service: "checkout");
        }

        Reader.Add([.. big.Spans]);
        NavigateTo($"/search?service=checkout&sort={sort}");
        var cut = Render<Search>();
        Assert.Contains(first, cut.FindAll("#results .result .name")[0].TextContent);
    }

    [Fact]
    public void No_matches_and_bad_input_and_backend_errors_are_explained()
    {
        AddTrace("checkout", "GET /cart", 10);
        NavigateTo("/search?service=nobody");
        Assert.NotNull(Render<Search>().Find("#no-results"));

        NavigateTo("/search?service=checkout&minDuration=soon");
        Assert.Contains("Min duration", Render<Search>().Find("#form-error").TextContent);

        Reader.FailWith = new IOException("disk on fire");
        NavigateTo("/search?service=checkout");
        Assert.Contains("disk on fire", Render<Search>().Find("#backend-error").TextContent);
    }
}
