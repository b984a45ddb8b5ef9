using Almanac.Web.Model;

namespace Almanac.Web.Tests.Model;

public class CriticalPathTests
{
    private static List<string> Path(TraceBuilder b)
    {
        var view = TraceView.Build(b.Build());
        return [.. CriticalPath.Compute(view.RootSpan!).Select(s => $"{s.Node.Span.Span.Name}:{(s.Start - b.Base) / TraceBuilder.Ms}-{(s.End - b.Base) / TraceBuilder.Ms}")];
    }

    [Fact]
    public void Sequential_children_alternate_with_the_parent()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        b.Span("a", 10, 40, root);
        b.Span("b", 50, 90, root);
        Assert.Equal(["root:0-10", "a:10-40", "root:40-50", "b:50-90", "root:90-100"], Path(b));
    }

    [Fact]
    public void Overlapping_children_only_the_last_finishing_one_counts()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        b.Span("a", 10, 80, root);
        b.Span("b", 20, 60, root); // finishes after a starts: hidden behind a
        Assert.Equal(["root:0-10", "a:10-80", "root:80-100"], Path(b));
    }

    [Fact]
    public void Child_that_ends_before_the_next_ones_start_is_on_the_path()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        b.Span("a", 5, 30, root);
        b.Span("b", 20, 60, root);
        b.Span("c", 70, 95, root);
        // From the end: c (70-95); then the child ending before 70 is b (ends 60); before b's start (20): none
        // ends before 20 (a ends 30), so the root owns 0-20.
        Assert.Equal(["root:0-20", "b:20-60", "root:60-70", "c:70-95", "root:95-100"], Path(b));
    }

    [Fact]
    public void Descends_into_grandchildren()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        var a = b.Span("a", 0, 100, root);
        b.Span("a1", 20, 70, a);
        Assert.Equal(["a:0-20", "a1:20-70", "a:70-100"], Path(b));
    }

    [Fact]
    public void Children_overflowing_their_parent_are_clipped()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        b.Span("late", 50, 150, root);
        b.Span("outside", 120, 130, root); // wholly after the parent: not on its path
        Assert.Equal(["root:0-50", "late:50-100"], Path(b));
    }

    [Fact]
    public void A_single_span_is_its_own_path()
    {
        var b = new TraceBuilder();
        b.Span("root", 0, 10);
        Assert.Equal(["root:0-10"], Path(b));
    }

    [Fact]
    public void Sections_cover_the_root_without_gaps_or_overlap()
    {
        var random = new Random(42);
        for (var round = 0; round < 50; round++)
        {
            var b = new TraceBuilder();
            var ids = new List<(Almanac.Core.Model.SpanId Id, long S, long E)> { };
            var root = b.Span("root", 0, 1000);
            ids.Add((root, 0, 1000));
            for (var i = 0; i < 40; i++)
            {
                var (pid, ps, pe) = ids[random.Next(ids.Count)];
                var s = random.Next((int)ps - 20, (int)pe);
                var e = random.Next(s, (int)pe + 20);
                ids.Add((b.Span("s" + i, s, e, pid), s, e));
            }

            var view = TraceView.Build(b.Build());
            var sections = CriticalPath.Compute(view.RootSpan!);
            Assert.Equal(b.Base, sections[0].Start);
            Assert.Equal(b.Base + (1000 * TraceBuilder.Ms), sections[^1].End);
            for (var i = 1; i < sections.Count; i++)
            {
                Assert.Equal(sections[i - 1].End, sections[i].Start);
            }
        }
    }

    [Fact]
    public void Trace_view_marks_critical_sections_on_nodes()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        b.Span("a", 10, 80, root);
        b.Span("b", 20, 60, root);
        var view = TraceView.Build(b.Build());
        Assert.Equal(3, view.Rows.Single(r => r.Span.Span.Name == "root").CriticalSections.Count + 1); // 0-10 and 80-100
        Assert.Single(view.Rows.Single(r => r.Span.Span.Name == "a").CriticalSections);
        Assert.Empty(view.Rows.Single(r => r.Span.Span.Name == "b").CriticalSections);
    }
}
