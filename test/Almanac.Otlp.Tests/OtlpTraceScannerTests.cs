using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using Almanac.Testing;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Otlp.Tests.TraceWire;

namespace Almanac.Otlp.Tests;

/// <summary>
/// Differential tests: the raw-bytes scanner must accept exactly what the object path (ParseTraceRequest with its
/// depth guard) accepts, and count and describe rejected spans exactly as TraceRequestFlattener does — the receive
/// path relies on it to write received bytes to the write-ahead log unparsed.
/// </summary>
public sealed class OtlpTraceScannerTests
{
    /// <summary>What the object path says about some bytes: null when it refuses them.</summary>
    private static (int Spans, int Rejected, string? Message)? ObjectPath(byte[] bytes)
    {
        ExportTraceServiceRequest request;
        try
        {
            request = OtlpProtobuf.ParseTraceRequest(bytes);
        }
        catch (OtlpFormatException)
        {
            return null;
        }

        var flat = TraceRequestFlattener.Flatten(request);
        return (flat.Spans.Count, flat.RejectedSpans, flat.RejectionMessage);
    }

    private static (int Spans, int Rejected, string? Message)? ScannerPath(byte[] bytes, out int length)
    {
        length = -1;
        try
        {
            var scan = OtlpTraceScanner.Scan(bytes);
            length = scan.Length;
            return (scan.Spans, scan.RejectedSpans, scan.RejectionMessage);
        }
        catch (OtlpFormatException)
        {
            return null;
        }
    }

    /// <summary>Both paths agree, and the bytes the scanner would log parse back to what the object path parsed.</summary>
    private static bool Agrees(byte[] bytes)
    {
        var expected = ObjectPath(bytes);
        var actual = ScannerPath(bytes, out var length);
        if (expected != actual)
        {
            return false;
        }

        return expected is null
            || OtlpProtobuf.ParseAccepted<ExportTraceServiceRequest>(bytes.AsSpan(0, length)).Equals(OtlpProtobuf.ParseTraceRequest(bytes));
    }

    private static void AssertAgrees(byte[] bytes, bool accepted)
    {
        var expected = ObjectPath(bytes);
        Assert.Equal(accepted, expected is not null);
        Assert.Equal(expected, ScannerPath(bytes, out _));
        Assert.True(Agrees(bytes));
    }

    private static byte[] Mutate(byte[] original, (int Position, byte Value)[] edits, int truncateTo)
    {
        if (original.Length == 0)
        {
            return original;
        }

        var copy = (byte[])original.Clone();
        foreach (var (position, value) in edits)
        {
            copy[(int)((uint)position % (uint)copy.Length)] = value;
        }

        return copy[..(int)((uint)truncateTo % (uint)(copy.Length + 1))];
    }

    [Theory]
    [InlineData("otlp-spec-examples", "trace.json")]
    [InlineData("almanac-full-trace.json")]
    public void Scan_FixtureRequests_MatchesObjectPath(params string[] fixture)
    {
        var bytes = OtlpJson.ParseTraceRequest(FixtureFiles.Read(fixture)).ToByteArray();

        AssertAgrees(bytes, accepted: true);
        var scan = OtlpTraceScanner.Scan(bytes);
        Assert.True(scan.Spans > 0);
        Assert.Equal(bytes.Length, scan.Length);
    }

    [Fact]
    public void Scan_SdkShapedRequest_CountsEverySpan()
    {
        var request = SdkShapedRequest(spans: 512);

        var scan = OtlpTraceScanner.Scan(request.ToByteArray());

        Assert.Equal(new TraceScan(512, 0, null, request.CalculateSize()), scan);
        AssertAgrees(request.ToByteArray(), accepted: true);
    }

    [Fact]
    public void Scan_InvalidIds_SameCountsReasonsAndPathsAsFlattener()
    {
        var good = Span(Id(16), Id(8));
        byte[] bytes = Concat(
            Len(1, Len(2, Len(2, good), Len(2, Span(Id(16, 0), Id(8))))),
            Len(1, Len(2), Len(2, Len(2, good), Len(2, Span(Id(15), Id(8))), Len(2, Span(Id(16), Id(8, 0))), Len(2, Span(Id(16), Id(8), Id(3))), Len(2, Span(null, null)))));

        AssertAgrees(bytes, accepted: true);
        var scan = OtlpTraceScanner.Scan(bytes);
        Assert.Equal(2, scan.Spans);
        Assert.Equal(5, scan.RejectedSpans);
        Assert.Equal(
            "5 span(s) rejected: resourceSpans[0].scopeSpans[0].spans[1]: trace id is all zeros; resourceSpans[1].scopeSpans[1].spans[1]: trace id must be 16 bytes, got 15; resourceSpans[1].scopeSpans[1].spans[2]: span id is all zeros; ...",
            scan.RejectionMessage);
    }

    [Fact]
    public void Scan_DuplicateIdFields_LastOneWins()
    {
        // A zero trace id followed by a good one is a good span; the other way round it is not.
        AssertAgrees(Request(Span(Id(16, 0), Id(8), null, Len(1, Id(16)))), accepted: true);
        Assert.Equal(1, OtlpTraceScanner.Scan(Request(Span(Id(16, 0), Id(8), null, Len(1, Id(16))))).Spans);
        Assert.Equal(1, OtlpTraceScanner.Scan(Request(Span(Id(16), Id(8), null, Len(1, Id(16, 0))))).RejectedSpans);
        AssertAgrees(Request(Span(Id(16), Id(8), Id(8), Len(4, Id(5)), Len(2, Id(8, 0)))), accepted: true);
    }

    [Fact]
    public void Scan_IdFieldWithWrongWireType_IsAnUnknownFieldNotAnId()
    {
        // Field 1 as a varint is not trace_id: the span has no trace id.
        var bytes = Request(Concat(VarintField(1, 5), Len(2, Id(8))));

        AssertAgrees(bytes, accepted: true);
        Assert.Equal(1, OtlpTraceScanner.Scan(bytes).RejectedSpans);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0x0A, 0x05, 0x01 })]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(new byte[] { 0x0F })]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x0E })]
    [InlineData(new byte[] { 0x0B })]
    [InlineData(new byte[] { 0x0B, 0x14 })]
    public void Scan_Garbage_RejectedLikeObjectPath(byte[] bytes)
    {
        Assert.Throws<OtlpFormatException>(() => OtlpTraceScanner.Scan(bytes));
        AssertAgrees(bytes, accepted: false);
    }

    [Fact]
    public void Scan_Empty_EmptyRequest()
    {
        Assert.Equal(new TraceScan(0, 0, null, 0), OtlpTraceScanner.Scan([]));
        AssertAgrees([], accepted: true);
    }

    [Fact]
    public void Scan_InvalidUtf8InKnownStringField_RejectedLikeObjectPath()
    {
        AssertAgrees(Request(Span(Id(16), Id(8), null, Len(5, [0xC3, 0x28]))), accepted: false);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(Len(1, [0xED, 0xA0, 0x80])))), accepted: false);
        // The same bytes in a bytes field or an unknown field are fine.
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(Len(7, [0xC3, 0x28])), Len(99, [0xFF]))), accepted: true);
    }

    [Fact]
    public void Scan_AnyValueDepthAtAndPastTheLimit_SameAsDepthGuard()
    {
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(NestedArray(OtlpJson.MaxAnyValueDepth)))), accepted: true);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(NestedArray(OtlpJson.MaxAnyValueDepth + 1)))), accepted: false);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(NestedKvlist(OtlpJson.MaxAnyValueDepth)))), accepted: true);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(NestedKvlist(OtlpJson.MaxAnyValueDepth + 1)))), accepted: false);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(NestedKvlist(70)))), accepted: false);
    }

    [Fact]
    public void Scan_TooDeepBranchReplacedByALaterOneofField_AcceptedLikeObjectPath()
    {
        // The deep array is parsed, then replaced by the string: the stored value is shallow.
        var value = Concat(NestedArray(OtlpJson.MaxAnyValueDepth + 5), Len(1, "x"u8.ToArray()));

        AssertAgrees(Request(Span(Id(16), Id(8), null, Attribute(value))), accepted: true);
    }

    [Fact]
    public void Scan_NestingAroundTheRecursionLimit_SameAsObjectPath()
    {
        // Unknown groups inside a span (itself 3 levels down), nested to just below, at and just past the limit.
        for (var levels = OtlpProtobuf.RecursionLimit - 6; levels <= OtlpProtobuf.RecursionLimit; levels++)
        {
            var groups = Group(100);
            for (var i = 1; i < levels; i++)
            {
                groups = Group(100, groups);
            }

            var bytes = Request(Span(Id(16), Id(8), null, groups));
            Assert.True(Agrees(bytes), $"{levels} nested groups");
        }

        // Kvlists past the AnyValue bound in a branch a later oneof field replaces: only the parser's own
        // recursion limit can refuse these.
        for (var depth = 62; depth <= 68; depth++)
        {
            var bytes = Request(Span(Id(16), Id(8), null, Attribute(Concat(NestedKvlist(depth), Len(1, "x"u8.ToArray())))));
            Assert.True(Agrees(bytes), $"kvlist depth {depth}");
        }
    }

    [Fact]
    public void Scan_UnknownFieldsAndGroups_SkippedButChecked()
    {
        var nested = Group(100);
        for (var i = 0; i < 20; i++)
        {
            nested = Group(100, nested, VarintField(3, 1));
        }

        AssertAgrees(Request(Span(Id(16), Id(8), null, nested, Len(2047, [1, 2]), Concat(Tag(536_870_911, 1), Id(8)))), accepted: true);

        var tooDeep = Group(100);
        for (var i = 0; i < OtlpProtobuf.RecursionLimit; i++)
        {
            tooDeep = Group(100, tooDeep);
        }

        AssertAgrees(Request(Span(Id(16), Id(8), null, tooDeep)), accepted: false);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Concat(Tag(100, 3), Tag(101, 4)))), accepted: false);
        AssertAgrees(Request(Span(Id(16), Id(8), null, Tag(100, 4))), accepted: false);
    }

    [Fact]
    public void Scan_EndGroupTagAtTopLevel_StopsThereLikeGoogleProtobuf()
    {
        var request = Request(Span(Id(16), Id(8)));
        var bytes = Concat(request, Tag(1, 4), [0xFF, 0xFF, 0x00]);

        AssertAgrees(bytes, accepted: true);
        Assert.Equal(request.Length, OtlpTraceScanner.Scan(bytes).Length);
    }

    [Property(Arbitrary = [typeof(OtlpArbitraries)], MaxTest = 300)]
    public bool Scan_RandomRequest_AgreesWithObjectPath(ExportTraceServiceRequest request) =>
        Agrees(request.ToByteArray());

    [Property(Arbitrary = [typeof(OtlpArbitraries)], MaxTest = 500)]
    public bool Scan_MutatedRandomRequest_AgreesWithObjectPath(ExportTraceServiceRequest request, (int, byte)[] edits, int truncateTo) =>
        Agrees(Mutate(request.ToByteArray(), edits, truncateTo));

    [Property(Arbitrary = [typeof(TraceWire)], MaxTest = 3000)]
    public bool Scan_WireLevelRequest_AgreesWithObjectPath(byte[] bytes) => Agrees(bytes);

    [Property(Arbitrary = [typeof(TraceWire)], MaxTest = 3000)]
    public bool Scan_MutatedWireLevelRequest_AgreesWithObjectPath(byte[] bytes, (int, byte)[] edits, int truncateTo) =>
        Agrees(Mutate(bytes, edits, truncateTo));

    [Fact]
    public void WireLevelRequests_MixAcceptedAndRejectedAndInvalidSpans()
    {
        // Guards the generator itself: a differential test over inputs that are all refused would prove little.
        var samples = TraceWire.Requests.Sample(400, 20).Select(ObjectPath).ToList();

        Assert.InRange(samples.Count(s => s is null), 20, 380);
        Assert.InRange(samples.Count(s => s is { Spans: > 0 }), 20, 380);
        Assert.InRange(samples.Count(s => s is { Rejected: > 0 }), 20, 380);
    }

    [Property(MaxTest = 500)]
    public bool Scan_ArbitraryBytes_AgreesWithObjectPath(byte[] bytes) => Agrees(bytes);

    /// <summary>What the OpenTelemetry .NET SDK sends: one resource, one scope, server/client spans with attributes.</summary>
    internal static ExportTraceServiceRequest SdkShapedRequest(int spans)
    {
        var resource = TestData.CreateResource(
            "checkout",
            TestData.Attr("telemetry.sdk.name", "opentelemetry"),
            TestData.Attr("telemetry.sdk.language", "dotnet"),
            TestData.Attr("telemetry.sdk.version", "1.14.0"),
            TestData.Attr("host.name", "web-7f9c"));
        var scopeSpans = new ScopeSpans { Scope = TestData.CreateScope("Microsoft.AspNetCore", "10.0.0") };
        var traceId = TestData.NewTraceId();
        SpanId parent = default;
        for (var i = 0; i < spans; i++)
        {
            var span = TestData.CreateSpan(
                traceId,
                parentSpanId: parent,
                name: i % 2 == 0 ? "GET /api/cart/{id}" : "SELECT cart",
                kind: i % 2 == 0 ? OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Server : OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Client,
                attributes:
                [
                    TestData.Attr("http.request.method", "GET"),
                    TestData.Attr("url.path", $"/api/cart/{i}"),
                    TestData.Attr("http.response.status_code", 200L),
                    TestData.Attr("server.address", "cart.internal"),
                ],
                events: i % 10 == 0 ? [new OpenTelemetry.Proto.Trace.V1.Span.Types.Event { Name = "exception", TimeUnixNano = 1 }] : null);
            span.Flags = 0x301;
            scopeSpans.Spans.Add(span);
            if (i % 8 == 0)
            {
                SpanId.TryRead(span.SpanId.Span, out parent);
            }
        }

        var resourceSpans = new ResourceSpans { Resource = resource, SchemaUrl = "https://opentelemetry.io/schemas/1.24.0" };
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }
}
