using System.Net;
using System.Text;
using System.Text.Json;
using Almanac.Core.Ingest;
using Almanac.Otlp.Json;
using Almanac.Testing;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>The query APIs answered by a running Almanac from data sent over OTLP.</summary>
public sealed class QueryApiTests
{
    private static byte[] Fixture(params string[] path) => File.ReadAllBytes(Path.Combine([AppContext.BaseDirectory, "Fixtures", .. path]));

    [Theory]
    [InlineData("otlp-spec-examples", "trace.json")]
    [InlineData("almanac-full-trace.json")]
    public async Task OtlpJsonFixture_PostedOverHttp_ComesBackWhole_ThroughApiV3(params string[] fixturePath)
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var body = Fixture(fixturePath);
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Content(body, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var sent = TraceRequestFlattener.Flatten(OtlpJson.ParseTraceRequest(body)).Spans;
        Assert.NotEmpty(sent);
        using var query = new QueryClient(almanac.UiEndpoint);
        foreach (var traceId in sent.Select(s => s.TraceId).Distinct())
        {
            await query.WaitForTraceAsync(traceId.ToHex(), minSpans: sent.Count(s => s.TraceId == traceId));
            using var v3 = await query.Http.GetAsync(new Uri($"/api/v3/traces/{traceId.ToHex()}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, v3.StatusCode);
            using var doc = JsonDocument.Parse(await v3.Content.ReadAsStringAsync());
            var result = Encoding.UTF8.GetBytes(doc.RootElement.GetProperty("result").GetRawText());
            var received = TraceRequestFlattener.Flatten(OtlpJson.ParseTraceRequest(result)).Spans;

            foreach (var expected in sent.Where(s => s.TraceId == traceId))
            {
                var actual = Assert.Single(received, r => r.SpanId == expected.SpanId);
                Assert.Equal(expected.Span, actual.Span);
                Assert.Equal(expected.Resource, actual.Resource);
                Assert.Equal(expected.Scope, actual.Scope);
                Assert.Equal(expected.ResourceSchemaUrl, actual.ResourceSchemaUrl);
                Assert.Equal(expected.ScopeSchemaUrl, actual.ScopeSchemaUrl);
            }
        }
    }

    [Fact]
    public async Task TwoServiceTrace_SearchOperationsDependenciesAndLookups_AnswerLikeJaeger()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var traceId = TestData.NewTraceId();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var rootId = TestData.NewSpanId();
        var clientId = TestData.NewSpanId();
        var frontend = OtlpRequests.Traces("frontend",
            TestData.CreateSpan(traceId, rootId, name: "GET /checkout", kind: Span.Types.SpanKind.Server, startUnixNano: now, durationNanos: 50_000_000),
            TestData.CreateSpan(traceId, clientId, rootId, name: "POST /pay", kind: Span.Types.SpanKind.Client, startUnixNano: now + 1_000_000, durationNanos: 40_000_000));
        var backend = OtlpRequests.Traces("payments",
            TestData.CreateSpan(traceId, parentSpanId: clientId, name: "POST /pay", kind: Span.Types.SpanKind.Server, startUnixNano: now + 2_000_000, durationNanos: 30_000_000,
                status: OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Error, attributes: [TestData.Attr("card.type", "visa")]));
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(frontend.ResourceSpans);
        request.ResourceSpans.Add(backend.ResourceSpans);
        using (var http = new HttpClient { BaseAddress = almanac.HttpEndpoint })
        {
            using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var query = new QueryClient(almanac.UiEndpoint);
        var trace = await query.WaitForTraceAsync(traceId.ToHex(), minSpans: 3);

        // Every span's process exists; two services, two processes.
        var processes = trace.GetProperty("processes");
        Assert.Equal(2, processes.EnumerateObject().Count());
        foreach (var span in trace.GetProperty("spans").EnumerateArray())
        {
            Assert.True(processes.TryGetProperty(span.GetProperty("processID").GetString()!, out _));
        }

        var (_, services) = await query.GetAsync("/api/services");
        Assert.Equal(["frontend", "payments"], services!.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetString()!));

        var (_, ops) = await query.GetAsync("/api/operations?service=frontend&spanKind=client");
        var op = Assert.Single(ops!.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal("POST /pay", op.GetProperty("name").GetString());
        Assert.Equal("client", op.GetProperty("spanKind").GetString());

        var (_, names) = await query.GetAsync("/api/services/frontend/operations");
        Assert.Equal(["GET /checkout", "POST /pay"], names!.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetString()!).Order());

        var (_, deps) = await query.GetAsync($"/api/dependencies?endTs={DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000}&lookback=3600000");
        var link = Assert.Single(deps!.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal("frontend", link.GetProperty("parent").GetString());
        Assert.Equal("payments", link.GetProperty("child").GetString());
        Assert.Equal(1, link.GetProperty("callCount").GetInt64());

        // One span must satisfy all filters: the payments span has the tag, and errors; frontend does not.
        var (_, hit) = await query.GetAsync("/api/traces?service=payments&tags=%7B%22card.type%22%3A%22visa%22%7D&minDuration=20ms&lookback=1h");
        Assert.Single(hit!.RootElement.GetProperty("data").EnumerateArray());
        var (_, miss) = await query.GetAsync("/api/traces?service=frontend&tags=%7B%22card.type%22%3A%22visa%22%7D&lookback=1h");
        Assert.Empty(miss!.RootElement.GetProperty("data").EnumerateArray());
        var (_, tooLong) = await query.GetAsync("/api/traces?service=payments&minDuration=1s&lookback=1h");
        Assert.Empty(tooLong!.RootElement.GetProperty("data").EnumerateArray());

        // Several ids at once; one unknown is reported, not fatal.
        var unknown = "00000000000000000000000000abcdef";
        var (status, many) = await query.GetAsync($"/api/traces?traceID={traceId.ToHex()}&traceID={unknown}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(many!.RootElement.GetProperty("data").EnumerateArray());

        var (v3Status, v3Services) = await query.GetAsync("/api/v3/services");
        Assert.Equal(HttpStatusCode.OK, v3Status);
        Assert.Contains("payments", v3Services!.RootElement.GetProperty("services").EnumerateArray().Select(e => e.GetString()));
        var (_, v3Search) = await query.GetAsync($"/api/v3/traces?query.service_name=payments&query.start_time_min={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O"))}&query.start_time_max={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O"))}");
        Assert.Equal(3, v3Search!.RootElement.GetProperty("result").GetProperty("resourceSpans").EnumerateArray().Sum(r => r.GetProperty("scopeSpans").EnumerateArray().Sum(s => s.GetProperty("spans").GetArrayLength())));
    }
}

/// <summary>Bad parameters and unknown ids: 4xx in each API's error shape, never a 500.</summary>
public sealed class QueryApiErrorTests(AlmanacFixture fixture) : IClassFixture<AlmanacFixture>
{
    [Theory]
    [InlineData("/api/traces?service=x&limit=banana", HttpStatusCode.BadRequest)]
    [InlineData("/api/traces?service=x&minDuration=soon", HttpStatusCode.BadRequest)]
    [InlineData("/api/traces?service=x&tags=%7Bnot-json", HttpStatusCode.BadRequest)]
    [InlineData("/api/traces/not-a-trace-id", HttpStatusCode.BadRequest)]
    [InlineData("/api/traces/0123456789abcdef0123456789abcdef0", HttpStatusCode.BadRequest)]
    [InlineData("/api/traces/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound)]
    [InlineData("/api/v3/traces/zzz", HttpStatusCode.BadRequest)]
    [InlineData("/api/v3/traces/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound)]
    public async Task BadOrUnknown_GivesClear4xxNever500(string path, HttpStatusCode expected)
    {
        using var query = new QueryClient(fixture.Almanac.UiEndpoint);
        var (status, body) = await query.GetAsync(path);
        Assert.Equal(expected, status);
        Assert.NotNull(body);
        var root = body!.RootElement;
        if (path.StartsWith("/api/v3", StringComparison.Ordinal))
        {
            Assert.False(string.IsNullOrEmpty(root.GetProperty("error").GetProperty("message").GetString()));
        }
        else
        {
            var error = Assert.Single(root.GetProperty("errors").EnumerateArray());
            Assert.Equal((int)expected, error.GetProperty("code").GetInt32());
            Assert.False(string.IsNullOrEmpty(error.GetProperty("msg").GetString()));
        }
    }
}
