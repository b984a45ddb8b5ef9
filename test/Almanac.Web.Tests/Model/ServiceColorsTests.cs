using Almanac.Web.Model;

namespace Almanac.Web.Tests.Model;

public class ServiceColorsTests
{
    [Fact]
    public void Services_of_one_trace_never_share_a_colour_even_beyond_the_palette()
    {
        var services = Enumerable.Range(0, 45).Select(i => "svc-" + i).ToList();
        var colors = ServiceColors.ForTrace(services);
        Assert.Equal(45, colors.Count);
        Assert.Equal(45, colors.Values.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(colors.Values, c => Assert.Matches("^#[0-9a-f]{6}$", c));
    }

    [Fact]
    public void The_assignment_depends_on_the_set_of_services_not_their_order()
    {
        var a = ServiceColors.ForTrace(["db", "web", "api", "web", "cache", "queue", "auth"]);
        var b = ServiceColors.ForTrace(["auth", "queue", "cache", "api", "web", "db"]);
        Assert.Equal(a.OrderBy(kv => kv.Key), b.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void A_service_keeps_its_preferred_colour_when_nothing_in_the_trace_takes_it_first()
    {
        Assert.Equal(ServiceColors.For("checkout"), ServiceColors.ForTrace(["checkout"])["checkout"]);

        // Two names whose preferred colours collide: the first in sorted order keeps it, the other moves on.
        var names = Enumerable.Range(0, 200).Select(i => "s" + i).ToList();
        var (x, y) = names.SelectMany(p => names.Where(q => string.CompareOrdinal(p, q) < 0 && ServiceColors.For(p) == ServiceColors.For(q)).Select(q => (p, q))).First();
        var colors = ServiceColors.ForTrace([y, x]);
        Assert.Equal(ServiceColors.For(x), colors[x]);
        Assert.NotEqual(colors[x], colors[y]);
    }
}
