using System.Text.Json;
using System.Text.Json.Nodes;
using Almanac.Core.Model;
using Almanac.Query.Jaeger;
using Almanac.Testing;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.Tests;

/// <summary>A small fixed trace rendered whole and compared with a hand-written Jaeger JSON document.</summary>
public sealed class GoldenTraceTests
{
    private static readonly TraceId TraceId = new(0x4bf92f3577b34da6, 0xa3ce929d0e0e4736);
    private static readonly SpanId RootId = new(0x00f067aa0ba902b7);
    private static readonly SpanId ClientId = new(0x1111111111111111);
    private static readonly SpanId BackendId = new(0x2222222222222222);
    private const long Start = 1_700_000_000_000_000_000;

    internal static TraceData CreateTrace()
    {
        var frontend = TestData.CreateResource("frontend", TestData.Attr("host.name", "web-1"));
        var backend = TestData.CreateResource("backend", TestData.Attr("process.pid", 4242L));
        var scope = TestData.CreateScope("io.opentelemetry.http", "1.2.0");

        var root = TestData.CreateSpan(TraceId, RootId, name: "GET /checkout", kind: Span.Types.SpanKind.Server,
            startUnixNano: Start, durationNanos: 10_000_000, status: Status.Types.StatusCode.Ok,
            attributes: [TestData.Attr("http.response.status_code", 200L), TestData.Attr("http.request.method", "GET")]);

        var client = TestData.CreateSpan(TraceId, ClientId, RootId, name: "POST /pay", kind: Span.Types.SpanKind.Client,
            startUnixNano: Start + 1_000_000, durationNanos: 8_000_000, status: Status.Types.StatusCode.Error,
            attributes: [TestData.Attr("retry", true), TestData.Attr("ratio", 0.25)],
            events: [new Span.Types.Event { Name = "retrying", TimeUnixNano = (ulong)(Start + 2_000_000), Attributes = { TestData.Attr("attempt", 2L) } }]);
        client.Status.Message = "upstream 503";

        var server = TestData.CreateSpan(TraceId, BackendId, ClientId, name: "pay", kind: Span.Types.SpanKind.Server,
            startUnixNano: Start + 1_500_000, durationNanos: 6_000_000);

        return new TraceData(TraceId,
        [
            // Deliberately out of order: the writer sorts by start time.
            TestData.ToSpanData(server, backend, scope),
            TestData.ToSpanData(root, frontend, scope),
            TestData.ToSpanData(client, frontend, scope),
        ]);
    }

    [Fact]
    public void WriteTrace_FixedTrace_MatchesGoldenJaegerJson()
    {
        using var actual = JsonTestHelpers.Render(w => JaegerTraceWriter.WriteTrace(w, CreateTrace()));
        var expectedText = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "jaeger-trace.json"));

        var expected = JsonNode.Parse(expectedText);
        var actualNode = JsonNode.Parse(actual.RootElement.GetRawText());

        Assert.True(JsonNode.DeepEquals(expected, actualNode),
            $"expected:\n{expected!.ToJsonString()}\nactual:\n{actualNode!.ToJsonString(new JsonSerializerOptions { WriteIndented = true })}");
    }
}
