using Almanac.Core.Storage;
using Almanac.Server.Configuration;

namespace Almanac.Server.Hosting;

/// <summary>Deletes data older than <c>--retention</c> at start and then periodically, while ingest and queries go on.</summary>
internal sealed class RetentionService(ITelemetryStore store, AlmanacOptions options, TimeProvider time, ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Often enough that data never outlives retention by more than a tenth of it, rarely enough to cost nothing.
        var interval = TimeSpan.FromTicks(Math.Clamp(options.Retention.Ticks / 10, TimeSpan.FromSeconds(10).Ticks, TimeSpan.FromMinutes(10).Ticks));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var cutoff = time.GetUtcNow() - options.Retention;
                var cutoffNanos = cutoff.ToUnixTimeMilliseconds() * 1_000_000;
                var deleted = await store.DeleteOlderThanAsync(cutoffNanos, stoppingToken);
                if (deleted > 0)
                {
                    logger.LogInformation("Retention: deleted {Count} spans older than {Cutoff:u}", deleted, cutoff);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Retention run failed; will try again in {Interval}", interval);
            }

            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
