using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Bench;

/// <summary>Latencies of one kind of request, in ms, in the order they were taken.</summary>
internal sealed record Latencies(string Label, IReadOnlyList<double> Ms, string Detail = "")
{
    public double Percentile(double p)
    {
        if (Ms.Count == 0)
        {
            return double.NaN;
        }

        var sorted = Ms.Order().ToArray();
        // Nearest rank: p99 of 50 samples is the largest, said as such in the results file.
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}

/// <summary>Talks to Almanac's query API and OTLP/HTTP receiver the way a user's tools do.</summary>
internal sealed class AlmanacApi(Uri ui, Uri otlpHttp) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(5) };

    public Uri Ui => ui;

    public async Task WaitReadyAsync(TimeSpan patience, Func<bool> exited)
    {
        var deadline = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < deadline)
        {
            if (exited())
            {
                throw new InvalidOperationException("almanac exited before it was ready (see almanac.log in the work dir)");
            }

            try
            {
                using var r = await _http.GetAsync(new Uri(ui, "/readyz"));
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("almanac did not become ready");
    }

    /// <summary>Times <paramref name="count"/> sequential GETs of each path; every answer must be 200 (or 404 when expected).</summary>
    public async Task<Latencies> TimeAsync(string label, IReadOnlyList<string> paths, int count, HttpStatusCode expected, string detail = "")
    {
        // One untimed request first: the first call of a route pays for JIT and connection set-up.
        using (var warm = await _http.GetAsync(new Uri(ui, paths[0])))
        {
        }

        var ms = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var path = paths[i % paths.Count];
            var watch = Stopwatch.StartNew();
            using var response = await _http.GetAsync(new Uri(ui, path), HttpCompletionOption.ResponseContentRead);
            var elapsed = watch.Elapsed.TotalMilliseconds;
            if (response.StatusCode != expected)
            {
                throw new InvalidOperationException($"{label}: GET {path} answered {(int)response.StatusCode}, expected {(int)expected}: {await response.Content.ReadAsStringAsync()}");
            }

            ms.Add(elapsed);
        }

        return new Latencies(label, ms, detail);
    }

    /// <summary>Traces a search returns (to say in the results what each query matched).</summary>
    public async Task<int> CountResultsAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(ui, path));
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
        return doc.RootElement.GetProperty("data").GetArrayLength();
    }

    /// <summary>The first value of a tag with this key on a span of this service in the given traces (Jaeger JSON), or null.</summary>
    public async Task<string?> FindTagValueAsync(IEnumerable<string> traceIds, string service, string key)
    {
        foreach (var id in traceIds)
        {
            using var response = await _http.GetAsync(new Uri(ui, "/api/traces/" + id));
            if (!response.IsSuccessStatusCode)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
            foreach (var trace in doc.RootElement.GetProperty("data").EnumerateArray())
            {
                var processes = trace.GetProperty("processes");
                foreach (var span in trace.GetProperty("spans").EnumerateArray())
                {
                    if (processes.GetProperty(span.GetProperty("processID").GetString()!).GetProperty("serviceName").GetString() != service)
                    {
                        continue;
                    }

                    foreach (var tag in span.GetProperty("tags").EnumerateArray())
                    {
                        if (tag.GetProperty("key").GetString() == key && tag.GetProperty("value").ValueKind == JsonValueKind.String)
                        {
                            return tag.GetProperty("value").GetString();
                        }
                    }
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Sends one small trace after a load and waits until it is queryable. Exports reach the store in write-ahead-log
    /// order, so once this trace is stored every span acknowledged before it is too.
    /// </summary>
    public async Task<TimeSpan> WaitStoredAsync(TimeSpan patience)
    {
        var traceId = RandomBytes(16);
        var request = Request("bench-marker", [NewSpan(traceId, RandomBytes(8), null, "marker", 0, 1_000_000)]);
        await PostAsync(request);
        var watch = Stopwatch.StartNew();
        var path = "/api/traces/" + Convert.ToHexStringLower(traceId);
        while (watch.Elapsed < patience)
        {
            using var r = await _http.GetAsync(new Uri(ui, path));
            if (r.IsSuccessStatusCode)
            {
                return watch.Elapsed;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException("the store did not catch up with the acknowledged spans");
    }

    /// <summary>
    /// Stores one trace of <paramref name="count"/> spans (a tree, 8 children per span, 7 services) in 10,000-span
    /// exports, and waits until the trace page's model holds all of them. Returns the trace id (hex).
    /// </summary>
    public async Task<string> StoreBigTraceAsync(int count)
    {
        var traceId = RandomBytes(16);
        var ids = new byte[count][];
        var t0 = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 120_000) * 1_000_000;
        var spans = new List<(string Service, Span Span)>(10_000);
        for (var i = 0; i < count; i++)
        {
            ids[i] = RandomBytes(8);
            var duration = i == 0 ? (count * 10_000L) + 1_000_000_000 : 200_000L + (i % 13 * 10_000L);
            var span = NewSpan(traceId, ids[i], i == 0 ? null : ids[(i - 1) / 8], $"op-{i % 500}", t0 + (i * 10_000L), duration);
            span.Attributes.Add(new KeyValue { Key = "index", Value = new AnyValue { IntValue = i } });
            spans.Add(($"svc-{i % 7}", span));
            if (spans.Count == 10_000 || i == count - 1)
            {
                await PostAsync(Request(spans));
                spans.Clear();
            }
        }

        var hex = Convert.ToHexStringLower(traceId);
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (DateTime.UtcNow < deadline)
        {
            using var get = await _http.GetAsync(new Uri(ui, $"/trace/{hex}/model"));
            if (get.IsSuccessStatusCode)
            {
                using var model = JsonDocument.Parse(await get.Content.ReadAsStreamAsync());
                if (model.RootElement.GetProperty("spanCount").GetInt32() >= count)
                {
                    return hex;
                }
            }

            await Task.Delay(1000);
        }

        throw new TimeoutException($"the {count}-span trace did not become queryable");
    }

    private async Task PostAsync(ExportTraceServiceRequest request)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var content = new ByteArrayContent(request.ToByteArray());
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");
            using var response = await _http.PostAsync(new Uri(otlpHttp, "/v1/traces"), content);
            // Storage behind right after a fill: wait as told, like an exporter would.
            if ((response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) && attempt < 60)
            {
                await Task.Delay(1000);
                continue;
            }

            response.EnsureSuccessStatusCode();
            return;
        }
    }

    private static ExportTraceServiceRequest Request(IEnumerable<(string Service, Span Span)> spans)
    {
        var request = new ExportTraceServiceRequest();
        foreach (var group in spans.GroupBy(s => s.Service))
        {
            var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "almanac-bench", Version = "1.0" } };
            scope.Spans.AddRange(group.Select(g => g.Span));
            var resource = new Resource();
            resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = group.Key } });
            var rs = new ResourceSpans { Resource = resource };
            rs.ScopeSpans.Add(scope);
            request.ResourceSpans.Add(rs);
        }

        return request;
    }

    private static ExportTraceServiceRequest Request(string service, Span[] spans) => Request(spans.Select(s => (service, s)));

    private static Span NewSpan(byte[] traceId, byte[] spanId, byte[]? parent, string name, long start, long duration)
    {
        var startNanos = start == 0 ? (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000) * 1_000_000 : start;
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId),
            Name = name,
            Kind = Span.Types.SpanKind.Internal,
            StartTimeUnixNano = (ulong)startNanos,
            EndTimeUnixNano = (ulong)(startNanos + duration),
        };
        if (parent is not null)
        {
            span.ParentSpanId = ByteString.CopyFrom(parent);
        }

        return span;
    }

    public static byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        Random.Shared.NextBytes(bytes);
        bytes[0] |= 1; // never all zero (an invalid OTLP id)
        return bytes;
    }

    public void Dispose() => _http.Dispose();
}
