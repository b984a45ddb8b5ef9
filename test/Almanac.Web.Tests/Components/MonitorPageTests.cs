using System.Text.Json;
using Almanac.Web.Components.Pages;
using Almanac.Web.Tests.Model;
using Bunit;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Components;

public class MonitorPageTests : ComponentTestBase
{
    /// <summary>A shop service: GET /cart three times (one failed; 10, 20, 30 ms), POST /pay once (100 ms), one client call.</summary>
    private void AddShop()
    {
        var b = new TraceBuilder();
        b.Span("GET /cart", 100, 110, service: "shop");
        b.Span("GET /cart", 1_000, 1_020, service: "shop", error: true);
        b.Span("GET /cart", 2_000, 2_030, service: "shop");
        b.Span("POST /pay", 3_000, 3_100, service: "shop");
        b.Span("SELECT", 3_010, 3_015, service: "shop", kind: Span.Types.SpanKind.Client);
        b.Span("GET /", 0, 5, service: "another");
        Reader.Add([.. b.Spans]);
    }

    private IRenderedComponent<MonitorPage> Open(string url)
    {
        NavigateTo(url);
        return Render<MonitorPage>();
    }

    private static string[] Operations(IRenderedComponent<MonitorPage> cut) => [.. cut.FindAll("#operations tbody td.name").Select(td => td.TextContent)];

    [Fact]
    public void No_data_at_all_says_where_the_numbers_come_from()
    {
        var cut = Open("/monitor");
        Assert.Contains("No traces yet", cut.Find("#no-data").TextContent);
    }

    [Fact]
    public void Operations_table_lists_entry_operations_with_rate_errors_and_latencies()
    {
        AddShop();
        var cut = Open("/monitor?service=shop");

        // Server and consumer spans by default: the client call is not an operation the service served.
        Assert.Equal(["GET /cart", "POST /pay"], Operations(cut));
        var cart = cut.FindAll("#operations tbody tr")[0];
        Assert.Equal("33.333%", cart.QuerySelector("[data-col=errors]")!.TextContent);
        Assert.Equal("20ms", cart.QuerySelector("[data-col=p50]")!.TextContent);
        Assert.Equal("3", cart.QuerySelector("[data-col=calls]")!.TextContent);
        Assert.Equal("0.0008/s", cart.QuerySelector("[data-col=rate]")!.TextContent);
        Assert.Equal("/search?service=shop&operation=GET%20%2Fcart&lookback=1h", cart.QuerySelector("td.name a")!.GetAttribute("href"));
        Assert.Contains("4 calls", cut.Find("#monitor-summary").TextContent);
    }

    [Fact]
    public void Sorting_by_a_column_is_a_link_that_keeps_the_query()
    {
        AddShop();
        var cut = Open("/monitor?service=shop&lookback=2h&sort=p95");

        Assert.Equal(["POST /pay", "GET /cart"], Operations(cut));
        Assert.Equal("p95", cut.Find("#operations th a.active").GetAttribute("data-sort"));
        Assert.Equal("/monitor?service=shop&lookback=2h&sort=name", cut.Find("#operations th a[data-sort=name]").GetAttribute("href"));
    }

    [Fact]
    public void Charts_get_one_value_per_step_over_the_lookback()
    {
        AddShop();
        var cut = Open("/monitor?service=shop&lookback=1h&step=1m");

        using var data = JsonDocument.Parse(cut.Find("#monitor-charts").GetAttribute("data-series")!);
        var root = data.RootElement;
        Assert.Equal(60_000, root.GetProperty("stepMs").GetInt64());
        Assert.Equal(60, root.GetProperty("times").GetArrayLength());
        Assert.Equal(60, root.GetProperty("p99").GetArrayLength());
        // All four entry spans started in the same minute: 4 calls in 60 s, one failed.
        var rates = root.GetProperty("rate").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        Assert.Equal(4 / 60.0, rates.Max(), 5);
        Assert.Equal(25, root.GetProperty("errorPercent").EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Single().GetDouble());
    }

    [Fact]
    public void Span_kind_and_service_come_from_the_url_and_default_to_the_first_service()
    {
        AddShop();
        Assert.Equal(["SELECT"], Operations(Open("/monitor?service=shop&spanKind=client")));
        Assert.Equal(["GET /cart", "POST /pay", "SELECT"], Operations(Open("/monitor?service=shop&spanKind=all")));

        var first = Open("/monitor");
        Assert.Equal("another", first.Find("#m-service option[selected]").GetAttribute("value"));
        Assert.Equal(["GET /"], Operations(first));
    }

    [Theory]
    [InlineData("/monitor?service=shop&lookback=forever")]
    [InlineData("/monitor?service=shop&step=1ms")]
    [InlineData("/monitor?service=shop&spanKind=sideways")]
    [InlineData("/monitor?service=shop&lookback=7d&step=5s")]
    [InlineData("/monitor?service=shop&lookback=5m&step=1h")]
    public void A_bad_parameter_is_explained(string url)
    {
        AddShop();
        var cut = Open(url);
        Assert.False(string.IsNullOrWhiteSpace(cut.Find("#form-error").TextContent));
    }

    [Fact]
    public void Hostile_operation_names_stay_text()
    {
        var b = new TraceBuilder();
        b.Span("<img src=x onerror=alert(1)>", 0, 10, service: "<script>alert(1)</script>");
        Reader.Add([.. b.Spans]);

        var cut = Open("/monitor?service=" + Uri.EscapeDataString("<script>alert(1)</script>"));

        Assert.Equal(["<img src=x onerror=alert(1)>"], Operations(cut));
        AssertNoInjectedMarkup(cut.Nodes);
    }

    [Fact]
    public void A_storage_failure_is_shown()
    {
        AddShop();
        Reader.FailWith = new InvalidOperationException("disk on fire");
        var cut = Open("/monitor?service=shop");
        Assert.Contains("disk on fire", cut.Find("#backend-error").TextContent);
    }
}
