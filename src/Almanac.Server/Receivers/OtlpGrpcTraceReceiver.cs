using Almanac.Core.Ingest;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Server.Receivers;

/// <summary>
/// OTLP/gRPC <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>. Bound with a raw-bytes request
/// marshaller instead of the generated one so that a malformed message is our INVALID_ARGUMENT with a clear
/// message rather than the framework's generic deserialization failure.
/// </summary>
internal sealed class OtlpGrpcTraceReceiver(IngestPipeline pipeline, IngestAdmission admission) : RawTraceServiceBase
{
    public override async Task<ExportTraceServiceResponse> Export(byte[] request, ServerCallContext context)
    {
        using var lease = await admission.AcquireAsync(context.CancellationToken);
        if (!lease.IsAcquired)
        {
            var busy = new IngestResult(IngestStatus.Overloaded, 0, "Too many exports in flight; retry later");
            throw new RpcException(new Grpc.Core.Status(StatusCode.ResourceExhausted, busy.Message!), RetryTrailers(busy));
        }

        ExportTraceServiceRequest export;
        try
        {
            export = OtlpProtobuf.ParseTraceRequest(request);
        }
        catch (OtlpFormatException ex)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, ex.Message));
        }

        var result = await pipeline.ExportTracesAsync(export);
        return result.Status switch
        {
            IngestStatus.Accepted => OtlpResponses.TraceResponse(result),
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
}

/// <summary>
/// The TraceService binding with a raw-bytes request marshaller. Grpc.AspNetCore binds a method only when it
/// overrides one declared on the type that carries <see cref="BindServiceMethodAttribute"/>, hence this base.
/// </summary>
[BindServiceMethod(typeof(RawTraceServiceBase), nameof(BindService))]
internal abstract class RawTraceServiceBase
{
    private static readonly Method<byte[], ExportTraceServiceResponse> ExportMethod = new(
        MethodType.Unary,
        TraceService.Descriptor.FullName,
        "Export",
        Marshallers.Create(static (byte[] bytes) => bytes, static (byte[] bytes) => bytes),
        Marshallers.Create(static (ExportTraceServiceResponse r) => r.ToByteArray(), static (byte[] bytes) => ExportTraceServiceResponse.Parser.ParseFrom(bytes)));

    public static void BindService(ServiceBinderBase binder, RawTraceServiceBase? service) =>
        binder.AddMethod(ExportMethod, service is null ? null! : service.Export);

    public abstract Task<ExportTraceServiceResponse> Export(byte[] request, ServerCallContext context);
}
