using Almanac.Core.Model;
using Almanac.Testing;
using Almanac.Web.Model;

namespace Almanac.Web.Tests.Model;

public class TraceViewTests
{
    [Fact]
    public void Rows_are_depth_first_by_start_time_with_depths()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        var second = b.Span("second", 50, 90, root);
        var first = b.Span("first", 10, 40, root);
        b.Span("first.child", 15, 20, first);
        b.Span("second.child", 60, 70, second);
        var view = TraceView.Build(b.Build());
        Assert.Equal(["root", "first", "first.child", "second", "second.child"], view.Rows.Select(r => r.Span.Span.Name));
        Assert.Equal([0, 1, 2, 1, 2], view.Rows.Select(r => r.Depth));
        Assert.Equal(4, view.Rows[0].DescendantCount);
        Assert.Equal(3, view.MaxDepth);
        Assert.Equal(100 * TraceBuilder.Ms, view.Duration);
    }

    [Fact]
    public void Orphans_and_duplicates_are_kept_as_extra_roots()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100);
        b.Span("child", 10, 20, root);
        b.Span("orphan", 30, 40, new SpanId(0xdead));
        var view = TraceView.Build(b.Build());
        Assert.Equal(3, view.Rows.Count);
        Assert.Equal("root", view.RootSpan!.Span.Span.Name);
        var orphan = view.Rows.Single(r => r.Span.Span.Name == "orphan");
        Assert.True(orphan.ParentMissing);
        Assert.Equal(0, orphan.Depth);
    }

    [Fact]
    public void Parent_cycles_never_drop_spans()
    {
        var traceId = TestData.NewTraceId();
        var a = new SpanId(0xa);
        var c = new SpanId(0xc);
        var spans = new[]
        {
            TestData.ToSpanData(TestData.CreateSpan(traceId, a, c, "a")),
            TestData.ToSpanData(TestData.CreateSpan(traceId, c, a, "c")),
            TestData.ToSpanData(TestData.CreateSpan(traceId, new SpanId(0xd), a, "d")),
        };
        var view = TraceView.Build(new TraceData(traceId, spans));
        Assert.Equal(3, view.Rows.Count);
        Assert.Equal(3, view.Rows.Select(r => r.Span.Span.Name).Distinct().Count());
    }

    [Fact]
    public void Self_time_excludes_children_and_groups_by_service_and_operation()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100, service: "web");
        b.Span("db", 10, 40, root, service: "db");
        b.Span("db", 30, 60, root, service: "db"); // overlaps the first: the root's covered time is 10-60
        var view = TraceView.Build(b.Build());
        var web = view.SelfTimes.Single(r => r.Service == "web");
        Assert.Equal(50 * TraceBuilder.Ms, web.SelfNanos);
        var db = view.SelfTimes.Single(r => r.Service == "db");
        Assert.Equal(2, db.Count);
        Assert.Equal(60 * TraceBuilder.Ms, db.SelfNanos);
        Assert.Equal(web.SelfNanos + db.SelfNanos, view.SelfTimes.Sum(r => r.SelfNanos));
    }

    [Fact]
    public void Services_and_errors()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100, service: "b-svc");
        b.Span("x", 10, 20, root, service: "a-svc", error: true);
        var view = TraceView.Build(b.Build());
        Assert.Equal(["a-svc", "b-svc"], view.Services);
        Assert.Equal(1, view.ErrorCount);
    }

    [Fact]
    public void Ten_thousand_spans_build_quickly()
    {
        var b = new TraceBuilder();
        var root = b.Span("root", 0, 100_000);
        var parents = new List<SpanId> { root };
        for (var i = 1; i < 10_000; i++)
        {
            parents.Add(b.Span("op" + (i % 7), i, i + 5, parents[(i - 1) / 3]));
        }

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var view = TraceView.Build(b.Build());
        Assert.Equal(10_000, view.Rows.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), watch.Elapsed.ToString());
    }
}
