using System.Threading.Channels;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Core.Ingest;

/// <summary>
/// The transport-agnostic ingest service: receivers (gRPC, HTTP/protobuf, HTTP/JSON) hand it requests — protobuf
/// trace exports as the bytes received, everything else decoded — and map its <see cref="IngestResult"/> to their
/// protocol. All three signals share one write-ahead log and one store write path. Flow: validate → append to the
/// write-ahead log (fsync, group-committed) → acknowledge → batch in the background into the store, whose
/// checkpoint tells replay where to resume after a crash. Spans wait for the store as encoded requests, not objects,
/// and the store reads them from the wire format (<see cref="TelemetryBatch.TraceRequests"/>).
/// </summary>
public sealed class IngestPipeline : IAsyncDisposable
{
    // The first payload byte of a write-ahead-log record says which export request follows.
    private const byte TracesRecord = 1;
    private const byte LogsRecord = 2;
    private const byte MetricsRecord = 3;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    private readonly ITelemetryStore _store;
    private readonly IngestOptions _options;
    private readonly ILogger<IngestPipeline> _logger;
    private readonly TimeProvider _time;
    private readonly Channel<DurableItem> _toStore = Channel.CreateUnbounded<DurableItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private WriteAheadLog? _wal;
    private Task? _storeLoop;
    private long _pendingBytes;
    private TaskCompletionSource _stored = NewSignal();
    private long _storedCheckpoint;
    private volatile PipelineState _state = PipelineState.Starting;

    public IngestPipeline(ITelemetryStore store, IngestOptions options, ILogger<IngestPipeline> logger, TimeProvider? time = null)
    {
        _store = store;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    private enum PipelineState
    {
        Starting,
        Running,
        Stopping,
        Stopped,
    }

    /// <summary>True once recovery finished and exports are accepted.</summary>
    public bool IsReady => _state == PipelineState.Running;

    /// <summary>Bytes acknowledged but not yet in the store.</summary>
    public long PendingBytes => Interlocked.Read(ref _pendingBytes);

    /// <summary>The write-ahead-log position the store holds everything before.</summary>
    public long StoredCheckpoint => Interlocked.Read(ref _storedCheckpoint);

    /// <summary>Initializes the store, replays what the log holds beyond the store's checkpoint, then opens for exports.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.InitializeAsync(cancellationToken);
        var checkpoint = await _store.GetCheckpointAsync(cancellationToken);
        _wal = WriteAheadLog.Open(_options.WalDirectory, checkpoint, _options.WalSegmentBytes, _logger);
        await ReplayAsync(checkpoint, cancellationToken);
        _wal.DeleteBefore(_store.DurableCheckpoint);
        _wal.Start(OnDurable);
        _storeLoop = Task.Run(StoreLoopAsync, CancellationToken.None);
        _state = PipelineState.Running;
    }

    /// <summary>
    /// Validates and durably accepts a protobuf trace export given as the bytes received (OTLP/gRPC, OTLP/HTTP after
    /// gunzip). Returns only after the accepted spans are fsynced. When every span is valid — the usual case — the
    /// bytes themselves go to the write-ahead log and wait for the store; no protobuf objects are built until then.
    /// </summary>
    /// <exception cref="OtlpFormatException">The bytes are not a valid <c>ExportTraceServiceRequest</c>.</exception>
    public Task<IngestResult> ExportTracesAsync(ReadOnlyMemory<byte> protobuf)
    {
        var scan = OtlpTraceScanner.Scan(protobuf.Span);
        if (NotRunning() is { } refused)
        {
            return Task.FromResult(refused);
        }

        if (scan.RejectedSpans > 0)
        {
            // Rare: parse, let the flattener drop the invalid spans, and log the re-encoded rest.
            return ExportTracesAsync(OtlpProtobuf.ParseTraceRequest(protobuf.Span));
        }

        var request = protobuf[..scan.Length];
        if (scan.Length < protobuf.Length)
        {
            // Bytes after a top-level end-group tag are not part of the request; hold (and count) only what is.
            request = request.ToArray();
        }

        return AppendAsync(TracesRecord, request, DurableItem.OfTraces(request, scan.Spans), 0, null);
    }

    /// <summary>Validates and durably accepts a decoded trace export (OTLP/JSON). Returns only after the accepted spans are fsynced.</summary>
    public Task<IngestResult> ExportTracesAsync(ExportTraceServiceRequest request)
    {
        if (NotRunning() is { } refused)
        {
            return Task.FromResult(refused);
        }

        // The flattener validates and removes invalid spans from the request, so what is logged is what was accepted.
        var flat = TraceRequestFlattener.Flatten(request);
        if (flat.Spans.Count == 0)
        {
            return Task.FromResult(IngestResult.Accepted(flat.RejectedSpans, flat.RejectionMessage));
        }

        var encoded = request.ToByteArray();
        return AppendAsync(TracesRecord, encoded, DurableItem.OfTraces(encoded, flat.Spans.Count), flat.RejectedSpans, flat.RejectionMessage);
    }

    /// <summary>Validates and durably accepts a logs export. Returns only after the accepted records are fsynced.</summary>
    public Task<IngestResult> ExportLogsAsync(ExportLogsServiceRequest request)
    {
        if (NotRunning() is { } refused)
        {
            return Task.FromResult(refused);
        }

        var flat = LogsRequestFlattener.Flatten(request);
        return AppendAsync(LogsRecord, request, DurableItem.Of(flat.Logs), flat.RejectedLogs, flat.RejectionMessage);
    }

    /// <summary>Validates and durably accepts a metrics export. Returns only after the accepted metrics are fsynced.</summary>
    public Task<IngestResult> ExportMetricsAsync(ExportMetricsServiceRequest request)
    {
        if (NotRunning() is { } refused)
        {
            return Task.FromResult(refused);
        }

        var flat = MetricsRequestFlattener.Flatten(request);
        return AppendAsync(MetricsRecord, request, DurableItem.Of(flat.Metrics, flat.PointCount), flat.RejectedDataPoints, flat.RejectionMessage);
    }

    private IngestResult? NotRunning() => _state == PipelineState.Running
        ? null
        : new IngestResult(IngestStatus.Unavailable, 0, _state == PipelineState.Starting ? "Almanac is starting up" : "Almanac is shutting down");

    private Task<IngestResult> AppendAsync(byte recordType, IMessage request, DurableItem item, long rejected, string? rejectionMessage)
    {
        if (item.Count == 0 && item.Metrics.Count == 0)
        {
            return Task.FromResult(IngestResult.Accepted(rejected, rejectionMessage));
        }

        return AppendAsync(recordType, request.ToByteArray(), item, rejected, rejectionMessage);
    }

    private async Task<IngestResult> AppendAsync(byte recordType, ReadOnlyMemory<byte> encoded, DurableItem item, long rejected, string? rejectionMessage)
    {
        if (item.Count == 0 && item.Metrics.Count == 0)
        {
            return IngestResult.Accepted(rejected, rejectionMessage);
        }

        // Traces are held as these bytes until stored; logs and metrics as objects of about this encoded size.
        var size = encoded.Length;
        if (!TryReserve(size) && !await WaitToReserveAsync(size))
        {
            return NotRunning() ?? new IngestResult(IngestStatus.Overloaded, 0, "Almanac's storage is behind; retry later");
        }

        try
        {
            await _wal!.AppendAsync(recordType, encoded, item with { Bytes = size });
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException or ChannelClosedException)
        {
            Interlocked.Add(ref _pendingBytes, -size);
            return new IngestResult(IngestStatus.Unavailable, 0, _state == PipelineState.Running ? "Almanac cannot write to disk" : "Almanac is shutting down");
        }

        return IngestResult.Accepted(rejected, rejectionMessage);
    }

    /// <summary>Adds an export to the pending bytes if the budget allows; one request alone may exceed it (else it could never be accepted).</summary>
    private bool TryReserve(long size)
    {
        var pending = Interlocked.Add(ref _pendingBytes, size);
        if (pending <= _options.MaxPendingBytes || pending == size)
        {
            return true;
        }

        Interlocked.Add(ref _pendingBytes, -size);
        return false;
    }

    /// <summary>
    /// Holds an export while the store catches up, up to <see cref="IngestOptions.MaxAdmissionWait"/>. Refusing at
    /// once sent every exporter away for its whole retry delay (a second), and with all of them waiting the writer ran
    /// dry: the store sat idle a quarter of the time under full load. Waiting here is backpressure the sender sees as
    /// a slower export, and memory stays bounded by the budget plus the requests held, which admission bounds.
    /// </summary>
    private async Task<bool> WaitToReserveAsync(long size)
    {
        var start = _time.GetTimestamp();
        while (_state == PipelineState.Running)
        {
            // Taken before trying, so a store write finishing in between still wakes this wait.
            var stored = Volatile.Read(ref _stored);
            if (TryReserve(size))
            {
                return true;
            }

            var remaining = _options.MaxAdmissionWait - _time.GetElapsedTime(start);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await stored.Task.WaitAsync(remaining, _time);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Wakes exports waiting for room in the pending budget.</summary>
    private void SignalStored() => Interlocked.Exchange(ref _stored, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// For when ingest has gone quiet: makes everything stored durable, deletes the write-ahead log behind it, and lets
    /// the store give back the memory it holds only to go faster. Exports and writes go on meanwhile; a write waits for
    /// the store's part (tens of milliseconds).
    /// </summary>
    public async Task SettleAsync(CancellationToken cancellationToken = default)
    {
        if (_state != PipelineState.Running)
        {
            return;
        }

        await MakeStoreDurableAsync(cancellationToken);
        await _store.ReleaseMemoryAsync(cancellationToken);
    }

    /// <summary>Everything stored made durable now, and the log behind it deleted: nothing left that the store holds.</summary>
    private async Task MakeStoreDurableAsync(CancellationToken cancellationToken)
    {
        await _store.FlushAsync(cancellationToken);
        _wal!.DeleteBefore(_store.DurableCheckpoint);
    }

    /// <summary>Stops accepting, lets queued appends finish, and writes everything acknowledged to the store.</summary>
    public async Task StopAsync()
    {
        if (_state is PipelineState.Stopping or PipelineState.Stopped)
        {
            return;
        }

        _state = PipelineState.Stopping;
        SignalStored();
        if (_wal is not null)
        {
            await _wal.DisposeAsync();
        }

        _toStore.Writer.TryComplete();
        if (_storeLoop is not null)
        {
            await _storeLoop;
            try
            {
                // Leaves no log behind that the store already holds durably: otherwise it stays until the next start.
                await MakeStoreDurableAsync(CancellationToken.None);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Could not make the store durable while stopping; the write-ahead log keeps the data and the next start replays it");
            }
        }

        _state = PipelineState.Stopped;
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private void OnDurable(object? state, long endPosition)
    {
        var item = (DurableItem)state!;
        _toStore.Writer.TryWrite(item with { EndPosition = endPosition });
    }

    private async Task ReplayAsync(long checkpoint, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _storedCheckpoint, checkpoint);
        var batch = new BatchBuilder();
        long end = checkpoint;
        var records = 0;
        foreach (var record in _wal!.ReadFrom(checkpoint))
        {
            records++;
            end = record.EndPosition;
            var body = record.Payload.AsSpan(1);
            switch (record.Payload[0])
            {
                case TracesRecord:
                    // Handed to the store as logged, like the live path: it reads spans from the wire format.
                    batch.Add(DurableItem.OfTraces(record.Payload.AsMemory(1), OtlpTraceScanner.Scan(body).Spans));
                    break;
                case LogsRecord:
                    batch.Add(DurableItem.Of(LogsRequestFlattener.Flatten(OtlpProtobuf.ParseAccepted<ExportLogsServiceRequest>(body)).Logs));
                    break;
                case MetricsRecord:
                    var metrics = MetricsRequestFlattener.Flatten(OtlpProtobuf.ParseAccepted<ExportMetricsServiceRequest>(body));
                    batch.Add(DurableItem.Of(metrics.Metrics, metrics.PointCount));
                    break;
                default:
                    // A record type from a newer Almanac: refusing to start beats silently dropping acknowledged data.
                    throw new InvalidDataException($"Write-ahead log record of unknown type {record.Payload[0]} at position {record.EndPosition}; was the data directory written by a newer Almanac?");
            }

            if (batch.Count >= _options.MaxBatchItems)
            {
                await _store.WriteAsync(batch.Build(end), cancellationToken);
                Interlocked.Exchange(ref _storedCheckpoint, end);
                batch = new BatchBuilder();
            }
        }

        if (records > 0)
        {
            await _store.WriteAsync(batch.Build(end), cancellationToken);
            Interlocked.Exchange(ref _storedCheckpoint, end);
            _logger.LogInformation("Recovered {Records} acknowledged export(s) from the write-ahead log", records);
        }
    }

    private async Task StoreLoopAsync()
    {
        var reader = _toStore.Reader;
        while (await reader.WaitToReadAsync())
        {
            var batch = new BatchBuilder();
            long bytes = 0;
            long checkpoint = 0;
            var deadline = _time.GetTimestamp() + (long)(_options.FlushInterval.TotalSeconds * _time.TimestampFrequency);
            while (true)
            {
                while (batch.Count < _options.MaxBatchItems && reader.TryRead(out var item))
                {
                    batch.Add(item);
                    bytes += item.Bytes;
                    checkpoint = item.EndPosition;
                }

                // Polling keeps one reader and no timers per batch; the interval is far below the flush bound.
                if (batch.Count >= _options.MaxBatchItems || _state != PipelineState.Running || _time.GetTimestamp() >= deadline)
                {
                    break;
                }

                await Task.Delay(PollInterval, _time);
            }

            if (checkpoint == 0)
            {
                continue;
            }

            await WriteWithRetryAsync(batch.Build(checkpoint));
            Interlocked.Add(ref _pendingBytes, -bytes);
            SignalStored();
            // Stored is not yet durable for every store: the log keeps what a crash would take from the store.
            _wal!.DeleteBefore(_store.DurableCheckpoint);
        }
    }

    private async Task WriteWithRetryAsync(TelemetryBatch batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.WriteAsync(batch, CancellationToken.None);
                Interlocked.Exchange(ref _storedCheckpoint, batch.Checkpoint);
                return;
            }
            catch (Exception ex)
            {
                // The spans are safe in the write-ahead log; keep trying, and leave them for replay when stopping.
                if (_state != PipelineState.Running && attempt >= 3)
                {
                    _logger.LogError(ex, "Giving up writing {Count} spans, logs and metric points while stopping; they stay in the write-ahead log and are replayed at the next start", batch.Spans.Count + batch.Logs.Count + batch.Metrics.Count);
                    return;
                }

                _logger.LogError(ex, "Writing {Count} spans, logs and metric points to storage failed (attempt {Attempt}); retrying", batch.Spans.Count + batch.Logs.Count + batch.Metrics.Count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * (1 << Math.Min(attempt, 6)))), _time);
            }
        }
    }

    /// <summary>
    /// What one acknowledged export adds to the store; <see cref="Count"/> is spans, log records or metric points.
    /// Spans travel as their encoded request (<see cref="TraceRequest"/>), so nothing of a request but its bytes lives
    /// through the fsync, the batching interval and the store write before it.
    /// </summary>
    private sealed record DurableItem(ReadOnlyMemory<byte> TraceRequest, List<LogRecordData> Logs, List<MetricData> Metrics, int Count, long Bytes, long EndPosition)
    {
        public static DurableItem OfTraces(ReadOnlyMemory<byte> request, int spans) => new(request, [], [], spans, 0, 0);

        public static DurableItem Of(List<LogRecordData> logs) => new(default, logs, [], logs.Count, 0, 0);

        public static DurableItem Of(List<MetricData> metrics, int points) => new(default, [], metrics, points, 0, 0);
    }

    /// <summary>Gathers acknowledged exports of any signal into one store write.</summary>
    private sealed class BatchBuilder
    {
        private readonly List<ReadOnlyMemory<byte>> _traceRequests = [];

        public List<LogRecordData> Logs { get; } = [];

        public List<MetricData> Metrics { get; } = [];

        /// <summary>Spans, log records and metric points gathered so far.</summary>
        public int Count { get; private set; }

        public void Add(DurableItem item)
        {
            if (!item.TraceRequest.IsEmpty)
            {
                _traceRequests.Add(item.TraceRequest);
            }

            Logs.AddRange(item.Logs);
            Metrics.AddRange(item.Metrics);
            Count += item.Count;
        }

        /// <summary>The batch: trace requests still encoded, so the store reads spans straight from them.</summary>
        public TelemetryBatch Build(long checkpoint) => new([], _traceRequests, Logs, Metrics, checkpoint);
    }
}
