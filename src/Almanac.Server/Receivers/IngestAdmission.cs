using System.Threading.RateLimiting;

namespace Almanac.Server.Receivers;

/// <summary>
/// Bounds how many export requests are read and decoded at once, across gRPC and HTTP. Each holds up to
/// --max-request-size in memory while it is decoded, so without this bound enough concurrent senders could exhaust
/// memory before the pipeline's pending-bytes budget ever sees their data. Requests beyond the queue are told to
/// retry (429 / RESOURCE_EXHAUSTED) instead of waiting unboundedly.
/// </summary>
internal sealed class IngestAdmission : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = Math.Max(4, Environment.ProcessorCount * 2),
        QueueLimit = 512,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    public ValueTask<RateLimitLease> AcquireAsync(CancellationToken cancellationToken) => _limiter.AcquireAsync(1, cancellationToken);

    public void Dispose() => _limiter.Dispose();
}
