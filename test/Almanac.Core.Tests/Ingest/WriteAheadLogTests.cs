using System.Collections.Concurrent;
using System.Text;
using Almanac.Core.Ingest;

namespace Almanac.Core.Tests.Ingest;

public sealed class WriteAheadLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "almanac-wal-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static byte[] Payload(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(WalRecord r) => Encoding.UTF8.GetString(r.Payload);

    [Fact]
    public async Task Append_ThenReopen_ReturnsEveryRecordInOrder()
    {
        var durable = new List<(object? State, long End)>();
        await using (var wal = WriteAheadLog.Open(_dir))
        {
            wal.Start((s, e) => durable.Add((s, e)));
            for (var i = 0; i < 100; i++)
            {
                await wal.AppendAsync(Payload($"record-{i}"), i);
            }
        }

        await using var reopened = WriteAheadLog.Open(_dir);
        var records = reopened.ReadFrom(0).ToList();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"record-{i}"), records.Select(Text));
        Assert.Equal(durable.Select(d => d.End), records.Select(r => r.EndPosition));
        Assert.Equal(Enumerable.Range(0, 100).Cast<object?>(), durable.Select(d => d.State));
        Assert.Equal(records[^1].EndPosition, reopened.EndPosition);
    }

    [Fact]
    public async Task AppendWithPrefix_ReadsBackAsOneRecordThatPassesItsChecksum()
    {
        await using (var wal = WriteAheadLog.Open(_dir))
        {
            wal.Start((_, _) => { });
            await wal.AppendAsync((byte)'#', Payload("received bytes"), null);
            await wal.AppendAsync(Payload("plain"), null);
            await wal.AppendAsync((byte)'!', ReadOnlyMemory<byte>.Empty, null);
        }

        await using var reopened = WriteAheadLog.Open(_dir);
        Assert.Equal(["#received bytes", "plain", "!"], reopened.ReadFrom(0).Select(Text));
    }

    [Fact]
    public async Task ConcurrentAppends_AreAllDurableAndReportedInLogOrder()
    {
        var ends = new ConcurrentQueue<long>();
        var completions = new ConcurrentBag<long>();
        await using (var wal = WriteAheadLog.Open(_dir))
        {
            wal.Start((_, e) => ends.Enqueue(e));
            await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
                completions.Add(await wal.AppendAsync(Payload(new string('x', i % 300 + 1)), null)));
        }

        var order = ends.ToArray();
        Assert.Equal(2000, order.Length);
        Assert.True(order.Zip(order.Skip(1)).All(p => p.First < p.Second), "onDurable must see positions in log order");
        Assert.Equal(order.Order(), completions.Order());
        await using var reopened = WriteAheadLog.Open(_dir);
        Assert.Equal(2000, reopened.ReadFrom(0).Count());
    }

    [Fact]
    public async Task Open_WithTornTail_CutsItOffAndKeepsAppending()
    {
        await using (var wal = WriteAheadLog.Open(_dir))
        {
            wal.Start((_, _) => { });
            await wal.AppendAsync(Payload("one"), null);
            await wal.AppendAsync(Payload("two"), null);
        }

        // A crash mid-write: a header promising 100 bytes followed by only 5 of them.
        var segment = Directory.GetFiles(_dir).Single();
        await using (var f = new FileStream(segment, FileMode.Append))
        {
            f.Write([100, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9]);
        }

        await using (var wal = WriteAheadLog.Open(_dir))
        {
            Assert.Equal(["one", "two"], wal.ReadFrom(0).Select(Text));
            wal.Start((_, _) => { });
            await wal.AppendAsync(Payload("three"), null);
        }

        await using var again = WriteAheadLog.Open(_dir);
        Assert.Equal(["one", "two", "three"], again.ReadFrom(0).Select(Text));
    }

    [Fact]
    public async Task Open_WithCorruptLastRecord_DropsOnlyThatRecord()
    {
        await using (var wal = WriteAheadLog.Open(_dir))
        {
            wal.Start((_, _) => { });
            await wal.AppendAsync(Payload("good"), null);
            await wal.AppendAsync(Payload("flipped"), null);
        }

        var segment = Directory.GetFiles(_dir).Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(segment, bytes);

        await using var reopened = WriteAheadLog.Open(_dir);
        Assert.Equal(["good"], reopened.ReadFrom(0).Select(Text));
    }

    [Fact]
    public async Task Segments_RotateAndDeleteBefore_RemovesOnlyFullyStoredSegments()
    {
        var ends = new List<long>();
        await using var wal = WriteAheadLog.Open(_dir, segmentBytes: 1024);
        wal.Start((_, e) => ends.Add(e));
        for (var i = 0; i < 50; i++)
        {
            await wal.AppendAsync(Payload(i.ToString("D3") + new string('p', 200)), null);
        }

        var segmentsBefore = Directory.GetFiles(_dir).Length;
        Assert.True(segmentsBefore > 5, $"expected rotation, got {segmentsBefore} segment(s)");

        var checkpoint = ends[24];
        var deleted = wal.DeleteBefore(checkpoint);
        Assert.True(deleted > 0);
        Assert.Equal(segmentsBefore - deleted, Directory.GetFiles(_dir).Length);

        // Everything after the checkpoint is still readable, starting exactly at record 25.
        var rest = wal.ReadFrom(checkpoint).ToList();
        Assert.Equal(25, rest.Count);
        Assert.StartsWith("025", Text(rest[0]));
    }

    [Fact]
    public async Task Open_EmptyLogBesideCheckpointedStore_ContinuesFromCheckpoint()
    {
        await using var wal = WriteAheadLog.Open(_dir, minimumPosition: 5000);
        wal.Start((_, _) => { });
        var end = await wal.AppendAsync(Payload("after-wipe"), null);
        var record = Assert.Single(wal.ReadFrom(5000));
        Assert.Equal(5000, record.Position);
        Assert.Equal(end, record.EndPosition);
    }

    [Fact]
    public async Task Append_AfterDispose_Throws()
    {
        var wal = WriteAheadLog.Open(_dir);
        wal.Start((_, _) => { });
        await wal.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => { _ = wal.AppendAsync(Payload("late"), null); });
    }
}
