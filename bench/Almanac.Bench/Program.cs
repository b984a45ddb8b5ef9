using System.Diagnostics;
using System.Globalization;
using System.Net;
using Almanac.Bench;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"almanac-bench: {ex.Message}\n\n{BenchOptions.Usage}");
    return 2;
}

var root = Repo.Root();
Console.Error.WriteLine($"almanac-bench: waiting up to {options.Settle.TotalSeconds:0} s for a quiet machine (load average {MachineInfo.LoadAvg()})");
var (busyBefore, settled) = await QuietMachine.WaitAsync(options.Settle);
var run = new RunRecord
{
    Options = options, Machine = MachineInfo.Read(), Commit = Repo.Commit(root), StartedUtc = DateTime.UtcNow,
    BusyBeforeStart = busyBefore, SettleWaited = settled,
};
Console.Error.WriteLine($"almanac-bench: commit {run.Commit}, {run.Machine.Cores} cores, {busyBefore:P0} busy over the last 5 s (after {settled.TotalSeconds:0} s), load average {run.Machine.LoadAverage}");

var loadDll = Path.Combine(root, "tools/Almanac.Load/bin/Release/net10.0/almanac-load.dll");
var serverDll = Path.Combine(root, "src/Almanac.Server/bin/Release/net10.0/almanac.dll");
foreach (var dll in options.Endpoint is null ? new[] { loadDll, serverDll } : [loadDll])
{
    if (!File.Exists(dll))
    {
        Console.Error.WriteLine($"almanac-bench: {dll} is missing; build Release first (bench/run.sh does)");
        return 1;
    }
}

var workDir = Path.Combine(options.WorkDir, $"almanac-bench-{Guid.NewGuid():N}"[..24]);
Directory.CreateDirectory(workDir);
var dataDir = Path.Combine(workDir, "almanac-data");

// The fill writes a write-ahead log the size of the wire traffic (~560 B per realistic span) before the store
// catches up and deletes it; refuse to start rather than fill the disk halfway through.
if (options.Endpoint is null)
{
    var free = new DriveInfo(workDir).AvailableFreeSpace;
    var need = options.Spans * 800;
    if (free < need)
    {
        Console.Error.WriteLine($"almanac-bench: {options.Spans:N0} spans need about {need / 1e9:F1} GB free under {options.WorkDir}; {free / 1e9:F1} GB are");
        return 1;
    }
}

try
{
    // 1. The null sink: the same load, same run, so the headline is also a ratio.
    {
        var g = Child.FreePort();
        var h = Child.FreePort();
        await using var sink = Child.Start(loadDll, ["sink", "--grpc-port", $"{g}", "--http-port", $"{h}"], Path.Combine(workDir, "sink.log"));
        await WaitForPortAsync(options.Protocol == "grpc" ? g : h);
        Console.Error.WriteLine($"== null sink, {options.Duration.TotalSeconds:F0} s");
        run.Sink = await Ingest.RunAsync("null sink", Target(g, h), options, sink.Pid, options.Duration, spans: null);
    }

    if (options.Endpoint is { } endpoint)
    {
        Console.Error.WriteLine($"== {endpoint}, {options.Duration.TotalSeconds:F0} s");
        run.Target = await Ingest.RunAsync(endpoint.ToString(), endpoint, options, options.Pid, options.Duration, spans: null);
        if (options.Pid is { } pid && ProcStat.Alive(pid))
        {
            run.TargetRss = ProcStat.Memory(pid).Rss;
        }
    }
    else
    {
        await RunAlmanacAsync(options, run, serverDll, dataDir, workDir);
    }
}
finally
{
    if (!options.KeepData && Directory.Exists(dataDir))
    {
        Directory.Delete(dataDir, recursive: true);
    }
}

var written = Report.Write(run, options.Out ?? Path.Combine(root, "bench", "results"));
Console.Error.WriteLine($"results: {written}; logs in {workDir}");
return 0;

Uri Target(int grpc, int http) => new(options.Protocol == "grpc" ? $"http://127.0.0.1:{grpc}" : $"http://127.0.0.1:{http}");

static async Task WaitForPortAsync(int port)
{
    for (var i = 0; i < 240; i++)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (System.Net.Sockets.SocketException)
        {
            await Task.Delay(250);
        }
    }

    throw new TimeoutException($"nothing listens on port {port}");
}

static async Task RunAlmanacAsync(BenchOptions options, RunRecord run, string serverDll, string dataDir, string workDir)
{
    var g = Child.FreePort();
    var h = Child.FreePort();
    var u = Child.FreePort();
    string[] serverArgs = ["--data-dir", dataDir, "--otlp-grpc-port", $"{g}", "--otlp-http-port", $"{h}", "--ui-port", $"{u}"];
    var target = new Uri(options.Protocol == "grpc" ? $"http://127.0.0.1:{g}" : $"http://127.0.0.1:{h}");
    using var api = new AlmanacApi(new Uri($"http://127.0.0.1:{u}"), new Uri($"http://127.0.0.1:{h}"));
    var traceIds = new List<string>();
    void OnTraceId(string id)
    {
        lock (traceIds)
        {
            traceIds.Add(id);
        }
    }

    // About a thousand sampled ids per phase: decoding a request for its id is not free at full speed.
    int Every(long spans) => (int)Math.Max(1, spans / 512 / 1000);

    var almanac = Child.Start(serverDll, serverArgs, Path.Combine(workDir, "almanac.log"));
    try
    {
        var started = Stopwatch.StartNew();
        await api.WaitReadyAsync(TimeSpan.FromMinutes(2), () => almanac.Exited);
        run.StartToReady = started.Elapsed;
        await Task.Delay(5000);
        run.IdleRssFresh = ProcStat.Memory(almanac.Pid).Rss;

        long stored = 0;
        if (options.FirstLevel > 0)
        {
            Console.Error.WriteLine($"== Almanac: storing {options.FirstLevel:N0} spans");
            run.Fills.Add(await Ingest.RunAsync("fill", target, options, almanac.Pid, null, options.FirstLevel, OnTraceId, Every(options.FirstLevel)));
            stored += run.Fills[^1].Summary.SpansAccepted;
            await api.WaitStoredAsync(TimeSpan.FromMinutes(30));
            // As at the second level: lookups made while the store still checkpoints the burst measure that instead.
            await SettleAsync(dataDir);
            run.ByIdLevels.Add(await TraceByIdAsync(api, options, traceIds, stored));
        }

        Console.Error.WriteLine($"== Almanac: sustained ingest, {options.Duration.TotalSeconds:F0} s");
        run.Target = await Ingest.RunAsync("Almanac", target, options, almanac.Pid, options.Duration, null, OnTraceId, Every((long)(options.Duration.TotalSeconds * 100_000)));
        stored += run.Target.Summary.SpansAccepted;

        if (options.Spans > stored)
        {
            Console.Error.WriteLine($"== Almanac: storing {options.Spans - stored:N0} more spans (to {options.Spans:N0})");
            run.Fills.Add(await Ingest.RunAsync("fill", target, options, almanac.Pid, null, options.Spans - stored, OnTraceId, Every(options.Spans - stored)));
            stored += run.Fills[^1].Summary.SpansAccepted;
        }

        run.PeakRss = ProcStat.Memory(almanac.Pid).Peak;
        Console.Error.WriteLine("== Almanac: waiting for the store to catch up and settle");
        run.CatchUp = await api.WaitStoredAsync(TimeSpan.FromMinutes(60));
        run.BytesLive = await SettleAsync(dataDir);
        run.SpansStored = stored;

        run.ByIdLevels.Add(await TraceByIdAsync(api, options, traceIds, stored));
        Console.Error.WriteLine("== Almanac: searches");
        string[] sample;
        lock (traceIds)
        {
            sample = traceIds.Take(20).ToArray();
        }

        run.Searches = await SearchAsync(api, options, await api.FindTagValueAsync(sample, "frontend", "enduser.id"));
        run.RssAfterQueries = ProcStat.Memory(almanac.Pid).Rss;
        // Almanac gives memory back after 30 s without ingest or queries (IdleMemoryService); 45 s covers its 5 s looks.
        Console.Error.WriteLine("== Almanac: idle for 45 s");
        await Task.Delay(TimeSpan.FromSeconds(45));
        run.IdleRssAfterLoad = ProcStat.Memory(almanac.Pid).Rss;

        Console.Error.WriteLine("== Almanac: clean shutdown, size on disk, restart");
        run.Shutdown = await almanac.StopAsync(TimeSpan.FromMinutes(10));
        await almanac.DisposeAsync();
        run.BytesAfterShutdown = Child.DirectoryBytes(dataDir);
        run.StoreBytesAfterShutdown = run.BytesAfterShutdown - Child.DirectoryBytes(Path.Combine(dataDir, "wal"));
        run.DataFiles = new DirectoryInfo(dataDir).EnumerateFileSystemInfos()
            .Select(e => (e is DirectoryInfo ? e.Name + "/" : e.Name, e is DirectoryInfo d ? Child.DirectoryBytes(d.FullName) : ((FileInfo)e).Length))
            .OrderBy(e => e.Item1, StringComparer.Ordinal)
            .ToList();

        almanac = Child.Start(serverDll, serverArgs, Path.Combine(workDir, "almanac-restart.log"));
        var restarted = Stopwatch.StartNew();
        await api.WaitReadyAsync(TimeSpan.FromMinutes(10), () => almanac.Exited);
        run.RestartToReady = restarted.Elapsed;

        Console.Error.WriteLine("== Almanac: opening big traces in Chromium");
        run.Ui = await UiTiming.MeasureAsync(api, options.UiSpans, options.UiRepeats);
    }
    finally
    {
        await almanac.DisposeAsync();
    }
}

static async Task<ByIdLevel> TraceByIdAsync(AlmanacApi api, BenchOptions options, List<string> traceIds, long stored)
{
    Console.Error.WriteLine($"== Almanac: trace by id with {stored:N0} spans stored");
    string[] found;
    string[] warmUp;
    lock (traceIds)
    {
        var shuffled = traceIds.OrderBy(_ => Random.Shared.Next()).ToArray();
        found = shuffled.Take(options.Lookups).ToArray();
        warmUp = shuffled.Skip(options.Lookups).Take(options.Lookups).ToArray();
    }

    // Untimed lookups of other ids first: a fresh process's first few hundred ran before the JIT had optimised the
    // path (p99 10.6 ms in the first 500 lookups on 1M spans, 3.3 ms by the fourth 500), which made the first level
    // look slower than the second; other ids, so the timed ones still read their spans from the file.
    await api.TimeAsync("warm-up", warmUp.Length > 0 ? warmUp.Select(id => "/api/traces/" + id).ToArray() : ["/api/traces/" + found[0]],
        options.Lookups, HttpStatusCode.OK);
    var missing = Enumerable.Range(0, options.Lookups).Select(_ => Convert.ToHexStringLower(AlmanacApi.RandomBytes(16))).ToArray();
    var foundMs = await api.TimeAsync("found", found.Select(id => "/api/traces/" + id).ToArray(), options.Lookups, HttpStatusCode.OK, $"{found.Length} distinct ids");
    var missingMs = await api.TimeAsync("not found", missing.Select(id => "/api/traces/" + id).ToArray(), options.Lookups, HttpStatusCode.NotFound);
    return new ByIdLevel(stored, foundMs, missingMs);
}

static async Task<IReadOnlyList<Latencies>> SearchAsync(AlmanacApi api, BenchOptions options, string? userId)
{
    // A value of a high-cardinality key that is stored (the generator repeats its values every --templates requests,
    // so it matches several traces), or, when none was found, one that is not stored (a scan for nothing).
    var needle = userId is null
        ? ("attribute equality, value not stored (enduser.id)", "user-0")
        : ("attribute equality, high-cardinality key (enduser.id)", userId);
    // What a user types into the search form (Jaeger UI's default limit is 20), on the load generator's data.
    (string Label, string Path)[] searches =
    [
        ("service", "/api/traces?service=checkout&lookback=2d&limit=20"),
        ("service + operation", "/api/traces?service=frontend&operation=" + Uri.EscapeDataString("GET /api/users/{id}") + "&lookback=2d&limit=20"),
        ("attribute equality (http.response.status_code=500)", "/api/traces?service=frontend&tags=" + Uri.EscapeDataString("{\"http.response.status_code\":\"500\"}") + "&lookback=2d&limit=20"),
        (needle.Item1, "/api/traces?service=frontend&tags=" + Uri.EscapeDataString("{\"enduser.id\":\"" + needle.Item2 + "\"}") + "&lookback=2d&limit=20"),
        ("duration range (300ms–400ms)", "/api/traces?service=frontend&minDuration=300ms&maxDuration=400ms&lookback=2d&limit=20"),
        ("1-hour lookback", "/api/traces?service=cart&lookback=1h&limit=20"),
        ("2-day lookback", "/api/traces?service=cart&lookback=2d&limit=20"),
    ];
    var results = new List<Latencies>();
    foreach (var (label, path) in searches)
    {
        var matched = await api.CountResultsAsync(path);
        var latencies = await api.TimeAsync(label, [path], options.SearchRepeats, HttpStatusCode.OK, $"{matched} traces returned");
        Console.Error.WriteLine($"  {label}: p50 {latencies.Percentile(50):F1} ms, p99 {latencies.Percentile(99):F1} ms ({matched} traces)");
        results.Add(latencies);
    }

    return results;
}

/// <summary>Waits until the data directory stops changing for 15 s (background checkpoint, WAL deletion), at most 10 min.</summary>
static async Task<long> SettleAsync(string dataDir)
{
    var last = Child.DirectoryBytes(dataDir);
    var stable = Stopwatch.StartNew();
    var total = Stopwatch.StartNew();
    while (stable.Elapsed < TimeSpan.FromSeconds(15) && total.Elapsed < TimeSpan.FromMinutes(10))
    {
        await Task.Delay(1000);
        var now = Child.DirectoryBytes(dataDir);
        if (now != last)
        {
            last = now;
            stable.Restart();
        }
    }

    return last;
}

namespace Almanac.Bench
{
    internal sealed record ByIdLevel(long Spans, Latencies Found, Latencies NotFound);

    /// <summary>Everything one run measured; the report is written from it.</summary>
    internal sealed class RunRecord
    {
        public required BenchOptions Options { get; init; }

        public required MachineInfo Machine { get; init; }

        public required string Commit { get; init; }

        public DateTime StartedUtc { get; init; }

        /// <summary>Share of all cores busy in the 5 s before the run started (<see cref="QuietMachine"/>).</summary>
        public double BusyBeforeStart { get; init; }

        /// <summary>How long the harness waited for the machine to go quiet.</summary>
        public TimeSpan SettleWaited { get; init; }

        public IngestResult? Sink { get; set; }

        public IngestResult? Target { get; set; }

        public List<IngestResult> Fills { get; } = [];

        public long? TargetRss { get; set; }

        public TimeSpan? StartToReady { get; set; }

        public long? IdleRssFresh { get; set; }

        public long? IdleRssAfterLoad { get; set; }

        public long? RssAfterQueries { get; set; }

        public long? PeakRss { get; set; }

        public TimeSpan? CatchUp { get; set; }

        public long SpansStored { get; set; }

        public long? BytesLive { get; set; }

        public long? BytesAfterShutdown { get; set; }

        public long? StoreBytesAfterShutdown { get; set; }

        /// <summary>The data directory's entries after the clean shutdown, with their sizes (a directory's is its files').</summary>
        public IReadOnlyList<(string Name, long Bytes)> DataFiles { get; set; } = [];

        public TimeSpan? Shutdown { get; set; }

        public TimeSpan? RestartToReady { get; set; }

        public List<ByIdLevel> ByIdLevels { get; } = [];

        public IReadOnlyList<Latencies> Searches { get; set; } = [];

        public IReadOnlyList<Latencies> Ui { get; set; } = [];
    }

    internal static class Repo
    {
        public static string Root()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Almanac.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("run the harness from the repository's build output (bench/run.sh)");
        }

        public static string Commit(string root)
        {
            var psi = new ProcessStartInfo("git", ["-C", root, "rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true };
            using var git = Process.Start(psi)!;
            var commit = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            using var status = Process.Start(new ProcessStartInfo("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"]) { RedirectStandardOutput = true })!;
            var dirty = status.StandardOutput.ReadToEnd().Trim().Length > 0;
            status.WaitForExit();
            return string.IsNullOrEmpty(commit) ? "unknown" : dirty ? commit + "-dirty" : commit;
        }
    }
}
