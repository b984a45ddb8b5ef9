using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Almanac.Load.Templates;
using Almanac.Server.Tests.EndToEnd;

namespace Almanac.Load.Tests;

public class EndToEndTests
{
    [Theory]
    [InlineData(Protocol.Grpc, false)]
    [InlineData(Protocol.Grpc, true)]
    [InlineData(Protocol.HttpProtobuf, false)]
    [InlineData(Protocol.HttpJson, true)]
    public async Task Sends_exactly_the_asked_spans_to_the_null_sink(Protocol protocol, bool gzip)
    {
        var ports = AlmanacProcess.FreePorts(2);
        await using var sink = await NullSink.StartAsync(new SinkOptions(ports[0], ports[1], CountSpans: true));
        var port = protocol == Protocol.Grpc ? sink.GrpcPort : sink.HttpPort;
        var summary = await new TraceLoad(Options(new Uri($"http://127.0.0.1:{port}"), protocol) with { Gzip = gzip }).RunAsync(CancellationToken.None);

        Assert.Equal(2000, summary.SpansAccepted);
        Assert.Equal(0, summary.SpansFailed);
        Assert.Equal(4, summary.RequestsOk); // 3 × 512 + 464
        Assert.Equal(2000, sink.Spans);
        Assert.Equal(4, sink.Requests);
        Assert.Equal(0, sink.Errors);
        Assert.True(summary.WireBytes > 0);
        Assert.True(summary.Latency.Max > 0);
        Assert.Contains("\"spans_accepted\": 2000", summary.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trace_ids_are_sampled_every_nth_accepted_request_and_the_running_count_matches_the_summary()
    {
        var ports = AlmanacProcess.FreePorts(2);
        await using var sink = await NullSink.StartAsync(new SinkOptions(ports[0], ports[1]));
        var traceIds = new ConcurrentBag<string>();
        var load = new TraceLoad(Options(new Uri($"http://127.0.0.1:{sink.GrpcPort}"), Protocol.Grpc) with
        {
            Spans = 512 * 8,
            OnAcceptedTraceId = traceIds.Add,
            AcceptedTraceIdEvery = 4,
        });

        var summary = await load.RunAsync(CancellationToken.None);

        Assert.Equal(8, summary.RequestsOk);
        Assert.Equal(2, traceIds.Count); // the 4th and the 8th accepted request
        Assert.All(traceIds, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(summary.SpansAccepted, load.SpansAccepted);
    }

    [Theory]
    [InlineData(Protocol.Grpc)]
    [InlineData(Protocol.HttpProtobuf)]
    public async Task Almanac_accepts_and_stores_the_generated_traces(Protocol protocol)
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var traceIds = new ConcurrentBag<string>();
        var endpoint = protocol == Protocol.Grpc ? almanac.GrpcEndpoint : almanac.HttpEndpoint;
        var summary = await new TraceLoad(Options(endpoint, protocol) with { OnAcceptedTraceId = traceIds.Add }).RunAsync(CancellationToken.None);

        Assert.Equal(2000, summary.SpansAccepted + summary.SpansRejected);
        Assert.Equal(0, summary.SpansFailed);
        Assert.Equal(0, summary.SpansRejected);
        Assert.Equal(4, traceIds.Count);

        using var http = new HttpClient { BaseAddress = almanac.UiEndpoint, Timeout = TimeSpan.FromSeconds(10) };
        foreach (var traceId in traceIds.Take(3))
        {
            var found = false;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!found && DateTime.UtcNow < deadline)
            {
                using var response = await http.GetAsync(new Uri($"/api/traces/{traceId}", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    var data = json.RootElement.GetProperty("data");
                    found = data.GetArrayLength() == 1 && data[0].GetProperty("traceID").GetString() == traceId && data[0].GetProperty("spans").GetArrayLength() > 0;
                }

                if (!found)
                {
                    await Task.Delay(200);
                }
            }

            Assert.True(found, $"trace {traceId} not found via /api/traces/{{id}}\n{almanac.Output}");
        }
    }

    private static TraceLoadOptions Options(Uri endpoint, Protocol protocol) => new()
    {
        Endpoint = endpoint,
        Protocol = protocol,
        Exporters = 2,
        Spans = 2000,
        Batch = 512,
        Shape = new ShapeOptions(Shape.Realistic),
        Timeout = TimeSpan.FromSeconds(60),
    };

}

public class RetryAndRejectionTests
{
    [Theory]
    [InlineData(Protocol.Grpc)]
    [InlineData(Protocol.HttpProtobuf)]
    [InlineData(Protocol.HttpJson)]
    public async Task Retries_after_throttling_and_counts_rejected_spans(Protocol protocol)
    {
        var ports = AlmanacProcess.FreePorts(2);
        await using var sink = await NullSink.StartAsync(new SinkOptions(ports[0], ports[1], CountSpans: true, RefuseFirst: 2, RejectSpans: 7));
        var port = protocol == Protocol.Grpc ? sink.GrpcPort : sink.HttpPort;
        var summary = await new TraceLoad(new TraceLoadOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{port}"),
            Protocol = protocol,
            Exporters = 1,
            Spans = 1000,
            Batch = 250,
            Timeout = TimeSpan.FromSeconds(30),
        }).RunAsync(CancellationToken.None);

        Assert.Equal(2, summary.Throttled);
        Assert.Equal(4, summary.RequestsOk);
        Assert.Equal(4 * 7, summary.SpansRejected);
        Assert.Equal(1000 - (4 * 7), summary.SpansAccepted);
        Assert.Equal(0, summary.SpansFailed);
        Assert.Equal(1000, sink.Spans);

        // HTTP said Retry-After: 1 (honoured), gRPC's RetryInfo said 300 ms (the default without one is 100 ms).
        Assert.True(summary.ElapsedSeconds >= (protocol == Protocol.Grpc ? 0.6 : 2.0), $"elapsed {summary.ElapsedSeconds}s");
    }

}
