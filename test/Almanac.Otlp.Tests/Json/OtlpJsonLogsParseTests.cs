using System.Text;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;

namespace Almanac.Otlp.Tests.Json;

/// <summary>OTLP/JSON logs: the specification's examples land field by field, with hex ids and typed values.</summary>
public sealed class OtlpJsonLogsParseTests
{
    private static LogRecord ParseSingleRecord(string recordJson) =>
        OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes($$"""{"resourceLogs":[{"scopeLogs":[{"logRecords":[{{recordJson}}]}]}]}"""))
            .ResourceLogs[0].ScopeLogs[0].LogRecords[0];

    [Fact]
    public void ParseLogsRequest_SpecExampleLogs_EveryFieldLands()
    {
        var request = OtlpJson.ParseLogsRequest(FixtureFiles.Read("otlp-spec-examples", "logs.json"));

        var resourceLogs = Assert.Single(request.ResourceLogs);
        Assert.Equal("my.service", Assert.Single(resourceLogs.Resource.Attributes).Value.StringValue);
        var scopeLogs = Assert.Single(resourceLogs.ScopeLogs);
        Assert.Equal("my.library", scopeLogs.Scope.Name);
        Assert.Equal("1.0.0", scopeLogs.Scope.Version);
        Assert.Equal("some scope attribute", Assert.Single(scopeLogs.Scope.Attributes).Value.StringValue);

        var record = Assert.Single(scopeLogs.LogRecords);
        Assert.Equal(1544712660300000000UL, record.TimeUnixNano);
        Assert.Equal(1544712660300000000UL, record.ObservedTimeUnixNano);
        Assert.Equal(SeverityNumber.Info2, record.SeverityNumber);
        Assert.Equal("Information", record.SeverityText);
        // Upper-case hex in the example: ids are hex in OTLP/JSON, whatever the case.
        Assert.Equal("5b8efff798038103d269b633813fc60c", Convert.ToHexStringLower(record.TraceId.Span));
        Assert.Equal("eee19b7ec3c1b174", Convert.ToHexStringLower(record.SpanId.Span));
        Assert.Equal(new AnyValue { StringValue = "Example log record" }, record.Body);

        var attributes = record.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal(new AnyValue { StringValue = "some string" }, attributes["string.attribute"]);
        Assert.Equal(new AnyValue { BoolValue = true }, attributes["boolean.attribute"]);
        Assert.Equal(new AnyValue { IntValue = 10 }, attributes["int.attribute"]);
        Assert.Equal(new AnyValue { DoubleValue = 637.704 }, attributes["double.attribute"]);
        Assert.Equal(["many", "values"], attributes["array.attribute"].ArrayValue.Values.Select(v => v.StringValue));
        var map = Assert.Single(attributes["map.attribute"].KvlistValue.Values);
        Assert.Equal("some.map.key", map.Key);
        Assert.Equal("some value", map.Value.StringValue);
        Assert.Equal(6, attributes.Count);
    }

    [Fact]
    public void ParseLogsRequest_SpecExampleEvent_EventNameAndMapBodyLand()
    {
        var request = OtlpJson.ParseLogsRequest(FixtureFiles.Read("otlp-spec-examples", "events.json"));

        var record = request.ResourceLogs.Single().ScopeLogs.Single().LogRecords.Single();
        Assert.Equal("browser.page_view", record.EventName);
        Assert.Equal(SeverityNumber.Info, record.SeverityNumber);
        Assert.Equal("test severity text", record.SeverityText);
        Assert.True(record.TraceId.IsEmpty);
        Assert.True(record.SpanId.IsEmpty);
        Assert.Equal("some event attribute", Assert.Single(record.Attributes).Value.StringValue);

        var body = record.Body.KvlistValue.Values.ToDictionary(v => v.Key, v => v.Value);
        Assert.Equal(new AnyValue { IntValue = 0 }, body["type"]);
        Assert.Equal("https://www.guidgenerator.com/online-guid-generator.aspx", body["url"].StringValue);
        Assert.Equal("https://wwww.google.com", body["referrer"].StringValue);
        Assert.Equal("Free Online GUID Generator", body["title"].StringValue);
        Assert.Equal(4, body.Count);
    }

    [Theory]
    [InlineData("""{"severityNumber":"SEVERITY_NUMBER_WARN"}""", SeverityNumber.Warn)]
    [InlineData("""{"severityNumber":13}""", SeverityNumber.Warn)]
    [InlineData("""{"severity_number":17}""", SeverityNumber.Error)]
    public void ParseLogsRequest_SeverityAsNameOrNumber_Lands(string json, SeverityNumber expected) =>
        Assert.Equal(expected, ParseSingleRecord(json).SeverityNumber);

    [Fact]
    public void ParseLogsRequest_FlagsAndEmptyIds_Land()
    {
        var record = ParseSingleRecord("""{"flags":1,"traceId":"","spanId":"","event_name":"e","droppedAttributesCount":2}""");
        Assert.Equal(1U, record.Flags);
        Assert.True(record.TraceId.IsEmpty);
        Assert.True(record.SpanId.IsEmpty);
        Assert.Equal("e", record.EventName);
        Assert.Equal(2U, record.DroppedAttributesCount);
    }
}
