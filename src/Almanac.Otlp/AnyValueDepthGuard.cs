using Almanac.Otlp.Json;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;

namespace Almanac.Otlp;

/// <summary>
/// Enforces <see cref="OtlpJson.MaxAnyValueDepth"/> on protobuf-decoded requests, so both encodings accept exactly the
/// same attribute nesting and code downstream (storage, JSON output) can rely on one bound. The protobuf recursion
/// limit alone cannot do it: an array level costs two message levels and a kvlist level three.
/// </summary>
internal static class AnyValueDepthGuard
{
    public static void Check(ExportTraceServiceRequest request)
    {
        int bad;
        for (var r = 0; r < request.ResourceSpans.Count; r++)
        {
            var resourceSpans = request.ResourceSpans[r];
            if (resourceSpans.Resource is { } resource && (bad = FirstTooDeep(resource.Attributes)) >= 0)
            {
                throw TooDeepError($"resourceSpans[{r}].resource", bad);
            }

            for (var s = 0; s < resourceSpans.ScopeSpans.Count; s++)
            {
                var scopeSpans = resourceSpans.ScopeSpans[s];
                if (scopeSpans.Scope is { } scope && (bad = FirstTooDeep(scope.Attributes)) >= 0)
                {
                    throw TooDeepError($"resourceSpans[{r}].scopeSpans[{s}].scope", bad);
                }

                for (var i = 0; i < scopeSpans.Spans.Count; i++)
                {
                    var span = scopeSpans.Spans[i];
                    if ((bad = FirstTooDeep(span.Attributes)) >= 0)
                    {
                        throw TooDeepError($"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]", bad);
                    }

                    for (var e = 0; e < span.Events.Count; e++)
                    {
                        if ((bad = FirstTooDeep(span.Events[e].Attributes)) >= 0)
                        {
                            throw TooDeepError($"resourceSpans[{r}].scopeSpans[{s}].spans[{i}].events[{e}]", bad);
                        }
                    }

                    for (var l = 0; l < span.Links.Count; l++)
                    {
                        if ((bad = FirstTooDeep(span.Links[l].Attributes)) >= 0)
                        {
                            throw TooDeepError($"resourceSpans[{r}].scopeSpans[{s}].spans[{i}].links[{l}]", bad);
                        }
                    }
                }
            }
        }
    }

    public static void Check(ExportLogsServiceRequest request)
    {
        int bad;
        for (var r = 0; r < request.ResourceLogs.Count; r++)
        {
            var resourceLogs = request.ResourceLogs[r];
            if (resourceLogs.Resource is { } resource && (bad = FirstTooDeep(resource.Attributes)) >= 0)
            {
                throw TooDeepError($"resourceLogs[{r}].resource", bad);
            }

            for (var s = 0; s < resourceLogs.ScopeLogs.Count; s++)
            {
                var scopeLogs = resourceLogs.ScopeLogs[s];
                if (scopeLogs.Scope is { } scope && (bad = FirstTooDeep(scope.Attributes)) >= 0)
                {
                    throw TooDeepError($"resourceLogs[{r}].scopeLogs[{s}].scope", bad);
                }

                for (var i = 0; i < scopeLogs.LogRecords.Count; i++)
                {
                    var record = scopeLogs.LogRecords[i];
                    if ((bad = FirstTooDeep(record.Attributes)) >= 0)
                    {
                        throw TooDeepError($"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]", bad);
                    }

                    // The body is an AnyValue of its own: level 1, like an attribute value.
                    if (record.Body is { } body && TooDeep(body, 1))
                    {
                        throw new OtlpFormatException($"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}].body: nested deeper than {OtlpJson.MaxAnyValueDepth} levels");
                    }
                }
            }
        }
    }

    public static void Check(ExportMetricsServiceRequest request)
    {
        int bad;
        for (var r = 0; r < request.ResourceMetrics.Count; r++)
        {
            var resourceMetrics = request.ResourceMetrics[r];
            if (resourceMetrics.Resource is { } resource && (bad = FirstTooDeep(resource.Attributes)) >= 0)
            {
                throw TooDeepError($"resourceMetrics[{r}].resource", bad);
            }

            for (var s = 0; s < resourceMetrics.ScopeMetrics.Count; s++)
            {
                var scopeMetrics = resourceMetrics.ScopeMetrics[s];
                if (scopeMetrics.Scope is { } scope && (bad = FirstTooDeep(scope.Attributes)) >= 0)
                {
                    throw TooDeepError($"resourceMetrics[{r}].scopeMetrics[{s}].scope", bad);
                }

                for (var m = 0; m < scopeMetrics.Metrics.Count; m++)
                {
                    var metric = scopeMetrics.Metrics[m];
                    var owner = $"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}]";
                    if ((bad = FirstTooDeep(metric.Metadata)) >= 0)
                    {
                        throw new OtlpFormatException($"{owner}.metadata[{bad}].value: nested deeper than {OtlpJson.MaxAnyValueDepth} levels");
                    }

                    var index = 0;
                    foreach (var point in MetricDataPoints.Enumerate(metric))
                    {
                        if ((bad = FirstTooDeep(point.Attributes)) >= 0)
                        {
                            throw TooDeepError($"{owner}.dataPoints[{index}]", bad);
                        }

                        for (var e = 0; e < point.Exemplars.Count; e++)
                        {
                            if ((bad = FirstTooDeep(point.Exemplars[e].FilteredAttributes)) >= 0)
                            {
                                throw new OtlpFormatException($"{owner}.dataPoints[{index}].exemplars[{e}].filteredAttributes[{bad}].value: nested deeper than {OtlpJson.MaxAnyValueDepth} levels");
                            }
                        }

                        index++;
                    }
                }
            }
        }
    }

    /// <summary>Index of the first attribute whose value nests too deeply, or -1; paths are only built on failure.</summary>
    private static int FirstTooDeep(RepeatedField<KeyValue> attributes)
    {
        for (var a = 0; a < attributes.Count; a++)
        {
            if (attributes[a].Value is { } value && TooDeep(value, 1))
            {
                return a;
            }
        }

        return -1;
    }

    private static OtlpFormatException TooDeepError(string owner, int attribute) =>
        new($"{owner}.attributes[{attribute}].value: attribute values nested deeper than {OtlpJson.MaxAnyValueDepth} levels");

    private static bool TooDeep(AnyValue value, int depth)
    {
        if (depth > OtlpJson.MaxAnyValueDepth)
        {
            return true;
        }

        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.ArrayValue:
                var items = value.ArrayValue.Values;
                for (var i = 0; i < items.Count; i++)
                {
                    if (TooDeep(items[i], depth + 1))
                    {
                        return true;
                    }
                }

                return false;
            case AnyValue.ValueOneofCase.KvlistValue:
                var entries = value.KvlistValue.Values;
                for (var i = 0; i < entries.Count; i++)
                {
                    if (entries[i].Value is { } nested && TooDeep(nested, depth + 1))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }
}
