using Almanac.Server.Hosting;
using Microsoft.AspNetCore.Http;

namespace Almanac.Server.Tests.Hosting;

/// <summary>When Almanac decides it has gone quiet and gives memory back (IdleMemoryService), look by look.</summary>
public sealed class QuietDetectorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private const long Burst = 64L * 1024 * 1024;

    /// <summary>Feeds one look every <see cref="QuietDetector.CheckInterval"/>; returns the looks that said "settle now".</summary>
    private static List<int> Settles(QuietDetector detector, IEnumerable<(long Ingested, long Queries)> looks)
    {
        var settled = new List<int>();
        var (position, queries, look) = (0L, 0L, 0);
        foreach (var (ingested, newQueries) in looks)
        {
            look++;
            position += ingested;
            queries += newQueries;
            if (detector.Observe(Start + (QuietDetector.CheckInterval * look), position, queries))
            {
                settled.Add(look);
            }
        }

        return settled;
    }

    private static IEnumerable<(long, long)> Repeat(int looks, long ingested, long queries = 0) => Enumerable.Repeat((ingested, queries), looks);

    [Fact]
    public void BurstThenNothing_SettlesOnceAQuietPeriodAfterTheBurst()
    {
        var looks = Repeat(6, Burst).Concat(Repeat(40, 0));

        // Quiet from look 6 on (the last busy one): 30 s later is look 12. Then never again without new activity.
        Assert.Equal([12], Settles(new QuietDetector(Start, 0, 0), looks));
    }

    [Fact]
    public void SteadyIngest_NeverSettles()
    {
        Assert.Empty(Settles(new QuietDetector(Start, 0, 0), Repeat(100, QuietDetector.TrickleBytes + 1)));
    }

    [Fact]
    public void BurstThenTrickle_SettlesAfterTheBurstAndThenOnlyWhenTheTrickleAddsUp()
    {
        // A trickle of 64 KB per look counts as quiet; 16 MB of it takes 256 looks.
        var looks = Repeat(6, Burst).Concat(Repeat(300, 64 * 1024));

        var settled = Settles(new QuietDetector(Start, 0, 0), looks);

        Assert.Equal(2, settled.Count);
        Assert.Equal(12, settled[0]);
        Assert.Equal(12 + 256, settled[1]);
    }

    [Fact]
    public void QueriesKeepItBusy_ThenOneSettleAfterTheLast()
    {
        var looks = Repeat(20, 0, queries: 1).Concat(Repeat(20, 0));

        Assert.Equal([26], Settles(new QuietDetector(Start, 0, 0), looks));
    }

    [Fact]
    public void NothingEverHappens_NeverSettles()
    {
        Assert.Empty(Settles(new QuietDetector(Start, 0, 0), Repeat(100, 0)));
    }

    [Theory]
    [InlineData("/healthz", false)]
    [InlineData("/readyz", false)]
    [InlineData("/api/traces", true)]
    [InlineData("/search", true)]
    [InlineData("/", true)]
    public void QueryActivity_CountsEverythingButHealthProbes(string path, bool counts)
    {
        var activity = new QueryActivity();

        activity.Saw(new PathString(path));

        Assert.Equal(counts ? 1 : 0, activity.Count);
    }
}
