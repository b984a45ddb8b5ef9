using System.Buffers;
using Almanac.Core.Ingest;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Server.Receivers;

/// <summary>
/// OTLP/gRPC <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>. Bound with a raw-bytes request
/// marshaller instead of the generated one so that a malformed message is our INVALID_ARGUMENT with a clear
/// message rather than the framework's generic deserialization failure — and so the pipeline gets the bytes
/// themselves, which it validates and logs without decoding them into objects.
/// </summary>
internal sealed class OtlpGrpcTraceReceiver(IngestPipeline pipeline, IngestAdmission admission) : RawTraceServiceBase
{
    public override async Task<ExportTraceServiceResponse> Export(byte[] request, ServerCallContext context) =>
        OtlpResponses.TraceResponse(await OtlpGrpc.ExportAsync(admission, context, request, static bytes => bytes, bytes => pipeline.ExportTracesAsync(bytes)));
}

/// <summary>OTLP/gRPC <c>opentelemetry.proto.collector.logs.v1.LogsService/Export</c>, bound like the trace service.</summary>
internal sealed class OtlpGrpcLogsReceiver(IngestPipeline pipeline, IngestAdmission admission) : RawLogsServiceBase
{
    public override async Task<ExportLogsServiceResponse> Export(byte[] request, ServerCallContext context) =>
        OtlpResponses.LogsResponse(await OtlpGrpc.ExportAsync(admission, context, request, static bytes => OtlpProtobuf.ParseLogsRequest(bytes), pipeline.ExportLogsAsync));
}

/// <summary>OTLP/gRPC <c>opentelemetry.proto.collector.metrics.v1.MetricsService/Export</c>, bound like the trace service.</summary>
internal sealed class OtlpGrpcMetricsReceiver(IngestPipeline pipeline, IngestAdmission admission) : RawMetricsServiceBase
{
    public override async Task<ExportMetricsServiceResponse> Export(byte[] request, ServerCallContext context) =>
        OtlpResponses.MetricsResponse(await OtlpGrpc.ExportAsync(admission, context, request, static bytes => OtlpProtobuf.ParseMetricsRequest(bytes), pipeline.ExportMetricsAsync));
}

/// <summary>What the three gRPC export methods share: admission, decoding, and mapping outcomes to status codes.</summary>
internal static class OtlpGrpc
{
    public static async Task<IngestResult> ExportAsync<T>(IngestAdmission admission, ServerCallContext context, byte[] request,
        Func<byte[], T> parse, Func<T, Task<IngestResult>> export)
    {
        using var lease = await admission.AcquireAsync(context.CancellationToken);
        if (!lease.IsAcquired)
        {
            var busy = new IngestResult(IngestStatus.Overloaded, 0, "Too many exports in flight; retry later");
            throw new RpcException(new Grpc.Core.Status(StatusCode.ResourceExhausted, busy.Message!), RetryTrailers(busy));
        }

        IngestResult result;
        try
        {
            // Trace exports are validated by the pipeline itself (it reads the raw bytes), so both steps can refuse.
            result = await export(parse(request));
        }
        catch (OtlpFormatException ex)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, ex.Message));
        }

        return result.Status switch
        {
            IngestStatus.Accepted => result,
            // RESOURCE_EXHAUSTED is retryable for OTLP clients only with a RetryInfo detail saying when.
            IngestStatus.Overloaded => throw new RpcException(new Grpc.Core.Status(StatusCode.ResourceExhausted, result.Message ?? "Overloaded"), RetryTrailers(result)),
            _ => throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, result.Message ?? "Unavailable"), RetryTrailers(result)),
        };
    }

    private static Metadata RetryTrailers(IngestResult result)
    {
        var status = new Google.Rpc.Status
        {
            Code = result.Status == IngestStatus.Overloaded ? (int)StatusCode.ResourceExhausted : (int)StatusCode.Unavailable,
            Message = result.Message ?? string.Empty,
        };
        status.Details.Add(Any.Pack(new Google.Rpc.RetryInfo { RetryDelay = Duration.FromTimeSpan(result.RetryAfter) }));
        return new Metadata { { "grpc-status-details-bin", status.ToByteArray() } };
    }

    public static Method<byte[], TResponse> RawExportMethod<TResponse>(string serviceFullName, MessageParser<TResponse> responseParser)
        where TResponse : IMessage<TResponse> =>
        new(
            MethodType.Unary,
            serviceFullName,
            "Export",
            new Marshaller<byte[]>(
                static (bytes, context) => context.Complete(bytes),
                // The request is copied over in full, so the array need not be zeroed first (the framework's
                // PayloadAsNewBuffer would): that is one memset of every request's size saved.
                static context =>
                {
                    var payload = context.PayloadAsReadOnlySequence();
                    var bytes = GC.AllocateUninitializedArray<byte>(checked((int)payload.Length));
                    payload.CopyTo(bytes);
                    return bytes;
                }),
            Marshallers.Create(static (TResponse r) => r.ToByteArray(), bytes => responseParser.ParseFrom(bytes)));
}

/// <summary>
/// The TraceService binding with a raw-bytes request marshaller. Grpc.AspNetCore binds a method only when it
/// overrides one declared on the type that carries <see cref="BindServiceMethodAttribute"/>, hence these bases.
/// </summary>
[BindServiceMethod(typeof(RawTraceServiceBase), nameof(BindService))]
internal abstract class RawTraceServiceBase
{
    private static readonly Method<byte[], ExportTraceServiceResponse> ExportMethod =
        OtlpGrpc.RawExportMethod(TraceService.Descriptor.FullName, ExportTraceServiceResponse.Parser);

    public static void BindService(ServiceBinderBase binder, RawTraceServiceBase? service) =>
        binder.AddMethod(ExportMethod, service is null ? null! : service.Export);

    public abstract Task<ExportTraceServiceResponse> Export(byte[] request, ServerCallContext context);
}

[BindServiceMethod(typeof(RawLogsServiceBase), nameof(BindService))]
internal abstract class RawLogsServiceBase
{
    private static readonly Method<byte[], ExportLogsServiceResponse> ExportMethod =
        OtlpGrpc.RawExportMethod(LogsService.Descriptor.FullName, ExportLogsServiceResponse.Parser);

    public static void BindService(ServiceBinderBase binder, RawLogsServiceBase? service) =>
        binder.AddMethod(ExportMethod, service is null ? null! : service.Export);

    public abstract Task<ExportLogsServiceResponse> Export(byte[] request, ServerCallContext context);
}

[BindServiceMethod(typeof(RawMetricsServiceBase), nameof(BindService))]
internal abstract class RawMetricsServiceBase
{
    private static readonly Method<byte[], ExportMetricsServiceResponse> ExportMethod =
        OtlpGrpc.RawExportMethod(MetricsService.Descriptor.FullName, ExportMetricsServiceResponse.Parser);

    public static void BindService(ServiceBinderBase binder, RawMetricsServiceBase? service) =>
        binder.AddMethod(ExportMethod, service is null ? null! : service.Export);

    public abstract Task<ExportMetricsServiceResponse> Export(byte[] request, ServerCallContext context);
}
