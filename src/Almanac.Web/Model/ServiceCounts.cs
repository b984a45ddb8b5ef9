using Almanac.Core.Storage;

namespace Almanac.Web.Model;

/// <summary>How many traces a service has in a time window (<see cref="AtLeast"/>: the count is a lower bound).</summary>
public sealed record ServiceTraceCount(string Service, int Count, bool AtLeast);

/// <summary>Trace counts per service for the search form's service list, over the form's lookback.</summary>
public static class ServiceCounts
{
    /// <summary>
    /// Every known service with the exact number of traces its search over the window finds (0 when none): one
    /// aggregate query in the store, not a search per service.
    /// </summary>
    public static async Task<IReadOnlyList<ServiceTraceCount>> CountAsync(ISpanReader reader, long startUnixNano, long endUnixNano,
        CancellationToken cancellationToken = default)
    {
        var services = await reader.GetServicesAsync(cancellationToken);
        var counts = (await reader.GetServiceTraceCountsAsync(startUnixNano, endUnixNano, cancellationToken))
            .ToDictionary(c => c.Service, c => c.TraceCount, StringComparer.Ordinal);
        return [.. services.Select(s => counts.TryGetValue(s, out var n)
            ? new ServiceTraceCount(s, (int)Math.Min(n, int.MaxValue), n > int.MaxValue)
            : new ServiceTraceCount(s, 0, false))];
    }

    public static string Label(ServiceTraceCount c) =>
        $"{c.Service}  ({c.Count}{(c.AtLeast ? "+" : "")} {(c.Count == 1 && !c.AtLeast ? "trace" : "traces")})";
}
