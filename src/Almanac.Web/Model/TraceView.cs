using Almanac.Core.Model;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Model;

/// <summary>One row of the timeline: a span at its place in the tree (depth-first order).</summary>
public sealed class SpanNode
{
    internal SpanNode(SpanData span, int index)
    {
        Span = span;
        Index = index;
    }

    public SpanData Span { get; }

    /// <summary>Position in <see cref="TraceView.Rows"/>.</summary>
    public int Index { get; internal set; }

    public int Depth { get; internal set; }

    public SpanNode? Parent { get; internal set; }

    public List<SpanNode> Children { get; } = [];

    /// <summary>The span names a parent that is not in the trace (not yet arrived, or lost upstream).</summary>
    public bool ParentMissing { get; internal set; }

    /// <summary>Number of rows below this one in its subtree.</summary>
    public int DescendantCount { get; internal set; }

    public long Start => Span.StartTimeUnixNano;

    public long End => Math.Max(Span.StartTimeUnixNano, Span.EndTimeUnixNano);

    public long Duration => End - Start;

    /// <summary>Parts of this span on the critical path, as absolute unix-nano ranges.</summary>
    public List<(long Start, long End)> CriticalSections { get; } = [];

    /// <summary>Duration not covered by any child span (children clipped to this span).</summary>
    public long SelfTime { get; internal set; }
}

/// <summary>Time spent per service and operation, excluding time covered by child spans.</summary>
public sealed record SelfTimeRow(string Service, string Operation, int Count, long TotalNanos, long SelfNanos, double SelfFraction);

/// <summary>
/// A trace laid out for the UI: spans as a tree (orphans become extra roots, so no span is ever dropped), in
/// depth-first order by start time, with the critical path and self times computed.
/// </summary>
public sealed class TraceView
{
    private TraceView(TraceId traceId, List<SpanNode> rows, List<SpanNode> roots)
    {
        TraceId = traceId;
        Rows = rows;
        Roots = roots;
    }

    public TraceId TraceId { get; }

    public IReadOnlyList<SpanNode> Rows { get; }

    public IReadOnlyList<SpanNode> Roots { get; }

    public long Start { get; private set; }

    public long End { get; private set; }

    public long Duration => End - Start;

    public int MaxDepth { get; private set; }

    public IReadOnlyList<string> Services { get; private set; } = [];

    /// <summary>Each service's colour in this trace: distinct within it (<see cref="ServiceColors.ForTrace"/>).</summary>
    public IReadOnlyDictionary<string, string> Colors { get; private set; } = new Dictionary<string, string>();

    public string ColorOf(string service) => Colors.TryGetValue(service, out var c) ? c : ServiceColors.For(service);

    public int ErrorCount { get; private set; }

    /// <summary>The span the trace is named after: the earliest root without a missing parent, else the earliest span.</summary>
    public SpanNode? RootSpan => Roots.FirstOrDefault(r => !r.ParentMissing) ?? (Roots.Count > 0 ? Roots[0] : null);

    public IReadOnlyList<SelfTimeRow> SelfTimes { get; private set; } = [];

    public static TraceView Build(TraceData trace)
    {
        var nodes = new List<SpanNode>(trace.Spans.Count);
        var byId = new Dictionary<SpanId, SpanNode>(trace.Spans.Count);
        foreach (var span in trace.Spans)
        {
            var node = new SpanNode(span, nodes.Count);
            nodes.Add(node);
            byId.TryAdd(span.SpanId, node); // a duplicate span id keeps its own row, as a root
        }

        var roots = new List<SpanNode>();
        foreach (var node in nodes)
        {
            var parentId = node.Span.ParentSpanId;
            if (!parentId.IsEmpty && byId.TryGetValue(parentId, out var parent) && !ReferenceEquals(parent, node)
                && !WouldCycle(node, parent))
            {
                node.Parent = parent;
                parent.Children.Add(node);
            }
            else
            {
                node.ParentMissing = !parentId.IsEmpty;
                roots.Add(node);
            }
        }

        static int Compare(SpanNode a, SpanNode b)
        {
            var c = a.Start.CompareTo(b.Start);
            return c != 0 ? c : string.CompareOrdinal(a.Span.Span.Name, b.Span.Span.Name);
        }

        roots.Sort((a, b) =>
        {
            // The true root (no parent id) first, then orphans by start time.
            if (a.ParentMissing != b.ParentMissing)
            {
                return a.ParentMissing ? 1 : -1;
            }

            return Compare(a, b);
        });

        var rows = new List<SpanNode>(nodes.Count);
        var stack = new Stack<(SpanNode Node, int Depth)>();
        for (var r = roots.Count - 1; r >= 0; r--)
        {
            stack.Push((roots[r], 0));
        }

        while (stack.Count > 0)
        {
            var (node, depth) = stack.Pop();
            node.Depth = depth;
            node.Index = rows.Count;
            rows.Add(node);
            node.Children.Sort(Compare);
            for (var c = node.Children.Count - 1; c >= 0; c--)
            {
                stack.Push((node.Children[c], depth + 1));
            }
        }

        // Spans caught in a parent cycle were never reached: show them as roots rather than drop them.
        if (rows.Count < nodes.Count)
        {
            var seen = new HashSet<SpanNode>(rows);
            foreach (var node in nodes.Where(n => !seen.Contains(n)))
            {
                node.Parent?.Children.Remove(node);
                node.Parent = null;
                node.ParentMissing = true;
                node.Children.Clear();
                node.Depth = 0;
                node.Index = rows.Count;
                roots.Add(node);
                rows.Add(node);
            }
        }

        for (var i = rows.Count - 1; i >= 0; i--)
        {
            rows[i].DescendantCount = rows[i].Children.Sum(c => 1 + c.DescendantCount);
        }

        var view = new TraceView(trace.TraceId, rows, roots);
        if (rows.Count > 0)
        {
            view.Start = rows.Min(r => r.Start);
            view.End = rows.Max(r => r.End);
            view.MaxDepth = rows.Max(r => r.Depth) + 1;
        }

        view.Services = [.. rows.Select(r => r.Span.ServiceName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        view.Colors = ServiceColors.ForTrace(view.Services);
        view.ErrorCount = rows.Count(r => r.Span.IsError);

        if (view.RootSpan is { } root)
        {
            foreach (var section in CriticalPath.Compute(root))
            {
                section.Node.CriticalSections.Add((section.Start, section.End));
            }
        }

        view.SelfTimes = ComputeSelfTimes(rows);
        return view;
    }

    private static bool WouldCycle(SpanNode child, SpanNode parent)
    {
        // Walks up from the would-be parent; linking is done in input order so chains are short in practice,
        // and a bound keeps a hostile trace from looping.
        var steps = 0;
        for (var p = parent; p is not null && steps < 100_000; p = p.Parent, steps++)
        {
            if (ReferenceEquals(p, child))
            {
                return true;
            }
        }

        return false;
    }

    private static List<SelfTimeRow> ComputeSelfTimes(List<SpanNode> rows)
    {
        foreach (var node in rows)
        {
            // Union of children's intervals clipped to the span, subtracted from its duration.
            var intervals = node.Children
                .Select(c => (Start: Math.Max(c.Start, node.Start), End: Math.Min(c.End, node.End)))
                .Where(i => i.End > i.Start)
                .OrderBy(i => i.Start)
                .ToList();
            long covered = 0, curStart = 0, curEnd = long.MinValue;
            foreach (var (s, e) in intervals)
            {
                if (s > curEnd)
                {
                    if (curEnd > curStart)
                    {
                        covered += curEnd - curStart;
                    }

                    (curStart, curEnd) = (s, e);
                }
                else
                {
                    curEnd = Math.Max(curEnd, e);
                }
            }

            if (curEnd > curStart)
            {
                covered += curEnd - curStart;
            }

            node.SelfTime = Math.Max(0, node.Duration - covered);
        }

        var totalSelf = Math.Max(1, rows.Sum(r => r.SelfTime));
        return
        [
            .. rows.GroupBy(r => (r.Span.ServiceName, r.Span.Span.Name))
                .Select(g => new SelfTimeRow(g.Key.ServiceName, g.Key.Name, g.Count(), g.Sum(r => r.Duration), g.Sum(r => r.SelfTime),
                    g.Sum(r => r.SelfTime) / (double)totalSelf))
                .OrderByDescending(r => r.SelfNanos)
                .ThenBy(r => r.Service, StringComparer.Ordinal)
                .ThenBy(r => r.Operation, StringComparer.Ordinal),
        ];
    }

    public static string KindName(Span.Types.SpanKind kind) => SpanKindNames.Name(kind);
}
