using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Almanac.Load;

/// <param name="RefuseFirst">Answer this many first requests "retry later" (HTTP 429 with Retry-After: 1, gRPC RESOURCE_EXHAUSTED with a 300 ms RetryInfo): for testing clients.</param>
/// <param name="RejectSpans">Report this many rejected spans in every trace response's partial_success: for testing clients.</param>
public sealed record SinkOptions(int GrpcPort = 4317, int HttpPort = 4318, bool CountSpans = false, int RefuseFirst = 0, int RejectSpans = 0);

/// <summary>
/// The null OTLP sink: accepts OTLP/gRPC and OTLP/HTTP exports on loopback, reads every request fully (gunzipping
/// when compressed), and answers OK with an empty Export*ServiceResponse. It counts requests and bytes (and spans when
/// asked). gRPC is handled as raw HTTP/2 frames, so the sink does no protobuf work unless it counts spans — it is
/// the ceiling a receiver can reach on the same machine, run for run.
/// </summary>
public sealed class NullSink : IAsyncDisposable
{
    private const string ProtobufContentType = "application/x-protobuf";

    private static readonly string[] GrpcPaths =
    [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    ];

    private readonly WebApplication _app;
    private readonly bool _countSpans;
    private readonly SinkOptions _options;
    private long _refused;
    private long _requests;
    private long _bytes;
    private long _decompressedBytes;
    private long _spans;
    private long _errors;

    private NullSink(WebApplication app, SinkOptions options)
    {
        _app = app;
        _options = options;
        _countSpans = options.CountSpans;
    }

    /// <summary>Requests answered "retry later" (see <see cref="SinkOptions.RefuseFirst"/>).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Request body bytes as received (compressed when the client compressed).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public long DecompressedBytes => Interlocked.Read(ref _decompressedBytes);

    /// <summary>Trace spans received; counted only with <see cref="SinkOptions.CountSpans"/>.</summary>
    public long Spans => Interlocked.Read(ref _spans);

    public long Errors => Interlocked.Read(ref _errors);

    public int GrpcPort { get; private set; }

    public int HttpPort { get; private set; }

    public static async Task<NullSink> StartAsync(SinkOptions options, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = 256L << 20;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Listen(IPAddress.Loopback, options.GrpcPort, l => l.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, options.HttpPort, l => l.Protocols = HttpProtocols.Http1AndHttp2);
        });
        var app = builder.Build();
        var sink = new NullSink(app, options);
        foreach (var path in GrpcPaths)
        {
            var traces = path.Contains(".trace.", StringComparison.Ordinal);
            app.MapPost(path, context => sink.GrpcAsync(context, traces));
        }

        app.MapPost("/v1/traces", context => sink.HttpAsync(context, traces: true));
        app.MapPost("/v1/logs", context => sink.HttpAsync(context, traces: false));
        app.MapPost("/v1/metrics", context => sink.HttpAsync(context, traces: false));
        await app.StartAsync(cancellationToken);
        sink.GrpcPort = options.GrpcPort;
        sink.HttpPort = options.HttpPort;
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private bool Refuse() => _options.RefuseFirst > 0 && Interlocked.Increment(ref _refused) <= _options.RefuseFirst;

    private async Task GrpcAsync(HttpContext context, bool traces)
    {
        var body = await ReadAllAsync(context.Request.Body);
        if (Refuse())
        {
            ArrayPool<byte>.Shared.Return(body.Array!);
            var status = new Google.Rpc.Status { Code = 8, Message = "sink told to refuse" };
            status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(new Google.Rpc.RetryInfo { RetryDelay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMilliseconds(300)) }));
            context.Response.ContentType = "application/grpc";
            await context.Response.StartAsync();
            context.Response.AppendTrailer("grpc-status", "8");
            context.Response.AppendTrailer("grpc-message", "sink told to refuse");
            context.Response.AppendTrailer("grpc-status-details-bin", Convert.ToBase64String(status.ToByteArray()).TrimEnd('='));
            return;
        }

        try
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _bytes, body.Count);
            var compressed = context.Request.Headers["grpc-encoding"].ToString();
            var span = body.AsSpan();
            while (span.Length >= 5)
            {
                var flag = span[0];
                var length = (int)BinaryPrimitives.ReadUInt32BigEndian(span[1..5]);
                var message = span.Slice(5, length);
                ReadOnlySpan<byte> payload = flag == 1 && compressed == "gzip" ? Gunzip(message) : message;
                Interlocked.Add(ref _decompressedBytes, payload.Length);
                if (_countSpans && traces)
                {
                    Interlocked.Add(ref _spans, CountSpans(OtlpProtobuf.ParseTraceRequest(payload)));
                }

                span = span[(5 + length)..];
            }
        }
        catch (Exception ex) when (ex is OtlpFormatException or InvalidDataException or ArgumentOutOfRangeException)
        {
            Interlocked.Increment(ref _errors);
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "3");
            context.Response.AppendTrailer("grpc-message", "invalid request");
            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Array!);
        }

        context.Response.ContentType = "application/grpc";
        // One uncompressed message: an empty Export*ServiceResponse (or a partial success when told to reject).
        var response = traces ? PartialSuccess() : [];
        var frame = new byte[5 + response.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)response.Length);
        response.CopyTo(frame, 5);
        await context.Response.Body.WriteAsync(frame);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    private async Task HttpAsync(HttpContext context, bool traces)
    {
        var body = await ReadAllAsync(context.Request.Body);
        if (Refuse())
        {
            ArrayPool<byte>.Shared.Return(body.Array!);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = "1";
            return;
        }

        var json = context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true;
        try
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _bytes, body.Count);
            var gzip = string.Equals(context.Request.Headers.ContentEncoding.ToString(), "gzip", StringComparison.OrdinalIgnoreCase);
            ReadOnlySpan<byte> payload = gzip ? Gunzip(body) : body.AsSpan();
            Interlocked.Add(ref _decompressedBytes, payload.Length);
            if (_countSpans && traces)
            {
                var request = json ? OtlpJson.ParseTraceRequest(payload) : OtlpProtobuf.ParseTraceRequest(payload);
                Interlocked.Add(ref _spans, CountSpans(request));
            }
        }
        catch (Exception ex) when (ex is OtlpFormatException or InvalidDataException)
        {
            Interlocked.Increment(ref _errors);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Array!);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        if (json)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(traces && _options.RejectSpans > 0
                ? $"{{\"partialSuccess\":{{\"rejectedSpans\":\"{_options.RejectSpans}\",\"errorMessage\":\"sink told to reject\"}}}}"
                : "{}");
        }
        else
        {
            var response = traces ? PartialSuccess() : [];
            context.Response.ContentType = ProtobufContentType;
            context.Response.ContentLength = response.Length;
            await context.Response.Body.WriteAsync(response);
        }
    }

    private byte[] PartialSuccess() => _options.RejectSpans == 0
        ? []
        : new OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceResponse
        {
            PartialSuccess = new OpenTelemetry.Proto.Collector.Trace.V1.ExportTracePartialSuccess { RejectedSpans = _options.RejectSpans, ErrorMessage = "sink told to reject" },
        }.ToByteArray();

    private static int CountSpans(OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest request) =>
        request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count));

    private static byte[] Gunzip(ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray());
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    private static async Task<ArraySegment<byte>> ReadAllAsync(Stream body)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            var read = await body.ReadAsync(buffer.AsMemory(length));
            if (read == 0)
            {
                return new ArraySegment<byte>(buffer, 0, length);
            }

            length += read;
        }
    }
}
