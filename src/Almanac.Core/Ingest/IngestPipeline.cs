using System.Threading.Channels;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Almanac.Core.Ingest;

/// <summary>
/// The transport-agnostic ingest service: receivers (gRPC, HTTP/protobuf, HTTP/JSON) hand it decoded requests and
/// map its <see cref="IngestResult"/> to their protocol. Flow: validate → append to the write-ahead log (fsync,
/// group-committed) → acknowledge → batch in the background into the store, whose checkpoint tells replay where
/// to resume after a crash.
/// </summary>
public sealed class IngestPipeline : IAsyncDisposable
{
    private const byte TracesRecord = 1;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    private readonly ISpanStore _store;
    private readonly IngestOptions _options;
    private readonly ILogger<IngestPipeline> _logger;
    private readonly TimeProvider _time;
    private readonly Channel<DurableItem> _toStore = Channel.CreateUnbounded<DurableItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private WriteAheadLog? _wal;
    private Task? _storeLoop;
    private long _pendingBytes;
    private long _storedCheckpoint;
    private volatile PipelineState _state = PipelineState.Starting;

    public IngestPipeline(ISpanStore store, IngestOptions options, ILogger<IngestPipeline> logger, TimeProvider? time = null)
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
        _wal.DeleteBefore(StoredCheckpoint);
        _wal.Start(OnDurable);
        _storeLoop = Task.Run(StoreLoopAsync, CancellationToken.None);
        _state = PipelineState.Running;
    }

    /// <summary>Validates and durably accepts an export. Returns only after the accepted spans are fsynced.</summary>
    public async Task<IngestResult> ExportTracesAsync(ExportTraceServiceRequest request)
    {
        if (_state != PipelineState.Running)
        {
            return new IngestResult(IngestStatus.Unavailable, 0, _state == PipelineState.Starting ? "Almanac is starting up" : "Almanac is shutting down");
        }

        var flat = TraceRequestFlattener.Flatten(request);
        if (flat.Spans.Count == 0)
        {
            return IngestResult.Accepted(flat.RejectedSpans, flat.RejectionMessage);
        }

        var size = request.CalculateSize();
        var pending = Interlocked.Add(ref _pendingBytes, size);
        // One request alone may exceed the budget (else it could never be accepted); beyond that, refuse.
        if (pending > _options.MaxPendingBytes && pending != size)
        {
            Interlocked.Add(ref _pendingBytes, -size);
            return new IngestResult(IngestStatus.Overloaded, 0, "Almanac's storage is behind; retry later");
        }

        var payload = new byte[size + 1];
        payload[0] = TracesRecord;
        request.WriteTo(payload.AsSpan(1));
        try
        {
            await _wal!.AppendAsync(payload, new DurableItem(flat.Spans, size, 0));
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException or ChannelClosedException)
        {
            Interlocked.Add(ref _pendingBytes, -size);
            return new IngestResult(IngestStatus.Unavailable, 0, _state == PipelineState.Running ? "Almanac cannot write to disk" : "Almanac is shutting down");
        }

        return IngestResult.Accepted(flat.RejectedSpans, flat.RejectionMessage);
    }

    /// <summary>Stops accepting, lets queued appends finish, and writes everything acknowledged to the store.</summary>
    public async Task StopAsync()
    {
        if (_state is PipelineState.Stopping or PipelineState.Stopped)
        {
            return;
        }

        _state = PipelineState.Stopping;
        if (_wal is not null)
        {
            await _wal.DisposeAsync();
        }

        _toStore.Writer.TryComplete();
        if (_storeLoop is not null)
        {
            await _storeLoop;
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
        var spans = new List<SpanData>();
        long end = checkpoint;
        var records = 0;
        foreach (var record in _wal!.ReadFrom(checkpoint))
        {
            records++;
            end = record.EndPosition;
            if (record.Payload[0] == TracesRecord)
            {
                var request = ExportTraceServiceRequest.Parser.ParseFrom(record.Payload.AsSpan(1));
                spans.AddRange(TraceRequestFlattener.Flatten(request).Spans);
            }

            if (spans.Count >= _options.MaxBatchSpans)
            {
                await _store.WriteAsync(new SpanBatch(spans, end), cancellationToken);
                Interlocked.Exchange(ref _storedCheckpoint, end);
                spans = [];
            }
        }

        if (records > 0)
        {
            await _store.WriteAsync(new SpanBatch(spans, end), cancellationToken);
            Interlocked.Exchange(ref _storedCheckpoint, end);
            _logger.LogInformation("Recovered {Records} acknowledged export(s) from the write-ahead log", records);
        }
    }

    private async Task StoreLoopAsync()
    {
        var reader = _toStore.Reader;
        while (await reader.WaitToReadAsync())
        {
            var spans = new List<SpanData>();
            long bytes = 0;
            long checkpoint = 0;
            var deadline = _time.GetTimestamp() + (long)(_options.FlushInterval.TotalSeconds * _time.TimestampFrequency);
            while (true)
            {
                while (spans.Count < _options.MaxBatchSpans && reader.TryRead(out var item))
                {
                    spans.AddRange(item.Spans);
                    bytes += item.Bytes;
                    checkpoint = item.EndPosition;
                }

                // Polling keeps one reader and no timers per batch; the interval is far below the flush bound.
                if (spans.Count >= _options.MaxBatchSpans || _state != PipelineState.Running || _time.GetTimestamp() >= deadline)
                {
                    break;
                }

                await Task.Delay(PollInterval, _time);
            }

            if (spans.Count == 0)
            {
                continue;
            }

            await WriteWithRetryAsync(new SpanBatch(spans, checkpoint));
            Interlocked.Add(ref _pendingBytes, -bytes);
            _wal!.DeleteBefore(StoredCheckpoint);
        }
    }

    private async Task WriteWithRetryAsync(SpanBatch batch)
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
                    _logger.LogError(ex, "Giving up writing {Count} spans while stopping; they stay in the write-ahead log and are replayed at the next start", batch.Spans.Count);
                    return;
                }

                _logger.LogError(ex, "Writing {Count} spans to storage failed (attempt {Attempt}); retrying", batch.Spans.Count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * (1 << Math.Min(attempt, 6)))), _time);
            }
        }
    }

    private sealed record DurableItem(List<SpanData> Spans, long Bytes, long EndPosition);
}
