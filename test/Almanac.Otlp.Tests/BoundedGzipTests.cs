using System.IO.Compression;
using Almanac.Otlp.Json;

namespace Almanac.Otlp.Tests;

public sealed class BoundedGzipTests
{
    private static byte[] Gzip(ReadOnlySpan<byte> data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return buffer.ToArray();
    }

    /// <summary>A gzip of <paramref name="size"/> zero bytes, built by streaming so the test itself never holds them.</summary>
    private static byte[] GzipOfZeros(long size)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
        {
            var chunk = new byte[1 << 20];
            for (long written = 0; written < size; written += chunk.Length)
            {
                gzip.Write(chunk, 0, (int)Math.Min(chunk.Length, size - written));
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Sample(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65_536)]
    [InlineData(300_000)]
    public void Decompress_WithinLimit_RoundTrips(int length)
    {
        var data = Sample(length);

        Assert.Equal(data, BoundedGzip.Decompress(Gzip(data), 1 << 20));
    }

    [Fact]
    public void Decompress_ExactlyAtLimit_Accepted()
    {
        var data = Sample(100_000);

        Assert.Equal(data, BoundedGzip.Decompress(Gzip(data), data.Length));
    }

    [Fact]
    public void Decompress_OneByteOverLimit_PayloadTooLarge() =>
        Assert.Throws<PayloadTooLargeException>(() => BoundedGzip.Decompress(Gzip(Sample(100_001)), 100_000));

    [Fact]
    public void Decompress_ConcatenatedMembers_AllDecoded()
    {
        var first = Sample(1000);
        var second = Sample(2000);

        Assert.Equal(first.Concat(second).ToArray(), BoundedGzip.Decompress(Gzip(first).Concat(Gzip(second)).ToArray(), 10_000));
    }

    [Fact]
    public void Decompress_GzipBombOfOneGibibyte_PayloadTooLargeWithoutAllocatingIt()
    {
        var bomb = GzipOfZeros(1L << 30);
        const int Limit = 4 << 20;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<PayloadTooLargeException>(() => BoundedGzip.Decompress(bomb, Limit));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Limit, error.LimitBytes);

        // Growing the output buffer to the limit costs about twice the limit; the bomb itself is 1 GiB.
        Assert.True(allocated < 4L * Limit + bomb.Length * 2L, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Decompress_BombWithLyingSizeTrailer_PayloadTooLarge()
    {
        var bomb = GzipOfZeros(8 << 20);

        // ISIZE (last four bytes) claims the content is tiny; it must not be trusted.
        bomb[^4] = 1;
        bomb[^3] = 0;
        bomb[^2] = 0;
        bomb[^1] = 0;

        Assert.Throws<PayloadTooLargeException>(() => BoundedGzip.Decompress(bomb, 1 << 20));
    }

    [Fact]
    public void Decompress_NotGzip_OtlpFormatExceptionNamingTheSignature()
    {
        var error = Assert.Throws<OtlpFormatException>(() => BoundedGzip.Decompress("{\"resourceSpans\":[]}"u8, 1 << 20));

        Assert.Contains("gzip signature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decompress_SingleByte_OtlpFormatException() =>
        Assert.Throws<OtlpFormatException>(() => BoundedGzip.Decompress([0x1F], 1 << 20));

    [Fact]
    public void Decompress_CorruptDeflateData_OtlpFormatException()
    {
        var compressed = Gzip(Sample(10_000));
        for (var i = 12; i < 40; i++)
        {
            compressed[i] ^= 0xA5;
        }

        Assert.Throws<OtlpFormatException>(() => BoundedGzip.Decompress(compressed, 1 << 20));
    }

    [Fact]
    public void Decompress_BadChecksum_OtlpFormatException()
    {
        var compressed = Gzip(Sample(10_000));
        compressed[^8] ^= 0xFF;

        Assert.Throws<OtlpFormatException>(() => BoundedGzip.Decompress(compressed, 1 << 20));
    }

    [Fact]
    public void Decompress_Truncated_OtlpFormatException()
    {
        var compressed = Gzip(Sample(10_000));

        Assert.Throws<OtlpFormatException>(() => BoundedGzip.Decompress(compressed.AsSpan(0, compressed.Length / 2), 1 << 20));
    }

    [Fact]
    public async Task ReadAllAsync_PlainBodyWithinLimit_ReturnsBody()
    {
        var data = Sample(200_000);

        Assert.Equal(data, await BoundedGzip.ReadAllAsync(new MemoryStream(data), gzip: false, maxBytes: data.Length, CancellationToken.None));
    }

    [Fact]
    public async Task ReadAllAsync_PlainBodyOverLimit_PayloadTooLarge() =>
        await Assert.ThrowsAsync<PayloadTooLargeException>(
            () => BoundedGzip.ReadAllAsync(new MemoryStream(Sample(200_001)), gzip: false, maxBytes: 200_000, CancellationToken.None));

    [Fact]
    public async Task ReadAllAsync_GzipBody_Decompressed()
    {
        var data = Sample(50_000);

        Assert.Equal(data, await BoundedGzip.ReadAllAsync(new MemoryStream(Gzip(data)), gzip: true, maxBytes: 100_000, CancellationToken.None));
    }

    [Fact]
    public async Task ReadAllAsync_GzipBodyDecompressingOverLimit_PayloadTooLarge() =>
        await Assert.ThrowsAsync<PayloadTooLargeException>(
            () => BoundedGzip.ReadAllAsync(new MemoryStream(GzipOfZeros(10 << 20)), gzip: true, maxBytes: 1 << 20, CancellationToken.None));

    [Fact]
    public async Task ReadAllAsync_CompressedBodyOverLimit_PayloadTooLarge()
    {
        var incompressible = Gzip(Sample(300_000));

        await Assert.ThrowsAsync<PayloadTooLargeException>(
            () => BoundedGzip.ReadAllAsync(new MemoryStream(incompressible), gzip: true, maxBytes: 200_000, CancellationToken.None));
    }

    [Fact]
    public async Task ReadAllAsync_EmptyBody_Empty() =>
        Assert.Empty(await BoundedGzip.ReadAllAsync(new MemoryStream(), gzip: false, maxBytes: 10, CancellationToken.None));

    [Fact]
    public async Task ReadAllAsync_Cancelled_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => BoundedGzip.ReadAllAsync(new MemoryStream(Sample(10)), gzip: false, maxBytes: 100, cancelled.Token));
    }
}
