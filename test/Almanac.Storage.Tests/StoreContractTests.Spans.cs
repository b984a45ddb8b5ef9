using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Testing;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>
/// The one behavioural contract every <see cref="ITelemetryStore"/> backend must pass. A backend's test class only says
/// how to create (and reopen) a store; everything here goes through the contract, never backend internals.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    private const long Ms = 1_000_000;
    private const long Second = 1_000 * Ms;

    private readonly List<ITelemetryStore> _opened = new();

    /// <summary>A fresh, empty store owned by this test; the suite initializes and disposes it.</summary>
    protected abstract Task<ITelemetryStore> CreateStoreAsync();

    /// <summary>
    /// A new store instance over the same data as the one <see cref="CreateStoreAsync"/> made; only called for
    /// backends that declare <see cref="StoreCapabilities.Durable"/>, after the previous instance was disposed.
    /// </summary>
    protected abstract Task<ITelemetryStore> ReopenStoreAsync();

    /// <summary>Deletes whatever the test's stores left behind (temp directory, database).</summary>
    protected abstract Task CleanUpAsync();

    private async Task<ITelemetryStore> OpenAsync()
    {
        var store = await CreateStoreAsync();
        _opened.Add(store);
        await store.InitializeAsync();
        return store;
    }

    private async Task<ITelemetryStore> ReopenAsync(ITelemetryStore previous)
    {
        await previous.DisposeAsync();
        var store = await ReopenStoreAsync();
        _opened.Add(store);
        await store.InitializeAsync();
        return store;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        await CleanUpAsync();
    }

    private static Task Write(ITelemetryStore store, long checkpoint, params SpanData[] spans) => store.WriteAsync(new TelemetryBatch(spans, checkpoint));

    private static SpanData Data(Span span, string service = "svc", Resource? resource = null, InstrumentationScope? scope = null) =>
        ToSpanData(span, resource ?? CreateResource(service), scope);

    private static long T(long offsetMs) => BaseTimeUnixNano + (offsetMs * Ms);

    // ---------------------------------------------------------------- round trip

    [Fact]
    public async Task GetTrace_EveryFieldAndAttributeType_RoundTripsExactly()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var nested = new AnyValue
        {
            ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = "a" }, new AnyValue { IntValue = 7 }, new AnyValue() } },
        };
        var kvlist = new AnyValue
        {
            KvlistValue = new KeyValueList { Values = { Attr("inner", true), new KeyValue { Key = "arr", Value = nested } } },
        };
        var span = CreateSpan(traceId, parentSpanId: NewSpanId(), name: "GET /items", kind: Span.Types.SpanKind.Client,
            startUnixNano: T(0), durationNanos: 42 * Ms, status: Status.Types.StatusCode.Error,
            attributes:
            [
                Attr("s", "text"), Attr("i", 200L), Attr("d", 1.5), Attr("b", true), Attr("bytes", new byte[] { 0, 1, 255 }),
                new KeyValue { Key = "arr", Value = nested }, new KeyValue { Key = "kv", Value = kvlist },
                new KeyValue { Key = "empty", Value = new AnyValue() }, new KeyValue { Key = "null" },
            ],
            events:
            [
                new Span.Types.Event { Name = "exception", TimeUnixNano = (ulong)T(1), Attributes = { Attr("exception.type", "Boom") }, DroppedAttributesCount = 2 },
            ],
            links:
            [
                new Span.Types.Link
                {
                    TraceId = ByteString.CopyFrom(NewTraceId().ToBytes()), SpanId = ByteString.CopyFrom(NewSpanId().ToBytes()),
                    TraceState = "k=v", Attributes = { Attr("link.attr", 3L) }, DroppedAttributesCount = 1, Flags = 0x301,
                },
            ]);
        span.Status.Message = "it broke";
        span.TraceState = "vendor=value";
        span.Flags = 0x101;
        span.DroppedAttributesCount = 3;
        span.DroppedEventsCount = 4;
        span.DroppedLinksCount = 5;

        var resource = CreateResource("checkout", Attr("host.name", "h1"), Attr("pid", 1234L));
        resource.DroppedAttributesCount = 6;
        var scope = new InstrumentationScope { Name = "lib", Version = "2.0", Attributes = { Attr("scope.attr", "x") }, DroppedAttributesCount = 7 };
        TraceId.TryRead(span.TraceId.Span, out var tid);
        SpanId.TryRead(span.SpanId.Span, out var sid);
        SpanId.TryRead(span.ParentSpanId.Span, out var pid);
        var data = new SpanData(tid, sid, pid, "checkout", resource, "https://opentelemetry.io/schemas/1.26.0", scope, "https://scope/schema", span);

        await Write(store, 1, data);
        var trace = await store.GetTraceAsync(traceId);

        Assert.NotNull(trace);
        Assert.Equal(traceId, trace.TraceId);
        var stored = Assert.Single(trace.Spans);
        Assert.Equal(span, stored.Span);
        Assert.Equal(resource, stored.Resource);
        Assert.Equal(scope, stored.Scope);
        Assert.Equal("https://opentelemetry.io/schemas/1.26.0", stored.ResourceSchemaUrl);
        Assert.Equal("https://scope/schema", stored.ScopeSchemaUrl);
        Assert.Equal("checkout", stored.ServiceName);
        Assert.Equal(sid, stored.SpanId);
        Assert.Equal(pid, stored.ParentSpanId);
        var intAttr = stored.Span.Attributes.Single(a => a.Key == "i");
        Assert.Equal(AnyValue.ValueOneofCase.IntValue, intAttr.Value.ValueCase);
    }

    [Fact]
    public async Task GetTrace_UnknownId_ReturnsNull()
    {
        var store = await OpenAsync();
        await Write(store, 1, Data(CreateSpan(NewTraceId())));

        Assert.Null(await store.GetTraceAsync(NewTraceId()));
    }

    [Fact]
    public async Task GetTrace_SpansFromSeveralBatches_AssemblesWholeTrace()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var root = NewSpanId();
        await Write(store, 1, Data(CreateSpan(traceId, root, startUnixNano: T(0), durationNanos: 100 * Ms)));
        await Write(store, 2, Data(CreateSpan(NewTraceId(), startUnixNano: T(5))));
        await Write(store, 3, Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(10), name: "child"), "other"),
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(400), name: "late")));

        var trace = await store.GetTraceAsync(traceId);

        Assert.NotNull(trace);
        Assert.Equal(["child", "late", "op"], trace.Spans.Select(s => s.Span.Name).Order(StringComparer.Ordinal));
        Assert.All(trace.Spans, s => Assert.Equal(traceId, s.TraceId));
    }

    /// <summary>
    /// A search page's traces read together: five that share their writes (read as a group), two that each have
    /// writes of their own, one across writes apart, with parents in the same write, and ids never stored.
    /// </summary>
    [Fact]
    public async Task GetTraces_SharedAndSeparateWrites_EqualReadingEachInGivenOrder()
    {
        var store = await OpenAsync();
        var shared = Enumerable.Range(0, 5).Select(_ => NewTraceId()).ToList();
        var alone = NewTraceId();
        var apart = NewTraceId();
        var other = NewTraceId();
        var root = NewSpanId();
        await Write(store, 1, [.. shared.SelectMany(id => new[]
        {
            Data(CreateSpan(id, root, startUnixNano: T(0), name: "root")),
            Data(CreateSpan(id, NewSpanId(), root, startUnixNano: T(1), name: "child"), "db"),
        }), Data(CreateSpan(apart, startUnixNano: T(2), name: "first"))]);
        await Write(store, 2, Data(CreateSpan(alone, startUnixNano: T(3), name: "alone")));
        await Write(store, 3, Data(CreateSpan(other, startUnixNano: T(4))));
        await Write(store, 4, Data(CreateSpan(apart, startUnixNano: T(5), name: "second")), Data(CreateSpan(alone, startUnixNano: T(6), name: "again")));

        var missing = NewTraceId();
        TraceId[] asked = [apart, shared[3], missing, alone, shared[0], shared[1], shared[2], shared[4], shared[3]];
        var traces = await store.GetTracesAsync(asked);

        Assert.Equal(asked.Where(id => id != missing), traces.Select(t => t.TraceId));
        foreach (var trace in traces)
        {
            var single = await store.GetTraceAsync(trace.TraceId);
            Assert.NotNull(single);
            Assert.Equal(Describe(single), Describe(trace));
        }

        Assert.Equal(["first", "second"], traces[0].Spans.Select(s => s.Span.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["again", "alone"], traces[2].Spans.Select(s => s.Span.Name).Order(StringComparer.Ordinal));
        Assert.Single(traces[1].Spans, s => s.ParentSpanId == root && s.ServiceName == "db");
        Assert.Empty(await store.GetTracesAsync([missing]));
        Assert.Empty(await store.GetTracesAsync([]));

        static List<string> Describe(TraceData trace) => trace.Spans
            .Select(s => $"{s.SpanId} {s.ParentSpanId} {s.ServiceName} {s.Span}").Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task GetTrace_ParentsInSameAndEarlierWrites_ReadBackAsSent()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var root = NewSpanId();
        var child = NewSpanId();
        // Write 1: a root and its child. Write 2: a grandchild whose parent came in write 1, a child of the root,
        // and a span whose parent never arrived. Write 3: a chain long enough that the writer looks parents up
        // through a map, not by scanning the trace's spans, sent in reverse so no parent comes first.
        await Write(store, 1, Data(CreateSpan(traceId, root, startUnixNano: T(0))), Data(CreateSpan(traceId, child, root, startUnixNano: T(1))));
        var grandchild = NewSpanId();
        var missing = NewSpanId();
        await Write(store, 2, Data(CreateSpan(traceId, grandchild, child, startUnixNano: T(2))),
            Data(CreateSpan(traceId, NewSpanId(), root, startUnixNano: T(3))),
            Data(CreateSpan(traceId, NewSpanId(), missing, startUnixNano: T(4))));
        var chain = Enumerable.Range(0, 50).Select(_ => NewSpanId()).ToList();
        await Write(store, 3, Enumerable.Range(0, chain.Count).Reverse()
            .Select(i => Data(CreateSpan(traceId, chain[i], i == 0 ? grandchild : chain[i - 1], startUnixNano: T(10 + i)))).ToArray());

        var trace = await store.GetTraceAsync(traceId);

        Assert.NotNull(trace);
        Assert.Equal(55, trace.Spans.Count);
        var parentOf = trace.Spans.ToDictionary(s => s.SpanId, s => s.ParentSpanId);
        Assert.Equal(default, parentOf[root]);
        Assert.Equal(root, parentOf[child]);
        Assert.Equal(child, parentOf[grandchild]);
        Assert.Equal(grandchild, parentOf[chain[0]]);
        Assert.All(Enumerable.Range(1, chain.Count - 1), i => Assert.Equal(chain[i - 1], parentOf[chain[i]]));
        Assert.Single(trace.Spans, s => s.ParentSpanId == missing);
        // The span message says the same as the row.
        Assert.All(trace.Spans, s => Assert.Equal(s.ParentSpanId.IsEmpty ? ByteString.Empty : ByteString.CopyFrom(s.ParentSpanId.ToBytes()), s.Span.ParentSpanId));
    }

    [Fact]
    public async Task GetTrace_LatestSpanEndsBeforeItStarts_IsStillReturned()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var skewed = CreateSpan(traceId, name: "skewed", startUnixNano: T(500));
        skewed.EndTimeUnixNano = (ulong)T(100);
        await Write(store, 1, Data(CreateSpan(traceId, startUnixNano: T(0), durationNanos: 200 * Ms)), Data(skewed));

        var trace = await store.GetTraceAsync(traceId);

        Assert.Equal(2, trace!.Spans.Count);
        Assert.Equal(skewed, trace.Spans.Single(s => s.Span.Name == "skewed").Span);
    }

    [Fact]
    public async Task GetTrace_PlainAttributeValuesAndOddTimes_RoundTripExactly()
    {
        // Plain string/int/double/bool attributes, in order and with duplicates, edge values and control characters;
        // ends at zero, before the start and after it; an out-of-range span kind.
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var plain = CreateSpan(traceId, name: "plain", startUnixNano: T(0), durationNanos: 5 * Ms, attributes:
        [
            Attr("z", "last-first"), Attr("a", string.Empty), Attr("i", long.MinValue), Attr("i", long.MaxValue), Attr("neg", -1L),
            Attr("d", -0.0), Attr("d2", 1e300), Attr("d3", 0.1 + 0.2), Attr("f", false), Attr("t", true), Attr("uni", "héllo ✓ 日本"),
            Attr(string.Empty, "empty key"),
        ]);
        var separators = CreateSpan(traceId, name: "separators", startUnixNano: T(1), attributes:
            [Attr("k\u001e\u001f", "v\u001ex\u001f"), Attr("n", double.NaN), Attr("inf", double.NegativeInfinity)]);
        var endsAtZero = CreateSpan(traceId, name: "ends at zero", startUnixNano: T(2));
        endsAtZero.EndTimeUnixNano = 0;
        var endsEarly = CreateSpan(traceId, name: "ends early", startUnixNano: T(3));
        endsEarly.EndTimeUnixNano = (ulong)T(2);
        var oddKind = CreateSpan(traceId, name: "odd kind", startUnixNano: T(4));
        oddKind.Kind = (Span.Types.SpanKind)1000;
        var noAttributes = CreateSpan(traceId, name: "bare", startUnixNano: T(5), events: [new Span.Types.Event { Name = "e", TimeUnixNano = (ulong)T(5) }]);
        // Event times at no time, before the span, at the end of the 64-bit range, and the same twice.
        var eventTimes = CreateSpan(traceId, name: "event times", startUnixNano: T(6), events:
        [
            new Span.Types.Event { Name = "unset" },
            new Span.Types.Event { Name = "before", TimeUnixNano = (ulong)T(1), Attributes = { Attr("why", "clock skew") } },
            new Span.Types.Event { Name = "last", TimeUnixNano = ulong.MaxValue },
            new Span.Types.Event { Name = "again", TimeUnixNano = ulong.MaxValue, DroppedAttributesCount = 1 },
        ]);
        var spans = new[] { plain, separators, endsAtZero, endsEarly, oddKind, noAttributes, eventTimes };
        await Write(store, 1, spans.Select(s => Data(s)).ToArray());

        var trace = await store.GetTraceAsync(traceId);

        Assert.NotNull(trace);
        foreach (var span in spans)
        {
            Assert.Equal(span, trace.Spans.Single(s => s.Span.Name == span.Name).Span);
        }

        Assert.Equal(1, BitConverter.DoubleToInt64Bits(trace.Spans.Single(s => s.Span.Name == "plain").Span.Attributes.Single(a => a.Key == "d").Value.DoubleValue) >>> 63);
    }

    [Fact]
    public async Task FindTraceIds_ValuesWithSeparatorLikeCharacters_FindsExactValueOnly()
    {
        var store = await OpenAsync();
        var odd = NewTraceId();
        var other = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(odd, attributes: [Attr("note", "a\u001eb=c\u001fd"), Attr("pair", "x")])),
            Data(CreateSpan(other, attributes: [Attr("note", "a"), Attr("b", "c")])));

        Assert.Equal([odd], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("note", "a\u001eb=c\u001fd")] }));
        Assert.Equal([other], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("note", "a")] }));
        Assert.Equal([other], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("b", "c")] }));
        Assert.Empty(await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("note", "x")] }));
    }

    [Fact]
    public async Task GetTrace_SharedResourceAcrossBatches_ReattachesResourceAndScope()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var resource = CreateResource("api", Attr("deployment.environment", "prod"));
        var scope = CreateScope("io.lib", "9.9");
        await Write(store, 1, Data(CreateSpan(traceId), resource: resource, scope: scope), Data(CreateSpan(traceId), resource: resource, scope: scope));
        await Write(store, 2, Data(CreateSpan(traceId), resource: resource.Clone(), scope: scope.Clone()));

        var trace = await store.GetTraceAsync(traceId);

        Assert.NotNull(trace);
        Assert.Equal(3, trace.Spans.Count);
        Assert.All(trace.Spans, s =>
        {
            Assert.Equal(resource, s.Resource);
            Assert.Equal(scope, s.Scope);
            Assert.Equal("api", s.ServiceName);
        });
    }

    // ---------------------------------------------------------------- summaries

    [Fact]
    public async Task GetTraceSummaries_SpansAcrossBatches_CountsSpansErrorsAndServices()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var root = NewSpanId();
        await Write(store, 1,
            Data(CreateSpan(traceId, root, name: "root", startUnixNano: T(0), durationNanos: 50 * Ms), "frontend"),
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(10), status: Status.Types.StatusCode.Error), "backend"));
        await Write(store, 2,
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(20), durationNanos: 80 * Ms, status: Status.Types.StatusCode.Error), "backend"),
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(30)), "db"));

        var summary = Assert.Single(await store.GetTraceSummariesAsync([traceId]));

        Assert.Equal(traceId, summary.TraceId);
        Assert.Equal(T(0), summary.StartTimeUnixNano);
        Assert.Equal(T(100), summary.EndTimeUnixNano);
        Assert.Equal("frontend", summary.RootServiceName);
        Assert.Equal("root", summary.RootOperationName);
        Assert.True(summary.HasRoot);
        Assert.Equal(4, summary.SpanCount);
        Assert.Equal(2, summary.ErrorCount);
        Assert.Equal(1, summary.SpansPerService["frontend"]);
        Assert.Equal(2, summary.SpansPerService["backend"]);
        Assert.Equal(1, summary.SpansPerService["db"]);
        Assert.Equal(3, summary.SpansPerService.Count);
    }

    [Fact]
    public async Task GetTraceSummaries_RootArrivesLast_ReplacesStandIn()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var root = NewSpanId();
        await Write(store, 1, Data(CreateSpan(traceId, parentSpanId: root, name: "child-late", startUnixNano: T(20)), "backend"));
        await Write(store, 2, Data(CreateSpan(traceId, parentSpanId: root, name: "child-early", startUnixNano: T(10)), "backend"));

        var standIn = Assert.Single(await store.GetTraceSummariesAsync([traceId]));
        Assert.False(standIn.HasRoot);
        Assert.Equal("child-early", standIn.RootOperationName);

        await Write(store, 3, Data(CreateSpan(traceId, root, name: "root", startUnixNano: T(15), durationNanos: 100 * Ms), "frontend"));
        await Write(store, 4, Data(CreateSpan(traceId, parentSpanId: root, name: "earliest-child", startUnixNano: T(1)), "backend"));

        var summary = Assert.Single(await store.GetTraceSummariesAsync([traceId]));
        Assert.True(summary.HasRoot);
        Assert.Equal("root", summary.RootOperationName);
        Assert.Equal("frontend", summary.RootServiceName);
        Assert.Equal(T(1), summary.StartTimeUnixNano);
        Assert.Equal(T(115), summary.EndTimeUnixNano);
        Assert.Equal(4, summary.SpanCount);
    }

    [Fact]
    public async Task GetTraceSummaries_MixedKnownAndUnknownIds_ReturnsStoredInGivenOrder()
    {
        var store = await OpenAsync();
        var a = NewTraceId();
        var b = NewTraceId();
        await Write(store, 1, Data(CreateSpan(a)), Data(CreateSpan(b)));

        var summaries = await store.GetTraceSummariesAsync([b, NewTraceId(), a]);

        Assert.Equal([b, a], summaries.Select(s => s.TraceId));
    }

    // ---------------------------------------------------------------- search

    [Fact]
    public async Task FindTraceIds_ByServiceOperationAndKind_MatchesOnlyThoseTraces()
    {
        var store = await OpenAsync();
        var hit = NewTraceId();
        var otherService = NewTraceId();
        var otherKind = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(hit, name: "GET /a", kind: Span.Types.SpanKind.Server), "api"),
            Data(CreateSpan(otherService, name: "GET /a", kind: Span.Types.SpanKind.Server), "web"),
            Data(CreateSpan(otherKind, name: "GET /a", kind: Span.Types.SpanKind.Client), "api"));

        Assert.Equal([hit], await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "api", OperationName = "GET /a", SpanKind = Span.Types.SpanKind.Server }));
        Assert.Equal(2, (await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "api" })).Count);
        Assert.Empty(await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "nope" }));
    }

    [Fact]
    public async Task FindTraceIds_SpanEventAndResourceAttributes_MatchByTextForm()
    {
        var store = await OpenAsync();
        var spanAttr = NewTraceId();
        var eventAttr = NewTraceId();
        var resourceAttr = NewTraceId();
        var none = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(spanAttr, attributes: [Attr("http.status_code", 200L), Attr("ok", true), Attr("ratio", 0.25)])),
            Data(CreateSpan(eventAttr, events: [new Span.Types.Event { Name = "e", Attributes = { Attr("exception.type", "Boom") } }])),
            Data(CreateSpan(resourceAttr), resource: CreateResource("svc", Attr("k8s.pod.name", "pod-1"))),
            Data(CreateSpan(none, attributes: [Attr("http.status_code", 500L)])));

        Assert.Equal([spanAttr], await Find(store, ("http.status_code", "200")));
        Assert.Equal([spanAttr], await Find(store, ("ok", "true")));
        Assert.Equal([spanAttr], await Find(store, ("ratio", "0.25")));
        Assert.Equal([eventAttr], await Find(store, ("exception.type", "Boom")));
        Assert.Equal([resourceAttr], await Find(store, ("k8s.pod.name", "pod-1")));
        Assert.Equal([spanAttr], await Find(store, ("http.status_code", "200"), ("ok", "true")));
        Assert.Empty(await Find(store, ("http.status_code", "200"), ("ok", "false")));
        Assert.Empty(await Find(store, ("http.status_code", "true")));
    }

    [Fact]
    public async Task FindTraceIds_KeyAndValueOnDifferentAttributes_DoesNotMatch()
    {
        var store = await OpenAsync();
        await Write(store, 1, Data(CreateSpan(NewTraceId(), attributes: [Attr("a", "x"), Attr("b", "y")])));

        Assert.Empty(await Find(store, ("a", "y")));
    }

    [Fact]
    public async Task FindTraceIds_KeyOnSpanAndEvent_MatchesEitherValue()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        await Write(store, 1, Data(CreateSpan(traceId, attributes: [Attr("k", "span-value")],
            events: [new Span.Types.Event { Name = "e", Attributes = { Attr("k", "event-value") } }])));

        Assert.Equal([traceId], await Find(store, ("k", "span-value")));
        Assert.Equal([traceId], await Find(store, ("k", "event-value")));
        Assert.Empty(await Find(store, ("k", "other")));
    }

    [Fact]
    public async Task FindTraceIds_ResourceAndSpanAttributeFilters_MustHoldForTheSameSpan()
    {
        var store = await OpenAsync();
        var both = NewTraceId();
        var split = NewTraceId();
        var prod = CreateResource("api", Attr("env", "prod"));
        var dev = CreateResource("api", Attr("env", "dev"));
        await Write(store, 1,
            Data(CreateSpan(both, attributes: [Attr("user", "alice")]), resource: prod),
            Data(CreateSpan(split, attributes: [Attr("user", "alice")]), resource: dev),
            Data(CreateSpan(split), resource: prod));

        Assert.Equal([both], await Find(store, ("env", "prod"), ("user", "alice")));
        Assert.Equal([both], await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "api", Attributes = [new("env", "prod"), new("user", "alice")] }));
    }

    [Fact]
    public async Task FindTraceIds_FiltersSatisfiedOnlyByDifferentSpans_DoesNotMatch()
    {
        var store = await OpenAsync();
        var split = NewTraceId();
        var whole = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(split, name: "x-op", attributes: [Attr("x", "1")]), "A"),
            Data(CreateSpan(split, name: "y"), "B"),
            Data(CreateSpan(whole, name: "y", attributes: [Attr("x", "1")]), "A"));

        Assert.Equal([whole], await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "A", OperationName = "y" }));
        Assert.Equal([whole], await store.FindTraceIdsAsync(new TraceQuery { OperationName = "y", Attributes = [new("x", "1")] }));
    }

    [Fact]
    public async Task FindTraceIds_DurationRange_IsInclusive()
    {
        var store = await OpenAsync();
        var fast = NewTraceId();
        var medium = NewTraceId();
        var slow = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(fast, durationNanos: 1 * Ms)),
            Data(CreateSpan(medium, durationNanos: 10 * Ms)),
            Data(CreateSpan(slow, durationNanos: 100 * Ms)));

        Assert.Equal([medium], await store.FindTraceIdsAsync(new TraceQuery { DurationMinNanos = 10 * Ms, DurationMaxNanos = 10 * Ms }));
        Assert.Equal(new[] { slow, medium }.Order(), (await store.FindTraceIdsAsync(new TraceQuery { DurationMinNanos = 5 * Ms })).Order());
        Assert.Equal([fast], await store.FindTraceIdsAsync(new TraceQuery { DurationMaxNanos = 5 * Ms }));
    }

    [Fact]
    public async Task FindTraceIds_TimeWindow_MatchesSpansStartingInsideInclusive()
    {
        var store = await OpenAsync();
        var before = NewTraceId();
        var atMin = NewTraceId();
        var atMax = NewTraceId();
        var after = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(before, startUnixNano: T(0))),
            Data(CreateSpan(atMin, startUnixNano: T(100))),
            Data(CreateSpan(atMax, startUnixNano: T(200))),
            Data(CreateSpan(after, startUnixNano: T(300))));

        var found = await store.FindTraceIdsAsync(new TraceQuery { StartTimeMinUnixNano = T(100), StartTimeMaxUnixNano = T(200) });

        Assert.Equal([atMax, atMin], found);
    }

    [Fact]
    public async Task FindTraceIds_Limit_ReturnsNewestFirstWithTiesByTraceId()
    {
        var store = await OpenAsync();
        var ids = Enumerable.Range(0, 10).Select(_ => NewTraceId()).ToList();
        // Pairs of traces share a start time, so the tie-break is exercised; written in shuffled order.
        var spans = ids.Select((id, i) => Data(CreateSpan(id, startUnixNano: T(i / 2 * 10)))).Reverse().ToList();
        await store.WriteAsync(new TelemetryBatch(spans.Where((_, i) => i % 2 == 0).ToList(), 1));
        await store.WriteAsync(new TelemetryBatch(spans.Where((_, i) => i % 2 == 1).ToList(), 2));

        var found = await store.FindTraceIdsAsync(new TraceQuery { Limit = 5 });

        var expected = ids.OrderByDescending(id => ids.IndexOf(id) / 2).ThenBy(id => id).Take(5).ToList();
        Assert.Equal(expected, found);
    }

    [Fact]
    public async Task FindTraceIds_ManyMatchingSpansPerTrace_ReturnsEachTraceOnceUpToLimit()
    {
        var store = await OpenAsync();
        var ids = Enumerable.Range(0, 30).Select(_ => NewTraceId()).ToList();
        var spans = ids.SelectMany((id, i) => Enumerable.Range(0, 5).Select(j => Data(CreateSpan(id, startUnixNano: T((i * 10) + j))))).ToList();
        await store.WriteAsync(new TelemetryBatch(spans, 1));

        var found = await store.FindTraceIdsAsync(new TraceQuery { Limit = 25 });

        Assert.Equal(ids.AsEnumerable().Reverse().Take(25), found);
    }

    private static Task<IReadOnlyList<TraceId>> Find(ITelemetryStore store, params (string Key, string Value)[] attributes) =>
        store.FindTraceIdsAsync(new TraceQuery { Attributes = attributes.Select(a => new KeyValuePair<string, string>(a.Key, a.Value)).ToList() });

    // ---------------------------------------------------------------- catalogue

    [Fact]
    public async Task GetServicesAndOperations_AfterWrites_ListsSortedWithKindFilter()
    {
        var store = await OpenAsync();
        await Write(store, 1,
            Data(CreateSpan(NewTraceId(), name: "b-op", kind: Span.Types.SpanKind.Server), "zeta"),
            Data(CreateSpan(NewTraceId(), name: "a-op", kind: Span.Types.SpanKind.Client), "zeta"),
            Data(CreateSpan(NewTraceId(), name: "a-op", kind: Span.Types.SpanKind.Server), "zeta"),
            Data(CreateSpan(NewTraceId(), name: "a-op", kind: Span.Types.SpanKind.Server), "zeta"),
            Data(CreateSpan(NewTraceId(), name: "x"), "Alpha"),
            Data(CreateSpan(NewTraceId(), name: "x"), "alpha"));

        Assert.Equal(["Alpha", "alpha", "zeta"], await store.GetServicesAsync());
        Assert.Equal(
            [new OperationInfo("a-op", Span.Types.SpanKind.Server), new OperationInfo("a-op", Span.Types.SpanKind.Client), new OperationInfo("b-op", Span.Types.SpanKind.Server)],
            await store.GetOperationsAsync("zeta"));
        Assert.Equal([new OperationInfo("a-op", Span.Types.SpanKind.Client)], await store.GetOperationsAsync("zeta", Span.Types.SpanKind.Client));
        Assert.Empty(await store.GetOperationsAsync("nope"));
    }

    [Fact]
    public async Task GetDependencies_ParentAndChildInDifferentServices_CountsCallsInWindow()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var root = NewSpanId();
        var mid = NewSpanId();
        await Write(store, 1,
            Data(CreateSpan(traceId, root, startUnixNano: T(0)), "frontend"),
            Data(CreateSpan(traceId, mid, root, startUnixNano: T(1)), "frontend"),
            Data(CreateSpan(traceId, parentSpanId: mid, startUnixNano: T(2)), "backend"),
            Data(CreateSpan(traceId, parentSpanId: mid, startUnixNano: T(3)), "backend"),
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(4)), "db"));
        // A child outside the window and a child in another trace with the same span id as a parent do not count.
        var other = NewTraceId();
        await Write(store, 2,
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(10_000)), "late"),
            Data(CreateSpan(other, parentSpanId: mid, startUnixNano: T(5)), "stranger"));

        var links = await store.GetDependenciesAsync(T(0), T(100));

        Assert.Equal([new DependencyLink("frontend", "backend", 2), new DependencyLink("frontend", "db", 1)], links);
    }

    [Fact]
    public async Task GetDependencies_ParentInEarlierWrite_CountsTheCall()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var root = NewSpanId();
        // Each service's SDK exports on its own schedule: the caller's span and the callee's arrive apart.
        await Write(store, 1, Data(CreateSpan(traceId, root, startUnixNano: T(0)), "frontend"));
        await Write(store, 2, Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(1)), "backend"),
            Data(CreateSpan(traceId, parentSpanId: root, startUnixNano: T(2)), "frontend"));

        var links = await store.GetDependenciesAsync(T(0), T(100));

        Assert.Equal([new DependencyLink("frontend", "backend", 1)], links);
    }

    [Fact]
    public async Task GetAttributeKeys_SpanResourceEventScopeLink_ReportsTypeAndTarget()
    {
        var store = await OpenAsync();
        var span = CreateSpan(NewTraceId(),
            attributes: [Attr("http.status_code", 200L), Attr("http.method", "GET")],
            events: [new Span.Types.Event { Name = "e", Attributes = { Attr("exception.escaped", true) } }],
            links: [new Span.Types.Link { TraceId = ByteString.CopyFrom(NewTraceId().ToBytes()), SpanId = ByteString.CopyFrom(NewSpanId().ToBytes()), Attributes = { Attr("link.ratio", 0.5) } }]);
        var scope = new InstrumentationScope { Name = "s", Attributes = { Attr("scope.bytes", new byte[] { 1 }) } };
        await Write(store, 1, Data(span, resource: CreateResource("api", Attr("host.name", "h")), scope: scope));
        await Write(store, 2, Data(CreateSpan(NewTraceId(), attributes: [Attr("only.web", "1")]), "web"));

        var api = await store.GetAttributeKeysAsync("api");
        var all = await store.GetAttributeKeysAsync();

        Assert.Contains(new AttributeKeyInfo("http.status_code", AttributeValueType.Int, AttributeTarget.Span), api);
        Assert.Contains(new AttributeKeyInfo("http.method", AttributeValueType.String, AttributeTarget.Span), api);
        Assert.Contains(new AttributeKeyInfo("exception.escaped", AttributeValueType.Bool, AttributeTarget.Event), api);
        Assert.Contains(new AttributeKeyInfo("link.ratio", AttributeValueType.Double, AttributeTarget.Link), api);
        Assert.Contains(new AttributeKeyInfo("scope.bytes", AttributeValueType.Bytes, AttributeTarget.Scope), api);
        Assert.Contains(new AttributeKeyInfo("host.name", AttributeValueType.String, AttributeTarget.Resource), api);
        Assert.Contains(new AttributeKeyInfo("service.name", AttributeValueType.String, AttributeTarget.Resource), api);
        Assert.DoesNotContain(api, k => k.Key == "only.web");
        Assert.Contains(all, k => k.Key == "only.web");
        Assert.Equal(all.Select(k => k.Key).Order(StringComparer.Ordinal), all.Select(k => k.Key));
    }

    // ---------------------------------------------------------------- checkpoint and durability

    [Fact]
    public async Task GetCheckpoint_EmptyStoreThenWrites_ReturnsLastCommitted()
    {
        var store = await OpenAsync();
        Assert.Equal(0, await store.GetCheckpointAsync());

        await Write(store, 17, Data(CreateSpan(NewTraceId())));
        await store.WriteAsync(new TelemetryBatch([], 42));

        Assert.Equal(42, await store.GetCheckpointAsync());
    }

    [Fact]
    public async Task Reopen_AfterWrites_KeepsSpansSummariesCatalogueAndCheckpoint()
    {
        var store = await OpenAsync();
        if (!store.Capabilities.HasFlag(StoreCapabilities.Durable))
        {
            return;
        }

        var traceId = NewTraceId();
        var span = CreateSpan(traceId, name: "persisted", attributes: [Attr("k", "v")]);
        await Write(store, 99, Data(span, "durable-svc", scope: CreateScope("lib", "1")));

        var reopened = await ReopenAsync(store);

        Assert.Equal(99, await reopened.GetCheckpointAsync());
        var trace = await reopened.GetTraceAsync(traceId);
        Assert.NotNull(trace);
        Assert.Equal(span, Assert.Single(trace.Spans).Span);
        Assert.Equal("durable-svc", trace.Spans[0].ServiceName);
        Assert.Equal(["durable-svc"], await reopened.GetServicesAsync());
        Assert.Equal([traceId], await Find(reopened, ("k", "v")));
        Assert.Single(await reopened.GetTraceSummariesAsync([traceId]));

        // Writing after reopen with the same resource must not trip over rows the new instance has not cached.
        await Write(reopened, 100, Data(CreateSpan(traceId, name: "after"), "durable-svc", scope: CreateScope("lib", "1")));
        Assert.Equal(2, (await reopened.GetTraceAsync(traceId))!.Spans.Count);
    }

    // ---------------------------------------------------------------- retention

    [Fact]
    public async Task DeleteOlderThan_MixedAges_DeletesOldKeepsNew()
    {
        var store = await OpenAsync();
        var old = NewTraceId();
        var straddling = NewTraceId();
        var fresh = NewTraceId();
        await Write(store, 1,
            Data(CreateSpan(old, startUnixNano: T(0)), "old-svc"),
            Data(CreateSpan(old, startUnixNano: T(10)), "old-svc"),
            Data(CreateSpan(straddling, startUnixNano: T(50)), "fresh-svc"),
            Data(CreateSpan(straddling, startUnixNano: T(150)), "fresh-svc"),
            Data(CreateSpan(fresh, startUnixNano: T(200)), "fresh-svc"));

        var deleted = await store.DeleteOlderThanAsync(T(100));

        Assert.Equal(3, deleted);
        Assert.Null(await store.GetTraceAsync(old));
        Assert.Single((await store.GetTraceAsync(straddling))!.Spans);
        Assert.Single((await store.GetTraceAsync(fresh))!.Spans);
        Assert.Equal([straddling], (await store.GetTraceSummariesAsync([old, straddling])).Select(s => s.TraceId));
        Assert.Equal<string>(["fresh-svc"], await store.GetServicesAsync());
        Assert.Equal([fresh, straddling], await store.FindTraceIdsAsync(new TraceQuery()));

        // A service seen again after retention is catalogued again.
        await Write(store, 2, Data(CreateSpan(NewTraceId(), startUnixNano: T(300)), "old-svc"));
        Assert.Equal(["fresh-svc", "old-svc"], await store.GetServicesAsync());
    }

    [Fact]
    public async Task DeleteOlderThan_ParentDeletedChildKept_ChildStillNamesItsParent()
    {
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var parent = NewSpanId();
        var child = NewSpanId();
        var grandchild = NewSpanId();
        await Write(store, 1,
            Data(CreateSpan(traceId, parent, startUnixNano: T(50))),
            Data(CreateSpan(traceId, child, parent, startUnixNano: T(150))),
            Data(CreateSpan(traceId, grandchild, child, startUnixNano: T(160))));

        await store.DeleteOlderThanAsync(T(100));

        var trace = await store.GetTraceAsync(traceId);
        Assert.NotNull(trace);
        Assert.Equal([(child, parent), (grandchild, child)], trace.Spans.Select(s => (s.SpanId, s.ParentSpanId)).OrderBy(p => p.SpanId == grandchild));
        Assert.Equal(ByteString.CopyFrom(parent.ToBytes()), trace.Spans.Single(s => s.SpanId == child).Span.ParentSpanId);
    }

    [Fact]
    public async Task Times_AnySixtyFourBitValue_SummarizeAndSurviveRetention()
    {
        // OTLP times are unsigned 64-bit: a sender can put a span at 0 and another past the year 2262 in one trace.
        // The summary must say what was sent, and neither a read nor retention may fail on it.
        var store = await OpenAsync();
        var traceId = NewTraceId();
        var early = CreateSpan(traceId, name: "epoch", startUnixNano: 0);
        var late = CreateSpan(traceId, name: "far", startUnixNano: T(0));
        // 2^63 + 5 ns: as a signed 64-bit number the most negative there is, so a difference from "now" overflows.
        late.StartTimeUnixNano = (1UL << 63) + 5;
        late.EndTimeUnixNano = (1UL << 63) + 1_005;
        await Write(store, 1, Data(early), Data(late), Data(CreateSpan(traceId, name: "now", startUnixNano: T(200))));

        var summary = Assert.Single(await store.GetTraceSummariesAsync([traceId]));
        Assert.Equal(3, summary.SpanCount);
        Assert.Equal(3, (await store.GetTraceAsync(traceId))!.Spans.Count);

        await store.DeleteOlderThanAsync(T(100));

        Assert.Contains((await store.GetTraceAsync(traceId))!.Spans, s => s.Span.Name == "now");
        Assert.Single(await store.GetTraceSummariesAsync([traceId]));
    }

    [Fact]
    public async Task DeleteOlderThan_CatalogueEntrySeenAgainAfterCutoff_IsKept()
    {
        var store = await OpenAsync();
        await Write(store, 1, Data(CreateSpan(NewTraceId(), name: "op", startUnixNano: T(0), attributes: [Attr("k", "v")]), "steady"));
        await Write(store, 2, Data(CreateSpan(NewTraceId(), name: "op", startUnixNano: T(30_000), attributes: [Attr("k", "v")]), "steady"));

        await store.DeleteOlderThanAsync(T(20_000));

        Assert.Equal(["steady"], await store.GetServicesAsync());
        Assert.Equal([new OperationInfo("op", Span.Types.SpanKind.Server)], await store.GetOperationsAsync("steady"));
        Assert.Contains(await store.GetAttributeKeysAsync("steady"), k => k.Key == "k");
    }

    [Fact]
    public async Task DeleteOlderThan_WhileWriterKeepsWriting_LosesNoNewSpans()
    {
        var store = await OpenAsync();
        var oldTraces = Enumerable.Range(0, 50).Select(_ => NewTraceId()).ToList();
        await store.WriteAsync(new TelemetryBatch(oldTraces.Select(id => Data(CreateSpan(id, startUnixNano: T(0)))).ToList(), 1));

        var newTraces = new List<TraceId>();
        var writer = Task.Run(async () =>
        {
            for (var batch = 0; batch < 20; batch++)
            {
                var ids = Enumerable.Range(0, 20).Select(_ => NewTraceId()).ToList();
                newTraces.AddRange(ids);
                await store.WriteAsync(new TelemetryBatch(ids.Select(id => Data(CreateSpan(id, startUnixNano: T(1_000 + batch)))).ToList(), batch + 2));
            }
        });
        var retention = Task.Run(async () =>
        {
            long total = 0;
            for (var i = 0; i < 5; i++)
            {
                total += await store.DeleteOlderThanAsync(T(500));
            }

            return total;
        });
        await Task.WhenAll(writer, retention);

        Assert.Equal(50, await retention);
        Assert.Equal(21, await store.GetCheckpointAsync());
        Assert.Equal(400, (await store.FindTraceIdsAsync(new TraceQuery { Limit = 1_000 })).Count);
        foreach (var id in newTraces.Take(10))
        {
            Assert.NotNull(await store.GetTraceAsync(id));
        }
    }

    // ---------------------------------------------------------------- concurrency and volume

    [Fact]
    public async Task Queries_DuringConcurrentWrites_SeeOnlyWholeBatches()
    {
        var store = await OpenAsync();
        const int Batches = 30;
        const int SpansPerTrace = 4;
        var writer = Task.Run(async () =>
        {
            for (var b = 0; b < Batches; b++)
            {
                var id = NewTraceId();
                var root = NewSpanId();
                var spans = Enumerable.Range(0, SpansPerTrace)
                    .Select(i => Data(CreateSpan(id, i == 0 ? root : null, i == 0 ? null : root, startUnixNano: T(b * 10 + i)), "concurrent"))
                    .ToList();
                await store.WriteAsync(new TelemetryBatch(spans, b + 1));
            }
        });

        var reads = 0;
        while (!writer.IsCompleted || reads == 0)
        {
            var ids = await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "concurrent", Limit = 5 });
            foreach (var id in ids)
            {
                // A trace is written in one batch, so a reader never sees part of it.
                var trace = await store.GetTraceAsync(id);
                Assert.Equal(SpansPerTrace, trace!.Spans.Count);
            }

            reads++;
        }

        await writer;
        Assert.Equal(Batches, (await store.FindTraceIdsAsync(new TraceQuery { Limit = 100 })).Count);
    }

    [Fact]
    public async Task Write_TenThousandTelemetryBatch_StoresAllAndSearches()
    {
        var store = await OpenAsync();
        var resources = Enumerable.Range(0, 5).Select(i => CreateResource("svc-" + i, Attr("host.name", "host-" + i))).ToArray();
        var traceIds = Enumerable.Range(0, 1_000).Select(_ => NewTraceId()).ToArray();
        var spans = new List<SpanData>(10_000);
        for (var i = 0; i < 10_000; i++)
        {
            var traceId = traceIds[i % traceIds.Length];
            spans.Add(Data(CreateSpan(traceId, name: "op-" + (i % 20), startUnixNano: T(i % 5_000),
                status: i % 100 == 0 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Ok,
                attributes: [Attr("http.status_code", 200L + (i % 3)), Attr("i", (long)i)]), resource: resources[i % resources.Length]));
        }

        await store.WriteAsync(new TelemetryBatch(spans, 10_000));

        Assert.Equal(10, (await store.GetTraceAsync(traceIds[7]))!.Spans.Count);
        Assert.Equal(1_000, (await store.FindTraceIdsAsync(new TraceQuery { Limit = 5_000 })).Count);
        var byAttr = await Find(store, ("i", "4321"));
        Assert.Equal([traceIds[321]], byAttr);
        Assert.Equal(5, (await store.GetServicesAsync()).Count);
        var summaries = await store.GetTraceSummariesAsync(traceIds);
        Assert.Equal(10_000, summaries.Sum(s => s.SpanCount));
        Assert.Equal(100, summaries.Sum(s => s.ErrorCount));
    }

    [Fact]
    public async Task ReleaseMemory_BetweenWrites_KeepsEverythingReadableSearchableAndWritable()
    {
        var store = await OpenAsync();
        var first = NewTraceId();
        await Write(store, 1, Data(CreateSpan(first, name: "before", startUnixNano: T(0), attributes: [Attr("user", "ann")])),
            Data(CreateSpan(first, name: "before-child", startUnixNano: T(1))));
        await store.FlushAsync();

        await store.ReleaseMemoryAsync();

        Assert.Equal(2, (await store.GetTraceAsync(first))!.Spans.Count);
        Assert.Equal([first], await Find(store, ("user", "ann")));
        var second = NewTraceId();
        await Write(store, 2, Data(CreateSpan(second, name: "after", startUnixNano: T(2), attributes: [Attr("user", "bob")])));
        await store.ReleaseMemoryAsync();
        Assert.Equal([second], await Find(store, ("user", "bob")));
        Assert.Equal(2, await store.GetCheckpointAsync());
        Assert.Equal(3, (await store.GetTraceSummariesAsync([first, second])).Sum(s => s.SpanCount));
    }
}

