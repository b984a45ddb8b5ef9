using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Almanac.Bench;

/// <summary>The machine a run happened on, as the results file states it.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Memory, string Os, string DotNet, string LoadAverage)
{
    public static MachineInfo Read()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "Linux"
            : System.Runtime.InteropServices.RuntimeInformation.OSDescription;
        return new MachineInfo(
            cpu,
            Environment.ProcessorCount,
            $"{long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0:F1} GiB",
            $"{os}, kernel {Environment.OSVersion.Version}",
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            LoadAvg());
    }

    public static string LoadAvg() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}

/// <summary>
/// The whole machine's CPU ticks (/proc/stat): with the load generator, the target, the kernel's network and disk work
/// all on the same cores, how busy the machine was says whether a target's rate is bound by its own work or by a
/// machine with nothing left to give.
/// </summary>
internal readonly record struct MachineCpu(long Busy, long Iowait, long Total)
{
    public static MachineCpu Now()
    {
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user and nice)
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ticks = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = ticks[3];
        var iowait = ticks[4];
        var total = ticks.Sum();
        return new MachineCpu(total - idle - iowait, iowait, total);
    }

    /// <summary>Shares of all cores' time between two readings: busy (anything but idle and waiting for I/O) and I/O wait.</summary>
    public static (double Busy, double Iowait) Between(MachineCpu start, MachineCpu end)
    {
        var total = Math.Max(1, end.Total - start.Total);
        return ((double)(end.Busy - start.Busy) / total, (double)(end.Iowait - start.Iowait) / total);
    }
}

/// <summary>How busy the machine is before a run starts, and waiting for it to go quiet.</summary>
internal static class QuietMachine
{
    /// <summary>Share of all cores busy over <see cref="Window"/> at or under which the machine counts as quiet.</summary>
    public const double QuietBusy = 0.10;

    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Looks at the machine's CPU over <see cref="Window"/> until it is quiet or <paramref name="max"/> has passed;
    /// returns the last window's busy share and how long it waited. What counts is what the cores do now, not the
    /// load average, which still shows a build that ended a minute ago.
    /// </summary>
    public static async Task<(double Busy, TimeSpan Waited)> WaitAsync(TimeSpan max)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var start = MachineCpu.Now();
            await Task.Delay(Window);
            var (busy, _) = MachineCpu.Between(start, MachineCpu.Now());
            if (busy <= QuietBusy || waited.Elapsed >= max)
            {
                return (busy, waited.Elapsed);
            }
        }
    }
}

/// <summary>CPU time and memory of one process, read from /proc (Linux only, like the rest of the harness).</summary>
internal static class ProcStat
{
    // utime and stime are in clock ticks; USER_HZ is 100 on every Linux the project runs on.
    private const double TicksPerSecond = 100.0;

    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / TicksPerSecond;
    }

    /// <summary>VmRSS (now) and VmHWM (peak since start) in bytes.</summary>
    public static (long Rss, long Peak) Memory(int pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kb(line);
            }
        }

        return (rss, peak);

        static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    public static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat");
}

/// <summary>A child process (Almanac or the null sink) the harness started and stops.</summary>
internal sealed class Child : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _disposed;

    private Child(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public int Pid => _process.Id;

    public bool Exited => _process.HasExited;

    public static Child Start(string dll, IEnumerable<string> args, string logPath)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Child(process, log);
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    /// <summary>SIGTERM, then wait (a clean shutdown lets Almanac checkpoint); SIGKILL only if it will not go.</summary>
    public async Task<TimeSpan> StopAsync(TimeSpan patience)
    {
        var watch = Stopwatch.StartNew();
        if (_process.HasExited)
        {
            return TimeSpan.Zero;
        }

        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(patience);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"  process {_process.Id} ignored SIGTERM for {patience}; killing it");
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        return watch.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync(TimeSpan.FromMinutes(2));
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static long DirectoryBytes(string path) =>
        Directory.Exists(path) ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;
}
