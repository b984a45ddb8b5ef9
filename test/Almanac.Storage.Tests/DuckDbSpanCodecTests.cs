using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>DuckDB-specific: the span blob keeps every field the columns do not, including ones this build does not know.</summary>
public sealed class DuckDbSpanCodecTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-codec-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void KnownFields_MatchTheGeneratedSpanMessage()
    {
        // A newer OTLP proto with another Span field must make someone decide where that field is stored.
        Assert.Equal(Span.Descriptor.Fields.InFieldNumberOrder().Select(f => f.FieldNumber), SpanCodec.KnownFields);
    }

    [Fact]
    public async Task GetTrace_SpanWithFieldsFromANewerProto_KeepsThem()
    {
        var traceId = NewTraceId();
        var known = CreateSpan(traceId, attributes: [Attr("k", "v")]);
        // Field 100, varint 7: what a sender on a future OTLP version might add.
        var bytes = known.ToByteArray().Concat(new byte[] { 0xA0, 0x06, 0x07 }).ToArray();
        var withUnknown = Span.Parser.ParseFrom(bytes);
        Assert.NotEqual(known, withUnknown);

        await using var store = new DuckDbStore(Path.Combine(_directory, "almanac.duckdb"));
        await store.InitializeAsync();
        await store.WriteAsync(new TelemetryBatch([ToSpanData(withUnknown)], 1));
        var stored = Assert.Single((await store.GetTraceAsync(traceId))!.Spans).Span;

        Assert.Equal(withUnknown, stored);
        Assert.Equal(bytes.Length, stored.CalculateSize());
    }
}
