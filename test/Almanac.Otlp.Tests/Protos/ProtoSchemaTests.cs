using System.Text;
using Almanac.Otlp.Tests.Fixtures;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Otlp.Tests.Protos;

/// <summary>
/// The logs and metrics protos were written from the specification; these checks catch a misspelt field name or a
/// wrong field number, either of which would silently break interoperability.
/// </summary>
public sealed class ProtoSchemaTests
{
    // Google's parser rejects unknown field names, so parsing the specification's examples proves every name exists.
    // (It reads hex ids as base64, which is fine here: only the schema is under test.)
    private static T ParseStrict<T>(MessageParser<T> parser, string fixture)
        where T : IMessage<T> =>
        parser.ParseJson(Encoding.UTF8.GetString(FixtureFiles.Read("otlp-spec-examples", fixture)));

    [Fact]
    public void MetricsProto_SpecExample_EveryFieldNameKnown()
    {
        var request = ParseStrict(ExportMetricsServiceRequest.Parser, "metrics.json");

        var metrics = request.ResourceMetrics.Single().ScopeMetrics.Single().Metrics;
        Assert.Contains(metrics, m => m.DataCase == Metric.DataOneofCase.Sum && m.Sum.IsMonotonic);
        Assert.Contains(metrics, m => m.DataCase == Metric.DataOneofCase.Gauge);
        Assert.Contains(metrics, m => m.DataCase == Metric.DataOneofCase.Histogram);
        Assert.Contains(metrics, m => m.DataCase == Metric.DataOneofCase.ExponentialHistogram);
    }

    [Theory]
    [InlineData("logs.json")]
    [InlineData("events.json")]
    public void LogsProto_SpecExample_EveryFieldNameKnown(string fixture)
    {
        var request = ParseStrict(ExportLogsServiceRequest.Parser, fixture);

        Assert.NotEmpty(request.ResourceLogs.Single().ScopeLogs.Single().LogRecords);
    }

    [Fact]
    public void LogsProto_EventsExample_EventNameLands() =>
        Assert.Equal(
            "browser.page_view",
            ParseStrict(ExportLogsServiceRequest.Parser, "events.json").ResourceLogs[0].ScopeLogs[0].LogRecords[0].EventName);

    [Theory]
    [InlineData("time_unix_nano", 1, FieldType.Fixed64)]
    [InlineData("observed_time_unix_nano", 11, FieldType.Fixed64)]
    [InlineData("severity_number", 2, FieldType.Enum)]
    [InlineData("severity_text", 3, FieldType.String)]
    [InlineData("body", 5, FieldType.Message)]
    [InlineData("attributes", 6, FieldType.Message)]
    [InlineData("dropped_attributes_count", 7, FieldType.UInt32)]
    [InlineData("flags", 8, FieldType.Fixed32)]
    [InlineData("trace_id", 9, FieldType.Bytes)]
    [InlineData("span_id", 10, FieldType.Bytes)]
    [InlineData("event_name", 12, FieldType.String)]
    public void LogRecord_Field_MatchesSpecification(string name, int number, FieldType type) =>
        AssertField(LogRecord.Descriptor, name, number, type);

    [Theory]
    [InlineData("Metric", "gauge", 5, FieldType.Message)]
    [InlineData("Metric", "sum", 7, FieldType.Message)]
    [InlineData("Metric", "histogram", 9, FieldType.Message)]
    [InlineData("Metric", "exponential_histogram", 10, FieldType.Message)]
    [InlineData("Metric", "summary", 11, FieldType.Message)]
    [InlineData("Metric", "metadata", 12, FieldType.Message)]
    [InlineData("NumberDataPoint", "attributes", 7, FieldType.Message)]
    [InlineData("NumberDataPoint", "as_double", 4, FieldType.Double)]
    [InlineData("NumberDataPoint", "as_int", 6, FieldType.SFixed64)]
    [InlineData("NumberDataPoint", "exemplars", 5, FieldType.Message)]
    [InlineData("NumberDataPoint", "flags", 8, FieldType.UInt32)]
    [InlineData("HistogramDataPoint", "attributes", 9, FieldType.Message)]
    [InlineData("HistogramDataPoint", "bucket_counts", 6, FieldType.Fixed64)]
    [InlineData("HistogramDataPoint", "explicit_bounds", 7, FieldType.Double)]
    [InlineData("HistogramDataPoint", "min", 11, FieldType.Double)]
    [InlineData("HistogramDataPoint", "max", 12, FieldType.Double)]
    [InlineData("ExponentialHistogramDataPoint", "scale", 6, FieldType.SInt32)]
    [InlineData("ExponentialHistogramDataPoint", "exemplars", 11, FieldType.Message)]
    [InlineData("ExponentialHistogramDataPoint", "zero_threshold", 14, FieldType.Double)]
    [InlineData("SummaryDataPoint", "quantile_values", 6, FieldType.Message)]
    [InlineData("Exemplar", "filtered_attributes", 7, FieldType.Message)]
    [InlineData("Exemplar", "as_int", 6, FieldType.SFixed64)]
    [InlineData("Exemplar", "span_id", 4, FieldType.Bytes)]
    [InlineData("Exemplar", "trace_id", 5, FieldType.Bytes)]
    public void MetricsProto_Field_MatchesSpecification(string message, string name, int number, FieldType type) =>
        AssertField(MetricsReflection.Descriptor.FindTypeByName<MessageDescriptor>(message), name, number, type);

    [Fact]
    public void ExponentialHistogramBuckets_BucketCounts_AreUInt64() =>
        AssertField(ExponentialHistogramDataPoint.Types.Buckets.Descriptor, "bucket_counts", 2, FieldType.UInt64);

    [Fact]
    public void HistogramDataPoint_OptionalSum_TracksPresence()
    {
        var point = HistogramDataPoint.Parser.ParseFrom(new HistogramDataPoint { Sum = 0 }.ToByteArray());

        Assert.True(point.HasSum);
        Assert.False(new HistogramDataPoint().HasSum);
    }

    private static void AssertField(MessageDescriptor descriptor, string name, int number, FieldType type)
    {
        var field = descriptor.FindFieldByName(name);
        Assert.NotNull(field);
        Assert.Equal(number, field.FieldNumber);
        Assert.Equal(type, field.FieldType);
    }
}
