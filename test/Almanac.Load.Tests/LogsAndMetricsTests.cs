using Almanac.Server.Tests.EndToEnd;
using Almanac.Load.Templates;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;

namespace Almanac.Load.Tests;

public class LogsAndMetricsTests
{
    [Fact]
    public void Patched_log_records_have_fresh_ids_and_times_near_now()
    {
        var (request, sentinels) = LogsAndMetricsBuilder.BuildLogs(new ShapeOptions(), 300, seed: 1);
        var template = EncodedTemplate.CreateProtobuf(request, sentinels, 300);
        var body = (byte[])template.Bytes.Clone();
        var traceIds = new HashSet<string>();
        for (var round = 0; round < 3; round++)
        {
            var now = (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
            template.Patch(body, now, new Random(round), new byte[template.ScratchSize]);
            var records = ExportLogsServiceRequest.Parser.ParseFrom(body).ResourceLogs.SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords).ToList();
            Assert.Equal(300, records.Count);
            foreach (var record in records)
            {
                Assert.InRange(record.TimeUnixNano, now - 10_000_000_000UL, now);
                Assert.InRange(record.ObservedTimeUnixNano, now - 10_000_000_000UL, now);
                Assert.Equal(16, record.TraceId.Length);
                Assert.Equal(8, record.SpanId.Length);
                Assert.True(traceIds.Add(Convert.ToHexString(record.TraceId.Span)));
                Assert.False(string.IsNullOrEmpty(record.Body.StringValue));
            }
        }
    }

    [Fact]
    public void Patched_metric_data_points_have_times_near_now()
    {
        var (request, sentinels) = LogsAndMetricsBuilder.BuildMetrics(new ShapeOptions(Services: 4), 301, seed: 1);
        var template = EncodedTemplate.CreateProtobuf(request, sentinels, 301);
        var body = (byte[])template.Bytes.Clone();
        var now = (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        template.Patch(body, now, new Random(1), new byte[template.ScratchSize]);
        var metrics = ExportMetricsServiceRequest.Parser.ParseFrom(body).ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics).ToList();
        Assert.Equal(301, metrics.Sum(LogsAndMetricsBuilder.Points));
        var points = metrics.SelectMany(m => m.Histogram?.DataPoints.Select(p => (p.StartTimeUnixNano, p.TimeUnixNano)) ?? [])
            .Concat(metrics.SelectMany(m => (m.Sum?.DataPoints ?? m.Gauge?.DataPoints ?? []).Select(p => (p.StartTimeUnixNano, p.TimeUnixNano))))
            .ToList();
        Assert.Equal(301, points.Count);
        Assert.All(points, p =>
        {
            Assert.InRange(p.TimeUnixNano, now - 10_000_000_000UL, now);
            Assert.InRange(p.StartTimeUnixNano, now - 3_700_000_000_000UL, p.TimeUnixNano);
        });
    }

    [Theory]
    [InlineData(Signal.Logs, Protocol.Grpc)]
    [InlineData(Signal.Metrics, Protocol.HttpProtobuf)]
    public async Task Logs_and_metrics_reach_the_null_sink(Signal signal, Protocol protocol)
    {
        var ports = AlmanacProcess.FreePorts(2);
        await using var sink = await NullSink.StartAsync(new SinkOptions(ports[0], ports[1]));
        var port = protocol == Protocol.Grpc ? sink.GrpcPort : sink.HttpPort;
        var summary = await new TraceLoad(new TraceLoadOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{port}"),
            Protocol = protocol,
            Signal = signal,
            Exporters = 2,
            Spans = 1000,
            Batch = 300,
            Timeout = TimeSpan.FromSeconds(30),
        }).RunAsync(CancellationToken.None);
        Assert.Equal(1000, summary.SpansAccepted);
        Assert.Equal(0, summary.SpansFailed);
        Assert.Equal(4, sink.Requests);
        Assert.Equal(0, sink.Errors);
    }

}
