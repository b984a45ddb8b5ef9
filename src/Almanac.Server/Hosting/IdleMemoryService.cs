using System.Runtime;
using Almanac.Core.Ingest;

namespace Almanac.Server.Hosting;

/// <summary>
/// Gives memory back once Almanac has gone quiet. A burst of ingest leaves DuckDB's buffer pool at its cap and the
/// managed heap at its high-water mark, and nothing shrinks them while nothing happens: after 30 s of full-speed
/// ingest an idle Almanac held 640 MB of RSS for as long as it ran (135 MB at start). Once neither ingest nor the
/// query port has been busy for <see cref="QuietDetector.QuietPeriod"/> after real activity, this settles the pipeline
/// (store durable, write-ahead log trimmed, store caches released) and compacts the managed heap (233 MB measured),
/// then hands the pages of its mapped libraries back to the kernel (<see cref="ColdPages"/>: 217 → 166 MB).
/// </summary>
internal sealed class IdleMemoryService(IngestPipeline pipeline, QueryActivity queries, TimeProvider time, ILogger<IdleMemoryService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var detector = new QuietDetector(time.GetUtcNow(), pipeline.StoredCheckpoint, queries.Count);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(QuietDetector.CheckInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!detector.Observe(time.GetUtcNow(), pipeline.StoredCheckpoint, queries.Count))
            {
                continue;
            }

            try
            {
                var before = Environment.WorkingSet;
                await pipeline.SettleAsync(stoppingToken);
                // Aggressive: decommits what the heaps no longer use; a one-off pause of tens of milliseconds while quiet.
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                // Last, so the collection's own code is among what goes back.
                ColdPages.PageOut();
                logger.LogInformation("Quiet for {Seconds} s: stored data made durable and memory given back (RSS {Before} MB → {After} MB)",
                    QuietDetector.QuietPeriod.TotalSeconds, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Giving memory back while quiet failed; it is tried again after the next activity");
            }
        }
    }
}

/// <summary>
/// Decides when Almanac has gone quiet enough to give memory back, from how far the pipeline's stored position moved
/// and how many query requests came between two looks. A trickle of ingest (a demo, a few quiet services) still
/// counts as quiet, but it has to add up to <see cref="SettleAfterBytes"/> before it is worth settling again, so a
/// trickle settles every few minutes at most rather than every period.
/// </summary>
internal sealed class QuietDetector(DateTimeOffset now, long storedPosition, long queryCount)
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(30);

    /// <summary>Ingest per <see cref="CheckInterval"/> that still counts as quiet: ~50 KB/s, about 90 realistic spans/s.</summary>
    public const long TrickleBytes = 256 * 1024;

    /// <summary>Ingest since the last settle that makes another worth it, when no query came.</summary>
    public const long SettleAfterBytes = 16L * 1024 * 1024;

    private long _position = storedPosition;
    private long _queries = queryCount;
    private DateTimeOffset _quietSince = now;
    private long _bytesSinceSettle;
    private bool _queriedSinceSettle;

    /// <summary>Takes one look; true when now is the moment to settle (then the next needs new activity first).</summary>
    public bool Observe(DateTimeOffset now, long storedPosition, long queryCount)
    {
        var ingested = Math.Max(0, storedPosition - _position);
        var queried = queryCount != _queries;
        _position = storedPosition;
        _queries = queryCount;
        _bytesSinceSettle += ingested;
        _queriedSinceSettle |= queried;
        if (ingested > TrickleBytes || queried)
        {
            _quietSince = now;
            return false;
        }

        if (now - _quietSince < QuietPeriod || (_bytesSinceSettle < SettleAfterBytes && !_queriedSinceSettle))
        {
            return false;
        }

        _bytesSinceSettle = 0;
        _queriedSinceSettle = false;
        return true;
    }
}

/// <summary>Counts requests to the query port other than health probes, which a load balancer sends all the time.</summary>
internal sealed class QueryActivity
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    private static bool Counts(PathString path) => !path.StartsWithSegments("/healthz") && !path.StartsWithSegments("/readyz");

    public void Saw(PathString path)
    {
        if (Counts(path))
        {
            Interlocked.Increment(ref _count);
        }
    }
}
