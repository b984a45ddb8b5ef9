using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Core.Model;

/// <summary>
/// One log record with the resource and scope it was reported under, the flattened OTLP shape that backends write
/// (see <see cref="SpanData"/>: resource and scope instances are shared by the records of one ResourceLogs /
/// ScopeLogs, and the protobuf message keeps every field).
/// </summary>
public sealed class LogRecordData
{
    public LogRecordData(TraceId traceId, SpanId spanId, string serviceName, Resource resource, string resourceSchemaUrl,
        InstrumentationScope scope, string scopeSchemaUrl, LogRecord record)
    {
        TraceId = traceId;
        SpanId = spanId;
        ServiceName = serviceName;
        Resource = resource;
        ResourceSchemaUrl = resourceSchemaUrl;
        Scope = scope;
        ScopeSchemaUrl = scopeSchemaUrl;
        Record = record;
    }

    /// <summary><see cref="TraceId.Empty"/> when the record carries no trace context.</summary>
    public TraceId TraceId { get; }

    /// <summary><see cref="SpanId.Empty"/> when the record carries no span id.</summary>
    public SpanId SpanId { get; }

    public string ServiceName { get; }

    public Resource Resource { get; }

    public string ResourceSchemaUrl { get; }

    public InstrumentationScope Scope { get; }

    public string ScopeSchemaUrl { get; }

    public LogRecord Record { get; }

    /// <summary>
    /// When the event happened: <c>time_unix_nano</c>, or <c>observed_time_unix_nano</c> when the source did not
    /// say (the data model's rule for ordering and retention).
    /// </summary>
    public long TimestampUnixNano => Record.TimeUnixNano != 0 ? unchecked((long)Record.TimeUnixNano) : unchecked((long)Record.ObservedTimeUnixNano);
}
