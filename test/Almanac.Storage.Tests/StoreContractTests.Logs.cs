using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>The log part of the contract: what is written comes back exactly, searched and paged newest first.</summary>
public abstract partial class StoreContractTests
{
    private static LogRecordData Log(
        string body = "hello",
        long? timeUnixNano = null,
        string service = "svc",
        SeverityNumber severity = SeverityNumber.Info,
        TraceId? traceId = null,
        SpanId? spanId = null,
        Resource? resource = null,
        params KeyValue[] attributes)
    {
        var record = new LogRecord
        {
            TimeUnixNano = (ulong)(timeUnixNano ?? BaseTimeUnixNano),
            ObservedTimeUnixNano = (ulong)(timeUnixNano ?? BaseTimeUnixNano) + 5,
            SeverityNumber = severity,
            SeverityText = severity.ToString(),
            Body = new AnyValue { StringValue = body },
        };
        record.Attributes.Add(attributes);
        if (traceId is { } t)
        {
            record.TraceId = ByteString.CopyFrom(t.ToBytes());
        }

        if (spanId is { } s)
        {
            record.SpanId = ByteString.CopyFrom(s.ToBytes());
        }

        resource ??= CreateResource(service);
        return new LogRecordData(traceId ?? TraceId.Empty, spanId ?? SpanId.Empty, ServiceNames.Of(resource), resource, string.Empty, CreateScope(), string.Empty, record);
    }

    private static Task WriteLogs(ITelemetryStore store, long checkpoint, params LogRecordData[] logs) =>
        store.WriteAsync(new TelemetryBatch([], logs, [], checkpoint));

    private static async Task<List<string>> Bodies(ITelemetryStore store, LogQuery query) =>
        (await store.FindLogsAsync(query)).Entries.Select(e => e.Log.Record.Body.StringValue).ToList();

    [Theory]
    [InlineData("logs.json")]
    [InlineData("events.json")]
    public async Task FindLogs_SpecExample_EveryFieldComesBackExactly(string fixture)
    {
        var store = await OpenAsync();
        var json = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "otlp-spec-examples", fixture));
        var sent = LogsRequestFlattener.Flatten(OtlpJson.ParseLogsRequest(json)).Logs;
        Assert.NotEmpty(sent);

        await WriteLogs(store, 1, [.. sent]);

        var page = await store.FindLogsAsync(new LogQuery());
        var received = Assert.Single(page.Entries).Log;
        var expected = Assert.Single(sent);
        // Protobuf equality compares every field and the value type of every attribute and of the body.
        Assert.Equal(expected.Record, received.Record);
        Assert.Equal(expected.Resource, received.Resource);
        Assert.Equal(expected.Scope, received.Scope);
        Assert.Equal(expected.TraceId, received.TraceId);
        Assert.Equal(expected.SpanId, received.SpanId);
        Assert.Equal("my.service", received.ServiceName);
        Assert.Equal(["my.service"], await store.GetLogServicesAsync());
    }

    [Fact]
    public async Task FindLogs_ManyRecordsWithTies_PagesNewestFirstEachRecordOnce()
    {
        var store = await OpenAsync();
        var logs = Enumerable.Range(0, 25).Select(i => Log($"m{i:00}", T(i / 3))).ToArray();
        await WriteLogs(store, 1, logs[..10]);
        await WriteLogs(store, 2, logs[10..]);

        var seen = new List<LogEntry>();
        string? before = null;
        do
        {
            var page = await store.FindLogsAsync(new LogQuery { Limit = 7, Before = before });
            Assert.True(page.Entries.Count <= 7);
            seen.AddRange(page.Entries);
            before = page.NextBefore;
        }
        while (before is not null);

        Assert.Equal(25, seen.Count);
        Assert.Equal(25, seen.Select(e => e.Id).Distinct().Count());
        var times = seen.Select(e => e.Log.TimestampUnixNano).ToList();
        Assert.Equal(times.OrderDescending(), times);
        Assert.Equal(logs.Select(l => l.Record.Body.StringValue).Order(), seen.Select(e => e.Log.Record.Body.StringValue).Order());
    }

    [Fact]
    public async Task FindLogs_ServiceSeverityAndTimeWindow_MatchOnlyThoseRecords()
    {
        var store = await OpenAsync();
        await WriteLogs(store, 1,
            Log("a-debug", T(0), "a", SeverityNumber.Debug),
            Log("a-warn", T(10), "a", SeverityNumber.Warn),
            Log("b-error", T(20), "b", SeverityNumber.Error),
            Log("b-unset", T(30), "b", SeverityNumber.Unspecified));

        Assert.Equal(["a-warn", "a-debug"], await Bodies(store, new LogQuery { ServiceName = "a" }));
        Assert.Equal(["b-error", "a-warn"], await Bodies(store, new LogQuery { MinSeverityNumber = (int)SeverityNumber.Warn }));
        Assert.Equal(["b-error", "a-warn"], await Bodies(store, new LogQuery { StartTimeMinUnixNano = T(10), StartTimeMaxUnixNano = T(20) }));
        Assert.Equal(["a", "b"], await store.GetLogServicesAsync());
    }

    [Fact]
    public async Task FindLogs_Text_SubstringIgnoresCaseRegexWhenAsked()
    {
        var store = await OpenAsync();
        await WriteLogs(store, 1,
            Log("Rolled a 6 for Alice", T(0)),
            Log("rolled a 3 for bob", T(1)),
            Log("cache miss", T(2)),
            Log("100% done [ok]", T(3)));

        Assert.Equal(["rolled a 3 for bob", "Rolled a 6 for Alice"], await Bodies(store, new LogQuery { Text = "ROLLED" }));
        // Characters that mean something in LIKE or regex syntax are plain text in a substring search.
        Assert.Equal(["100% done [ok]"], await Bodies(store, new LogQuery { Text = "% done [" }));
        Assert.Equal(["Rolled a 6 for Alice"], await Bodies(store, new LogQuery { Text = "^Rolled a [4-6]", TextIsRegex = true }));
        Assert.Equal(["rolled a 3 for bob"], await Bodies(store, new LogQuery { Text = "o'b|bob$", TextIsRegex = true }));
    }

    [Fact]
    public async Task FindLogs_InvalidRegexOrCursor_ThrowsArgumentException()
    {
        var store = await OpenAsync();
        await WriteLogs(store, 1, Log("x"));

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.FindLogsAsync(new LogQuery { Text = "(unclosed", TextIsRegex = true }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.FindLogsAsync(new LogQuery { Before = "not-a-cursor" }));
        Assert.Single((await store.FindLogsAsync(new LogQuery())).Entries);
    }

    [Fact]
    public async Task FindLogs_AttributesOfRecordOrResource_MatchByTextForm()
    {
        var store = await OpenAsync();
        await WriteLogs(store, 1,
            Log("int", T(0), attributes: [Attr("http.status_code", 200L)]),
            Log("other", T(1), attributes: [Attr("http.status_code", 500L)]),
            Log("resource", T(2), resource: CreateResource("svc", Attr("deployment.environment", "prod"))),
            Log("bool", T(3), attributes: [Attr("retry", true), Attr("user", "ann")]));

        Assert.Equal(["int"], await Bodies(store, new LogQuery { Attributes = [new("http.status_code", "200")] }));
        Assert.Equal(["resource"], await Bodies(store, new LogQuery { Attributes = [new("deployment.environment", "prod")] }));
        Assert.Equal(["bool"], await Bodies(store, new LogQuery { Attributes = [new("retry", "true"), new("user", "ann")] }));
        Assert.Empty(await Bodies(store, new LogQuery { Attributes = [new("retry", "true"), new("user", "bob")] }));
    }

    [Fact]
    public async Task TraceLogs_RecordsWithTraceAndSpanIds_FoundByTraceOldestFirstAndBySpan()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var spanA = NewSpanId();
        var spanB = NewSpanId();
        await WriteLogs(store, 1,
            Log("second", T(20), traceId: traceId, spanId: spanB),
            Log("first", T(10), traceId: traceId, spanId: spanA),
            Log("elsewhere", T(15), traceId: NewTraceId(), spanId: NewSpanId()),
            Log("no context", T(16)));

        var logs = await store.GetTraceLogsAsync(traceId);
        Assert.Equal(["first", "second"], logs.Select(l => l.Record.Body.StringValue));
        Assert.Equal([spanA, spanB], logs.Select(l => l.SpanId));
        Assert.All(logs, l => Assert.Equal(traceId, l.TraceId));
        Assert.Equal(["second", "first"], await Bodies(store, new LogQuery { TraceId = traceId }));
        Assert.Equal(["second"], await Bodies(store, new LogQuery { SpanId = spanB }));
        Assert.Empty(await store.GetTraceLogsAsync(NewTraceId()));
    }

    [Fact]
    public async Task Write_SpansAndLogsInOneBatch_SharesResourceAndCheckpoint()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var spanId = NewSpanId();
        var resource = CreateResource("shop", Attr("host.name", "h1"));
        var span = ToSpanData(CreateSpan(traceId, spanId), resource);
        var log = Log("inside the span", traceId: traceId, spanId: spanId, resource: resource);

        await store.WriteAsync(new TelemetryBatch([span], [log], [], 7));

        Assert.Equal(7, await store.GetCheckpointAsync());
        Assert.NotNull(await store.GetTraceAsync(traceId));
        var stored = Assert.Single(await store.GetTraceLogsAsync(traceId));
        Assert.Equal(resource, stored.Resource);
        Assert.Equal("shop", stored.ServiceName);
    }

    [Fact]
    public async Task Reopen_AfterLogWrites_KeepsLogsAndContinuesPaging()
    {
        var store = await OpenAsync();
        if (!store.Capabilities.HasFlag(StoreCapabilities.Durable))
        {
            return;
        }

        await WriteLogs(store, 5, Log("before restart", T(0)));
        var reopened = await ReopenAsync(store);
        await WriteLogs(reopened, 6, Log("after restart", T(0)));

        Assert.Equal(6, await reopened.GetCheckpointAsync());
        var entries = (await reopened.FindLogsAsync(new LogQuery())).Entries;
        Assert.Equal(["after restart", "before restart"], entries.Select(e => e.Log.Record.Body.StringValue));
        Assert.Equal(2, entries.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task DeleteOlderThan_Logs_DeletesOldKeepsNew()
    {
        var store = await OpenAsync();
        await WriteLogs(store, 1, Log("old", T(0)), Log("new", T(200)));

        await store.DeleteOlderThanAsync(T(100));

        Assert.Equal(["new"], await Bodies(store, new LogQuery()));
    }

    [Fact]
    public async Task FindLogs_RecordWithoutTime_UsesObservedTime()
    {
        var store = await OpenAsync();
        var log = Log("observed only", T(0));
        log.Record.TimeUnixNano = 0;
        log.Record.ObservedTimeUnixNano = (ulong)T(50);
        await WriteLogs(store, 1, log, Log("timed", T(40)));

        var entries = (await store.FindLogsAsync(new LogQuery())).Entries;
        Assert.Equal(["observed only", "timed"], entries.Select(e => e.Log.Record.Body.StringValue));
        Assert.Equal(0UL, entries[0].Log.Record.TimeUnixNano);
    }
}
