using System.Collections.Concurrent;
using System.Net;
using Almanac.Core.Model;

namespace Almanac.Server.Tests.EndToEnd;

public sealed class DurabilityTests
{
    [Fact]
    public async Task GracefulRestart_KeepsEveryStoredTrace()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        var ids = new List<TraceId>();
        for (var i = 0; i < 20; i++)
        {
            var (request, traceId) = OtlpRequests.OneTrace("restart-svc");
            using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ids.Add(traceId);
        }

        Assert.Equal(0, await almanac.StopGracefullyAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("Almanac", almanac.Output);
        await almanac.StartProcessAsync();

        using var query = new QueryClient(almanac.UiEndpoint);
        foreach (var id in ids)
        {
            var trace = await query.WaitForTraceAsync(id.ToHex(), minSpans: 2);
            Assert.Equal(2, trace.GetProperty("spans").GetArrayLength());
        }
    }

    [Fact]
    public async Task KillMinus9_WhileExporting_EveryAcknowledgedSpanSurvives()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var acknowledged = new ConcurrentBag<TraceId>();
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint, Timeout = TimeSpan.FromSeconds(10) };
        using var stop = new CancellationTokenSource();

        async Task ExportLoop()
        {
            while (!stop.IsCancellationRequested)
            {
                var (request, traceId) = OtlpRequests.OneTrace("kill-svc");
                try
                {
                    using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        acknowledged.Add(traceId);
                    }
                }
                catch (HttpRequestException)
                {
                    return; // the server is gone
                }
                catch (TaskCanceledException)
                {
                    return;
                }
            }
        }

        var exporters = Enumerable.Range(0, 8).Select(_ => Task.Run(ExportLoop)).ToArray();
        // Bounded: stop after enough acknowledgements or a few seconds, whichever comes first.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (acknowledged.Count < 300 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await almanac.KillAsync();
        await stop.CancelAsync();
        await Task.WhenAll(exporters);
        Assert.True(acknowledged.Count > 50, $"only {acknowledged.Count} exports were acknowledged before the kill");

        await almanac.StartProcessAsync();
        using var query = new QueryClient(almanac.UiEndpoint);
        var missing = new List<string>();
        foreach (var id in acknowledged)
        {
            var (status, body) = await query.GetAsync($"/api/traces/{id.ToHex()}");
            if (status != HttpStatusCode.OK || body!.RootElement.GetProperty("data")[0].GetProperty("spans").GetArrayLength() != 2)
            {
                missing.Add(id.ToHex());
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged traces lost after kill -9: {string.Join(", ", missing.Take(5))}\n{almanac.Output}");
    }
}
