using System.Diagnostics;
using System.Globalization;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

// Usage: StorageProbe [spans=1000000] [batch=10000] [directory=/tmp/almanac-probe] [all|duckdb|sqlite|file|search] [repeats]
// (search: SearchProbe.cs, trace search with and without batch pruning; `StorageProbe stored …`: one search over
// a data directory Almanac wrote; `StorageProbe format <data-dir> [block rows] [quality]`: its spans in a block format of
// our own, FormatProbe.cs)
// Appends realistic spans (10-span traces, 8 services, HTTP/DB attributes, some events) and reports ingest rate,
// bytes on disk per span, trace-by-id and attribute-search latency for DuckDB, and ingest/size/lookup for SQLite
// and a plain length-prefixed protobuf file as comparison points.
if (args is ["format", var formatDirectory, ..])
{
    // `StorageProbe format <data-dir> [block rows] [brotli quality]`: the same spans in a block format of our own (FormatProbe.cs).
    FormatProbe.Run(formatDirectory, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8192,
        args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1);
    return;
}

if (args is ["stored", var storedDirectory, ..])
{
    // `StorageProbe stored <data-dir> service key=value [repeats]`: one search over a data directory Almanac wrote
    // (read from a copy, so the probe never changes it), timed, with the batches and spans it read.
    await SearchProbe.TimeStoredAsync(storedDirectory, args[2], args[3], args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 30);
    return;
}

var totalSpans = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var batchSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
var directory = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "almanac-probe");
var only = args.Length > 3 ? args[3] : "all";
if (Directory.Exists(directory))
{
    Directory.Delete(directory, recursive: true);
}

Directory.CreateDirectory(directory);
if (only == "search")
{
    await SearchProbe.RunAsync(totalSpans, batchSize, directory, args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 30);
    return;
}

var generator = new SpanGenerator(seed: 42);
Console.WriteLine($"spans={totalSpans} batch={batchSize} dir={directory}");
var batches = new List<List<SpanData>>();
for (var produced = 0; produced < totalSpans; produced += batchSize)
{
    batches.Add(generator.NextBatch(Math.Min(batchSize, totalSpans - produced)));
}

var sampleTraceIds = batches.SelectMany(b => b).Select(s => s.TraceId).Distinct().Where((_, i) => i % 97 == 0).Take(1000).ToList();
var protoBytes = batches.SelectMany(b => b).Sum(s => (long)s.Span.CalculateSize());
Console.WriteLine($"serialized span protobuf alone: {protoBytes / (double)totalSpans:F1} bytes/span");

if (only is "all" or "duckdb")
{
    await ProbeDuckDb();
}

if (only is "all" or "sqlite")
{
    ProbeSqlite();
}

if (only is "all" or "file")
{
    ProbeFile();
}

async Task ProbeDuckDb()
{
    var path = Path.Combine(directory, "spans.duckdb");
    var store = new DuckDbStore(path);
    await store.InitializeAsync();
    var sw = Stopwatch.StartNew();
    var checkpoint = 0;
    var batchLatencies = new List<double>();
    // CPU time (all threads, incl. DuckDB's) is what compares across runs on a shared machine; wall time does not.
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    foreach (var batch in batches)
    {
        var t = Stopwatch.StartNew();
        await store.WriteAsync(new TelemetryBatch(batch, ++checkpoint));
        batchLatencies.Add(t.Elapsed.TotalMilliseconds);
    }

    sw.Stop();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    Report("duckdb ingest", totalSpans / sw.Elapsed.TotalSeconds, "spans/s");
    Report("duckdb ingest CPU", cpu.TotalMilliseconds * 1000 / totalSpans, $"µs/span ({cpu.TotalSeconds:F1} s user+sys)");
    Percentiles("duckdb batch commit latency", batchLatencies);

    var lookups = new List<double>();
    foreach (var id in sampleTraceIds)
    {
        var t = Stopwatch.StartNew();
        var trace = await store.GetTraceAsync(id);
        lookups.Add(t.Elapsed.TotalMilliseconds);
        if (trace is null || trace.Spans.Count == 0)
        {
            throw new InvalidOperationException("trace not found");
        }
    }

    Percentiles("duckdb trace-by-id (warm)", lookups);

    var searches = new List<double>();
    var perQuery = new Dictionary<int, List<double>>();
    var queries = new[]
    {
        new TraceQuery { ServiceName = "checkout", Attributes = [new("http.status_code", "500")] },
        new TraceQuery { Attributes = [new("http.route", "/api/items/{id}")] },
        new TraceQuery { ServiceName = "payments", OperationName = "POST /charge" },
        new TraceQuery { Attributes = [new("k8s.pod.name", "pod-3")] },
        new TraceQuery { Attributes = [new("customer.id", "12345")] },
    };
    for (var round = 0; round < 10; round++)
    {
        for (var qi = 0; qi < queries.Length; qi++)
        {
            var t = Stopwatch.StartNew();
            await store.FindTraceIdsAsync(queries[qi]);
            searches.Add(t.Elapsed.TotalMilliseconds);
            (perQuery.TryGetValue(qi, out var list) ? list : perQuery[qi] = new List<double>()).Add(t.Elapsed.TotalMilliseconds);
        }
    }

    Percentiles("duckdb search (5 queries x 10)", searches);

    // Jaeger always sends a lookback; with start-ordered appends the zone maps should skip the rest.
    var newest = batches[^1][^1].StartTimeUnixNano;
    var oldest = batches[0][0].StartTimeUnixNano;
    var windowStart = newest - ((newest - oldest) / 10);
    var windowed = new List<double>();
    for (var round = 0; round < 10; round++)
    {
        foreach (var q in queries)
        {
            var t = Stopwatch.StartNew();
            await store.FindTraceIdsAsync(q with { StartTimeMinUnixNano = windowStart });
            windowed.Add(t.Elapsed.TotalMilliseconds);
        }
    }

    Percentiles("duckdb search, newest 10% window", windowed);
    foreach (var (qi, list) in perQuery)
    {
        Percentiles("  search query " + qi, list);
    }

    var deps = Stopwatch.StartNew();
    var links = await store.GetDependenciesAsync(0, long.MaxValue);
    Report("duckdb dependencies (all time)", deps.Elapsed.TotalMilliseconds, $"ms ({links.Count} links)");

    await store.DisposeAsync();
    Report("duckdb on disk", DirectoryBytes("spans.duckdb") / (double)totalSpans, "bytes/span (after checkpoint)");
}

void ProbeSqlite()
{
    // A like-for-like minimum: the same protobuf payload plus the columns and the trace-id index the store
    // needs for trace-by-id. It has no attribute search, summaries or catalogue, so it flatters SQLite.
    var path = Path.Combine(directory, "spans.sqlite");
    using var connection = new SqliteConnection("Data Source=" + path);
    connection.Open();
    Exec(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    Exec(connection, "CREATE TABLE spans (trace_id BLOB NOT NULL, span_id INTEGER NOT NULL, start_ns INTEGER NOT NULL, service TEXT NOT NULL, name TEXT NOT NULL, proto BLOB NOT NULL)");
    Exec(connection, "CREATE INDEX spans_trace ON spans (trace_id)");
    var sw = Stopwatch.StartNew();
    foreach (var batch in batches)
    {
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO spans VALUES ($t, $s, $st, $svc, $n, $p)";
        var pt = insert.Parameters.Add("$t", SqliteType.Blob);
        var ps = insert.Parameters.Add("$s", SqliteType.Integer);
        var pst = insert.Parameters.Add("$st", SqliteType.Integer);
        var psvc = insert.Parameters.Add("$svc", SqliteType.Text);
        var pn = insert.Parameters.Add("$n", SqliteType.Text);
        var pp = insert.Parameters.Add("$p", SqliteType.Blob);
        insert.Prepare();
        foreach (var span in batch)
        {
            pt.Value = span.TraceId.ToBytes();
            ps.Value = unchecked((long)span.SpanId.Value);
            pst.Value = span.StartTimeUnixNano;
            psvc.Value = span.ServiceName;
            pn.Value = span.Span.Name;
            pp.Value = span.Span.ToByteArray();
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    sw.Stop();
    Report("sqlite ingest", totalSpans / sw.Elapsed.TotalSeconds, "spans/s");
    var lookups = new List<double>();
    using (var select = connection.CreateCommand())
    {
        select.CommandText = "SELECT proto FROM spans WHERE trace_id = $t";
        var pt = select.Parameters.Add("$t", SqliteType.Blob);
        foreach (var id in sampleTraceIds)
        {
            var t = Stopwatch.StartNew();
            pt.Value = id.ToBytes();
            using var reader = select.ExecuteReader();
            var n = 0;
            while (reader.Read())
            {
                Span.Parser.ParseFrom((byte[])reader[0]);
                n++;
            }

            lookups.Add(t.Elapsed.TotalMilliseconds);
        }
    }

    Percentiles("sqlite trace-by-id", lookups);
    Exec(connection, "PRAGMA wal_checkpoint(TRUNCATE)");
    connection.Close();
    SqliteConnection.ClearAllPools();
    Report("sqlite on disk", DirectoryBytes("spans.sqlite") / (double)totalSpans, "bytes/span");
}

void ProbeFile()
{
    // The floor for durable ingest: length-prefixed protobuf appended to one file, fsync per batch, no index.
    var path = Path.Combine(directory, "spans.bin");
    var sw = Stopwatch.StartNew();
    using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
    {
        foreach (var batch in batches)
        {
            using var output = new CodedOutputStream(file, leaveOpen: true);
            foreach (var span in batch)
            {
                output.WriteMessage(span.Span);
            }

            output.Flush();
            file.Flush(flushToDisk: true);
        }
    }

    sw.Stop();
    Report("file ingest", totalSpans / sw.Elapsed.TotalSeconds, "spans/s");
    Report("file on disk", new FileInfo(path).Length / (double)totalSpans, "bytes/span");
}

long DirectoryBytes(string prefix) => Directory.GetFiles(directory, prefix + "*").Sum(f => new FileInfo(f).Length);

static void Report(string what, double value, string unit) => Console.WriteLine($"{what,-36} {value,14:N1} {unit}");

static void Percentiles(string what, List<double> samples)
{
    samples.Sort();
    double P(double p) => samples[Math.Min(samples.Count - 1, (int)(p * samples.Count))];
    Console.WriteLine($"{what,-36} p50 {P(0.50):F2} ms  p99 {P(0.99):F2} ms  max {samples[^1]:F2} ms  (n={samples.Count})");
}

static void Exec(SqliteConnection connection, string sql)
{
    using var command = connection.CreateCommand();
    command.CommandText = sql;
    command.ExecuteNonQuery();
}

/// <summary>Deterministic, roughly production-shaped spans: what an instrumented HTTP microservice emits.</summary>
internal sealed class SpanGenerator
{
    private static readonly string[] Services = ["frontend", "checkout", "payments", "cart", "inventory", "shipping", "email", "recommendation"];
    private static readonly string[] Routes = ["/api/items/{id}", "/api/cart", "/api/checkout", "/healthz", "/api/users/{id}", "POST /charge"];
    private readonly Random _random;
    private readonly Resource[] _resources;
    private readonly InstrumentationScope _scope = new() { Name = "OpenTelemetry.Instrumentation.AspNetCore", Version = "1.9.0" };
    private long _time = new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;

    public SpanGenerator(int seed)
    {
        _random = new Random(seed);
        _resources = Services.SelectMany(s => Enumerable.Range(0, 4).Select(pod => new Resource
        {
            Attributes =
            {
                Kv("service.name", s), Kv("service.version", "1.4.2"), Kv("k8s.pod.name", "pod-" + pod),
                Kv("k8s.namespace.name", "shop"), Kv("host.name", "node-" + (pod % 3)),
                Kv("telemetry.sdk.language", "dotnet"), Kv("telemetry.sdk.version", "1.9.0"),
            },
        })).ToArray();
    }

    public List<SpanData> NextBatch(int count)
    {
        var spans = new List<SpanData>(count);
        while (spans.Count < count)
        {
            var traceId = new TraceId((ulong)_random.NextInt64(), (ulong)_random.NextInt64());
            var traceSpans = Math.Min(10, count - spans.Count);
            var rootId = new SpanId((ulong)_random.NextInt64() | 1);
            _time += 100_000; // ~10k traces per simulated second
            for (var i = 0; i < traceSpans; i++)
            {
                var spanId = i == 0 ? rootId : new SpanId((ulong)_random.NextInt64() | 1);
                var resource = _resources[(i == 0 ? 0 : _random.Next(1, Services.Length)) * 4 + _random.Next(4)];
                var start = _time + (i * 1_000_000L);
                var status = _random.Next(50) == 0 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset;
                var route = i == 0 ? Routes[_random.Next(Routes.Length)] : Routes[_random.Next(Routes.Length)];
                var span = new Span
                {
                    TraceId = ByteString.CopyFrom(traceId.ToBytes()),
                    SpanId = ByteString.CopyFrom(spanId.ToBytes()),
                    Name = route.StartsWith("POST", StringComparison.Ordinal) ? route : "GET " + route,
                    Kind = i == 0 ? Span.Types.SpanKind.Server : (Span.Types.SpanKind)_random.Next(1, 4),
                    StartTimeUnixNano = (ulong)start,
                    EndTimeUnixNano = (ulong)(start + _random.Next(100_000, 50_000_000)),
                    Status = new Status { Code = status },
                    Flags = 0x101,
                    Attributes =
                    {
                        Kv("http.request.method", "GET"), Kv("http.route", route), KvInt("http.status_code", status == Status.Types.StatusCode.Error ? 500 : 200),
                        Kv("url.scheme", "https"), Kv("server.address", "shop.example.com"), KvInt("server.port", 443),
                        Kv("network.protocol.version", "1.1"), KvInt("customer.id", _random.Next(100_000)),
                    },
                };
                if (i > 0)
                {
                    span.ParentSpanId = ByteString.CopyFrom(rootId.ToBytes());
                }

                if (status == Status.Types.StatusCode.Error)
                {
                    span.Events.Add(new Span.Types.Event
                    {
                        Name = "exception", TimeUnixNano = (ulong)start,
                        Attributes = { Kv("exception.type", "System.InvalidOperationException"), Kv("exception.message", "Sequence contains no elements") },
                    });
                }

                var service = resource.Attributes[0].Value.StringValue;
                spans.Add(new SpanData(traceId, spanId, i > 0 ? rootId : SpanId.Empty, service, resource, string.Empty, _scope, string.Empty, span));
            }
        }

        return spans;
    }

    private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue KvInt(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };
}
