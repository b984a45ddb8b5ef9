using System.Globalization;
using System.Text.Json;
using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Otlp.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Model;

/// <summary>A trace read from a file the user opened, with what the page should say about the rest of the file.</summary>
public sealed record OpenedTrace(TraceData Trace, IReadOnlyList<string> Notes);

/// <summary>
/// Reads a trace file for "Open file": OTLP/JSON (an <c>/v1/traces</c> body or <c>TracesData</c>, or the
/// <c>{"result": …}</c> of <c>/api/v3/traces/{id}</c>) or Jaeger JSON (<c>{"data": [trace, …]}</c> from
/// <c>/api/traces/{id}</c>). Nothing is stored. Bad files throw <see cref="FormatException"/> with a message for the user.
/// </summary>
public static class TraceFile
{
    public static OpenedTrace Read(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 128 });
        }
        catch (JsonException ex)
        {
            throw new FormatException("The file is not JSON: " + ex.Message, ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("The file is JSON but not a trace: expected an object with \"resourceSpans\" (OTLP), \"result\" (OTLP from /api/v3) or \"data\" (Jaeger).");
            }

            if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                return Pick(ReadJaeger(data), []);
            }

            var otlp = root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object ? result : root;
            if (!otlp.TryGetProperty("resourceSpans", out _) && !otlp.TryGetProperty("resource_spans", out _))
            {
                throw new FormatException("The file is JSON but not a trace: expected an object with \"resourceSpans\" (OTLP), \"result\" (OTLP from /api/v3) or \"data\" (Jaeger).");
            }

            OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest request;
            try
            {
                request = OtlpJson.ParseTraceRequest(System.Text.Encoding.UTF8.GetBytes(otlp.GetRawText()));
            }
            catch (OtlpFormatException ex)
            {
                throw new FormatException("The file is not valid OTLP/JSON: " + ex.Message, ex);
            }

            var flat = TraceRequestFlattener.Flatten(request);
            var notes = flat.RejectionMessage is null ? [] : new List<string> { "Not shown: " + flat.RejectionMessage };
            return Pick(flat.Spans.GroupBy(s => s.TraceId).Select(g => new TraceData(g.Key, [.. g])).ToList(), notes);
        }
    }

    private static OpenedTrace Pick(List<TraceData> traces, List<string> notes)
    {
        traces.RemoveAll(t => t.Spans.Count == 0);
        if (traces.Count == 0)
        {
            throw new FormatException("The file holds no spans" + (notes.Count > 0 ? ". " + string.Join(" ", notes) : "."));
        }

        if (traces.Count > 1)
        {
            var others = traces.Skip(1).ToList();
            notes.Add($"The file holds {traces.Count} traces; this is the first. Not shown: {string.Join(", ", others.Take(5).Select(t => t.TraceId.ToHex()))}{(others.Count > 5 ? $" and {others.Count - 5} more" : string.Empty)} ({others.Sum(t => t.Spans.Count)} spans).");
        }

        return new OpenedTrace(traces[0], notes);
    }

    private static List<TraceData> ReadJaeger(JsonElement data)
    {
        var traces = new List<TraceData>();
        foreach (var trace in data.EnumerateArray())
        {
            if (trace.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("Jaeger JSON: every element of \"data\" must be a trace object.");
            }

            var resources = new Dictionary<string, (Resource Resource, string Service)>(StringComparer.Ordinal);
            if (trace.TryGetProperty("processes", out var processes) && processes.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in processes.EnumerateObject())
                {
                    var service = p.Value.TryGetProperty("serviceName", out var sn) && sn.ValueKind == JsonValueKind.String ? sn.GetString()! : ServiceNames.Unknown;
                    var resource = new Resource();
                    resource.Attributes.Add(new KeyValue { Key = ServiceNames.AttributeKey, Value = new AnyValue { StringValue = service } });
                    if (p.Value.TryGetProperty("tags", out var tags))
                    {
                        resource.Attributes.Add(Tags(tags));
                    }

                    resources[p.Name] = (resource, service);
                }
            }

            var spans = new List<SpanData>();
            var scope = new InstrumentationScope();
            if (!trace.TryGetProperty("spans", out var spanArray) || spanArray.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("Jaeger JSON: a trace has no \"spans\" array.");
            }

            var index = 0;
            foreach (var s in spanArray.EnumerateArray())
            {
                var where = $"Jaeger JSON: span {index++}";
                if (!TraceId.TryParse(Str(s, "traceID"), out var traceId) || traceId.IsEmpty)
                {
                    throw new FormatException(where + ": \"traceID\" is not a trace id.");
                }

                if (!SpanId.TryParse(Str(s, "spanID"), out var spanId) || spanId.IsEmpty)
                {
                    throw new FormatException(where + ": \"spanID\" is not a span id.");
                }

                var parentId = SpanId.Empty;
                if (s.TryGetProperty("references", out var refs) && refs.ValueKind == JsonValueKind.Array)
                {
                    foreach (var r in refs.EnumerateArray().OrderBy(r => Str(r, "refType") == "CHILD_OF" ? 0 : 1))
                    {
                        if (SpanId.TryParse(Str(r, "spanID"), out var p) && !p.IsEmpty)
                        {
                            parentId = p;
                            break;
                        }
                    }
                }

                var startMicros = Num(s, "startTime");
                var durationMicros = Math.Max(0, Num(s, "duration"));
                var span = new Span
                {
                    TraceId = ByteString.CopyFrom(traceId.ToBytes()),
                    SpanId = ByteString.CopyFrom(spanId.ToBytes()),
                    Name = Str(s, "operationName") ?? string.Empty,
                    StartTimeUnixNano = (ulong)Math.Max(0, startMicros) * 1000,
                    EndTimeUnixNano = ((ulong)Math.Max(0, startMicros) + (ulong)durationMicros) * 1000,
                    Status = new Status(),
                };
                if (!parentId.IsEmpty)
                {
                    span.ParentSpanId = ByteString.CopyFrom(parentId.ToBytes());
                }

                if (s.TryGetProperty("tags", out var spanTags))
                {
                    foreach (var kv in Tags(spanTags))
                    {
                        switch (kv.Key)
                        {
                            case "span.kind":
                                span.Kind = kv.Value.StringValue switch
                                {
                                    "server" => Span.Types.SpanKind.Server,
                                    "client" => Span.Types.SpanKind.Client,
                                    "producer" => Span.Types.SpanKind.Producer,
                                    "consumer" => Span.Types.SpanKind.Consumer,
                                    "internal" => Span.Types.SpanKind.Internal,
                                    _ => Span.Types.SpanKind.Unspecified,
                                };
                                break;
                            case "otel.status_code":
                                span.Status.Code = kv.Value.StringValue == "ERROR" ? Status.Types.StatusCode.Error
                                    : kv.Value.StringValue == "OK" ? Status.Types.StatusCode.Ok : span.Status.Code;
                                break;
                            case "otel.status_description":
                                span.Status.Message = kv.Value.StringValue;
                                break;
                            case "error" when kv.Value.BoolValue || kv.Value.StringValue == "true":
                                span.Status.Code = Status.Types.StatusCode.Error;
                                break;
                            default:
                                span.Attributes.Add(kv);
                                break;
                        }
                    }
                }

                if (s.TryGetProperty("logs", out var logs) && logs.ValueKind == JsonValueKind.Array)
                {
                    foreach (var log in logs.EnumerateArray())
                    {
                        var ev = new Span.Types.Event { TimeUnixNano = (ulong)Math.Max(0, Num(log, "timestamp")) * 1000, Name = "log" };
                        if (log.TryGetProperty("fields", out var fields))
                        {
                            foreach (var f in Tags(fields))
                            {
                                if (f.Key == "event" && f.Value.ValueCase == AnyValue.ValueOneofCase.StringValue)
                                {
                                    ev.Name = f.Value.StringValue;
                                }
                                else
                                {
                                    ev.Attributes.Add(f);
                                }
                            }
                        }

                        span.Events.Add(ev);
                    }
                }

                var (res, svc) = resources.TryGetValue(Str(s, "processID") ?? string.Empty, out var found) ? found : (new Resource(), ServiceNames.Unknown);
                spans.Add(new SpanData(traceId, spanId, parentId, svc, res, string.Empty, scope, string.Empty, span));
            }

            foreach (var g in spans.GroupBy(x => x.TraceId))
            {
                traces.Add(new TraceData(g.Key, [.. g]));
            }
        }

        return traces;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Num(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    private static IEnumerable<KeyValue> Tags(JsonElement tags)
    {
        if (tags.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var t in tags.EnumerateArray())
        {
            var key = Str(t, "key");
            if (key is null || !t.TryGetProperty("value", out var v))
            {
                continue;
            }

            var value = v.ValueKind switch
            {
                JsonValueKind.True => new AnyValue { BoolValue = true },
                JsonValueKind.False => new AnyValue { BoolValue = false },
                JsonValueKind.Number when (Str(t, "type") is "int64" or null) && v.TryGetInt64(out var i) => new AnyValue { IntValue = i },
                JsonValueKind.Number => new AnyValue { DoubleValue = v.GetDouble() },
                JsonValueKind.String => new AnyValue { StringValue = v.GetString()! },
                _ => new AnyValue { StringValue = v.GetRawText() },
            };
            yield return new KeyValue { Key = key, Value = value };
        }
    }

}
