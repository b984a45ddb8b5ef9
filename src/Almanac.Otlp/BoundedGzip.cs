using System.IO.Compression;
using Almanac.Otlp.Json;

namespace Almanac.Otlp;

/// <summary>
/// Reads request bodies with hard size limits. Decompression streams in chunks and stops the moment output would pass
/// the limit, so a gzip bomb costs at most the limit in memory; the gzip ISIZE trailer is attacker-controlled and
/// never consulted.
/// </summary>
public static class BoundedGzip
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>Decompresses a gzip body (concatenated members allowed).</summary>
    /// <exception cref="PayloadTooLargeException">The output would exceed <paramref name="maxDecompressedBytes"/>.</exception>
    /// <exception cref="OtlpFormatException">The input is not valid gzip.</exception>
    public static byte[] Decompress(ReadOnlySpan<byte> compressed, int maxDecompressedBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDecompressedBytes);
        using var input = new MemoryStream(compressed.ToArray(), writable: false);
        return DecompressFrom(input, maxDecompressedBytes);
    }

    /// <summary>
    /// Reads a request body of at most <paramref name="maxBytes"/> bytes and, when <paramref name="gzip"/> is set,
    /// decompresses it to at most <paramref name="maxBytes"/> bytes.
    /// </summary>
    /// <exception cref="PayloadTooLargeException">Either the body or its decompressed form exceeds <paramref name="maxBytes"/>.</exception>
    /// <exception cref="OtlpFormatException">The body is not valid gzip.</exception>
    public static async Task<byte[]> ReadAllAsync(Stream body, bool gzip, int maxBytes, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        var raw = await ReadBoundedAsync(body, maxBytes, ct);
        if (!gzip)
        {
            return raw;
        }

        using var input = new MemoryStream(raw, writable: false);
        return DecompressFrom(input, maxBytes);
    }

    private static async Task<byte[]> ReadBoundedAsync(Stream body, int maxBytes, CancellationToken ct)
    {
        var buffer = new byte[Math.Min(ChunkSize, maxBytes)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (total == maxBytes)
                {
                    // Full to the limit: one more byte means the body is too large.
                    var probe = new byte[1];
                    if (await body.ReadAsync(probe, ct) > 0)
                    {
                        throw new PayloadTooLargeException(maxBytes);
                    }

                    return buffer;
                }

                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes));
            }

            var read = await body.ReadAsync(buffer.AsMemory(total), ct);
            if (read == 0)
            {
                return total == buffer.Length ? buffer : buffer[..total];
            }

            total += read;
        }
    }

    private static byte[] DecompressFrom(Stream compressed, int maxBytes)
    {
        try
        {
            using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
            var buffer = new byte[Math.Min(ChunkSize, maxBytes)];
            var total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (total == maxBytes)
                    {
                        Span<byte> probe = stackalloc byte[1];
                        if (gzip.Read(probe) > 0)
                        {
                            throw new PayloadTooLargeException(maxBytes);
                        }

                        return buffer;
                    }

                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes));
                }

                var read = gzip.Read(buffer.AsSpan(total));
                if (read == 0)
                {
                    return total == buffer.Length ? buffer : buffer[..total];
                }

                total += read;
            }
        }
        catch (InvalidDataException ex)
        {
            throw new OtlpFormatException($"Invalid gzip body: {ex.Message}", ex);
        }
    }
}

/// <summary>A request body (compressed or decompressed) larger than the configured limit; maps to HTTP 413.</summary>
public sealed class PayloadTooLargeException : Exception
{
    public PayloadTooLargeException(long limitBytes)
        : base($"Payload exceeds the limit of {limitBytes} bytes")
    {
        LimitBytes = limitBytes;
    }

    public PayloadTooLargeException(string message) : base(message)
    {
    }

    public PayloadTooLargeException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public PayloadTooLargeException()
    {
    }

    /// <summary>The limit that was exceeded, when known.</summary>
    public long LimitBytes { get; }
}
