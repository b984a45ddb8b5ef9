using System.Text;
using Almanac.Web.Model;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Model;

public class TraceFileTests
{
    private const string TraceA = "0af7651916cd43dd8448eb211c80319c";
    private const string TraceB = "4bf92f3577b34da6a3ce929d0e0e4736";

    private static OpenedTrace Read(string json) => TraceFile.Read(Encoding.UTF8.GetBytes(json));

    private static string Otlp(params string[] spans) =>
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"api\"}}]},\"scopeSpans\":[{\"spans\":[" + string.Join(",", spans) + "]}]}]}";

    private static string OtlpSpan(string traceId, string spanId, string name, string? parent = null) =>
        $"{{\"traceId\":\"{traceId}\",\"spanId\":\"{spanId}\"{(parent is null ? "" : $",\"parentSpanId\":\"{parent}\"")},\"name\":\"{name}\",\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"5000\"}}";

    [Fact]
    public void Otlp_body_and_api_v3_result_are_read()
    {
        var body = Otlp(OtlpSpan(TraceA, "00000000000000a1", "root"), OtlpSpan(TraceA, "00000000000000a2", "child", "00000000000000a1"));
        foreach (var json in new[] { body, "{\"result\":" + body + "}" })
        {
            var opened = Read(json);
            Assert.Equal(TraceA, opened.Trace.TraceId.ToHex());
            Assert.Equal(["root", "child"], opened.Trace.Spans.Select(s => s.Span.Name));
            Assert.All(opened.Trace.Spans, s => Assert.Equal("api", s.ServiceName));
            Assert.Empty(opened.Notes);
        }
    }

    [Fact]
    public void Other_traces_and_rejected_spans_are_named_not_dropped_silently()
    {
        var opened = Read(Otlp(OtlpSpan(TraceA, "00000000000000a1", "a"), OtlpSpan(TraceB, "00000000000000b1", "b"), OtlpSpan(TraceA, "0000000000000000", "bad")));
        Assert.Equal(TraceA, opened.Trace.TraceId.ToHex());
        Assert.Single(opened.Trace.Spans);
        Assert.Contains(opened.Notes, n => n.StartsWith("Not shown: 1 span(s) rejected", StringComparison.Ordinal));
        Assert.Contains(opened.Notes, n => n.Contains("holds 2 traces", StringComparison.Ordinal) && n.Contains(TraceB, StringComparison.Ordinal));
    }

    [Fact]
    public void Jaeger_json_is_read_with_services_tags_status_and_logs()
    {
        var json = $$$"""
            {"data":[{"traceID":"{{{TraceA}}}","processes":{"p1":{"serviceName":"web","tags":[{"key":"host.name","type":"string","value":"box"}]},"p2":{"serviceName":"db","tags":[]}},
              "spans":[
                {"traceID":"{{{TraceA}}}","spanID":"00000000000000a1","operationName":"GET /","references":[],"startTime":1700000000000000,"duration":2000,"processID":"p1",
                 "tags":[{"key":"span.kind","type":"string","value":"server"},{"key":"http.status_code","type":"int64","value":500}]},
                {"traceID":"{{{TraceA}}}","spanID":"00000000000000a2","operationName":"SELECT","references":[{"refType":"CHILD_OF","traceID":"{{{TraceA}}}","spanID":"00000000000000a1"}],
                 "startTime":1700000000000500,"duration":1000,"processID":"p2",
                 "tags":[{"key":"otel.status_code","type":"string","value":"ERROR"},{"key":"otel.status_description","type":"string","value":"boom"},{"key":"ratio","type":"float64","value":0.5}],
                 "logs":[{"timestamp":1700000000000700,"fields":[{"key":"event","type":"string","value":"retry"},{"key":"attempt","type":"int64","value":2}]}]}]}]}
            """;
        var opened = Read(json);
        var view = TraceView.Build(opened.Trace);
        Assert.Equal(["GET /", "SELECT"], view.Rows.Select(r => r.Span.Span.Name));
        var root = view.Rows[0].Span;
        var child = view.Rows[1].Span;
        Assert.Equal("web", root.ServiceName);
        Assert.Equal(Span.Types.SpanKind.Server, root.Span.Kind);
        Assert.Equal(500, root.Span.Attributes.Single(a => a.Key == "http.status_code").Value.IntValue);
        Assert.Contains(root.Resource.Attributes, a => a.Key == "host.name" && a.Value.StringValue == "box");
        Assert.Equal(1_700_000_000_000_000_000, root.StartTimeUnixNano);
        Assert.Equal(2_000_000, root.DurationNanos);
        Assert.Equal("db", child.ServiceName);
        Assert.Equal(root.SpanId, child.ParentSpanId);
        Assert.True(child.IsError);
        Assert.Equal("boom", child.Span.Status.Message);
        Assert.Equal(0.5, child.Span.Attributes.Single(a => a.Key == "ratio").Value.DoubleValue);
        Assert.Equal("retry", child.Span.Events.Single().Name);
        Assert.Equal(2, child.Span.Events.Single().Attributes.Single().Value.IntValue);
    }

    [Theory]
    [InlineData("not json", "The file is not JSON")]
    [InlineData("[1,2]", "The file is JSON but not a trace")]
    [InlineData("{\"hello\":\"world\"}", "The file is JSON but not a trace")]
    [InlineData("{\"resourceSpans\":[]}", "The file holds no spans")]
    [InlineData("{\"resourceSpans\":\"nope\"}", "The file is not valid OTLP/JSON")]
    [InlineData("{\"data\":[{\"spans\":[{\"traceID\":\"xyz\"}]}]}", "Jaeger JSON: span 0: \"traceID\" is not a trace id.")]
    [InlineData("{\"data\":[]}", "The file holds no spans")]
    public void Bad_files_say_what_is_wrong(string json, string message)
    {
        var ex = Assert.Throws<FormatException>(() => Read(json));
        Assert.StartsWith(message, ex.Message);
    }

    [Fact]
    public void Model_with_details_carries_attributes_events_resource_and_notes()
    {
        var opened = Read(Otlp(OtlpSpan(TraceA, "00000000000000a1", "root")));
        using var doc = System.Text.Json.JsonDocument.Parse(TraceModel.ToUtf8Json(TraceView.Build(opened.Trace), details: true, ["a note"]));
        Assert.Equal("a note", doc.RootElement.GetProperty("notes")[0].GetString());
        var details = doc.RootElement.GetProperty("spans")[0][10];
        Assert.Equal("unset", details.GetProperty("status").GetString());
        Assert.Equal("service.name", details.GetProperty("resource")[0][0].GetString());
        Assert.Equal("api", details.GetProperty("resource")[0][1].GetString());
    }
}
