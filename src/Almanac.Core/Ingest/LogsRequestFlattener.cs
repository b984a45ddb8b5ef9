using Almanac.Core.Model;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Core.Ingest;

/// <summary>The valid log records of a request, flattened, and what was rejected and why.</summary>
public sealed record LogsFlattenResult(List<LogRecordData> Logs, int RejectedLogs, string? RejectionMessage);

/// <summary>
/// Validates a logs export and flattens it into <see cref="LogRecordData"/>. A record is invalid when its trace id is
/// neither empty nor 16 bytes, or its span id neither empty nor 8 bytes; invalid records are removed from the
/// request in place, so what goes on to the write-ahead log is exactly what was accepted. All-zero ids mean "no
/// trace context", as in the specification.
/// </summary>
public static class LogsRequestFlattener
{
    private const int MaxReasons = 3;

    public static LogsFlattenResult Flatten(ExportLogsServiceRequest request)
    {
        var logs = new List<LogRecordData>();
        var rejected = 0;
        List<string>? reasons = null;

        for (var r = 0; r < request.ResourceLogs.Count; r++)
        {
            var resourceLogs = request.ResourceLogs[r];
            var resource = resourceLogs.Resource ??= new Resource();
            var serviceName = ServiceNames.Of(resource);
            for (var s = 0; s < resourceLogs.ScopeLogs.Count; s++)
            {
                var scopeLogs = resourceLogs.ScopeLogs[s];
                var scope = scopeLogs.Scope ??= new InstrumentationScope();
                var list = scopeLogs.LogRecords;
                var rejectedHere = 0;
                for (var i = 0; i < list.Count; i++)
                {
                    var record = list[i];
                    var reason = Validate(record, out var traceId, out var spanId);
                    if (reason is not null)
                    {
                        rejected++;
                        rejectedHere++;
                        if ((reasons ??= []).Count < MaxReasons)
                        {
                            reasons.Add($"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]: {reason}");
                        }

                        continue;
                    }

                    logs.Add(new LogRecordData(traceId, spanId, serviceName, resource, resourceLogs.SchemaUrl, scope, scopeLogs.SchemaUrl, record));
                }

                if (rejectedHere > 0)
                {
                    for (var i = list.Count - 1; i >= 0; i--)
                    {
                        if (Validate(list[i], out _, out _) is not null)
                        {
                            list.RemoveAt(i);
                        }
                    }
                }
            }
        }

        string? message = null;
        if (rejected > 0)
        {
            message = $"{rejected} log record(s) rejected: {string.Join("; ", reasons!)}{(rejected > reasons!.Count ? "; ..." : string.Empty)}";
        }

        return new LogsFlattenResult(logs, rejected, message);
    }

    private static string? Validate(LogRecord record, out TraceId traceId, out SpanId spanId)
    {
        traceId = default;
        spanId = default;
        if (!record.TraceId.IsEmpty && !TraceId.TryRead(record.TraceId.Span, out traceId))
        {
            return $"trace id must be empty or 16 bytes, got {record.TraceId.Length}";
        }

        if (!record.SpanId.IsEmpty && !SpanId.TryRead(record.SpanId.Span, out spanId))
        {
            return $"span id must be empty or 8 bytes, got {record.SpanId.Length}";
        }

        return null;
    }
}
