using System.IO.Compression;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Almanac.Otlp.Tests;

/// <summary>
/// Whatever a sender transmits, the decoders either succeed or throw the documented exception types, which the HTTP
/// layer maps to 400/413. Any other exception would surface as a 500 (or worse, a crash).
/// </summary>
public sealed class RobustnessProperties
{
    private static readonly byte[] ValidJson = FixtureFiles.Read("almanac-full-trace.json");

    private static bool OnlyDocumentedFailures(Action decode, params Type[] allowed)
    {
        try
        {
            decode();
            return true;
        }
        catch (Exception ex)
        {
            return allowed.Contains(ex.GetType());
        }
    }

    private static byte[] Mutate(byte[] original, (int Position, byte Value)[] edits, int truncateTo)
    {
        var copy = (byte[])original.Clone();
        foreach (var (position, value) in edits)
        {
            copy[(int)((uint)position % (uint)copy.Length)] = value;
        }

        return copy[..(int)((uint)truncateTo % (uint)(copy.Length + 1))];
    }

    [Property(MaxTest = 500)]
    public bool ParseTraceRequest_ArbitraryBytes_OnlyOtlpFormatException(byte[] body) =>
        OnlyDocumentedFailures(() => OtlpJson.ParseTraceRequest(body), typeof(OtlpFormatException));

    [Property(MaxTest = 1000)]
    public bool ParseTraceRequest_MutatedValidJson_OnlyOtlpFormatException((int, byte)[] edits, int truncateTo) =>
        OnlyDocumentedFailures(() => OtlpJson.ParseTraceRequest(Mutate(ValidJson, edits, truncateTo)), typeof(OtlpFormatException));

    [Property(MaxTest = 500)]
    public bool ProtobufParseTraceRequest_ArbitraryBytes_OnlyOtlpFormatException(byte[] body) =>
        OnlyDocumentedFailures(() => OtlpProtobuf.ParseTraceRequest(body), typeof(OtlpFormatException));

    [Property(MaxTest = 500)]
    public bool ProtobufParseTraceRequest_MutatedValidMessage_OnlyOtlpFormatException((int, byte)[] edits, int truncateTo)
    {
        var valid = Google.Protobuf.MessageExtensions.ToByteArray(OtlpJson.ParseTraceRequest(ValidJson));
        return OnlyDocumentedFailures(() => OtlpProtobuf.ParseTraceRequest(Mutate(valid, edits, truncateTo)), typeof(OtlpFormatException));
    }

    [Property(MaxTest = 300)]
    public bool Decompress_MutatedGzip_OnlyDocumentedExceptions((int, byte)[] edits, int truncateTo)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(ValidJson);
        }

        var mutated = Mutate(buffer.ToArray(), edits, truncateTo);
        return OnlyDocumentedFailures(
            () => BoundedGzip.Decompress(mutated, 64 * 1024),
            typeof(OtlpFormatException),
            typeof(PayloadTooLargeException));
    }
}
