using Almanac.Core.Storage;

namespace Almanac.Web.Model;

/// <summary>How many traces a service has in a time window, counted up to <see cref="ServiceCounts.Cap"/>.</summary>
public sealed record ServiceTraceCount(string Service, int Count, bool AtLeast);

/// <summary>Trace counts per service for the search form's service list, over the form's lookback.</summary>
public static class ServiceCounts
{
    /// <summary>Counting stops here ("1000+"): a count is one trace-id query per service.</summary>
    public const int Cap = 1000;

    /// <summary>Services counted; more are listed without a count.</summary>
    public const int MaxServices = 200;

    public static async Task<IReadOnlyList<ServiceTraceCount>> CountAsync(ISpanReader reader, long startUnixNano, long endUnixNano,
        CancellationToken cancellationToken = default)
    {
        var result = new List<ServiceTraceCount>();
        foreach (var service in (await reader.GetServicesAsync(cancellationToken)).Take(MaxServices))
        {
            var ids = await reader.FindTraceIdsAsync(new TraceQuery
            {
                ServiceName = service,
                StartTimeMinUnixNano = startUnixNano,
                StartTimeMaxUnixNano = endUnixNano,
                Limit = Cap + 1,
            }, cancellationToken);
            result.Add(new ServiceTraceCount(service, Math.Min(ids.Count, Cap), ids.Count > Cap));
        }

        return result;
    }

    public static string Label(ServiceTraceCount c) =>
        $"{c.Service}  ({c.Count}{(c.AtLeast ? "+" : "")} {(c.Count == 1 && !c.AtLeast ? "trace" : "traces")})";
}
