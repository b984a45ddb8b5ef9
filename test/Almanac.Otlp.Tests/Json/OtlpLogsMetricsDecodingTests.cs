using System.Text;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Otlp.Tests.Json;

/// <summary>OTLP/JSON and protobuf decoding of logs and metrics exports: the specification's examples and hostile bodies.</summary>
public sealed class OtlpLogsMetricsDecodingTests
{
    [Fact]
    public void ParseLogsRequest_SpecExample_IdsAreHexDecodedAndValuesTyped()
    {
        var request = OtlpJson.ParseLogsRequest(FixtureFiles.Read("otlp-spec-examples", "logs.json"));

        var resourceLogs = Assert.Single(request.ResourceLogs);
        Assert.Equal("my.service", resourceLogs.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue);
        var scopeLogs = Assert.Single(resourceLogs.ScopeLogs);
        Assert.Equal("my.library", scopeLogs.Scope.Name);
        var record = Assert.Single(scopeLogs.LogRecords);
        Assert.Equal(1544712660300000000UL, record.TimeUnixNano);
        Assert.Equal(1544712660300000000UL, record.ObservedTimeUnixNano);
        Assert.Equal(SeverityNumber.Info2, record.SeverityNumber);
        Assert.Equal("Information", record.SeverityText);
        Assert.Equal(Convert.FromHexString("5B8EFFF798038103D269B633813FC60C"), record.TraceId.ToByteArray());
        Assert.Equal(Convert.FromHexString("EEE19B7EC3C1B174"), record.SpanId.ToByteArray());
        Assert.Equal("Example log record", record.Body.StringValue);
        Assert.Equal(10, record.Attributes.Single(a => a.Key == "int.attribute").Value.IntValue);
        Assert.True(record.Attributes.Single(a => a.Key == "boolean.attribute").Value.BoolValue);
        Assert.Equal(AnyValue.ValueOneofCase.DoubleValue, record.Attributes.Single(a => a.Key == "double.attribute").Value.ValueCase);
    }

    [Fact]
    public void ParseLogsRequest_EventExample_KeepsEventNameAndStructuredBody()
    {
        var request = OtlpJson.ParseLogsRequest(FixtureFiles.Read("otlp-spec-examples", "events.json"));

        var record = request.ResourceLogs[0].ScopeLogs[0].LogRecords[0];
        Assert.Equal("browser.page_view", record.EventName);
        Assert.Equal(AnyValue.ValueOneofCase.KvlistValue, record.Body.ValueCase);
        Assert.Equal(0, record.Body.KvlistValue.Values.Single(v => v.Key == "type").Value.IntValue);
        Assert.True(record.TraceId.IsEmpty);
    }

    [Fact]
    public void ParseMetricsRequest_SpecExample_EveryPointTypeLands()
    {
        var request = OtlpJson.ParseMetricsRequest(FixtureFiles.Read("otlp-spec-examples", "metrics.json"));

        var metrics = request.ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics).ToDictionary(m => m.Name);
        Assert.Equal(Metric.DataOneofCase.Sum, metrics["my.counter"].DataCase);
        Assert.Equal(AggregationTemporality.Delta, metrics["my.counter"].Sum.AggregationTemporality);
        Assert.True(metrics["my.counter"].Sum.IsMonotonic);
        Assert.Equal(Metric.DataOneofCase.Gauge, metrics["my.gauge"].DataCase);
        Assert.Equal(Metric.DataOneofCase.Histogram, metrics["my.histogram"].DataCase);
        Assert.NotEmpty(metrics["my.histogram"].Histogram.DataPoints[0].BucketCounts);
        Assert.Equal(Metric.DataOneofCase.ExponentialHistogram, metrics["my.exponential.histogram"].DataCase);
        Assert.NotNull(metrics["my.exponential.histogram"].ExponentialHistogram.DataPoints[0].Positive);
    }

    [Fact]
    public void ParseMetricsRequest_ExemplarIds_AreHexDecoded()
    {
        const string json = """
            {"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asDouble":1.5,
              "exemplars":[{"timeUnixNano":"5","asInt":"7","traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}}]}]}]}
            """;

        var exemplar = OtlpJson.ParseMetricsRequest(Encoding.UTF8.GetBytes(json)).ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Gauge.DataPoints[0].Exemplars[0];

        Assert.Equal(Convert.FromHexString("0102030405060708090a0b0c0d0e0f10"), exemplar.TraceId.ToByteArray());
        Assert.Equal(Convert.FromHexString("0102030405060708"), exemplar.SpanId.ToByteArray());
        Assert.Equal(7, exemplar.AsInt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n")]
    [InlineData("{}")]
    public void ParseLogsRequest_EmptyBodies_AreEmptyRequests(string json) =>
        Assert.Empty(OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes(json)).ResourceLogs);

    [Fact]
    public void ParseLogsRequest_UnknownFieldsAndNumericInt64_AreAccepted()
    {
        const string json = """{"resourceLogs":[{"future":1,"scopeLogs":[{"logRecords":[{"timeUnixNano":12,"severityNumber":"SEVERITY_NUMBER_WARN","shiny":{"x":[1]}}]}]}]}""";

        var record = OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes(json)).ResourceLogs[0].ScopeLogs[0].LogRecords[0];

        Assert.Equal(12UL, record.TimeUnixNano);
        Assert.Equal(SeverityNumber.Warn, record.SeverityNumber);
    }

    [Theory]
    [InlineData("""{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"not-hex"}]}]}]}""", "not hex")]
    [InlineData("""{"resourceLogs":[""", "Invalid OTLP/JSON")]
    [InlineData("""{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}""", "Invalid OTLP/JSON")]
    [InlineData("""[1,2,3]""", "Invalid OTLP/JSON")]
    public void ParseLogsRequest_BadJson_IsAFormatErrorWithAMessage(string json, string expected)
    {
        var error = Assert.Throws<OtlpFormatException>(() => OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseLogs_BodyNestedTooDeep_IsRejectedInBothEncodings()
    {
        var body = new AnyValue { StringValue = "bottom" };
        for (var i = 0; i < OtlpJson.MaxAnyValueDepth + 5; i++)
        {
            body = new AnyValue { ArrayValue = new ArrayValue { Values = { body } } };
        }

        var request = new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { Body = body } } } } } } };

        Assert.Contains("body", Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseLogsRequest(request.ToByteArray())).Message, StringComparison.Ordinal);
        var json = JsonFormatter.Default.Format(request);
        Assert.Throws<OtlpFormatException>(() => OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void ParseJson_HugeNesting_IsAFormatErrorNotAStackOverflow()
    {
        var json = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":" + string.Concat(Enumerable.Repeat("{\"arrayValue\":{\"values\":[", 20_000)) + "1";
        Assert.Throws<OtlpFormatException>(() => OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes(json)));
        Assert.Throws<OtlpFormatException>(() => OtlpJson.ParseMetricsRequest(Encoding.UTF8.GetBytes(json.Replace("resourceLogs", "resourceMetrics", StringComparison.Ordinal))));
    }

    [Fact]
    public void ParseMetricsRequest_Protobuf_RoundTripsAndRejectsGarbage()
    {
        var request = OtlpJson.ParseMetricsRequest(FixtureFiles.Read("otlp-spec-examples", "metrics.json"));

        Assert.Equal(request, OtlpProtobuf.ParseMetricsRequest(request.ToByteArray()));
        Assert.Throws<OtlpFormatException>(() => OtlpProtobuf.ParseMetricsRequest([0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));
    }
}
