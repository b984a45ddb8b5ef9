using System.Text.Json;
using Almanac.Core.Storage;
using Almanac.Query.ApiV3;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Query.Tests.JsonTestHelpers;

namespace Almanac.Query.Tests;

public sealed class ApiV3ResponsesTests
{
    [Fact]
    public void WriteError_HasGatewayErrorShape()
    {
        using var doc = Render(w => ApiV3Responses.WriteError(w, 404, "trace not found"));

        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(404, error.GetProperty("httpCode").GetInt32());
        Assert.Equal("trace not found", error.GetProperty("message").GetString());
    }

    [Fact]
    public void WriteServices_ListsNames()
    {
        using var doc = Render(w => ApiV3Responses.WriteServices(w, ["a", "b"]));

        Assert.Equal(["a", "b"], doc.RootElement.GetProperty("services").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    [Fact]
    public void WriteOperations_NamesWithLowerCaseKinds()
    {
        using var doc = Render(w => ApiV3Responses.WriteOperations(w,
            [new OperationInfo("GET /", Span.Types.SpanKind.Server), new OperationInfo("work", Span.Types.SpanKind.Unspecified)]));

        var ops = doc.RootElement.GetProperty("operations");
        Assert.Equal("GET /", ops[0].GetProperty("name").GetString());
        Assert.Equal("server", ops[0].GetProperty("spanKind").GetString());
        Assert.Equal(string.Empty, ops[1].GetProperty("spanKind").GetString());
    }

    /// <summary>
    /// Depends on OtlpJson.WriteTracesData (implemented on another branch): expects the OTLP/JSON encoding —
    /// hex ids, lowerCamelCase names, enums as integers, 64-bit integers as decimal strings.
    /// </summary>
    [Fact]
    public void WriteTraces_GoldenTrace_IsWrappedOtlpJson()
    {
        var data = TracesDataBuilder.Build([GoldenTraceTests.CreateTrace()]);

        using var doc = Render(w => ApiV3Responses.WriteTraces(w, data));

        var resourceSpans = doc.RootElement.GetProperty("result").GetProperty("resourceSpans");
        Assert.Equal(2, resourceSpans.GetArrayLength());
        var frontend = resourceSpans.EnumerateArray().Single(r => r.GetProperty("resource").GetProperty("attributes")
            .EnumerateArray().Any(a => a.GetProperty("key").GetString() == "service.name"
                && a.GetProperty("value").GetProperty("stringValue").GetString() == "frontend"));
        var scopeSpans = frontend.GetProperty("scopeSpans");
        Assert.Equal(1, scopeSpans.GetArrayLength());
        Assert.Equal("io.opentelemetry.http", scopeSpans[0].GetProperty("scope").GetProperty("name").GetString());
        var spans = scopeSpans[0].GetProperty("spans");
        Assert.Equal(2, spans.GetArrayLength());
        var root = spans[0];
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", root.GetProperty("traceId").GetString());
        Assert.Equal("00f067aa0ba902b7", root.GetProperty("spanId").GetString());
        Assert.Equal("GET /checkout", root.GetProperty("name").GetString());
        Assert.Equal(2, root.GetProperty("kind").GetInt32());
        Assert.Equal("1700000000000000000", root.GetProperty("startTimeUnixNano").GetString());
        Assert.Equal("1700000000010000000", root.GetProperty("endTimeUnixNano").GetString());
        var status = root.GetProperty("attributes")[0];
        Assert.Equal("http.response.status_code", status.GetProperty("key").GetString());
        Assert.Equal("200", status.GetProperty("value").GetProperty("intValue").GetString());
        Assert.Equal("00f067aa0ba902b7", spans[1].GetProperty("parentSpanId").GetString());
        Assert.Equal(JsonValueKind.Object, spans[1].GetProperty("status").ValueKind);
        Assert.Equal(2, spans[1].GetProperty("status").GetProperty("code").GetInt32());
    }
}
