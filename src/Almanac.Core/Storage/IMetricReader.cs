namespace Almanac.Core.Storage;

/// <summary>Reads stored metrics. Every backend answers these the same way; the contract test suite holds them to it.</summary>
public interface IMetricReader
{
    /// <summary>Names of services that reported metrics, sorted ordinally.</summary>
    Task<IReadOnlyList<string>> GetMetricServicesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The metric catalogue: one entry per service, metric name, type and unit seen, sorted by service, name, type,
    /// unit; only the given service's when one is given. Description, temporality and monotonicity are the latest seen.
    /// </summary>
    Task<IReadOnlyList<MetricInfo>> GetMetricsAsync(string? serviceName = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stored data points of one metric, each as a <see cref="Model.MetricData"/> whose metric holds exactly that one
    /// point exactly as it was received (exemplars included), ordered by point time (ties in write order), at most
    /// <see cref="MetricPointQuery.Limit"/>.
    /// </summary>
    Task<IReadOnlyList<Model.MetricData>> GetMetricPointsAsync(MetricPointQuery query, CancellationToken cancellationToken = default);
}
