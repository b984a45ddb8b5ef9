using System.Collections.Concurrent;
using System.Net;
using Almanac.Core.Model;

namespace Almanac.Server.Tests.EndToEnd;

public sealed class BackpressureTests
{
    [Fact]
    public async Task StorageBehind_ExportsGet429WithRetryAfter_AndEveryAcceptedTraceIsStored()
    {
        // A one-byte budget and no holding: while any accepted export waits for storage, the next ones are refused.
        await using var almanac = await AlmanacProcess.StartAsync(null, "--max-pending-size", "1", "--max-pending-wait", "0s");
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        var accepted = new ConcurrentBag<TraceId>();
        var refused = 0;
        var unexpected = new ConcurrentBag<string>();

        // Bounded load: 16 senders, 40 exports each, on loopback.
        await Parallel.ForEachAsync(Enumerable.Range(0, 16), async (_, ct) =>
        {
            for (var i = 0; i < 40; i++)
            {
                var (request, traceId) = OtlpRequests.OneTrace("pressure");
                using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    accepted.Add(traceId);
                }
                else if (response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.RetryAfter?.Delta > TimeSpan.Zero)
                {
                    Interlocked.Increment(ref refused);
                }
                else
                {
                    unexpected.Add($"{(int)response.StatusCode} retry-after={response.Headers.RetryAfter}");
                }
            }
        });

        Assert.Empty(unexpected);
        Assert.True(refused > 0, "expected some exports to be refused while storage was behind");
        Assert.NotEmpty(accepted);

        using var query = new QueryClient(almanac.UiEndpoint);
        foreach (var id in accepted)
        {
            await query.WaitForTraceAsync(id.ToHex(), minSpans: 2);
        }

        using var health = await query.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task StorageBehind_ExportsAreHeldUntilItCatchesUp_NotRefused()
    {
        // The same one-byte budget with a hold long enough for a loaded machine (the default is 2s): each export waits
        // for the one before it to be stored (a flush every 200 ms) instead of being sent away for a second.
        await using var almanac = await AlmanacProcess.StartAsync(null, "--max-pending-size", "1", "--max-pending-wait", "60s");
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        var accepted = new ConcurrentBag<TraceId>();
        var other = new ConcurrentBag<string>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 3), async (_, ct) =>
        {
            for (var i = 0; i < 4; i++)
            {
                var (request, traceId) = OtlpRequests.OneTrace("held");
                using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    accepted.Add(traceId);
                }
                else
                {
                    other.Add($"{(int)response.StatusCode}");
                }
            }
        });

        Assert.Empty(other);
        Assert.Equal(12, accepted.Count);
        using var query = new QueryClient(almanac.UiEndpoint);
        foreach (var id in accepted)
        {
            await query.WaitForTraceAsync(id.ToHex(), minSpans: 2);
        }
    }
}
