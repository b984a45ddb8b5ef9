using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Almanac.Server.Tests.EndToEnd;
using static Almanac.Server.Tests.EndToEnd.JaegerJson;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>
/// The talk's story end to end: dice and responder as real processes exporting to a real Almanac, read back through
/// its Jaeger API. Durations are asserted only as lower bounds that follow from the sleeps.
/// </summary>
public sealed class DiceTraceTests(AlmanacFixture fixture) : IClassFixture<AlmanacFixture>
{
    private const int Rolls = 3;

    [Theory]
    [InlineData("tracecontext,baggage", "grpc", null)]
    [InlineData("b3multi", "http/protobuf", "b3multi")]
    [InlineData("b3", "grpc", "b3single")]
    public async Task RollDice_EachRequestIsOneTraceAcrossBothServices(string propagators, string protocol, string? nameSuffix)
    {
        // The default row keeps the services' own names; the others rename them with OTEL_SERVICE_NAME.
        var diceName = nameSuffix is null ? "dice" : $"dice-{nameSuffix}";
        var responderName = nameSuffix is null ? "responder" : $"responder-{nameSuffix}";
        await using var responder = await SampleProcess.StartServiceAsync(
            "Responder", fixture.TelemetryEnvironment(protocol, propagators, nameSuffix is null ? null : responderName));
        var diceEnvironment = fixture.TelemetryEnvironment(protocol, propagators, nameSuffix is null ? null : diceName);
        diceEnvironment["SLOW_API_URL"] = responder.BaseUrl!.ToString();
        diceEnvironment["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=e2e";
        await using var dice = await SampleProcess.StartServiceAsync("Dice", diceEnvironment);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var results = await Task.WhenAll(Enumerable.Range(0, Rolls).Select(_ => RollAsync(http, dice)));

        using var query = new QueryClient(fixture.Almanac.UiEndpoint);
        foreach (var (roll, traceId) in results)
        {
            var trace = await query.WaitForTraceAsync(traceId, minSpans: 5);
            AssertStoryTrace(trace, roll, diceName, responderName, dice.Output + responder.Output);
        }

        // Searching by service finds exactly these traces: one per request.
        var (_, search) = await query.GetAsync($"/api/traces?service={diceName}&lookback=1h&limit=50");
        Assert.Equal(
            results.Select(r => r.TraceId).Order(),
            search!.RootElement.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("traceID").GetString()!).Order());
    }

    [Fact]
    public async Task SlowApiTimesOut_RollIsStillServed_AndTheSpanRecordsTheError()
    {
        await using var responder = await SampleProcess.StartServiceAsync("Responder", fixture.TelemetryEnvironment(serviceName: "responder-timeout"));
        var environment = fixture.TelemetryEnvironment(serviceName: "dice-timeout");
        environment["SLOW_API_URL"] = responder.BaseUrl!.ToString();
        environment["SLOW_API_TIMEOUT_MS"] = "100"; // the responder sleeps at least 500 ms
        await using var dice = await SampleProcess.StartServiceAsync("Dice", environment);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var (roll, traceId) = await RollAsync(http, dice);

        using var query = new QueryClient(fixture.Almanac.UiEndpoint);
        var trace = await query.WaitForTraceAsync(traceId, minSpans: 4);
        Assert.Equal(roll, Tag(Span(trace, "rolling dice"), "roll.value").GetProperty("value").GetInt64());
        var slow = Span(trace, "simulatedSlowApiSpan");
        AssertErrorWithException(slow, "TaskCanceledException");
        Assert.Contains("timed out after 100 ms", Tag(slow, "otel.status_description").GetProperty("value").GetString());
        await dice.WaitForOutputAsync(o => o.Contains("Failed to make call to simulate slow api", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the error log");
    }

    [Fact]
    public async Task SlowApiDown_RollIsStillServed_AndShutdownFlushesTheTrace()
    {
        var environment = fixture.TelemetryEnvironment(serviceName: "dice-down");
        // Nothing listens there: the port is bound but not listening, so connecting is refused, and as it stays bound
        // the dice's own FreePort() cannot hand it out again (a port from FreePort() was free for anyone to take).
        using var notListening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        notListening.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        environment["SLOW_API_URL"] = $"http://127.0.0.1:{((IPEndPoint)notListening.LocalEndPoint!).Port}/";
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "60000"; // only the shutdown flush can deliver the spans in time
        await using var dice = await SampleProcess.StartServiceAsync("Dice", environment);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var (roll, traceId) = await RollAsync(http, dice);

        // OTEL_BSP_SCHEDULE_DELAY is honoured: past the SDK's default 5 s, the spans are still waiting in the batch.
        using var query = new QueryClient(fixture.Almanac.UiEndpoint);
        await Task.Delay(TimeSpan.FromSeconds(6));
        var (notYet, _) = await query.GetAsync($"/api/traces/{traceId}");
        Assert.Equal(HttpStatusCode.NotFound, notYet);

        Assert.Equal(0, await dice.StopGracefullyAsync());
        var trace = await query.WaitForTraceAsync(traceId, minSpans: 4, timeout: TimeSpan.FromSeconds(5));
        Assert.Equal(4, trace.GetProperty("spans").GetArrayLength()); // no responder span: it never answered
        Assert.Equal(roll, Tag(Span(trace, "rolling dice"), "roll.value").GetProperty("value").GetInt64());
        AssertErrorWithException(Span(trace, "simulatedSlowApiSpan"), "HttpRequestException");
        Assert.Contains("Failed to make call to simulate slow api", dice.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("b3multi", false)]
    [InlineData("b3", true)]
    public async Task Responder_ContinuesATraceFromB3Headers_With64BitTraceId(string propagators, bool singleHeader)
    {
        var name = $"responder-direct-{propagators}";
        await using var responder = await SampleProcess.StartServiceAsync("Responder", fixture.TelemetryEnvironment(propagators: propagators, serviceName: name));
        var traceId64 = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
        const string parentSpanId = "e457b5a2e4d86bd1";

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(responder.BaseUrl!, "/?sleep=0"));
        if (singleHeader)
        {
            request.Headers.Add("b3", $"{traceId64}-{parentSpanId}-1");
        }
        else
        {
            request.Headers.Add("X-B3-TraceId", traceId64);
            request.Headers.Add("X-B3-SpanId", parentSpanId);
            request.Headers.Add("X-B3-Sampled", "1");
        }

        using var http = new HttpClient();
        using (var response = await http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var query = new QueryClient(fixture.Almanac.UiEndpoint);
        var trace = await query.WaitForTraceAsync("0000000000000000" + traceId64);
        var span = Assert.Single(trace.GetProperty("spans").EnumerateArray());
        Assert.Equal(name, ServiceOf(trace, span));
        var reference = Assert.Single(span.GetProperty("references").EnumerateArray());
        Assert.Equal(parentSpanId, reference.GetProperty("spanID").GetString());
        Assert.Equal(0, Tag(span, "responder.sleep_ms").GetProperty("value").GetInt64());
    }

    [Fact]
    public async Task Responder_RejectsBadSleepWith400AndAMessage()
    {
        await using var responder = await SampleProcess.StartServiceAsync("Responder", new Dictionary<string, string>
        {
            ["OTEL_TRACES_EXPORTER"] = "none",
            ["OTEL_METRICS_EXPORTER"] = "none",
            ["OTEL_LOGS_EXPORTER"] = "none",
        });
        using var http = new HttpClient();
        foreach (var (query, message) in new[]
        {
            ("", "missing sleep"), ("?sleep=-5", "must not be negative"), ("?sleep=soon", "whole number"), ("?sleep=600000", "at most 60000"),
        })
        {
            using var response = await http.GetAsync(new Uri(responder.BaseUrl!, "/" + query));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var ok = await http.GetAsync(new Uri(responder.BaseUrl!, "/?sleep=1"));
        Assert.Equal("slept 1 ms\n", await ok.Content.ReadAsStringAsync());
    }

    private static async Task<(int Roll, string TraceId)> RollAsync(HttpClient http, SampleProcess dice)
    {
        using var response = await http.GetAsync(new Uri(dice.BaseUrl!, "/rolldice"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}\n{dice.Output}");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var roll = int.Parse(body.Trim(), CultureInfo.InvariantCulture);
        Assert.InRange(roll, 1, 6);
        var traceresponse = Assert.Single(response.Headers.GetValues("traceresponse"));
        return (roll, traceresponse.Split('-')[1]);
    }

    private static void AssertStoryTrace(JsonElement trace, int roll, string diceName, string responderName, string output)
    {
        var spans = trace.GetProperty("spans").EnumerateArray().ToList();
        Assert.True(spans.Count == 5, $"expected 5 spans, got {string.Join(", ", spans.Select(s => s.GetProperty("operationName").GetString()))}\n{output}");

        var diceServer = Span(trace, "GET /rolldice");
        var rolling = Span(trace, "rolling dice");
        var slow = Span(trace, "simulatedSlowApiSpan");
        var client = spans.Single(s => Tag(s, "span.kind").GetProperty("value").GetString() == "client");
        var responderServer = spans.Single(s => ServiceOf(trace, s) == responderName);

        Assert.Equal(diceName, ServiceOf(trace, diceServer));
        Assert.Equal(diceName, ServiceOf(trace, rolling));
        Assert.Equal(diceName, ServiceOf(trace, slow));
        Assert.Equal(diceName, ServiceOf(trace, client));
        Assert.Equal("server", Tag(diceServer, "span.kind").GetProperty("value").GetString());
        Assert.Equal("server", Tag(responderServer, "span.kind").GetProperty("value").GetString());
        Assert.Equal("GET /", responderServer.GetProperty("operationName").GetString());
        Assert.Equal("0.1.0", ProcessTag(trace, diceServer, "service.version"));
        Assert.Equal("e2e", ProcessTag(trace, diceServer, "deployment.environment.name")); // OTEL_RESOURCE_ATTRIBUTES

        // Parent/child, across the process boundary too.
        Assert.Empty(diceServer.GetProperty("references").EnumerateArray());
        AssertChildOf(rolling, diceServer);
        AssertChildOf(slow, rolling);
        AssertChildOf(client, slow);
        AssertChildOf(responderServer, client);

        // roll.value is an integer equal to the answer, and the event is there.
        var rollTag = Tag(rolling, "roll.value");
        Assert.Equal("int64", rollTag.GetProperty("type").GetString());
        Assert.Equal(roll, rollTag.GetProperty("value").GetInt64());
        Assert.Contains(
            rolling.GetProperty("logs").EnumerateArray().SelectMany(l => l.GetProperty("fields").EnumerateArray()),
            f => f.GetProperty("value").ToString() == "simulating a call to slow api");
        Assert.Equal(500 * roll, Tag(responderServer, "responder.sleep_ms").GetProperty("value").GetInt64());

        // The responder slept 500×roll ms inside a request that also waited 100×roll ms: lower bounds, in µs.
        Assert.True(Duration(responderServer) >= 500_000L * roll, $"responder span {Duration(responderServer)} µs for roll {roll}");
        Assert.True(Duration(diceServer) >= 600_000L * roll, $"trace {Duration(diceServer)} µs for roll {roll}");
        Assert.True(Duration(diceServer) >= Duration(responderServer));
    }

    private static void AssertErrorWithException(JsonElement span, string exceptionType)
    {
        Assert.True(Tag(span, "error").GetProperty("value").GetBoolean());
        Assert.Equal("ERROR", Tag(span, "otel.status_code").GetProperty("value").GetString());
        var fields = span.GetProperty("logs").EnumerateArray().SelectMany(l => l.GetProperty("fields").EnumerateArray()).ToList();
        Assert.Contains(fields, f => f.GetProperty("key").GetString() == "event" && f.GetProperty("value").GetString() == "exception");
        Assert.Contains(fields, f => f.GetProperty("key").GetString() == "exception.type" && f.GetProperty("value").GetString()!.EndsWith(exceptionType, StringComparison.Ordinal));
    }

    private static void AssertChildOf(JsonElement child, JsonElement parent)
    {
        var reference = Assert.Single(child.GetProperty("references").EnumerateArray());
        Assert.Equal("CHILD_OF", reference.GetProperty("refType").GetString());
        Assert.Equal(parent.GetProperty("spanID").GetString(), reference.GetProperty("spanID").GetString());
    }

    private static long Duration(JsonElement span) => span.GetProperty("duration").GetInt64();

    private static string? ProcessTag(JsonElement trace, JsonElement span, string key) =>
        trace.GetProperty("processes").GetProperty(span.GetProperty("processID").GetString()!).GetProperty("tags").EnumerateArray()
            .Where(t => t.GetProperty("key").GetString() == key).Select(t => t.GetProperty("value").GetString()).SingleOrDefault();
}
