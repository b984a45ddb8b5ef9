using System.Globalization;
using Almanac.Load;
using Almanac.Load.Templates;

return await Cli.RunAsync(args);

namespace Almanac.Load
{
    public static class Cli
    {
        public const string Usage = """
            almanac-load: OTLP load generator and null sink (loopback only).

            almanac-load traces [options]
              --endpoint URL        default http://127.0.0.1:4317 (for http the path /v1/traces is appended)
              --protocol P          grpc | http/protobuf | http/json (default grpc)
              --exporters N         concurrent senders (default 4)
              --rate R              spans/s over all exporters; 0 = as fast as accepted (default 0)
              --duration T          run time, e.g. 60s, 2m (default 60s)
              --spans N             send exactly N spans instead of running for a duration
              --batch N             spans per request (default 512)
              --shape S             realistic | small (default realistic)
              --services N          services in the realistic shape (default 8)
              --depth N             trace depth (default 4)
              --fanout N            children per span, at most (default 3)
              --error-rate F        fraction of spans with errors (default 0.05)
              --templates N         distinct pre-encoded requests (default 8)
              --gzip                compress requests
              --timeout T           hard stop for the whole run (default 10m)
              --json-summary PATH   write the JSON summary there instead of stdout
              --no-progress         no live line on stderr

            almanac-load logs|metrics [options]
              the same options, sending OTLP logs (log records) or metrics (data points) instead;
              --spans and --rate then count those; protobuf only (grpc, http/protobuf).
              Almanac's logs and metrics receivers store them; the sink counts them.

            almanac-load sink [options]
              --grpc-port N         default 4317
              --http-port N         default 4318
              --count-spans         decode trace requests and count spans
              --duration T          stop after T (default: until Ctrl+C)
              --refuse-first N      answer the first N requests "retry later" (429 / RESOURCE_EXHAUSTED), for testing clients
              --reject-spans N      report N rejected spans in every trace response's partial_success, for testing clients
            """;

        public static async Task<int> RunAsync(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.Out.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }

            try
            {
                var options = ParseFlags(args.AsSpan(1));
                using var cts = new CancellationTokenSource();
                Console.CancelKeyPress += (_, e) =>
                {
                    e.Cancel = true;
                    cts.Cancel();
                };

                // SIGTERM (kill, timeout, a script) stops a run or the sink the same way, with the summary printed.
                using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true;
                    cts.Cancel();
                });
                return args[0] switch
                {
                    "traces" => await TracesAsync(options, Signal.Traces, cts.Token),
                    "logs" => await TracesAsync(options, Signal.Logs, cts.Token),
                    "metrics" => await TracesAsync(options, Signal.Metrics, cts.Token),
                    "sink" => await SinkAsync(options, cts.Token),
                    _ => throw new UsageException($"unknown command '{args[0]}' (traces, logs, metrics, sink)"),
                };
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync("almanac-load: " + ex.Message + "\n\n" + Usage);
                return 2;
            }
        }

        public static TraceLoadOptions ParseTraceOptions(IReadOnlyDictionary<string, string?> flags, Signal signal = Signal.Traces)
        {
            var protocol = Get(flags, "protocol") switch
            {
                null or "grpc" => Protocol.Grpc,
                "http/protobuf" or "http" => Protocol.HttpProtobuf,
                "http/json" => Protocol.HttpJson,
                var other => throw new UsageException($"--protocol: unknown '{other}' (grpc, http/protobuf, http/json)"),
            };
            if (signal != Signal.Traces && protocol == Protocol.HttpJson)
            {
                throw new UsageException("--protocol: logs and metrics are sent as grpc or http/protobuf only");
            }

            var endpoint = new Uri(Get(flags, "endpoint") ?? (protocol == Protocol.Grpc ? "http://127.0.0.1:4317" : "http://127.0.0.1:4318"));
            if (!endpoint.IsLoopback)
            {
                throw new UsageException("--endpoint: only loopback targets (127.0.0.1, localhost, ::1) are allowed");
            }

            var shape = Get(flags, "shape") switch
            {
                null or "realistic" => Shape.Realistic,
                "small" => Shape.Small,
                var other => throw new UsageException($"--shape: unknown '{other}' (realistic, small)"),
            };
            var spans = Get(flags, "spans") is { } s ? (long?)Long(s, "spans", 1) : null;
            var options = new TraceLoadOptions
            {
                Endpoint = endpoint,
                Protocol = protocol,
                Signal = signal,
                Exporters = (int)Long(Get(flags, "exporters") ?? "4", "exporters", 1, 256),
                Rate = Get(flags, "rate") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : 0,
                Duration = Duration(Get(flags, "duration") ?? "60s", "duration"),
                Spans = spans,
                Batch = (int)Long(Get(flags, "batch") ?? "512", "batch", 1, 100_000),
                Shape = new ShapeOptions(
                    shape,
                    Services: (int)Long(Get(flags, "services") ?? "8", "services", 1, 1000),
                    Depth: (int)Long(Get(flags, "depth") ?? "4", "depth", 1, 20),
                    Fanout: (int)Long(Get(flags, "fanout") ?? "3", "fanout", 1, 50),
                    ErrorRate: Get(flags, "error-rate") is { } e ? double.Parse(e, CultureInfo.InvariantCulture) : 0.05),
                Gzip = flags.ContainsKey("gzip"),
                Templates = (int)Long(Get(flags, "templates") ?? "8", "templates", 1, 1000),
                Timeout = Duration(Get(flags, "timeout") ?? "10m", "timeout"),
                Progress = !flags.ContainsKey("no-progress") && !Console.IsErrorRedirected,
            };
            return options;
        }

        private static async Task<int> TracesAsync(Dictionary<string, string?> flags, Signal signal, CancellationToken cancellationToken)
        {
            Known(flags, "endpoint", "protocol", "exporters", "rate", "duration", "spans", "batch", "shape", "services", "depth", "fanout",
                "error-rate", "templates", "gzip", "timeout", "json-summary", "no-progress");
            var options = ParseTraceOptions(flags, signal);
            var load = new TraceLoad(options);
            var unit = signal switch { Signal.Traces => "spans", Signal.Logs => "log records", _ => "data points" };
            await Console.Error.WriteLineAsync(
                $"almanac-load {signal.ToString().ToLowerInvariant()} → {options.Endpoint} ({Get(flags, "protocol") ?? "grpc"}), {options.Exporters} exporters, batch {options.Batch}, " +
                $"{options.Shape.Shape.ToString().ToLowerInvariant()} shape, " +
                (options.Spans is { } n ? $"{n} {unit}" : $"{options.Duration.TotalSeconds:0.#}s") +
                (options.Rate > 0 ? $" at {options.Rate} {unit}/s" : " unthrottled") +
                $"; {load.Templates.Count} templates, {load.Templates[0].Bytes.Length:N0} bytes each");
            var summary = await load.RunAsync(cancellationToken);
            var json = summary.ToJson();
            if (Get(flags, "json-summary") is { } path)
            {
                await File.WriteAllTextAsync(path, json + "\n", CancellationToken.None);
            }
            else
            {
                Console.Out.WriteLine(json);
            }

            await Console.Error.WriteLineAsync(
                $"accepted {summary.SpansAccepted:N0} {unit} ({summary.SpansPerSecond:N0}/s, {summary.WireMegabytesPerSecond:F1} MB/s), rejected {summary.SpansRejected:N0}, " +
                $"failed {summary.SpansFailed:N0}, throttled {summary.Throttled:N0}; latency p50 {summary.Latency.P50} ms, p90 {summary.Latency.P90} ms, " +
                $"p99 {summary.Latency.P99} ms, max {summary.Latency.Max} ms" + (summary.LastError is { } err ? $"; last error: {err}" : string.Empty));
            return summary.SpansFailed == 0 && summary.SpansAccepted > 0 ? 0 : 1;
        }

        private static async Task<int> SinkAsync(Dictionary<string, string?> flags, CancellationToken cancellationToken)
        {
            Known(flags, "grpc-port", "http-port", "count-spans", "duration", "refuse-first", "reject-spans");
            var options = new SinkOptions(
                (int)Long(Get(flags, "grpc-port") ?? "4317", "grpc-port", 1, 65535),
                (int)Long(Get(flags, "http-port") ?? "4318", "http-port", 1, 65535),
                flags.ContainsKey("count-spans"),
                RefuseFirst: (int)Long(Get(flags, "refuse-first") ?? "0", "refuse-first", 0, int.MaxValue),
                RejectSpans: (int)Long(Get(flags, "reject-spans") ?? "0", "reject-spans", 0, int.MaxValue));
            await using var sink = await NullSink.StartAsync(options, cancellationToken);
            await Console.Error.WriteLineAsync($"almanac-load sink: OTLP/gRPC 127.0.0.1:{sink.GrpcPort}, OTLP/HTTP 127.0.0.1:{sink.HttpPort}; Ctrl+C stops");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (Get(flags, "duration") is { } d)
            {
                stop.CancelAfter(Duration(d, "duration"));
            }

            var live = !Console.IsErrorRedirected;
            long lastRequests = 0, lastBytes = 0, lastSpans = 0;
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    if (live)
                    {
                        Console.Error.Write($"\r{sink.Requests - lastRequests,7:N0} req/s  {(sink.Bytes - lastBytes) / 1e6,7:F1} MB/s  {sink.Spans - lastSpans,9:N0} spans/s  total {sink.Requests:N0} req  {sink.Spans:N0} spans   ");
                    }

                    (lastRequests, lastBytes, lastSpans) = (sink.Requests, sink.Bytes, sink.Spans);
                }
            }
            catch (OperationCanceledException)
            {
            }

            Console.Out.WriteLine($"{{\"requests\": {sink.Requests}, \"bytes\": {sink.Bytes}, \"decompressed_bytes\": {sink.DecompressedBytes}, \"spans\": {sink.Spans}, \"errors\": {sink.Errors}}}");
            return 0;
        }

        public static Dictionary<string, string?> ParseFlags(ReadOnlySpan<string> args)
        {
            var flags = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                {
                    throw new UsageException($"unexpected argument '{arg}'");
                }

                var name = arg[2..];
                string? value = null;
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    value = name[(eq + 1)..];
                    name = name[..eq];
                }
                else if (name is not ("gzip" or "count-spans" or "no-progress"))
                {
                    if (i + 1 >= args.Length)
                    {
                        throw new UsageException($"--{name} needs a value");
                    }

                    value = args[++i];
                }

                flags[name] = value;
            }

            return flags;
        }

        public static TimeSpan Duration(string text, string option)
        {
            var units = new (string Suffix, double Seconds)[] { ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600) };
            foreach (var (suffix, seconds) in units)
            {
                if (text.EndsWith(suffix, StringComparison.Ordinal)
                    && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
                {
                    return TimeSpan.FromSeconds(n * seconds);
                }
            }

            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain) && plain > 0
                ? TimeSpan.FromSeconds(plain)
                : throw new UsageException($"--{option}: '{text}' is not a duration (e.g. 20s, 2m)");
        }

        private static void Known(Dictionary<string, string?> flags, params string[] known)
        {
            foreach (var name in flags.Keys)
            {
                if (!known.Contains(name))
                {
                    throw new UsageException($"unknown option --{name}");
                }
            }
        }

        private static string? Get(IReadOnlyDictionary<string, string?> flags, string name) => flags.TryGetValue(name, out var v) ? v : null;

        private static long Long(string text, string option, long min, long max = long.MaxValue) =>
            long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new UsageException($"--{option}: '{text}' must be a whole number from {min} to {max}");
    }

    public sealed class UsageException(string message) : Exception(message);
}
