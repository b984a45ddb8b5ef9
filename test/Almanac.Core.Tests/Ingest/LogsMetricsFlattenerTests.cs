using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Testing;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Core.Tests.Ingest;

public sealed class LogsMetricsFlattenerTests
{
    private static ExportLogsServiceRequest Logs(params LogRecord[] records) => new()
    {
        ResourceLogs =
        {
            new ResourceLogs
            {
                Resource = TestData.CreateResource("checkout"),
                SchemaUrl = "https://resource.schema",
                ScopeLogs = { new ScopeLogs { Scope = TestData.CreateScope(), SchemaUrl = "https://scope.schema", LogRecords = { records } } },
            },
        },
    };

    private static ExportMetricsServiceRequest Metrics(params Metric[] metrics) => new()
    {
        ResourceMetrics = { new ResourceMetrics { Resource = TestData.CreateResource("dice"), ScopeMetrics = { new ScopeMetrics { Scope = TestData.CreateScope(), Metrics = { metrics } } } } },
    };

    [Fact]
    public void Logs_WithAndWithoutTraceContext_AreKeptWithServiceAndIds()
    {
        var traceId = TestData.NewTraceId();
        var withContext = new LogRecord { TimeUnixNano = 10, Body = new() { StringValue = "rolled" }, TraceId = ByteString.CopyFrom(traceId.ToBytes()), SpanId = ByteString.CopyFrom([1, 2, 3, 4, 5, 6, 7, 8]) };
        var zeroIds = new LogRecord { ObservedTimeUnixNano = 20, TraceId = ByteString.CopyFrom(new byte[16]), SpanId = ByteString.CopyFrom(new byte[8]) };
        var plain = new LogRecord { TimeUnixNano = 30 };

        var result = LogsRequestFlattener.Flatten(Logs(withContext, zeroIds, plain));

        Assert.Equal(0, result.RejectedLogs);
        Assert.Null(result.RejectionMessage);
        Assert.Equal(3, result.Logs.Count);
        Assert.All(result.Logs, l => Assert.Equal("checkout", l.ServiceName));
        Assert.Equal(traceId, result.Logs[0].TraceId);
        Assert.False(result.Logs[0].SpanId.IsEmpty);
        Assert.True(result.Logs[1].TraceId.IsEmpty);
        Assert.True(result.Logs[1].SpanId.IsEmpty);
        Assert.Equal(20, result.Logs[1].TimestampUnixNano);
        Assert.Equal(30, result.Logs[2].TimestampUnixNano);
        Assert.Equal("https://resource.schema", result.Logs[0].ResourceSchemaUrl);
        Assert.Equal("https://scope.schema", result.Logs[0].ScopeSchemaUrl);
    }

    [Fact]
    public void Logs_BadIds_AreRejectedCountedExplainedAndRemovedFromTheRequest()
    {
        var good = new LogRecord { Body = new() { StringValue = "good" } };
        var shortTrace = new LogRecord { TraceId = ByteString.CopyFrom([1, 2]) };
        var longSpan = new LogRecord { SpanId = ByteString.CopyFrom(new byte[9]) };
        var request = Logs(good, shortTrace, longSpan);

        var result = LogsRequestFlattener.Flatten(request);

        Assert.Equal("good", Assert.Single(result.Logs).Record.Body.StringValue);
        Assert.Equal(2, result.RejectedLogs);
        Assert.Contains("2 log record(s) rejected", result.RejectionMessage);
        Assert.Contains("trace id must be empty or 16 bytes, got 2", result.RejectionMessage);
        Assert.Contains("logRecords[2]: span id must be empty or 8 bytes, got 9", result.RejectionMessage);
        Assert.Same(good, Assert.Single(request.ResourceLogs[0].ScopeLogs[0].LogRecords));
    }

    [Fact]
    public void Metrics_CountPointsOfEveryType()
    {
        var sum = new Metric { Name = "dice.rolls", Sum = new Sum { IsMonotonic = true, DataPoints = { new NumberDataPoint { AsInt = 1 }, new NumberDataPoint { AsInt = 2 } } } };
        var gauge = new Metric { Name = "temp", Gauge = new Gauge { DataPoints = { new NumberDataPoint { AsDouble = 1.5 } } } };
        var histogram = new Metric { Name = "latency", Histogram = new Histogram { DataPoints = { new HistogramDataPoint { Count = 3 } } } };
        var exponential = new Metric { Name = "exp", ExponentialHistogram = new ExponentialHistogram { DataPoints = { new ExponentialHistogramDataPoint(), new ExponentialHistogramDataPoint() } } };
        var summary = new Metric { Name = "summary", Summary = new Summary { DataPoints = { new SummaryDataPoint() } } };

        var result = MetricsRequestFlattener.Flatten(Metrics(sum, gauge, histogram, exponential, summary));

        Assert.Equal(5, result.Metrics.Count);
        Assert.Equal(7, result.PointCount);
        Assert.Equal(0, result.RejectedDataPoints);
        Assert.All(result.Metrics, m => Assert.Equal("dice", m.ServiceName));
    }

    [Fact]
    public void Metrics_NamelessOrDataless_AreRejectedWithTheirPointsAndRemoved()
    {
        var good = new Metric { Name = "ok", Gauge = new Gauge { DataPoints = { new NumberDataPoint { AsInt = 1 } } } };
        var nameless = new Metric { Gauge = new Gauge { DataPoints = { new NumberDataPoint(), new NumberDataPoint() } } };
        var dataless = new Metric { Name = "nothing" };
        var request = Metrics(good, nameless, dataless);

        var result = MetricsRequestFlattener.Flatten(request);

        Assert.Equal("ok", Assert.Single(result.Metrics).Metric.Name);
        Assert.Equal(1, result.PointCount);
        Assert.Equal(2, result.RejectedDataPoints);
        Assert.Contains("metrics[1]: metric name is empty", result.RejectionMessage);
        Assert.Contains("metrics[2]: metric has no data", result.RejectionMessage);
        Assert.Same(good, Assert.Single(request.ResourceMetrics[0].ScopeMetrics[0].Metrics));
    }
}
