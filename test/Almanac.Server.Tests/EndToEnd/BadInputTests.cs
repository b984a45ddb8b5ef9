using System.IO.Compression;
using System.Net;
using System.Text;
using Almanac.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>
/// Every byte from the network is untrusted: each bad request gets the right 4xx (or INVALID_ARGUMENT), the server
/// stays healthy, and what was stored before is intact. One server for the whole class keeps it quick; each test
/// checks health and the canary trace itself.
/// </summary>
#pragma warning disable CA1001 // xunit disposes the fixtures through IAsyncLifetime.DisposeAsync
public sealed class BadInputTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private AlmanacProcess _almanac = null!;
    private HttpClient _http = null!;
    private QueryClient _query = null!;
    private string _canaryTraceId = null!;

    public async Task InitializeAsync()
    {
        _almanac = await AlmanacProcess.StartAsync(null, "--max-request-size", "1MiB");
        _http = new HttpClient { BaseAddress = _almanac.HttpEndpoint };
        _query = new QueryClient(_almanac.UiEndpoint);
        var (request, traceId) = OtlpRequests.OneTrace("canary");
        using var response = await _http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        _canaryTraceId = traceId.ToHex();
        await _query.WaitForTraceAsync(_canaryTraceId, minSpans: 2);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _query.Dispose();
        await _almanac.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpContent content)
    {
        using var response = await _http.PostAsync(new Uri("/v1/traces", UriKind.Relative), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task AssertHealthyAndCanaryIntactAsync()
    {
        using var health = await _query.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var trace = await _query.WaitForTraceAsync(_canaryTraceId, minSpans: 2);
        Assert.Equal(2, trace.GetProperty("spans").GetArrayLength());
    }

    [Fact]
    public async Task GarbageProtobuf_Is400WithMessage()
    {
        var (status, _) = await PostAsync(OtlpRequests.Content([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02], "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\",\"spanId\":\"0102030405060708\"}]}]}]}")]
    [InlineData("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":{\"a\":1}}]}]}]}")]
    public async Task GarbageJson_Is400WithJsonStatusBody(string body)
    {
        var (status, text) = await PostAsync(OtlpRequests.Content(Encoding.UTF8.GetBytes(body), "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("\"message\"", text);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task DeeplyNestedAttribute_Is400NotACrash()
    {
        var sb = new StringBuilder();
        const int depth = 20_000;
        for (var i = 0; i < depth; i++)
        {
            sb.Append("{\"arrayValue\":{\"values\":[");
        }

        for (var i = 0; i < depth; i++)
        {
            sb.Append("]}}");
        }

        var json = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\",\"attributes\":[{\"key\":\"deep\",\"value\":" + sb + "}]}]}]}]}";
        var (status, _) = await PostAsync(OtlpRequests.Content(Encoding.UTF8.GetBytes(json), "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);

        // The same hostile nesting as protobuf.
        AnyValue value = new() { StringValue = "leaf" };
        for (var i = 0; i < 2_000; i++)
        {
            var array = new ArrayValue();
            array.Values.Add(value);
            value = new AnyValue { ArrayValue = array };
        }

        var span = TestData.CreateSpan(TestData.NewTraceId(), attributes: [new KeyValue { Key = "deep", Value = value }]);
        (status, _) = await PostAsync(OtlpRequests.Protobuf(OtlpRequests.Traces("deep", span)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task UnsupportedMediaType_Is415()
    {
        var (status, _) = await PostAsync(OtlpRequests.Content(Encoding.UTF8.GetBytes("hello"), "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        (status, _) = await PostAsync(OtlpRequests.Content([1, 2, 3], "application/x-protobuf", encoding: "br"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task OversizedBody_Is413()
    {
        var big = TestData.CreateSpan(TestData.NewTraceId(), attributes: [TestData.Attr("blob", new string('x', 2 * 1024 * 1024))]);
        var (status, _) = await PostAsync(OtlpRequests.Protobuf(OtlpRequests.Traces("big", big)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task GzipBomb_Is413WithoutExhaustingMemory()
    {
        // 256 MiB of zeros compresses to about 256 KiB: small on the wire, far over the 1 MiB limit inflated.
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 256; i++)
            {
                gzip.Write(zeros);
            }
        }

        var (status, _) = await PostAsync(OtlpRequests.Content(compressed.ToArray(), "application/x-protobuf", encoding: "gzip"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task GzipRequest_IsAccepted()
    {
        var (request, traceId) = OtlpRequests.OneTrace("gzip-svc");
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            request.WriteTo(gzip);
        }

        var (status, _) = await PostAsync(OtlpRequests.Content(compressed.ToArray(), "application/x-protobuf", encoding: "gzip"));
        Assert.Equal(HttpStatusCode.OK, status);
        await _query.WaitForTraceAsync(traceId.ToHex(), minSpans: 2);
    }

    [Fact]
    public async Task EmptyRequests_AreAccepted()
    {
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(OtlpRequests.Content([], "application/x-protobuf"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(OtlpRequests.Content("{}"u8.ToArray(), "application/json"))).Status);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task TruncatedOrInvalidUtf8Protobuf_Is400_ThenTheWholeRequestIsStoredExactly()
    {
        // The receive path validates the raw bytes without decoding them: what it refuses and what it stores must
        // be exactly what a protobuf parser makes of them.
        var (request, traceId) = OtlpRequests.OneTrace("raw-svc");
        var bytes = request.ToByteArray();
        var name = Encoding.UTF8.GetBytes(request.ResourceSpans[0].ScopeSpans[0].Spans[0].Name);
        var invalidUtf8 = (byte[])bytes.Clone();
        invalidUtf8[bytes.AsSpan().IndexOf(name)] = 0xFF;

        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(OtlpRequests.Content(bytes[..^3], "application/x-protobuf"))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(OtlpRequests.Content(invalidUtf8, "application/x-protobuf"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(OtlpRequests.Content(bytes, "application/x-protobuf"))).Status);

        var trace = await _query.WaitForTraceAsync(traceId.ToHex(), minSpans: 2);
        Assert.Equal(
            request.ResourceSpans[0].ScopeSpans[0].Spans.Select(s => s.Name).Order(),
            trace.GetProperty("spans").EnumerateArray().Select(s => s.GetProperty("operationName").GetString()).Order());
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task InvalidIds_PartialSuccessRejectsThemAndKeepsTheRest()
    {
        var (request, traceId) = OtlpRequests.OneTrace("partial-svc");
        var bad = TestData.CreateSpan(TestData.NewTraceId(), name: "bad");
        bad.TraceId = ByteString.CopyFrom(new byte[16]);
        var wrongLength = TestData.CreateSpan(TestData.NewTraceId(), name: "short");
        wrongLength.SpanId = ByteString.CopyFrom([1, 2, 3, 4]);
        request.ResourceSpans[0].ScopeSpans[0].Spans.Add([bad, wrongLength]);

        using var response = await _http.PostAsync(new Uri("/v1/traces", UriKind.Relative), OtlpRequests.Protobuf(request));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, body.PartialSuccess.RejectedSpans);
        Assert.Contains("trace id is all zeros", body.PartialSuccess.ErrorMessage);

        var trace = await _query.WaitForTraceAsync(traceId.ToHex(), minSpans: 2);
        Assert.Equal(2, trace.GetProperty("spans").GetArrayLength());
    }

    [Fact]
    public async Task Grpc_InvalidIds_PartialSuccess_And_Garbage_IsInvalidArgument()
    {
        using var channel = GrpcChannel.ForAddress(_almanac.GrpcEndpoint);
        var client = new TraceService.TraceServiceClient(channel);
        var (request, traceId) = OtlpRequests.OneTrace("grpc-partial");
        var bad = TestData.CreateSpan(TestData.NewTraceId(), name: "bad");
        bad.SpanId = ByteString.CopyFrom(new byte[8]);
        request.ResourceSpans[0].ScopeSpans[0].Spans.Add(bad);

        var response = await client.ExportAsync(request);
        Assert.Equal(1, response.PartialSuccess.RejectedSpans);
        await _query.WaitForTraceAsync(traceId.ToHex(), minSpans: 2);

        // Raw garbage on the same method: the generated client cannot send it, so call with a bytes marshaller.
        var raw = new Method<byte[], byte[]>(MethodType.Unary, TraceService.Descriptor.FullName, "Export",
            Marshallers.Create((byte[] b) => b, (byte[] b) => b), Marshallers.Create((byte[] b) => b, (byte[] b) => b));
        var invoker = channel.CreateCallInvoker();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await invoker.AsyncUnaryCall(raw, null, new CallOptions(), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        await AssertHealthyAndCanaryIntactAsync();
    }

    [Fact]
    public async Task Grpc_GzipBomb_IsRejectedAndServerStaysHealthy()
    {
        using var channel = GrpcChannel.ForAddress(_almanac.GrpcEndpoint, new GrpcChannelOptions { MaxSendMessageSize = null });
        var client = new TraceService.TraceServiceClient(channel);
        // 64 MiB of one repeated character: a few hundred KiB gzip-compressed, 64 times the server's 1 MiB limit inflated.
        var span = TestData.CreateSpan(TestData.NewTraceId(), attributes: [TestData.Attr("bomb", new string('a', 64 * 1024 * 1024))]);
        var request = OtlpRequests.Traces("bomb", span);
        var headers = new Metadata { { "grpc-internal-encoding-request", "gzip" } };

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(request, headers));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        await AssertHealthyAndCanaryIntactAsync();
    }
}
