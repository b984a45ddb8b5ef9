using System.Buffers;
using System.Text.Json;
using Almanac.Core.Ingest;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Load.Templates;
using Almanac.Otlp;
using Almanac.Otlp.Json;
using Almanac.Query.Jaeger;
using Almanac.Storage.DuckDb;
using Almanac.Web.Model;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using WireFormat = Almanac.Load.Templates.WireFormat;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Benchmarks;

/// <summary>
/// Decoding one realistic 512-span export request (≈ 288 KB protobuf), as the receivers do, and then flattening
/// it into validated spans, as the ingest pipeline does before the write-ahead log.
/// </summary>
[MemoryDiagnoser]
public class OtlpDecode
{
    private byte[] _protobuf = [];
    private byte[] _json = [];

    [GlobalSetup]
    public void Setup()
    {
        _protobuf = Data.Requests(WireFormat.Protobuf, 512, 1)[0];
        _json = Data.Requests(WireFormat.Json, 512, 1)[0];
    }

    [Benchmark(Description = "protobuf, 512 spans")]
    public int Protobuf() => OtlpProtobuf.ParseTraceRequest(_protobuf).ResourceSpans.Count;

    [Benchmark(Description = "JSON, 512 spans")]
    public int Json() => OtlpJson.ParseTraceRequest(_json).ResourceSpans.Count;

    [Benchmark(Description = "protobuf + flatten/validate, 512 spans")]
    public int ProtobufAndFlatten() => TraceRequestFlattener.Flatten(OtlpProtobuf.ParseTraceRequest(_protobuf)).Spans.Count;

    /// <summary>The receive path before raw-bytes ingest: decode, validate, and encode again for the write-ahead log.</summary>
    [Benchmark(Description = "protobuf + flatten + re-encode for the WAL, 512 spans")]
    public int ProtobufFlattenAndEncode()
    {
        var request = OtlpProtobuf.ParseTraceRequest(_protobuf);
        var spans = TraceRequestFlattener.Flatten(request).Spans.Count;
        return spans + request.ToByteArray().Length;
    }

    /// <summary>The receive path now: one validating pass over the bytes, which then go to the write-ahead log as they are.</summary>
    [Benchmark(Description = "OtlpTraceScanner.Scan, 512 spans")]
    public int Scan() => OtlpTraceScanner.Scan(_protobuf).Spans;
}

/// <summary>
/// DuckDbStore.WriteAsync of one 10,000-span batch (spans, trace summaries, catalogue, checkpoint in one
/// transaction) into a store that grows over the run, as the batcher calls it.
/// </summary>
[MemoryDiagnoser]
public class StorageAppend
{
    private DuckDbStore _store = null!;
    private string _dir = "";
    private List<SpanData>[] _batches = [];
    private List<ReadOnlyMemory<byte>>[] _encoded = [];
    private int _next;

    [GlobalSetup]
    public async Task Setup()
    {
        (_store, _dir, _) = await Data.StoreAsync(10_000);
        // Distinct batches prepared up front: the benchmark times the store, not the data generation.
        _batches = Enumerable.Range(0, 16).Select(_ => Data.Spans(10_000)).ToArray();
        _encoded = Enumerable.Range(0, 16)
            .Select(_ => Data.Requests(WireFormat.Protobuf, 500, 20).Select(b => (ReadOnlyMemory<byte>)b).ToList()).ToArray();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        Data.Delete(_dir);
    }

    [Benchmark(Description = "WriteAsync, 10,000 realistic spans")]
    public async Task Write()
    {
        var batch = _batches[_next % _batches.Length];
        _next++;
        // Ids repeat after 16 batches; the store appends regardless (span ids are not unique keys), and a run of
        // a short job stays well below that.
        await _store.WriteAsync(new TelemetryBatch(batch, checkpoint: 10_000L + _next));
    }

    /// <summary>What the ingest pipeline hands over: the write-ahead log's encoded requests, read from the wire format.</summary>
    [Benchmark(Description = "WriteAsync, 10,000 realistic spans as 20 encoded requests")]
    public async Task WriteEncoded()
    {
        var requests = _encoded[_next % _encoded.Length];
        _next++;
        await _store.WriteAsync(new TelemetryBatch([], requests, [], [], checkpoint: 10_000L + _next));
    }
}

/// <summary>
/// ADR 0010's proposed write path (<see cref="SpanBlockPrototype"/>) on the same 20 encoded requests as
/// <see cref="StorageAppend"/>: spans straight into compressed column streams of a block file, fsynced.
/// </summary>
[MemoryDiagnoser]
public class SpanBlockWrite
{
    private List<ReadOnlyMemory<byte>>[] _encoded = [];
    private SpanBlockPrototype _writer = null!;
    private string _dir = "";
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("almanac-blocks-").FullName;
        _writer = new SpanBlockPrototype(Path.Combine(_dir, "block"));
        _encoded = Enumerable.Range(0, 16)
            .Select(_ => Data.Requests(WireFormat.Protobuf, 500, 20).Select(b => (ReadOnlyMemory<byte>)b).ToList()).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => Data.Delete(_dir);

    [Benchmark(Description = "block of 10,000 realistic spans from 20 encoded requests, Brotli 1, fsynced")]
    public long Write() => _writer.Write(_encoded[_next++ % _encoded.Length]);
}

/// <summary>
/// Reading a realistic trace by id from a store of 200,000 spans and building what the APIs answer: Jaeger JSON
/// (/api/traces/{id}) and the UI's timeline model (/trace/{id}/model); plus the UI model of a 10,000-span trace.
/// </summary>
[MemoryDiagnoser]
public class TraceAssembly
{
    private DuckDbStore _store = null!;
    private string _dir = "";
    private TraceId[] _ids = [];
    private TraceData _big = null!;
    private int _next;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);

    [GlobalSetup]
    public async Task Setup()
    {
        List<TraceId> ids;
        (_store, _dir, ids) = await Data.StoreAsync(200_000);
        _ids = ids.OrderBy(id => id.GetHashCode()).Take(1000).ToArray();
        _big = BigTrace(10_000);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        Data.Delete(_dir);
    }

    private TraceId NextId() => _ids[_next++ % _ids.Length];

    [Benchmark(Description = "GetTraceAsync")]
    public async Task<int> Read() => (await _store.GetTraceAsync(NextId()))!.Spans.Count;

    [Benchmark(Description = "GetTraceAsync + Jaeger JSON")]
    public async Task<long> ReadAndWriteJaeger()
    {
        var trace = (await _store.GetTraceAsync(NextId()))!;
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        JaegerTraceWriter.WriteTrace(writer, trace);
        writer.Flush();
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "GetTraceAsync + UI timeline model")]
    public async Task<int> ReadAndBuildUiModel()
    {
        var trace = (await _store.GetTraceAsync(NextId()))!;
        return TraceModel.ToUtf8Json(TraceView.Build(trace)).Length;
    }

    [Benchmark(Description = "UI timeline model, 10,000-span trace in memory")]
    public int BigUiModel() => TraceModel.ToUtf8Json(TraceView.Build(_big)).Length;

    private static TraceData BigTrace(int count)
    {
        var spans = Data.Spans(count);
        // Re-parent every span into one tree of one trace: 8 children per span, like the UI benchmark's trace.
        var traceId = spans[0].TraceId;
        var result = new List<SpanData>(count);
        for (var i = 0; i < spans.Count; i++)
        {
            var s = spans[i];
            var span = s.Span.Clone();
            span.TraceId = ByteString.CopyFrom(traceId.ToBytes());
            span.ParentSpanId = i == 0 ? ByteString.Empty : ByteString.CopyFrom(result[(i - 1) / 8].SpanId.ToBytes());
            var parent = i == 0 ? default : result[(i - 1) / 8].SpanId;
            result.Add(new SpanData(traceId, s.SpanId, parent, s.ServiceName, s.Resource, s.ResourceSchemaUrl, s.Scope, s.ScopeSchemaUrl, span));
        }

        return new TraceData(traceId, result);
    }
}

/// <summary>FindTraceIdsAsync (Jaeger's default limit of 20) over 200,000 stored spans, one search shape each.</summary>
[MemoryDiagnoser]
public class Search
{
    private DuckDbStore _store = null!;
    private string _dir = "";

    [GlobalSetup]
    public async Task Setup() => (_store, _dir, _) = await Data.StoreAsync(200_000);

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        Data.Delete(_dir);
    }

    [Benchmark(Description = "service")]
    public Task<IReadOnlyList<TraceId>> Service() => _store.FindTraceIdsAsync(new TraceQuery { ServiceName = "checkout" });

    [Benchmark(Description = "service + operation")]
    public Task<IReadOnlyList<TraceId>> ServiceOperation() =>
        _store.FindTraceIdsAsync(new TraceQuery { ServiceName = "frontend", OperationName = "GET /api/users/{id}" });

    [Benchmark(Description = "service + attribute equality")]
    public Task<IReadOnlyList<TraceId>> Attribute() =>
        _store.FindTraceIdsAsync(new TraceQuery { ServiceName = "frontend", Attributes = [new("http.response.status_code", "500")] });

    [Benchmark(Description = "service + duration range")]
    public Task<IReadOnlyList<TraceId>> Duration() =>
        _store.FindTraceIdsAsync(new TraceQuery { ServiceName = "frontend", DurationMinNanos = 300_000_000, DurationMaxNanos = 400_000_000 });

    [Benchmark(Description = "service, last 10 minutes")]
    public Task<IReadOnlyList<TraceId>> Recent() =>
        _store.FindTraceIdsAsync(new TraceQuery { ServiceName = "cart", StartTimeMinUnixNano = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000) * 1_000_000 });
}
