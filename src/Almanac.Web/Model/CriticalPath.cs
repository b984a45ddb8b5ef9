namespace Almanac.Web.Model;

/// <summary>A stretch of time [Start, End) that a span spends on the trace's critical path.</summary>
public sealed record CriticalSection(SpanNode Node, long Start, long End);

/// <summary>
/// The critical path, computed the way Jaeger UI does: start at the root with the cursor at its end; repeatedly
/// take the child that finishes last before the cursor — the time between that child's end and the cursor is
/// the parent's own — and descend into it; when a span has no such child, the span owns everything from its
/// start to the cursor, and the walk returns to its parent with the cursor moved to the span's start. Children
/// are first clipped to their parent's bounds, and children entirely outside their parent are ignored.
/// </summary>
public static class CriticalPath
{
    public static IReadOnlyList<CriticalSection> Compute(SpanNode root)
    {
        var sections = new List<CriticalSection>();
        var bounds = new Dictionary<SpanNode, (long Start, long End)> { [root] = (root.Start, root.End) };

        // Children of a node, clipped to the node's own (clipped) bounds, latest-ending first.
        List<(SpanNode Node, long Start, long End)> ClippedChildren(SpanNode node)
        {
            var (ps, pe) = bounds[node];
            var result = new List<(SpanNode, long, long)>();
            foreach (var child in node.Children)
            {
                if (child.Start > pe || child.End < ps || (child.Start == pe && child.Duration > 0))
                {
                    continue; // wholly outside the parent: not on its path
                }

                var cs = Math.Max(child.Start, ps);
                var ce = Math.Min(child.End, pe);
                result.Add((child, cs, ce));
            }

            result.Sort((a, b) => b.Item3 != a.Item3 ? b.Item3.CompareTo(a.Item3) : b.Item2.CompareTo(a.Item2));
            return result;
        }

        var childrenCache = new Dictionary<SpanNode, List<(SpanNode Node, long Start, long End)>>();
        var current = root;
        long? cursor = null;
        var guard = 0;
        while (guard++ < 10_000_000)
        {
            var (curStart, curEnd) = bounds[current];
            var end = cursor ?? curEnd;
            if (!childrenCache.TryGetValue(current, out var children))
            {
                children = ClippedChildren(current);
                childrenCache[current] = children;
            }

            (SpanNode Node, long Start, long End)? next = null;
            foreach (var c in children)
            {
                if (cursor is null ? c.End <= end : c.End < end)
                {
                    next = c;
                    break;
                }
            }

            if (next is { } child)
            {
                if (child.End < end)
                {
                    sections.Add(new CriticalSection(current, child.End, end));
                }

                bounds[child.Node] = (child.Start, child.End);
                current = child.Node;
                cursor = null;
                continue;
            }

            if (end > curStart || sections.Count == 0)
            {
                sections.Add(new CriticalSection(current, curStart, end));
            }

            if (ReferenceEquals(current, root) || current.Parent is null)
            {
                break;
            }

            cursor = curStart;
            current = current.Parent;
        }

        sections.Reverse();
        return sections;
    }
}
