using System.Globalization;

namespace Almanac.Bench;

/// <summary>What to measure and how big; defaults are the full run the benchmark issue asks for.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        almanac-bench: the one-command benchmark (bench/run.sh builds Release and runs this).

          --duration T        sustained full-speed ingest, against the null sink and the target (default 60s)
          --spans N           spans stored before the 10M-level queries and the bytes/span figure (default 10000000)
          --first-level N     spans stored for the first trace-by-id level (default 1000000; 0 = skip)
          --exporters N       concurrent OTLP exporters (default 4)
          --templates N       distinct pre-encoded requests the load cycles through (default 128: attribute values
                              repeat every 65,536 spans, not every 4,096 as with almanac-load's default 8)
          --protocol P        grpc | http/protobuf | http/json (default grpc)
          --lookups N         trace-by-id lookups per kind (found, not found) and level (default 500)
          --search-repeats N  runs of each search (default 50)
          --ui-spans LIST     trace sizes opened in Chromium, comma-separated (default 10000,100000; "" = skip)
          --ui-repeats N      page opens per trace size (default 3)
          --endpoint URL      measure another OTLP backend (loopback) instead of a fresh Almanac: ingest only
          --pid N             with --endpoint: that backend's process, for CPU and RSS
          --work-dir DIR      data directories go under it, deleted afterwards (default /tmp)
          --out DIR           results folder (default bench/results)
          --keep-data         do not delete Almanac's data directory at the end
          --settle T          wait up to this long for the machine to go quiet (at most 10% of its cores busy
                              over 5 s) before starting, e.g. after the build (default 120s; 0 = start at once)
        """;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    public long Spans { get; init; } = 10_000_000;

    public long FirstLevel { get; init; } = 1_000_000;

    public int Exporters { get; init; } = 4;

    /// <summary>
    /// The load repeats its attribute values (user ids, paths with ids, addresses) every this many requests. With
    /// almanac-load's default 8 they recur every 4,096 spans, close enough for DuckDB's per-segment dictionaries to
    /// store each once, which flattered bytes per span (ADR 0008); 128 keeps the benchmark's values nearly unique.
    /// </summary>
    public int Templates { get; init; } = 128;

    public string Protocol { get; init; } = "grpc";

    public int Lookups { get; init; } = 500;

    public int SearchRepeats { get; init; } = 50;

    public IReadOnlyList<int> UiSpans { get; init; } = [10_000, 100_000];

    public int UiRepeats { get; init; } = 3;

    public Uri? Endpoint { get; init; }

    public int? Pid { get; init; }

    public string WorkDir { get; init; } = "/tmp";

    public string? Out { get; init; }

    public bool KeepData { get; init; }

    /// <summary>
    /// How long to wait for a quiet machine before starting. The build just before a run keeps both cores busy for a
    /// minute, and the load average it leaves takes minutes more to decay, so runs started straight after it were
    /// flagged as loaded (load 1.3–1.5) although nothing else was running by then.
    /// </summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(120);

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            if (flag == "--keep-data")
            {
                o = o with { KeepData = true };
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{flag} needs a value");
            }

            var value = args[++i];
            o = flag switch
            {
                "--duration" => o with { Duration = ParseDuration(value) },
                "--spans" => o with { Spans = ParseCount(value, flag) },
                "--first-level" => o with { FirstLevel = ParseCount(value, flag, allowZero: true) },
                "--exporters" => o with { Exporters = (int)ParseCount(value, flag) },
                "--templates" => o with { Templates = (int)ParseCount(value, flag) },
                "--protocol" => value is "grpc" or "http/protobuf" or "http/json" ? o with { Protocol = value } : throw new ArgumentException("--protocol is grpc, http/protobuf or http/json"),
                "--lookups" => o with { Lookups = (int)ParseCount(value, flag) },
                "--search-repeats" => o with { SearchRepeats = (int)ParseCount(value, flag) },
                "--ui-spans" => o with { UiSpans = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => (int)ParseCount(v, flag)).ToArray() },
                "--ui-repeats" => o with { UiRepeats = (int)ParseCount(value, flag) },
                "--endpoint" => o with { Endpoint = ParseEndpoint(value) },
                "--pid" => o with { Pid = (int)ParseCount(value, flag) },
                "--work-dir" => o with { WorkDir = value },
                "--out" => o with { Out = value },
                "--settle" => o with { Settle = value is "0" or "0s" ? TimeSpan.Zero : ParseDuration(value) },
                _ => throw new ArgumentException($"unknown option {flag}"),
            };
        }

        if (o.FirstLevel >= o.Spans)
        {
            o = o with { FirstLevel = 0 };
        }

        return o;
    }

    private static Uri ParseEndpoint(string value)
    {
        // The harness sends at full speed: loopback only, like almanac-load itself.
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !uri.IsLoopback)
        {
            throw new ArgumentException("--endpoint must be an absolute loopback URL, e.g. http://127.0.0.1:4317");
        }

        return uri;
    }

    private static long ParseCount(string value, string flag, bool allowZero = false)
    {
        var text = value.Replace("_", string.Empty, StringComparison.Ordinal);
        var multiplier = 1L;
        if (text.EndsWith('M') || text.EndsWith('k'))
        {
            multiplier = text.EndsWith('M') ? 1_000_000 : 1_000;
            text = text[..^1];
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0 || (n == 0 && !allowZero))
        {
            throw new ArgumentException($"{flag} needs a positive number, got '{value}'");
        }

        return (long)(n * multiplier);
    }

    public static TimeSpan ParseDuration(string value)
    {
        var units = new (string Suffix, double Seconds)[] { ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600) };
        foreach (var (suffix, seconds) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(value[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                return TimeSpan.FromSeconds(n * seconds);
            }
        }

        throw new ArgumentException($"bad duration '{value}' (e.g. 60s, 2m)");
    }
}
