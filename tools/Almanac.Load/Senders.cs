using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Load;

public enum Signal
{
    Traces,
    Logs,
    Metrics,
}

public enum Protocol
{
    Grpc,
    HttpProtobuf,
    HttpJson,
}

internal enum Outcome
{
    Ok,
    Throttled,
    Failed,
}

/// <param name="WireBytes">Bytes of the request body as sent (after gzip for HTTP; before gRPC's own compression).</param>
internal readonly record struct SendResult(Outcome Outcome, long RejectedSpans, TimeSpan? RetryAfter, long WireBytes, string? Error);

/// <summary>Sends one pre-encoded export request and classifies the answer. One instance per exporter.</summary>
internal interface ISender : IDisposable
{
    Task<SendResult> SendAsync(byte[] body, CancellationToken cancellationToken);
}

internal static class Senders
{
    public static ISender Create(Signal signal, Protocol protocol, Uri endpoint, bool gzip, TimeSpan timeout) => protocol switch
    {
        Protocol.Grpc => new GrpcSender(signal, endpoint, gzip, timeout),
        _ => new HttpSender(signal, endpoint, protocol == Protocol.HttpJson, gzip, timeout),
    };

    /// <summary>partial_success.rejected_{spans,log_records,data_points} of a protobuf Export*ServiceResponse (field 1 of field 1 in each).</summary>
    public static long Rejected(Signal signal, byte[] response) => signal switch
    {
        Signal.Traces => ExportTraceServiceResponse.Parser.ParseFrom(response).PartialSuccess?.RejectedSpans ?? 0,
        Signal.Logs => OpenTelemetry.Proto.Collector.Logs.V1.ExportLogsServiceResponse.Parser.ParseFrom(response).PartialSuccess?.RejectedLogRecords ?? 0,
        _ => OpenTelemetry.Proto.Collector.Metrics.V1.ExportMetricsServiceResponse.Parser.ParseFrom(response).PartialSuccess?.RejectedDataPoints ?? 0,
    };

    public static string Path(Signal signal) => signal switch
    {
        Signal.Traces => "/v1/traces",
        Signal.Logs => "/v1/logs",
        _ => "/v1/metrics",
    };

    public static byte[] Gzip(ReadOnlySpan<byte> bytes)
    {
        using var output = new MemoryStream(bytes.Length / 4);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }
}

/// <summary>Raw unary gRPC call with a bytes marshaller: the body goes out as encoded, no protobuf work per send.</summary>
internal sealed class GrpcSender : ISender
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    private readonly Method<byte[], byte[]> _export;
    private readonly Signal _signal;

    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;
    private readonly Metadata? _headers;
    private readonly TimeSpan _timeout;

    public GrpcSender(Signal signal, Uri endpoint, bool gzip, TimeSpan timeout)
    {
        _signal = signal;
        var service = signal switch
        {
            Signal.Traces => "opentelemetry.proto.collector.trace.v1.TraceService",
            Signal.Logs => "opentelemetry.proto.collector.logs.v1.LogsService",
            _ => "opentelemetry.proto.collector.metrics.v1.MetricsService",
        };
        _export = new Method<byte[], byte[]>(MethodType.Unary, service, "Export", Bytes, Bytes);
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) },
            MaxSendMessageSize = null,
            MaxReceiveMessageSize = 16 << 20,
        });
        _invoker = _channel.CreateCallInvoker();
        _headers = gzip ? new Metadata { { "grpc-internal-encoding-request", "gzip" } } : null;
        _timeout = timeout;
    }

    public async Task<SendResult> SendAsync(byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            var call = _invoker.AsyncUnaryCall(_export, null, new CallOptions(_headers, DateTime.UtcNow.Add(_timeout), cancellationToken), body);
            var response = await call.ResponseAsync;
            var rejected = response.Length == 0 ? 0 : Senders.Rejected(_signal, response);
            return new SendResult(Outcome.Ok, rejected, null, body.Length, null);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.ResourceExhausted or StatusCode.Unavailable)
        {
            return new SendResult(Outcome.Throttled, 0, RetryDelay(ex.Trailers), body.Length, ex.Status.Detail);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendResult(Outcome.Failed, 0, null, body.Length, $"{ex.StatusCode}: {ex.Status.Detail}");
        }
    }

    /// <summary>The RetryInfo detail of a google.rpc.Status in the <c>grpc-status-details-bin</c> trailer, if any.</summary>
    internal static TimeSpan? RetryDelay(Metadata trailers)
    {
        var details = trailers.GetValueBytes("grpc-status-details-bin");
        if (details is null)
        {
            return null;
        }

        try
        {
            var status = Google.Rpc.Status.Parser.ParseFrom(details);
            foreach (var detail in status.Details)
            {
                if (detail.TryUnpack<Google.Rpc.RetryInfo>(out var info) && info.RetryDelay is not null)
                {
                    return info.RetryDelay.ToTimeSpan();
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
        }

        return null;
    }

    public void Dispose() => _channel.Dispose();
}

/// <summary>OTLP/HTTP POST of the pre-encoded body (protobuf or JSON), gzip on request.</summary>
internal sealed class HttpSender : ISender
{
    private static readonly MediaTypeHeaderValue ProtobufType = new("application/x-protobuf");
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private readonly HttpClient _client;
    private readonly Uri _uri;
    private readonly bool _json;
    private readonly bool _gzip;
    private readonly Signal _signal;

    public HttpSender(Signal signal, Uri endpoint, bool json, bool gzip, TimeSpan timeout)
    {
        _signal = signal;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = timeout,
        };
        var path = Senders.Path(signal);
        _uri = endpoint.AbsolutePath.EndsWith(path, StringComparison.Ordinal) ? endpoint : new Uri(endpoint, path);
        _json = json;
        _gzip = gzip;
    }

    public async Task<SendResult> SendAsync(byte[] body, CancellationToken cancellationToken)
    {
        var payload = _gzip ? Senders.Gzip(body) : body;
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = _json ? JsonType : ProtobufType;
        if (_gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        try
        {
            using var response = await _client.PostAsync(_uri, content, cancellationToken);
            var responseBody = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return new SendResult(Outcome.Ok, Rejected(responseBody), null, payload.Length, null);
            }

            if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout)
            {
                var retry = response.Headers.RetryAfter;
                TimeSpan? delay = retry?.Delta ?? (retry?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
                return new SendResult(Outcome.Throttled, 0, delay, payload.Length, $"{(int)response.StatusCode}");
            }

            return new SendResult(Outcome.Failed, 0, null, payload.Length, $"HTTP {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(responseBody.AsSpan(0, Math.Min(200, responseBody.Length)))}");
        }
        catch (HttpRequestException ex)
        {
            return new SendResult(Outcome.Failed, 0, null, payload.Length, ex.Message);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendResult(Outcome.Failed, 0, null, payload.Length, "timeout: " + ex.Message);
        }
    }

    private long Rejected(byte[] body)
    {
        if (body.Length == 0)
        {
            return 0;
        }

        try
        {
            if (!_json)
            {
                return Senders.Rejected(_signal, body);
            }

            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("partialSuccess", out var partial)
                && (partial.TryGetProperty("rejectedSpans", out var rejected) || partial.TryGetProperty("rejectedLogRecords", out rejected)
                    || partial.TryGetProperty("rejectedDataPoints", out rejected)))
            {
                return rejected.ValueKind == JsonValueKind.String ? long.Parse(rejected.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : rejected.GetInt64();
            }
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or JsonException or FormatException)
        {
        }

        return 0;
    }

    public void Dispose() => _client.Dispose();
}
