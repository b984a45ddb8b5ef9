using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Story;

var options = StoryOptions.Parse(args, out var error);
if (options is null)
{
    if (error is { Length: > 0 })
    {
        Console.Error.WriteLine("story: " + error);
        return 2;
    }

    Console.WriteLine(StoryOptions.Help);
    return 0;
}

var dlls = BuiltDlls.Find();
foreach (var (what, port) in new[]
{
    ("--otlp-grpc-port", options.OtlpGrpcPort), ("--otlp-http-port", options.OtlpHttpPort), ("--ui-port", options.UiPort),
    ("--responder-port", options.ResponderPort), ("--dice-port", options.DicePort),
})
{
    if (!PortIsFree(port))
    {
        Console.Error.WriteLine($"story: port {port} is in use (a Jaeger all-in-one, another Almanac or an earlier story?); stop it or pick another with {what}");
        return 1;
    }
}

using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var ui = new Uri($"http://127.0.0.1:{options.UiPort}");
var responderUrl = new Uri($"http://127.0.0.1:{options.ResponderPort}/");
var diceUrl = new Uri($"http://127.0.0.1:{options.DicePort}/");
var children = new List<ChildProcess>();
var exitCode = 0;
try
{
    Console.WriteLine("Starting Almanac, the responder and the dice service...");
    var almanac = ChildProcess.Start(
        "almanac",
        dlls.Almanac,
        ["--data-dir", options.DataDir, "--otlp-grpc-port", $"{options.OtlpGrpcPort}", "--otlp-http-port", $"{options.OtlpHttpPort}", "--ui-port", $"{options.UiPort}"],
        new Dictionary<string, string>(),
        options.Verbose);
    children.Add(almanac);
    await almanac.WaitUntilReadyAsync(new Uri(ui, "/readyz"), TimeSpan.FromSeconds(60), stop.Token);

    var telemetry = ServiceEnvironment(options);
    var responder = ChildProcess.Start(
        "responder", dlls.Responder, ["--urls", responderUrl.ToString().TrimEnd('/')], telemetry, options.Verbose);
    children.Add(responder);
    var dice = ChildProcess.Start(
        "dice",
        dlls.Dice,
        ["--urls", diceUrl.ToString().TrimEnd('/')],
        new Dictionary<string, string>(telemetry) { ["SLOW_API_URL"] = responderUrl.ToString() },
        options.Verbose);
    children.Add(dice);
    await responder.WaitUntilReadyAsync(new Uri(responderUrl, "/healthz"), TimeSpan.FromSeconds(60), stop.Token);
    await dice.WaitUntilReadyAsync(new Uri(diceUrl, "/healthz"), TimeSpan.FromSeconds(60), stop.Token);

    Console.WriteLine($"""

          Almanac     {ui}   search: {ui}search?service=dice&lookback=1h
                      metrics: {ui}metrics?service=dice&name=dice.rolls&groupBy=roll.value
          dice        {diceUrl}rolldice
          responder   {responderUrl}?sleep=500
          propagation {telemetry["OTEL_PROPAGATORS"]}; traces over OTLP/gRPC to :{options.OtlpGrpcPort}

        Rolling the dice every {options.Interval.TotalSeconds:0.#} s. Ctrl-C stops everything.

        """);

    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    for (var i = 0; options.Count is null || i < options.Count; i++)
    {
        if (i > 0)
        {
            await Task.Delay(options.Interval, stop.Token);
        }

        await RollOnceAsync(http, diceUrl, ui, stop.Token);
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}
catch (Exception e) when (e is InvalidOperationException or TimeoutException)
{
    Console.Error.WriteLine("story: " + e.Message);
    exitCode = 1;
}
finally
{
    Console.WriteLine();
    // Reverse order: the services flush their last spans into an Almanac that is still running.
    for (var i = children.Count - 1; i >= 0; i--)
    {
        var code = await children[i].StopAsync(TimeSpan.FromSeconds(15));
        Console.WriteLine(code is null ? $"stopped {children[i].Name} (killed: it did not stop within 15 s)" : $"stopped {children[i].Name}");
        await children[i].DisposeAsync();
    }
}

if (exitCode == 0)
{
    Console.WriteLine($"Traces are kept in {Path.GetFullPath(options.DataDir)}; start Almanac again to look at them.");
}

return exitCode;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

static async Task RollOnceAsync(HttpClient http, Uri diceUrl, Uri ui, CancellationToken cancellation)
{
    var time = DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
    var watch = Stopwatch.StartNew();
    try
    {
        using var response = await http.GetAsync(new Uri(diceUrl, "/rolldice"), cancellation);
        var body = (await response.Content.ReadAsStringAsync(cancellation)).Trim();
        var traceId = response.Headers.TryGetValues("traceresponse", out var values) && values.First().Split('-') is [_, var id, ..] ? id : "?";
        var roll = response.IsSuccessStatusCode ? $"roll {body}" : $"HTTP {(int)response.StatusCode}";
        Console.WriteLine($"{time}  {roll}  {watch.ElapsedMilliseconds,5} ms  trace {traceId}  {ui}trace/{traceId}");
    }
    catch (HttpRequestException e)
    {
        Console.WriteLine($"{time}  failed: {e.Message}");
    }
    catch (TaskCanceledException) when (!cancellation.IsCancellationRequested)
    {
        Console.WriteLine($"{time}  failed: no answer within {http.Timeout.TotalSeconds:0} s");
    }
}

static Dictionary<string, string> ServiceEnvironment(StoryOptions options)
{
    // The standard variables, pointed at our Almanac. What the user exported is kept where it makes sense.
    var protocol = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL");
    var http = protocol is not null && protocol.StartsWith("http", StringComparison.OrdinalIgnoreCase);
    return new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = http ? $"http://127.0.0.1:{options.OtlpHttpPort}" : $"http://127.0.0.1:{options.OtlpGrpcPort}",
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = http ? protocol! : "grpc",
        ["OTEL_PROPAGATORS"] = options.Propagators ?? Environment.GetEnvironmentVariable("OTEL_PROPAGATORS") ?? "tracecontext,baggage",
        ["OTEL_BSP_SCHEDULE_DELAY"] = Environment.GetEnvironmentVariable("OTEL_BSP_SCHEDULE_DELAY") ?? "500",
        // Metrics go to Almanac too (the dice.rolls counter on /metrics), every 5 s so the chart moves with the rolls.
        ["OTEL_METRICS_EXPORTER"] = Environment.GetEnvironmentVariable("OTEL_METRICS_EXPORTER") ?? "otlp",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = Environment.GetEnvironmentVariable("OTEL_METRIC_EXPORT_INTERVAL") ?? "5000",
        // Measurements made inside a sampled span carry its trace id (an exemplar): the chart links a roll to its trace.
        ["OTEL_METRICS_EXEMPLAR_FILTER"] = Environment.GetEnvironmentVariable("OTEL_METRICS_EXEMPLAR_FILTER") ?? "trace_based",
        ["OTEL_LOGS_EXPORTER"] = Environment.GetEnvironmentVariable("OTEL_LOGS_EXPORTER") ?? "otlp",
    };
}

static bool PortIsFree(int port)
{
    try
    {
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        return true;
    }
    catch (SocketException)
    {
        return false;
    }
}

/// <summary>The dlls of the three programs, built beside this one (same configuration).</summary>
internal sealed record BuiltDlls(string Almanac, string Dice, string Responder)
{
    public static BuiltDlls Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Almanac.slnx")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new InvalidOperationException("cannot find the repository (Almanac.slnx) above " + AppContext.BaseDirectory);
        }

        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string Dll(string project, string name)
        {
            var path = Path.Combine(dir.FullName, project, "bin", configuration, "net10.0", name);
            return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: build with `dotnet build samples/Story`");
        }

        return new BuiltDlls(
            Dll(Path.Combine("src", "Almanac.Server"), "almanac.dll"),
            Dll(Path.Combine("samples", "Dice"), "Dice.dll"),
            Dll(Path.Combine("samples", "Responder"), "Responder.dll"));
    }
}
