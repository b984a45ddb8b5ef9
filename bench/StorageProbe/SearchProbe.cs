using System.Diagnostics;
using System.Globalization;
using System.Text;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using DuckDB.NET.Data;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

/// <summary>
/// `StorageProbe N batch dir search`: trace search with and without batch pruning (ADR 0004), back to back in one
/// process over one store. Writes N spans in batches the size the server writes (arrival order: each batch's traces
/// started up to 5 s before it was written, so batches overlap in time as they do behind a BatchSpanProcessor), then
/// times each search shape pruned and unpruned alternately and checks that both give the same answer.
/// </summary>
internal static class SearchProbe
{
    private const long Ms = 1_000_000;

    public static async Task RunAsync(int totalSpans, int batchSize, string directory, int repeats)
    {
        var path = Path.Combine(directory, "spans.duckdb");
        var generator = new ArrivalGenerator(seed: 7);
        string? rareUser = null;
        var writeMs = new List<double>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await using (var store = new DuckDbStore(path))
        {
            await store.InitializeAsync();
            var checkpoint = 0;
            for (var written = 0; written < totalSpans; written += batchSize)
            {
                var batch = generator.NextBatch(Math.Min(batchSize, totalSpans - written));
                if (rareUser is null && written >= totalSpans / 3)
                {
                    // A value stored once, a third of the way in: the search must reach back past most batches.
                    rareUser = generator.LastRootUser;
                }

                var t = Stopwatch.StartNew();
                await store.WriteAsync(new TelemetryBatch(batch, ++checkpoint));
                writeMs.Add(t.Elapsed.TotalMilliseconds);
            }
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine($"wrote {totalSpans:N0} spans in {writeMs.Count} batches of {batchSize:N0}: {totalSpans / wall.Elapsed.TotalSeconds:N0} spans/s, "
            + $"{cpu.TotalMilliseconds * 1000 / totalSpans:F1} µs CPU/span (incl. generation), batch commit p50 {Pct(writeMs, 50):F1} ms");
        ReportBytes(path, totalSpans);
        ReportFilterCost(new ArrivalGenerator(seed: 8).NextBatch(Math.Min(batchSize, 50_000)));

        // Reopened: filters come from span_batches, as after a restart.
        await using var reader = new DuckDbStore(path);
        await reader.InitializeAsync();
        var newest = generator.Now;
        var window = newest - (2L * 24 * 3600 * 1000 * Ms); // Jaeger UI's lookback=2d
        var shapes = new (string Label, TraceQuery Query)[]
        {
            ("service (checkout)", new TraceQuery { ServiceName = "checkout" }),
            ("service + operation (frontend, GET /api/users/{id})", new TraceQuery { ServiceName = "frontend", OperationName = "GET /api/users/{id}" }),
            ("attribute, common (frontend, http.response.status_code=500)", new TraceQuery { ServiceName = "frontend", Attributes = [new("http.response.status_code", "500")] }),
            ($"attribute, rare (frontend, enduser.id={rareUser})", new TraceQuery { ServiceName = "frontend", Attributes = [new("enduser.id", rareUser!)] }),
            ("attribute, not stored (frontend, enduser.id=user-0)", new TraceQuery { ServiceName = "frontend", Attributes = [new("enduser.id", "user-0")] }),
            ("resource attribute (k8s.pod.name=checkout-2)", new TraceQuery { Attributes = [new("k8s.pod.name", "checkout-2")] }),
            ("duration range (frontend, 300–400 ms)", new TraceQuery { ServiceName = "frontend", DurationMinNanos = 300 * Ms, DurationMaxNanos = 400 * Ms }),
            ("duration, slowest (min 2 s)", new TraceQuery { DurationMinNanos = 2_000 * Ms }),
        };

        Console.WriteLine();
        Console.WriteLine("| search (limit 20, lookback 2 d) | traces | pruned p50 | pruned p99 | unpruned p50 | unpruned p99 | batches / spans read (pruned) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var (label, shape) in shapes)
        {
            var query = shape with { StartTimeMinUnixNano = window, StartTimeMaxUnixNano = newest, Limit = 20 };
            var pruned = new List<double>();
            var unpruned = new List<double>();
            var expected = await reader.FindTraceIdsUnprunedAsync(query);
            var got = await reader.FindTraceIdsAsync(query);
            if (!expected.SequenceEqual(got))
            {
                throw new InvalidOperationException($"{label}: pruned search answered differently ({got.Count} vs {expected.Count} traces)");
            }

            var work = reader.LastSearchWork;
            for (var i = 0; i < repeats; i++)
            {
                var t = Stopwatch.StartNew();
                await reader.FindTraceIdsAsync(query);
                pruned.Add(t.Elapsed.TotalMilliseconds);
                t.Restart();
                await reader.FindTraceIdsUnprunedAsync(query);
                unpruned.Add(t.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine($"| {label} | {got.Count} | {Pct(pruned, 50):F1} ms | {Pct(pruned, 99):F1} ms | {Pct(unpruned, 50):F1} ms | {Pct(unpruned, 99):F1} ms | "
                + $"{work.Batches} / {work.Spans:N0} |");
        }
    }

    public static async Task TimeStoredAsync(string dataDirectory, string service, string pair, int repeats)
    {
        var copy = Path.Combine(Path.GetTempPath(), "almanac-probe-stored");
        if (Directory.Exists(copy))
        {
            Directory.Delete(copy, recursive: true);
        }

        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(dataDirectory, "almanac.duckdb"), Path.Combine(copy, "almanac.duckdb"));
        await using var store = new DuckDbStore(Path.Combine(copy, "almanac.duckdb"));
        await store.InitializeAsync();
        var (key, value) = pair.Split('=', 2) is [var k, var v] ? (k, v) : throw new ArgumentException("expected key=value", nameof(pair));
        var query = new TraceQuery
        {
            ServiceName = service,
            Attributes = [new(key, value)],
            StartTimeMinUnixNano = 0,
            StartTimeMaxUnixNano = long.MaxValue,
            Limit = 20,
        };
        var found = await store.FindTraceIdsAsync(query);
        var work = store.LastSearchWork;
        var times = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var t = Stopwatch.StartNew();
            await store.FindTraceIdsAsync(query);
            times.Add(t.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"{service} {pair}: {found.Count} traces, p50 {Pct(times, 50):F1} ms, p99 {Pct(times, 99):F1} ms; "
            + $"read {work.Batches} batches / {work.Spans:N0} rows, {work.Lookups} summary lookups");

        // Then what the search endpoint does next: read the traces found, together and (as a backend without
        // GetTracesAsync of its own does) one by one, as many at a time as there are processors.
        var together = new List<double>();
        var oneByOne = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            // Alternating which goes first, so neither always finds the other's pages in the cache.
            for (var order = 0; order < 2; order++)
            {
                var t = Stopwatch.StartNew();
                if ((i + order) % 2 == 0)
                {
                    await store.GetTracesAsync(found);
                    together.Add(t.Elapsed.TotalMilliseconds);
                }
                else
                {
                    var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
                    await Parallel.ForEachAsync(found, options, async (id, token) => await store.GetTraceAsync(id, token));
                    oneByOne.Add(t.Elapsed.TotalMilliseconds);
                }
            }
        }

        // And both back to back, as the search endpoint runs them.
        var both = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var t = Stopwatch.StartNew();
            await store.GetTracesAsync(await store.FindTraceIdsAsync(query));
            both.Add(t.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"search and its traces: p50 {Pct(both, 50):F1} / p99 {Pct(both, 99):F1} ms");
        Console.WriteLine($"reading those traces: together p50 {Pct(together, 50):F1} / p99 {Pct(together, 99):F1} ms, "
            + $"one by one p50 {Pct(oneByOne, 50):F1} / p99 {Pct(oneByOne, 99):F1} ms; sorted: "
            + string.Join(" ", together.Order().Select(x => x.ToString("F0", CultureInfo.InvariantCulture))) + " | "
            + string.Join(" ", oneByOne.Order().Select(x => x.ToString("F0", CultureInfo.InvariantCulture))));
    }

    private static void ReportBytes(string path, int totalSpans)
    {
        using var connection = new DuckDBConnection("Data Source=" + path);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), sum(octet_length(filter))::BIGINT, sum(spans)::BIGINT FROM span_batches";
        using var reader = command.ExecuteReader();
        reader.Read();
        var rows = reader.GetInt64(0);
        var filterBytes = reader.GetInt64(1);
        Console.WriteLine($"span_batches: {rows} rows, filters {filterBytes / (double)totalSpans:F2} bytes/span ({filterBytes / 1024.0 / 1024.0:F1} MiB, held in memory too); "
            + $"database file {new FileInfo(path).Length / (double)totalSpans:F1} bytes/span");
    }

    /// <summary>What the filter adds to a write: hashing each span's pairs and names, and building the filter, per span.</summary>
    private static void ReportFilterCost(List<SpanData> batch)
    {
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        int KeyId(string key) => keys.TryGetValue(key, out var id) ? id : keys[key] = keys.Count + 1;
        var text = new SearchText();
        double textOnly = double.MaxValue, withFilter = double.MaxValue;
        for (var round = 0; round < 5; round++)
        {
            var t = Stopwatch.StartNew();
            foreach (var span in batch)
            {
                text.Build(span.Span.Attributes, span.Span.Events, KeyId);
            }

            textOnly = Math.Min(textOnly, t.Elapsed.TotalMilliseconds);
            var filter = new BatchFilter();
            filter.Begin();
            filter.ReserveRows(batch.Count);
            t.Restart();
            var seq = 0;
            foreach (var span in batch)
            {
                text.Build(span.Span.Attributes, span.Span.Events, KeyId);
                filter.AddSpan(seq++, span.ServiceName, Encoding.UTF8.GetBytes(span.ServiceName), span.Span.Name, Encoding.UTF8.GetBytes(span.Span.Name), 1,
                    span.StartTimeUnixNano, span.DurationNanos, text);
            }

            var built = filter.BuildFilter();
            withFilter = Math.Min(withFilter, t.Elapsed.TotalMilliseconds);
            if (built.Count == 0)
            {
                throw new InvalidOperationException("empty filter");
            }
        }

        Console.WriteLine($"filter cost at write: {(withFilter - textOnly) * 1000 / batch.Count:F2} µs/span (search text alone {textOnly * 1000 / batch.Count:F2} µs/span; best of 5, {batch.Count:N0} spans)");
    }

    // Nearest rank, as bench/Almanac.Bench reports.
    private static double Pct(List<double> samples, double p)
    {
        var sorted = samples.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>
    /// Traces of about 10 spans over 16 services, each span with the attributes HTTP/DB instrumentation sets and
    /// several high-cardinality values (enduser.id, url.path, client.address, db.statement): the worst case for the
    /// filters' size. Written in arrival order: a trace starts up to 5 s before the batch that carries it.
    /// </summary>
    private sealed class ArrivalGenerator(int seed)
    {
        private static readonly string[] Services =
        [
            "frontend", "checkout", "cart", "payment", "product-catalog", "inventory", "shipping", "user-profile",
            "recommendation", "ad", "email", "currency", "fraud-detection", "accounting", "quote", "search",
        ];

        private static readonly string[] Routes = ["/api/users/{id}", "/api/orders/{id}", "/api/products/{id}", "/api/cart/{id}/items", "/api/checkout/{id}"];

        private readonly Random _random = new(seed);
        private readonly InstrumentationScope _scope = new() { Name = "OpenTelemetry.Instrumentation.AspNetCore", Version = "1.9.0" };
        private readonly Resource[] _resources = Services.SelectMany(s => Enumerable.Range(0, 4).Select(pod => new Resource
        {
            Attributes =
            {
                Kv("service.name", s), Kv("service.version", "2.3.1"), Kv("k8s.pod.name", s + "-" + pod),
                Kv("k8s.namespace.name", "shop"), Kv("telemetry.sdk.language", "dotnet"),
            },
        })).ToArray();

        /// <summary>Arrival time of the newest batch (unix ns); 20,000 spans per simulated second.</summary>
        public long Now { get; private set; } = new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * Ms;

        public string LastRootUser { get; private set; } = string.Empty;

        public List<SpanData> NextBatch(int count)
        {
            Now += count * (1_000 * Ms / 20_000);
            var spans = new List<SpanData>(count);
            while (spans.Count < count)
            {
                var traceId = new TraceId((ulong)_random.NextInt64(), (ulong)_random.NextInt64());
                var traceStart = Now - _random.NextInt64(5_000 * Ms);
                var rootId = new SpanId((ulong)_random.NextInt64() | 1);
                var size = Math.Min(count - spans.Count, _random.Next(4, 17));
                var rootDuration = _random.NextInt64(5 * Ms, 400 * Ms) * (_random.Next(200) == 0 ? 10 : 1);
                for (var i = 0; i < size; i++)
                {
                    var service = i == 0 ? 0 : _random.Next(1, Services.Length);
                    var resource = _resources[(service * 4) + _random.Next(4)];
                    var spanId = i == 0 ? rootId : new SpanId((ulong)_random.NextInt64() | 1);
                    var start = traceStart + (i == 0 ? 0 : _random.NextInt64(100_000, Math.Max(200_000, rootDuration / 2)));
                    var duration = i == 0 ? rootDuration : _random.NextInt64(100_000, Math.Max(200_000, rootDuration / 2));
                    var error = _random.Next(20) == 0;
                    var route = Routes[_random.Next(Routes.Length)];
                    var span = new Span
                    {
                        TraceId = ByteString.CopyFrom(traceId.ToBytes()),
                        SpanId = ByteString.CopyFrom(spanId.ToBytes()),
                        Kind = i == 0 ? Span.Types.SpanKind.Server : (Span.Types.SpanKind)_random.Next(1, 4),
                        StartTimeUnixNano = (ulong)start,
                        EndTimeUnixNano = (ulong)(start + duration),
                        Status = new Status { Code = error ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset },
                    };
                    if (i > 0)
                    {
                        span.ParentSpanId = ByteString.CopyFrom(rootId.ToBytes());
                    }

                    if (i == 0 || _random.Next(3) == 0)
                    {
                        span.Name = "GET " + route;
                        var user = "user-" + _random.Next(1, 2_000_000).ToString(CultureInfo.InvariantCulture);
                        if (i == 0)
                        {
                            LastRootUser = user;
                        }

                        span.Attributes.Add(Kv("http.request.method", "GET"));
                        span.Attributes.Add(Kv("http.route", route));
                        span.Attributes.Add(Kv("url.path", route.Replace("{id}", _random.Next(1, 5_000_000).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)));
                        span.Attributes.Add(Kv("http.response.status_code", error ? 500 : 200));
                        span.Attributes.Add(Kv("server.port", 8080));
                        span.Attributes.Add(Kv("client.address", $"10.{_random.Next(256)}.{_random.Next(256)}.{_random.Next(1, 255)}"));
                        span.Attributes.Add(Kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"));
                        span.Attributes.Add(Kv("enduser.id", user));
                    }
                    else
                    {
                        span.Name = "SELECT orders";
                        span.Attributes.Add(Kv("db.system", "postgresql"));
                        span.Attributes.Add(Kv("db.name", "shop"));
                        span.Attributes.Add(Kv("db.operation", "SELECT"));
                        span.Attributes.Add(Kv("db.statement", "SELECT * FROM orders WHERE id = " + _random.Next(1, 5_000_000).ToString(CultureInfo.InvariantCulture)));
                        span.Attributes.Add(Kv("server.address", "postgres"));
                        span.Attributes.Add(Kv("server.port", 5432));
                    }

                    if (error)
                    {
                        span.Events.Add(new Span.Types.Event
                        {
                            Name = "exception", TimeUnixNano = (ulong)start,
                            Attributes = { Kv("exception.type", "System.TimeoutException"), Kv("exception.message", "The operation has timed out after 5000 ms") },
                        });
                    }

                    spans.Add(new SpanData(traceId, spanId, i > 0 ? rootId : SpanId.Empty, Services[service], resource, string.Empty, _scope, string.Empty, span));
                }
            }

            return spans;
        }

        private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

        private static KeyValue Kv(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };
    }
}
