using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Testing;
using Almanac.Web.Components.Pages;
using Almanac.Web.Components.Shared;
using Bunit;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;

namespace Almanac.Web.Tests.Components;

/// <summary>Log records are untrusted like spans: every field renders as text; links go only to the record's trace.</summary>
public class LogComponentsTests : ComponentTestBase
{
    private readonly List<LogRecordData> _logs = [];

    protected override void AddServices(IServiceCollection services) => services.AddSingleton<ILogReader>(new ListLogReader(_logs));

    public static TheoryData<string> PayloadData() => [.. HostileDataTests.Payloads];

    private static LogRecordData HostileLog(string p, TraceId traceId, SpanId spanId)
    {
        var record = new LogRecord
        {
            TimeUnixNano = (ulong)TestData.BaseTimeUnixNano + 2_000_000,
            SeverityNumber = SeverityNumber.Error,
            SeverityText = p,
            EventName = p,
            Body = new AnyValue { KvlistValue = new KeyValueList { Values = { TestData.Attr(p, p) } } },
            TraceId = ByteString.CopyFrom(traceId.ToBytes()),
            SpanId = ByteString.CopyFrom(spanId.ToBytes()),
        };
        record.Attributes.Add(TestData.Attr(p, p));
        var resource = TestData.CreateResource(p, TestData.Attr(p, p));
        var scope = TestData.CreateScope(p, p);
        return new LogRecordData(traceId, spanId, p, resource, string.Empty, scope, string.Empty, record);
    }

    [Theory]
    [MemberData(nameof(PayloadData))]
    public void Log_record_renders_payloads_as_text_and_links_to_its_span(string payload)
    {
        var traceId = TestData.NewTraceId();
        var spanId = TestData.NewSpanId();
        var cut = Render<LogRecordView>(p => p.Add(c => c.Log, HostileLog(payload, traceId, spanId)).Add(c => c.Id, payload));
        AssertNoInjectedMarkup(cut.Nodes);
        Assert.Contains(payload, cut.Find(".log-body").TextContent);
        Assert.Contains(payload, cut.Find(".log-event-name").TextContent);
        Assert.Contains(payload, cut.Find(".log-fields").TextContent);
        Assert.Equal($"/trace/{traceId.ToHex()}?span={spanId.ToHex()}", cut.Find("a.log-trace").GetAttribute("href"));
        Assert.Equal("ERROR", cut.Find(".log-sev").TextContent);
        Assert.Equal("map", cut.Find(".log-fields th .type").TextContent);
    }

    [Theory]
    [MemberData(nameof(PayloadData))]
    public void Trace_page_lists_logs_and_events_in_time_order_as_text(string payload)
    {
        var (traceId, spanId, spans) = HostileDataTests.HostileTrace(payload);
        Reader.Add(spans);
        _logs.Add(HostileLog(payload, traceId, spanId));
        NavigateTo($"/trace/{traceId.ToHex()}?span={spanId.ToHex()}");
        var cut = Render<TracePage>(p => p.Add(c => c.Id, traceId.ToHex()));
        AssertNoInjectedMarkup(cut.Nodes);

        // The root's event is at the base time, the log 2 ms later.
        var rows = cut.FindAll("#trace-log-list > .log-row");
        Assert.Equal(2, rows.Count);
        Assert.Contains("span-event", rows[0].ClassList);
        Assert.Contains(payload, rows[1].QuerySelector(".log-body")!.TextContent);
        Assert.Contains("1 log record, 1 span event", cut.Find("#trace-log-count").TextContent);
        Assert.Contains(payload, cut.Find("#detail-logs .log-body").TextContent);
    }

    [Fact]
    public void Trace_page_without_logs_says_so()
    {
        var (traceId, _, spans) = HostileDataTests.HostileTrace("plain");
        Reader.Add(spans);
        NavigateTo($"/trace/{traceId.ToHex()}");
        var cut = Render<TracePage>(p => p.Add(c => c.Id, traceId.ToHex()));
        Assert.Contains("0 log records", cut.Find("#trace-log-count").TextContent);
        Assert.Empty(cut.FindAll("#detail-logs"));
        Assert.Empty(cut.FindAll("#trace-logs-search"));
    }

    [Fact]
    public void Trace_page_with_more_logs_than_it_lists_says_how_many_are_left()
    {
        var (traceId, spanId, spans) = HostileDataTests.HostileTrace("many");
        Reader.Add(spans);
        for (var i = 0; i < TraceLogs.MaxEntries + 200; i++)
        {
            _logs.Add(HostileLog("many " + i, traceId, spanId));
        }

        NavigateTo($"/trace/{traceId.ToHex()}");
        var cut = Render<TracePage>(p => p.Add(c => c.Id, traceId.ToHex()));
        Assert.Equal(TraceLogs.MaxEntries, cut.FindAll("#trace-log-list > .log-row").Count);
        // 1,200 records and the root's event: 201 entries are left out.
        Assert.StartsWith("201 more not listed", cut.Find("#trace-logs-rest").TextContent);
        Assert.Equal($"/logs?traceId={traceId.ToHex()}", cut.Find("#trace-logs-search").GetAttribute("href"));
    }

    /// <summary>Trace logs from a list; searches are the storage contract's business, not these components'.</summary>
    private sealed class ListLogReader(List<LogRecordData> logs) : ILogReader
    {
        public Task<LogPage> FindLogsAsync(LogQuery query, CancellationToken cancellationToken = default) =>
            Task.FromResult(new LogPage([.. logs.Select((l, i) => new LogEntry(i.ToString(System.Globalization.CultureInfo.InvariantCulture), l))], null));

        public Task<IReadOnlyList<LogRecordData>> GetTraceLogsAsync(TraceId traceId, int limit = LogQuery.MaxLimit, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<LogRecordData>>([.. logs.Where(l => l.TraceId == traceId).OrderBy(l => l.TimestampUnixNano).Take(limit)]);

        public Task<IReadOnlyList<string>> GetLogServicesAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<string>>([.. logs.Select(l => l.ServiceName).Distinct().Order(StringComparer.Ordinal)]);
    }
}
