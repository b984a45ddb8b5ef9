using Almanac.Testing;
using Almanac.Web.Components.Pages;
using Almanac.Web.Components.Shared;
using Bunit;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Components;

/// <summary>Span data is untrusted: every field carrying markup or script URLs must render as inert text.</summary>
public class HostileDataTests : ComponentTestBase
{
    public static readonly string[] Payloads = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)", "\"><svg onload=alert(1)>"];

    public static TheoryData<string> PayloadData() => [.. Payloads];

    internal static (Almanac.Core.Model.TraceId TraceId, Almanac.Core.Model.SpanId SpanId, Almanac.Core.Model.SpanData[] Spans) HostileTrace(string p)
    {
        var traceId = TestData.NewTraceId();
        var rootId = TestData.NewSpanId();
        var childId = TestData.NewSpanId();
        var resource = TestData.CreateResource(p, TestData.Attr(p, p));
        var scope = TestData.CreateScope(p, p);
        scope.Attributes.Add(TestData.Attr(p, p));
        var root = TestData.CreateSpan(traceId, rootId, name: p, status: Status.Types.StatusCode.Error,
            attributes: [TestData.Attr(p, p), new KeyValue { Key = p, Value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = p } } } } }],
            events: [new Span.Types.Event { Name = p, TimeUnixNano = (ulong)TestData.BaseTimeUnixNano, Attributes = { TestData.Attr(p, p) } }],
            links: [new Span.Types.Link { TraceId = Google.Protobuf.ByteString.CopyFromUtf8(p.PadRight(16)[..16]), SpanId = Google.Protobuf.ByteString.CopyFromUtf8("12345678"), Attributes = { TestData.Attr(p, p) } }]);
        root.Status.Message = p;
        root.TraceState = p;
        var child = TestData.CreateSpan(traceId, childId, rootId, name: p, attributes: [TestData.Attr(p, p)]);
        return (traceId, rootId, [TestData.ToSpanData(root, resource, scope), TestData.ToSpanData(child, resource, scope)]);
    }

    [Theory]
    [MemberData(nameof(PayloadData))]
    public void Search_page_renders_payloads_as_text(string payload)
    {
        var (_, _, spans) = HostileTrace(payload);
        Reader.Add(spans);
        NavigateTo("/search?service=" + Uri.EscapeDataString(payload) + "&operation=" + Uri.EscapeDataString(payload) + "&tags=" + Uri.EscapeDataString(payload + "=" + payload));
        var cut = Render<Search>();
        AssertNoInjectedMarkup(cut.Nodes);
        Assert.Contains(payload, cut.Find("#results .result .name").TextContent);
        Assert.Contains(payload, cut.Find("#scatter title").TextContent);
        Assert.Contains(payload, cut.Find("#f-service option[selected]").TextContent);
        Assert.Contains(payload, cut.Find("#attribute-keys button.key").TextContent);
    }

    [Theory]
    [MemberData(nameof(PayloadData))]
    public void Trace_page_and_details_render_payloads_as_text(string payload)
    {
        var (traceId, spanId, spans) = HostileTrace(payload);
        Reader.Add(spans);
        NavigateTo($"/trace/{traceId.ToHex()}?span={spanId.ToHex()}");
        var cut = Render<TracePage>(p => p.Add(c => c.Id, traceId.ToHex()));
        AssertNoInjectedMarkup(cut.Nodes);
        Assert.Contains(payload, cut.Find("#trace-title").TextContent);
        Assert.Contains(payload, cut.Find("#detail-name").TextContent);
        Assert.Contains(payload, cut.Find("#detail-attributes").TextContent);
        Assert.Contains(payload, cut.Find("#detail-events").TextContent);
        Assert.Contains(payload, cut.Find("#detail-resource").TextContent);
        Assert.Contains(payload, cut.Find("#detail-scope").TextContent);
        Assert.Contains(payload, cut.Find("#detail-status").TextContent);
        Assert.Contains(payload, cut.Find("#self-time").TextContent);

        // The timeline's model carries the payload only as JSON strings, with HTML-sensitive characters escaped.
        var json = System.Text.Encoding.UTF8.GetString(Almanac.Web.Model.TraceModel.ToUtf8Json(Almanac.Web.Model.TraceView.Build(new Almanac.Core.Model.TraceData(traceId, spans))));
        Assert.DoesNotContain("<", json);
        Assert.DoesNotContain(">", json);
        using var model = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(payload, model.RootElement.GetProperty("spans")[0][4].GetString());
    }

    [Theory]
    [MemberData(nameof(PayloadData))]
    public void Details_fragment_renders_payloads_as_text(string payload)
    {
        var (traceId, spanId, spans) = HostileTrace(payload);
        Reader.Add(spans);
        var cut = Render<SpanDetailsFragment>(p => p.Add(c => c.TraceIdText, traceId.ToHex()).Add(c => c.SpanIdText, spanId.ToHex()));
        AssertNoInjectedMarkup(cut.Nodes);
        Assert.Contains(payload, cut.Find("#detail-name").TextContent);
    }
}
