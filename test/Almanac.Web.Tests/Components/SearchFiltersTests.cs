using Almanac.Testing;
using Almanac.Web.Components.Shared;
using Almanac.Web.Tests.Model;
using Bunit;
using Microsoft.AspNetCore.Components;

namespace Almanac.Web.Tests.Components;

/// <summary>The search form's interactive filters, rendered as the circuit renders them.</summary>
public class SearchFiltersTests : ComponentTestBase
{
    public SearchFiltersTests()
    {
        Renderer.SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        foreach (var route in new[] { "/cart", "/cart", "/pay" })
        {
            var b = new TraceBuilder();
            var root = b.Span("GET " + route, 0, 10, service: "checkout");
            b.Span("SELECT", 1, 2, root, service: "db");
            var spans = b.Spans.ToList();
            spans[0].Span.Attributes.Add(TestData.Attr("http.route", route));
            Reader.Add([.. spans]);
        }
    }

    [Fact]
    public void Lists_services_with_exact_trace_counts_and_says_it_is_interactive()
    {
        var cut = Render<SearchFilters>(p => p.Add(x => x.Lookback, "1h"));
        Assert.Equal("true", cut.Find("#search-filters").GetAttribute("data-interactive"));
        Assert.Equal(["All services", "checkout  (3 traces)", "db  (3 traces)"], cut.FindAll("#f-service option").Select(o => o.TextContent));

        // A lookback that ends before the data: counted again, zero.
        cut.Find("#f-lookback").Change("5m");
        Assert.Equal("checkout  (0 traces)", cut.Find("#f-service option[value='checkout']").TextContent);
        cut.Find("#f-lookback").Change("custom");
        Assert.False(cut.Find("#custom-range").HasAttribute("hidden"));
    }

    [Fact]
    public void Picking_a_service_reloads_its_operations_and_keys()
    {
        var cut = Render<SearchFilters>(p => p.Add(x => x.Service, "db"));
        Assert.Equal(["", "SELECT"], cut.FindAll("#f-operation option").Select(o => o.GetAttribute("value")));
        Assert.Empty(cut.FindAll("#attribute-keys button.key[data-key='http.route']"));

        cut.Find("#f-service").Change("checkout");
        Assert.Equal(["", "GET /cart", "GET /pay"], cut.FindAll("#f-operation option").Select(o => o.GetAttribute("value")));
        Assert.Contains("(server)", cut.Find("#f-operation option[value='GET /cart']").TextContent);
        Assert.Single(cut.FindAll("#attribute-keys button.key[data-key='http.route']"));
    }

    [Fact]
    public void A_known_key_adds_a_filter_line_and_offers_its_values_most_frequent_first()
    {
        var cut = Render<SearchFilters>(p => p.Add(x => x.Service, "checkout").Add(x => x.Tags, "error=true"));
        Assert.True(cut.Find("#attribute-values").HasAttribute("hidden"));

        cut.Find("#attribute-keys button.key[data-key='http.route']").Click();
        Assert.Equal("error=true\nhttp.route=", cut.Find("#f-tags").GetAttribute("value"));
        Assert.Equal(["/cart", "/pay"], cut.FindAll("#attribute-values button.value").Select(b => b.TextContent));
        Assert.Contains("×2", cut.Find("#attribute-values li").TextContent);

        cut.FindAll("#attribute-values button.value")[1].Click();
        Assert.Equal("error=true\nhttp.route=/pay", cut.Find("#f-tags").GetAttribute("value"));
    }

    [Fact]
    public void Storage_errors_leave_the_form_usable_and_say_so()
    {
        Reader.FailWith = new InvalidOperationException("disk on fire");
        var cut = Render<SearchFilters>(p => p.Add(x => x.Service, "checkout"));
        Assert.Contains("disk on fire", cut.Find("#filters-error").TextContent);
        Assert.Equal("checkout", cut.Find("#f-service option[selected]").GetAttribute("value"));
    }
}
