using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Almanac.Load.Templates;
using HdrHistogram;

namespace Almanac.Load;

public sealed record TraceLoadOptions
{
    public Uri Endpoint { get; init; } = new("http://127.0.0.1:4317");

    public Protocol Protocol { get; init; } = Protocol.Grpc;

    /// <summary>Traces by default; logs and metrics (protobuf only) for receivers that take them. Counts are then log records / data points.</summary>
    public Signal Signal { get; init; } = Signal.Traces;

    public int Exporters { get; init; } = 4;

    /// <summary>Spans per second over all exporters; 0 = as fast as they are accepted.</summary>
    public double Rate { get; init; }

    /// <summary>Run this long (when <see cref="Spans"/> is not set).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Send exactly this many spans, then stop (still bounded by <see cref="Timeout"/>).</summary>
    public long? Spans { get; init; }

    public int Batch { get; init; } = 512;

    public ShapeOptions Shape { get; init; } = new();

    public bool Gzip { get; init; }

    /// <summary>Distinct pre-encoded requests per batch size (variety of attribute values across requests).</summary>
    public int Templates { get; init; } = 8;

    /// <summary>Hard stop for the whole run, whatever else is asked.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Per-request timeout.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts per request when throttled (429/503/RESOURCE_EXHAUSTED/UNAVAILABLE) before its spans count as failed.</summary>
    public int MaxAttempts { get; init; } = 10;

    /// <summary>Longest wait honoured from Retry-After/RetryInfo (and the wait when none is given is 100 ms).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    public bool Progress { get; init; }

    /// <summary>Called with the trace ids (hex) of one span per request that was accepted, for tests; null = not collected.</summary>
    public Action<string>? OnAcceptedTraceId { get; init; }

    /// <summary>
    /// Call <see cref="OnAcceptedTraceId"/> for every Nth accepted request only: finding the id decodes the request,
    /// which the benchmark harness cannot afford on every send at full speed but needs for a sample of ids.
    /// </summary>
    public int AcceptedTraceIdEvery { get; init; } = 1;
}

public sealed record LatencySummary(
    [property: JsonPropertyName("p50_ms")] double P50,
    [property: JsonPropertyName("p90_ms")] double P90,
    [property: JsonPropertyName("p99_ms")] double P99,
    [property: JsonPropertyName("max_ms")] double Max,
    [property: JsonPropertyName("mean_ms")] double Mean);

public sealed record TraceLoadSummary
{
    [JsonPropertyName("signal")] public required string Signal { get; init; }
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }
    [JsonPropertyName("protocol")] public required string Protocol { get; init; }
    [JsonPropertyName("shape")] public required string Shape { get; init; }
    [JsonPropertyName("exporters")] public int Exporters { get; init; }
    [JsonPropertyName("batch")] public int Batch { get; init; }
    [JsonPropertyName("gzip")] public bool Gzip { get; init; }
    [JsonPropertyName("target_rate_spans_per_s")] public double TargetRate { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
    [JsonPropertyName("requests_ok")] public long RequestsOk { get; init; }
    [JsonPropertyName("requests_failed")] public long RequestsFailed { get; init; }
    [JsonPropertyName("throttled")] public long Throttled { get; init; }
    [JsonPropertyName("spans_sent")] public long SpansSent { get; init; }
    [JsonPropertyName("spans_accepted")] public long SpansAccepted { get; init; }
    [JsonPropertyName("spans_rejected")] public long SpansRejected { get; init; }
    [JsonPropertyName("spans_failed")] public long SpansFailed { get; init; }
    [JsonPropertyName("spans_per_s")] public double SpansPerSecond { get; init; }
    [JsonPropertyName("wire_bytes")] public long WireBytes { get; init; }
    [JsonPropertyName("wire_mb_per_s")] public double WireMegabytesPerSecond { get; init; }
    [JsonPropertyName("avg_request_bytes")] public long AverageRequestBytes { get; init; }
    [JsonPropertyName("latency")] public required LatencySummary Latency { get; init; }
    [JsonPropertyName("generator_cpu_s")] public double GeneratorCpuSeconds { get; init; }
    [JsonPropertyName("last_error")] public string? LastError { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, SummaryJson.Default.TraceLoadSummary);
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(TraceLoadSummary))]
internal sealed partial class SummaryJson : JsonSerializerContext;

/// <summary>
/// The trace load run: N exporters each loop {take a pre-encoded request, patch ids and times in place, send,
/// retry briefly when told to back off} until the duration or span count is reached.
/// </summary>
public sealed class TraceLoad
{
    private readonly TraceLoadOptions _options;
    private readonly List<EncodedTemplate> _full = [];
    private EncodedTemplate? _remainder;

    private long _claimedSpans;
    private long _scheduledSpans;
    private long _requestsOk;
    private long _requestsFailed;
    private long _throttled;
    private long _spansSent;
    private long _spansAccepted;
    private long _spansRejected;
    private long _spansFailed;
    private long _wireBytes;
    private long _acceptedForIds;
    private string? _lastError;

    /// <summary>Spans accepted so far (for callers that sample throughput over time while the run goes on).</summary>
    public long SpansAccepted => Interlocked.Read(ref _spansAccepted);

    public TraceLoad(TraceLoadOptions options)
    {
        if (options.Exporters < 1 || options.Batch < 1 || options.Templates < 1 || options.Rate < 0)
        {
            throw new ArgumentException("exporters, batch and templates must be at least 1, rate not negative");
        }

        _options = options;
        var format = options.Protocol == Protocol.HttpJson ? WireFormat.Json : WireFormat.Protobuf;
        var batches = options.Spans is { } total ? (total + options.Batch - 1) / options.Batch : long.MaxValue;
        var templates = (int)Math.Min(options.Templates, Math.Max(1, options.Spans / options.Batch ?? long.MaxValue));
        if (options.Signal != Signal.Traces && format == WireFormat.Json)
        {
            throw new ArgumentException("logs and metrics are sent as protobuf only (grpc, http/protobuf)");
        }

        for (var i = 0; i < templates && batches > 0; i++)
        {
            _full.Add(Template(options, format, options.Batch, seed: 1 + i));
        }

        if (options.Spans is { } spans && spans % options.Batch != 0)
        {
            _remainder = Template(options, format, (int)(spans % options.Batch), seed: 1000);
        }
    }

    private static EncodedTemplate Template(TraceLoadOptions options, WireFormat format, int count, int seed)
    {
        switch (options.Signal)
        {
            case Signal.Logs:
                var (logs, logSentinels) = LogsAndMetricsBuilder.BuildLogs(options.Shape, count, seed);
                return EncodedTemplate.CreateProtobuf(logs, logSentinels, count);
            case Signal.Metrics:
                var (metrics, metricSentinels) = LogsAndMetricsBuilder.BuildMetrics(options.Shape, count, seed);
                return EncodedTemplate.CreateProtobuf(metrics, metricSentinels, count);
            default:
                var (request, sentinels) = TemplateBuilder.Build(options.Shape, count, seed);
                return EncodedTemplate.Create(request, sentinels, format);
        }
    }

    public IReadOnlyList<EncodedTemplate> Templates => _remainder is null ? _full : [.. _full, _remainder];

    public async Task<TraceLoadSummary> RunAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Spans is null ? Min(_options.Duration, _options.Timeout) : _options.Timeout);
        var stop = timeout.Token;
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var histograms = new LongHistogram[_options.Exporters];
        var exporters = new Task[_options.Exporters];
        for (var i = 0; i < exporters.Length; i++)
        {
            histograms[i] = new LongHistogram(TimeStamp.Minutes(5), 3);
            var histogram = histograms[i];
            var seed = 7919 * (i + 1) ^ Environment.TickCount;
            exporters[i] = Task.Run(() => ExporterAsync(histogram, seed, clock, stop), CancellationToken.None);
        }

        using var progressStop = new CancellationTokenSource();
        var progress = _options.Progress ? ProgressAsync(clock, progressStop.Token) : Task.CompletedTask;
        await Task.WhenAll(exporters);
        var elapsed = clock.Elapsed.TotalSeconds;
        await progressStop.CancelAsync();
        await progress;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;

        var merged = new LongHistogram(TimeStamp.Minutes(5), 3);
        foreach (var h in histograms)
        {
            merged.Add(h);
        }

        double Ms(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 3);
        var ok = Interlocked.Read(ref _requestsOk);
        return new TraceLoadSummary
        {
            Signal = _options.Signal.ToString().ToLowerInvariant(),
            Endpoint = _options.Endpoint.ToString(),
            Protocol = _options.Protocol switch { Protocol.Grpc => "grpc", Protocol.HttpProtobuf => "http/protobuf", _ => "http/json" },
            Shape = _options.Shape.Shape.ToString().ToLowerInvariant(),
            Exporters = _options.Exporters,
            Batch = _options.Batch,
            Gzip = _options.Gzip,
            TargetRate = _options.Rate,
            ElapsedSeconds = Math.Round(elapsed, 3),
            RequestsOk = ok,
            RequestsFailed = _requestsFailed,
            Throttled = _throttled,
            SpansSent = _spansSent,
            SpansAccepted = _spansAccepted,
            SpansRejected = _spansRejected,
            SpansFailed = _spansFailed,
            SpansPerSecond = Math.Round(_spansAccepted / elapsed, 1),
            WireBytes = _wireBytes,
            WireMegabytesPerSecond = Math.Round(_wireBytes / elapsed / 1_000_000, 3),
            AverageRequestBytes = ok + _requestsFailed + _throttled == 0 ? 0 : _wireBytes / (ok + _requestsFailed + _throttled),
            Latency = merged.TotalCount == 0
                ? new LatencySummary(0, 0, 0, 0, 0)
                : new LatencySummary(
                    Ms(merged.GetValueAtPercentile(50)), Ms(merged.GetValueAtPercentile(90)), Ms(merged.GetValueAtPercentile(99)),
                    Ms(merged.GetMaxValue()), Math.Round(merged.GetMean() * 1000.0 / Stopwatch.Frequency, 3)),
            GeneratorCpuSeconds = Math.Round(cpu, 2),
            LastError = _lastError,
        };
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async Task ExporterAsync(LongHistogram histogram, int seed, Stopwatch clock, CancellationToken stop)
    {
        var random = new Random(seed);
        var templates = Templates;
        var buffers = templates.Select(t => (byte[])t.Bytes.Clone()).ToArray();
        var scratch = new byte[templates.Max(t => t.ScratchSize)];
        using var sender = Senders.Create(_options.Signal, _options.Protocol, _options.Endpoint, _options.Gzip, _options.RequestTimeout);
        var next = random.Next(_full.Count);
        while (!stop.IsCancellationRequested)
        {
            int index;
            if (_options.Spans is { } total)
            {
                var claimed = Interlocked.Add(ref _claimedSpans, _options.Batch) - _options.Batch;
                if (claimed >= total)
                {
                    return;
                }

                index = total - claimed < _options.Batch ? templates.Count - 1 : next++ % _full.Count;
            }
            else
            {
                index = next++ % _full.Count;
            }

            var template = templates[index];
            var body = buffers[index];
            var spans = template.SpanCount;

            if (_options.Rate > 0)
            {
                var before = Interlocked.Add(ref _scheduledSpans, spans) - spans;
                var due = TimeSpan.FromSeconds(before / _options.Rate);
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }

            template.Patch(body, NowUnixNanos(), random, scratch);
            Interlocked.Add(ref _spansSent, spans);
            var accepted = await SendWithRetriesAsync(sender, body, spans, histogram, stop);
            if (accepted && _options.Signal == Signal.Traces && _options.OnAcceptedTraceId is { } onAccepted
                && Interlocked.Increment(ref _acceptedForIds) % Math.Max(1, _options.AcceptedTraceIdEvery) == 0)
            {
                onAccepted(FirstTraceId(template, body));
            }
        }
    }

    private async Task<bool> SendWithRetriesAsync(ISender sender, byte[] body, int spans, LongHistogram histogram, CancellationToken stop)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            SendResult result;
            try
            {
                // A send in flight when the run's time is up is allowed to finish; only the request timeout bounds it.
                result = await sender.SendAsync(body, CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                result = new SendResult(Outcome.Failed, 0, null, 0, ex.GetType().Name + ": " + ex.Message);
            }

            var took = Stopwatch.GetTimestamp() - started;
            Interlocked.Add(ref _wireBytes, result.WireBytes);
            switch (result.Outcome)
            {
                case Outcome.Ok:
                    histogram.RecordValue(Math.Max(1, took));
                    Interlocked.Increment(ref _requestsOk);
                    Interlocked.Add(ref _spansAccepted, spans - result.RejectedSpans);
                    Interlocked.Add(ref _spansRejected, result.RejectedSpans);
                    return true;
                case Outcome.Throttled when attempt < _options.MaxAttempts && !stop.IsCancellationRequested:
                    Interlocked.Increment(ref _throttled);
                    var delay = result.RetryAfter is { } after && after > TimeSpan.Zero ? Min(after, _options.MaxRetryDelay) : TimeSpan.FromMilliseconds(100);
                    try
                    {
                        await Task.Delay(delay, stop);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    continue;
                case Outcome.Throttled:
                    Interlocked.Increment(ref _throttled);
                    break;
            }

            _lastError = result.Error;
            Interlocked.Increment(ref _requestsFailed);
            Interlocked.Add(ref _spansFailed, spans);
            if (!stop.IsCancellationRequested)
            {
                // Connection refused and the like: do not spin.
                try
                {
                    await Task.Delay(100, stop);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return false;
        }
    }

    /// <summary>The first trace id in a patched body (decoded, so only used when a caller asks for ids).</summary>
    private static string FirstTraceId(EncodedTemplate template, byte[] body)
    {
        var request = template.Format == WireFormat.Json
            ? Almanac.Otlp.Json.OtlpJson.ParseTraceRequest(body)
            : Almanac.Otlp.OtlpProtobuf.ParseTraceRequest(body);
        return Convert.ToHexStringLower(request.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId.Span);
    }

    private static ulong NowUnixNanos() => (ulong)(DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private async Task ProgressAsync(Stopwatch clock, CancellationToken stop)
    {
        long lastAccepted = 0;
        long lastBytes = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var accepted = Interlocked.Read(ref _spansAccepted);
                var bytes = Interlocked.Read(ref _wireBytes);
                Console.Error.Write(
                    $"\r{clock.Elapsed.TotalSeconds,6:F0}s  {accepted - lastAccepted,9:N0} spans/s  {(bytes - lastBytes) / 1e6,7:F1} MB/s  accepted {accepted:N0}  rejected {_spansRejected:N0}  throttled {_throttled:N0}  failed {_spansFailed:N0}   ");
                lastAccepted = accepted;
                lastBytes = bytes;
            }
        }
        catch (OperationCanceledException)
        {
        }

        Console.Error.WriteLine();
    }
}
