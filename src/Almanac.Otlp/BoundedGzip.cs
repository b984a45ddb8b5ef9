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
        return DecompressFrom(compressed.ToArray(), maxDecompressedBytes);
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

        return DecompressFrom(raw, maxBytes);
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

    private static byte[] DecompressFrom(byte[] compressed, int maxBytes)
    {
        if (compressed.Length == 0)
        {
            return [];
        }

        // Checked up front because the runtime's message for a non-gzip body ("unsupported compression method")
        // hides the usual cause: a client that sent Content-Encoding: gzip with a plain body.
        if (compressed.Length < 2 || compressed[0] != 0x1F || compressed[1] != 0x8B)
        {
            throw new OtlpFormatException("Invalid gzip body: it does not start with the gzip signature (is Content-Encoding right?)");
        }

        var output = Inflate(compressed, maxBytes);
        VerifyTrailer(compressed, output);
        return output;
    }

    /// <summary>
    /// GZipStream reports a stream cut off mid-member as a clean end of data, which would silently drop the tail of a
    /// request. A complete body ends with the last member's CRC-32 and length (ISIZE); checking them against the tail
    /// of the output catches truncation. ISIZE is only compared here, never used to size anything.
    /// </summary>
    private static void VerifyTrailer(byte[] compressed, byte[] output)
    {
        if (compressed.Length < 18)
        {
            throw new OtlpFormatException("Invalid gzip body: too short");
        }

        var trailer = compressed.AsSpan(compressed.Length - 8);
        var expectedCrc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        var lastMemberLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (lastMemberLength > (uint)output.Length
            || GzipCrc32.Compute(output.AsSpan(output.Length - (int)lastMemberLength)) != expectedCrc)
        {
            throw new OtlpFormatException("Invalid gzip body: truncated or corrupt");
        }
    }

    private static byte[] Inflate(byte[] compressed, int maxBytes)
    {
        try
        {
            using var input = new MemoryStream(compressed, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
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
