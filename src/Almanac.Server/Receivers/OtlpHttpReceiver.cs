using Almanac.Core.Ingest;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Almanac.Server.Configuration;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using GrpcCode = Grpc.Core.StatusCode;

namespace Almanac.Server.Receivers;

/// <summary>
/// OTLP/HTTP: <c>POST /v1/traces</c>, <c>/v1/logs</c> and <c>/v1/metrics</c> with <c>application/x-protobuf</c> or
/// <c>application/json</c>, optionally gzip-encoded. A thin adapter: decode, hand to <see cref="IngestPipeline"/>,
/// map the outcome to HTTP. The three signals differ only in their decoder, pipeline call and response body.
/// </summary>
internal static class OtlpHttpReceiver
{
    // Protobuf trace bodies go to the pipeline as bytes: it validates them and logs them as received.
    private static readonly Signal Traces = new(
        static (body, json) => json ? OtlpJson.ParseTraceRequest(body) : body,
        static (pipeline, request) => request is byte[] protobuf ? pipeline.ExportTracesAsync(protobuf) : pipeline.ExportTracesAsync((ExportTraceServiceRequest)request),
        static (result, json) => json ? OtlpResponses.PartialSuccessJson("rejectedSpans", result) : OtlpResponses.TraceResponse(result).ToByteArray());

    private static readonly Signal Logs = new(
        static (body, json) => json ? OtlpJson.ParseLogsRequest(body) : OtlpProtobuf.ParseLogsRequest(body),
        static (pipeline, request) => pipeline.ExportLogsAsync((ExportLogsServiceRequest)request),
        static (result, json) => json ? OtlpResponses.PartialSuccessJson("rejectedLogRecords", result) : OtlpResponses.LogsResponse(result).ToByteArray());

    private static readonly Signal Metrics = new(
        static (body, json) => json ? OtlpJson.ParseMetricsRequest(body) : OtlpProtobuf.ParseMetricsRequest(body),
        static (pipeline, request) => pipeline.ExportMetricsAsync((ExportMetricsServiceRequest)request),
        static (result, json) => json ? OtlpResponses.PartialSuccessJson("rejectedDataPoints", result) : OtlpResponses.MetricsResponse(result).ToByteArray());

    public static IEndpointRouteBuilder MapOtlpHttp(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/traces", (HttpContext c, IngestPipeline p, AlmanacOptions o, IngestAdmission a) => HandleAsync(c, p, o, a, Traces));
        app.MapPost("/v1/logs", (HttpContext c, IngestPipeline p, AlmanacOptions o, IngestAdmission a) => HandleAsync(c, p, o, a, Logs));
        app.MapPost("/v1/metrics", (HttpContext c, IngestPipeline p, AlmanacOptions o, IngestAdmission a) => HandleAsync(c, p, o, a, Metrics));
        return app;
    }

    private static async Task HandleAsync(HttpContext context, IngestPipeline pipeline, AlmanacOptions options, IngestAdmission admission, Signal signal)
    {
        var request = context.Request;
        bool json;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType))
        {
            await WriteErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, GrpcCode.InvalidArgument,
                "Missing or invalid Content-Type; use application/x-protobuf or application/json.", json: false);
            return;
        }

        if (mediaType.MediaType.Equals(OtlpResponses.ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            json = false;
        }
        else if (mediaType.MediaType.Equals(OtlpResponses.JsonContentType, StringComparison.OrdinalIgnoreCase))
        {
            json = true;
        }
        else
        {
            await WriteErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, GrpcCode.InvalidArgument,
                $"Unsupported Content-Type '{mediaType.MediaType}'; use application/x-protobuf or application/json.", json: false);
            return;
        }

        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        bool gzip;
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            gzip = false;
        }
        else if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            gzip = true;
        }
        else
        {
            await WriteErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, GrpcCode.InvalidArgument,
                $"Unsupported Content-Encoding '{encoding}'; use gzip or none.", json);
            return;
        }

        // Our own bounded reader enforces the limit on the compressed and the decompressed size alike.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        using var lease = await admission.AcquireAsync(context.RequestAborted);
        if (!lease.IsAcquired)
        {
            context.Response.Headers.RetryAfter = "1";
            await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, GrpcCode.ResourceExhausted, "Too many exports in flight; retry later", json);
            return;
        }

        IngestResult result;
        try
        {
            var body = await BoundedGzip.ReadAllAsync(request.Body, gzip, options.MaxRequestBytes, context.RequestAborted);
            result = await signal.Export(pipeline, signal.Parse(body, json));
        }
        catch (PayloadTooLargeException)
        {
            await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, GrpcCode.InvalidArgument,
                $"Request body exceeds {options.MaxRequestBytes} bytes{(gzip ? " after decompression" : string.Empty)} (see --max-request-size).", json);
            return;
        }
        catch (OtlpFormatException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, GrpcCode.InvalidArgument, ex.Message, json);
            return;
        }
        catch (BadHttpRequestException ex)
        {
            await WriteErrorAsync(context, ex.StatusCode, GrpcCode.InvalidArgument, ex.Message, json);
            return;
        }

        switch (result.Status)
        {
            case IngestStatus.Accepted:
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = json ? OtlpResponses.JsonContentType : OtlpResponses.ProtobufContentType;
                await context.Response.Body.WriteAsync(signal.Response(result, json));
                break;
            case IngestStatus.Overloaded:
                context.Response.Headers.RetryAfter = ((int)result.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, GrpcCode.ResourceExhausted, result.Message ?? "Overloaded", json);
                break;
            default:
                context.Response.Headers.RetryAfter = ((int)result.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, GrpcCode.Unavailable, result.Message ?? "Unavailable", json);
                break;
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, int httpStatus, GrpcCode code, string message, bool json)
    {
        context.Response.StatusCode = httpStatus;
        context.Response.ContentType = json ? OtlpResponses.JsonContentType : OtlpResponses.ProtobufContentType;
        await context.Response.Body.WriteAsync(OtlpResponses.Status((int)code, message, json));
    }

    /// <summary>How one OTLP signal is decoded, ingested and answered.</summary>
    private sealed record Signal(
        Func<byte[], bool, object> Parse,
        Func<IngestPipeline, object, Task<IngestResult>> Export,
        Func<IngestResult, bool, byte[]> Response);
}
