using System.Diagnostics;
using Almanac.Load;

namespace Almanac.Bench;

/// <summary>One second of an ingest run: spans acknowledged in it, and the target process's CPU and memory.</summary>
internal sealed record Sample(double Second, long Spans, double CpuCores, long Rss);

/// <param name="GeneratorCpuSeconds">The load generator's CPU (it runs in the harness's process).</param>
/// <param name="MachineBusy">Share of all cores busy during the run (not idle, not waiting for I/O).</param>
/// <param name="MachineIowait">Share of all cores waiting for I/O during the run.</param>
internal sealed record IngestResult(
    string Label,
    TraceLoadSummary Summary,
    IReadOnlyList<Sample> Samples,
    double? CpuSeconds,
    long? PeakRss,
    double GeneratorCpuSeconds,
    double MachineBusy,
    double MachineIowait)
{
    /// <summary>Target CPU per acknowledged span, in microseconds (null when the target's process is unknown).</summary>
    public double? CpuMicrosPerSpan => CpuSeconds is { } cpu && Summary.SpansAccepted > 0 ? cpu * 1e6 / Summary.SpansAccepted : null;
}

/// <summary>Runs almanac-load's trace load in this process while sampling the target once a second.</summary>
internal static class Ingest
{
    public static async Task<IngestResult> RunAsync(
        string label, Uri endpoint, BenchOptions options, int? targetPid, TimeSpan? duration, long? spans,
        Action<string>? onTraceId = null, int traceIdEvery = 1)
    {
        var load = new TraceLoad(new TraceLoadOptions
        {
            Endpoint = endpoint,
            Protocol = options.Protocol switch { "http/protobuf" => Protocol.HttpProtobuf, "http/json" => Protocol.HttpJson, _ => Protocol.Grpc },
            Exporters = options.Exporters,
            Templates = options.Templates,
            Duration = duration ?? TimeSpan.FromSeconds(60),
            Spans = spans,
            // A 10M-span fill at tens of thousands of spans/s on a loaded machine takes a while; the harness bounds it.
            Timeout = TimeSpan.FromHours(3),
            OnAcceptedTraceId = onTraceId,
            AcceptedTraceIdEvery = traceIdEvery,
        });

        var samples = new List<Sample>();
        var cpuStart = targetPid is { } p0 && ProcStat.Alive(p0) ? ProcStat.CpuSeconds(p0) : (double?)null;
        var machineStart = MachineCpu.Now();
        var generatorStart = Process.GetCurrentProcess().TotalProcessorTime;
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var sampler = Task.Run(async () =>
        {
            long lastSpans = 0;
            var lastCpu = cpuStart ?? 0;
            var lastTime = 0.0;
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    var now = clock.Elapsed.TotalSeconds;
                    var accepted = load.SpansAccepted;
                    double cores = 0;
                    long rss = 0;
                    if (targetPid is { } pid && ProcStat.Alive(pid))
                    {
                        var cpu = ProcStat.CpuSeconds(pid);
                        cores = (cpu - lastCpu) / (now - lastTime);
                        lastCpu = cpu;
                        rss = ProcStat.Memory(pid).Rss;
                    }

                    samples.Add(new Sample(Math.Round(now), (long)((accepted - lastSpans) / (now - lastTime)), cores, rss));
                    if (samples.Count % 10 == 0)
                    {
                        Console.Error.WriteLine($"  {label}: {now,5:F0}s  {accepted:N0} spans acknowledged");
                    }

                    lastSpans = accepted;
                    lastTime = now;
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var summary = await load.RunAsync(CancellationToken.None);
        var (machineBusy, machineIowait) = MachineCpu.Between(machineStart, MachineCpu.Now());
        var generatorCpu = (Process.GetCurrentProcess().TotalProcessorTime - generatorStart).TotalSeconds;
        await stop.CancelAsync();
        await sampler;
        double? cpuSeconds = null;
        long? peak = null;
        if (targetPid is { } pid && cpuStart is { } start && ProcStat.Alive(pid))
        {
            cpuSeconds = ProcStat.CpuSeconds(pid) - start;
            peak = ProcStat.Memory(pid).Peak;
        }

        return new IngestResult(label, summary, samples, cpuSeconds, peak, generatorCpu, machineBusy, machineIowait);
    }
}
