using System.Buffers.Binary;
using System.IO.Hashing;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almanac.Core.Ingest;

/// <summary>
/// Almanac's durability point: an append-only, segmented log of accepted export requests. An append completes only
/// after its bytes are fsynced, so an acknowledged request survives <c>kill -9</c> (and power loss). Appends from
/// concurrent requests are group-committed: one write and one fsync for everything queued meanwhile.
/// </summary>
/// <remarks>
/// Positions are global byte offsets; each segment file is named by the offset of its first byte. A record is
/// <c>[u32 length][u32 crc32][payload]</c> (little-endian). A torn tail (crash mid-write) fails its length or CRC
/// check and is cut off when the log is opened; everything before it was acknowledged and is intact.
/// </remarks>
public sealed class WriteAheadLog : IAsyncDisposable
{
    public const int HeaderSize = 8;
    public const int MaxPayloadBytes = 512 * 1024 * 1024;
    private const string SegmentExtension = ".wal";
    private const int MaxGroup = 4096;
    private const int NoPrefix = -1;

    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly ILogger _logger;
    private readonly Channel<PendingAppend> _appends = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _segmentsLock = new();
    private readonly List<long> _segmentBases = [];
    private Action<object?, long>? _onDurable;
    private FileStream? _active;
    private long _activeBase;
    private long _endPosition;
    private Task? _writerLoop;

    private WriteAheadLog(string directory, long segmentBytes, ILogger logger)
    {
        _directory = directory;
        _segmentBytes = segmentBytes;
        _logger = logger;
    }

    /// <summary>The position just past the last durable record.</summary>
    public long EndPosition => Volatile.Read(ref _endPosition);

    /// <summary>Opens (or creates) the log in <paramref name="directory"/>, cutting off a torn tail.</summary>
    /// <param name="minimumPosition">
    /// Where positions continue from when the log holds less than that (a new or emptied log beside a store that
    /// already has data): positions never move backwards past what the store has checkpointed.
    /// </param>
    public static WriteAheadLog Open(string directory, long minimumPosition = 0, long segmentBytes = 64L * 1024 * 1024, ILogger? logger = null)
    {
        Directory.CreateDirectory(directory);
        var wal = new WriteAheadLog(directory, segmentBytes, logger ?? NullLogger.Instance);
        wal.Recover(minimumPosition);
        return wal;
    }

    /// <summary>
    /// Starts the group-commit writer. <paramref name="onDurable"/> runs on the writer, in log order, once per record
    /// after its fsync and before its append completes; it must be quick (enqueue, don't process).
    /// </summary>
    public void Start(Action<object?, long> onDurable)
    {
        if (_writerLoop is not null)
        {
            throw new InvalidOperationException("The write-ahead log is already started.");
        }

        _onDurable = onDurable;
        _writerLoop = Task.Run(WriterLoopAsync);
    }

    /// <summary>Appends one record; completes with the position just past it once it is on disk.</summary>
    public Task<long> AppendAsync(ReadOnlyMemory<byte> payload, object? state) => Append(NoPrefix, payload, state);

    /// <summary>
    /// Appends one record whose payload is <paramref name="prefix"/> followed by <paramref name="body"/>, so a caller
    /// can log bytes it received (a record type before them) without copying them into a new array.
    /// </summary>
    public Task<long> AppendAsync(byte prefix, ReadOnlyMemory<byte> body, object? state) => Append(prefix, body, state);

    private Task<long> Append(int prefix, ReadOnlyMemory<byte> body, object? state)
    {
        var length = (long)body.Length + (prefix == NoPrefix ? 0 : 1);
        if (length is 0 or > MaxPayloadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(body), $"A record holds 1 to {MaxPayloadBytes} bytes.");
        }

        var pending = new PendingAppend(prefix, body, state, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_appends.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(WriteAheadLog), "The write-ahead log is closed.");
        }

        return pending.Completion.Task;
    }

    /// <summary>Reads every intact record that starts at or after <paramref name="position"/>, in order.</summary>
    public IEnumerable<WalRecord> ReadFrom(long position)
    {
        long[] bases;
        lock (_segmentsLock)
        {
            bases = [.. _segmentBases];
        }

        for (var i = 0; i < bases.Length; i++)
        {
            var segmentEnd = i + 1 < bases.Length ? bases[i + 1] : long.MaxValue;
            if (segmentEnd <= position)
            {
                continue;
            }

            foreach (var record in ReadSegment(bases[i]))
            {
                if (record.Position >= position)
                {
                    yield return record;
                }
            }
        }
    }

    /// <summary>Deletes whole segments that end at or before <paramref name="position"/> (already in the store).</summary>
    public int DeleteBefore(long position)
    {
        var deleted = 0;
        lock (_segmentsLock)
        {
            while (_segmentBases.Count > 1 && _segmentBases[1] <= position && _segmentBases[0] != _activeBase)
            {
                var path = SegmentPath(_segmentBases[0]);
                try
                {
                    File.Delete(path);
                }
                catch (IOException ex)
                {
                    _logger.LogWarning(ex, "Could not delete WAL segment {Path}; will retry", path);
                    break;
                }

                _segmentBases.RemoveAt(0);
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Stops accepting appends, finishes the ones queued and closes the active segment.</summary>
    public async ValueTask DisposeAsync()
    {
        _appends.Writer.TryComplete();
        if (_writerLoop is not null)
        {
            await _writerLoop.ConfigureAwait(false);
        }

        lock (_segmentsLock)
        {
            _active?.Dispose();
            _active = null;
        }
    }

    private string SegmentPath(long baseOffset) => Path.Combine(_directory, baseOffset.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + SegmentExtension);

    private void Recover(long minimumPosition)
    {
        foreach (var file in Directory.EnumerateFiles(_directory, "*" + SegmentExtension))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(file), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var baseOffset))
            {
                _segmentBases.Add(baseOffset);
            }
        }

        _segmentBases.Sort();
        if (_segmentBases.Count == 0)
        {
            _segmentBases.Add(minimumPosition);
            OpenActive(minimumPosition, truncateTo: 0);
            return;
        }

        // Only the last segment can hold a torn write: earlier ones were complete and fsynced before rotation.
        var lastBase = _segmentBases[^1];
        var validEnd = lastBase;
        foreach (var record in ReadSegment(lastBase))
        {
            validEnd = record.EndPosition;
        }

        var fileLength = new FileInfo(SegmentPath(lastBase)).Length;
        if (lastBase + fileLength != validEnd)
        {
            _logger.LogWarning("WAL segment {Segment} ends in {Bytes} bytes of an interrupted write; cutting them off (they were never acknowledged)", SegmentPath(lastBase), lastBase + fileLength - validEnd);
        }

        OpenActive(lastBase, truncateTo: validEnd - lastBase);
        if (validEnd < minimumPosition)
        {
            _logger.LogWarning("The WAL ends at {End} but the store has data up to {Checkpoint}; continuing from the store's position", validEnd, minimumPosition);
            Rotate(minimumPosition);
        }
    }

    private void OpenActive(long baseOffset, long truncateTo)
    {
        var stream = new FileStream(SegmentPath(baseOffset), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 1 << 20);
        if (stream.Length != truncateTo)
        {
            stream.SetLength(truncateTo);
            stream.Flush(flushToDisk: true);
        }

        stream.Seek(truncateTo, SeekOrigin.Begin);
        _active = stream;
        _activeBase = baseOffset;
        _endPosition = baseOffset + truncateTo;
    }

    private IEnumerable<WalRecord> ReadSegment(long baseOffset)
    {
        using var stream = new FileStream(SegmentPath(baseOffset), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1 << 20);
        var header = new byte[HeaderSize];
        long offset = 0;
        while (true)
        {
            if (stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
            {
                yield break;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (length is 0 or > MaxPayloadBytes || length > stream.Length - stream.Position)
            {
                yield break;
            }

            var payload = new byte[length];
            if (stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false) < payload.Length || Crc32.HashToUInt32(payload) != crc)
            {
                yield break;
            }

            var position = baseOffset + offset;
            offset += HeaderSize + length;
            yield return new WalRecord(position, baseOffset + offset, payload);
        }
    }

    private async Task WriterLoopAsync()
    {
        var group = new List<PendingAppend>(MaxGroup);
        var header = new byte[HeaderSize];
        var crc = new Crc32();
        var reader = _appends.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < MaxGroup && reader.TryRead(out var item))
            {
                group.Add(item);
            }

            var groupStart = _active!.Position;
            var ends = new long[group.Count];
            try
            {
                for (var i = 0; i < group.Count; i++)
                {
                    var (prefix, body) = (group[i].Prefix, group[i].Body);
                    var length = body.Length + (prefix == NoPrefix ? 0 : 1);
                    if (_active.Position > 0 && _active.Position + HeaderSize + length > _segmentBytes)
                    {
                        Rotate(_activeBase + _active.Position);
                        groupStart = 0;
                    }

                    crc.Reset();
                    if (prefix != NoPrefix)
                    {
                        crc.Append([(byte)prefix]);
                    }

                    crc.Append(body.Span);
                    BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)length);
                    BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), crc.GetCurrentHashAsUInt32());
                    _active.Write(header);
                    if (prefix != NoPrefix)
                    {
                        _active.WriteByte((byte)prefix);
                    }

                    _active.Write(body.Span);
                    ends[i] = _activeBase + _active.Position;
                }

                _active.Flush(flushToDisk: true);
            }
            catch (Exception ex)
            {
                // Nothing of this group was acknowledged. Cut the file back so a later group never lands behind
                // garbage that replay would stop at.
                _logger.LogError(ex, "WAL write failed; rejecting {Count} requests", group.Count);
                TryTruncate(groupStart);
                foreach (var item in group)
                {
                    item.Completion.TrySetException(new IOException("The write-ahead log could not be written.", ex));
                }

                continue;
            }

            Volatile.Write(ref _endPosition, ends[^1]);
            for (var i = 0; i < group.Count; i++)
            {
                _onDurable!(group[i].State, ends[i]);
                group[i].Completion.TrySetResult(ends[i]);
            }
        }
    }

    private void Rotate(long nextBase)
    {
        _active!.Flush(flushToDisk: true);
        lock (_segmentsLock)
        {
            _active.Dispose();
            _segmentBases.Add(nextBase);
            OpenActive(nextBase, truncateTo: 0);
        }
    }

    private void TryTruncate(long length)
    {
        try
        {
            _active!.SetLength(length);
            _active.Seek(length, SeekOrigin.Begin);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Could not cut the WAL back after a failed write");
        }
    }

    /// <summary>A queued append: <see cref="Prefix"/> is the payload's first byte, or <see cref="NoPrefix"/>.</summary>
    private sealed record PendingAppend(int Prefix, ReadOnlyMemory<byte> Body, object? State, TaskCompletionSource<long> Completion);
}

/// <summary>One intact record: where it starts, where the next one starts, and its bytes.</summary>
public sealed record WalRecord(long Position, long EndPosition, byte[] Payload);
