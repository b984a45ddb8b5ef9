using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Almanac.Server.Tests.EndToEnd;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>A built sample (dice, responder, the story driver) run as `dotnet some.dll` in a child process,
/// with its output kept for assertions.</summary>
public sealed class SampleProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;

    private SampleProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public Uri? BaseUrl { get; private init; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts dice or responder on a free loopback port and waits until it answers /healthz.</summary>
    public static async Task<SampleProcess> StartServiceAsync(string name, IDictionary<string, string> environment)
    {
        var port = AlmanacProcess.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        var process = Start(name, Dll(name), ["--urls", $"http://127.0.0.1:{port}"], environment);
        var sample = new SampleProcess(name, process.Process) { BaseUrl = url };
        process.Attach(sample);
        await sample.WaitForHealthAsync();
        return sample;
    }

    /// <summary>Starts a sample program with arguments, without waiting for anything.</summary>
    public static SampleProcess StartProgram(string name, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var process = Start(name, Dll(name), args, environment ?? new Dictionary<string, string>());
        var sample = new SampleProcess(name, process.Process);
        process.Attach(sample);
        return sample;
    }

    /// <summary>Path of a sample's built dll, in the same configuration as the tests.</summary>
    public static string Dll(string name) => AlmanacProcess.BuiltDll(Path.Combine("samples", name), name);

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Output))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"{Name}: {what} not seen{(_process.HasExited ? $" (exited with {_process.ExitCode})" : "")}:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends a signal (SIGTERM, SIGINT) as a service manager or Ctrl-C would.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout}:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async Task<int> StopGracefullyAsync()
    {
        if (!_process.HasExited)
        {
            await SignalAsync("TERM");
        }

        return await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task WaitForHealthAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUrl!, "/healthz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} did not become ready:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static Started Start(string name, string dll, IEnumerable<string> args, IDictionary<string, string> environment)
    {
        // Through env, with SIGINT back to its default: a shell starting the tests as a background job (CI's runner can)
        // sets SIGINT to ignored, every child inherits that, and .NET leaves an ignored SIGINT ignored, so Ctrl-C
        // (SignalAsync("INT")) would never reach the sample. env then execs dotnet: the process id stays the sample's.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--default-signal=INT");
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // A clean slate: nothing from the test runner's own environment decides where telemetry goes.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k is "ASPNETCORE_URLS" or "SLOW_API_URL").ToList())
        {
            psi.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        return new Started(Process.Start(psi) ?? throw new InvalidOperationException("could not start " + name));
    }

    private sealed record Started(Process Process)
    {
        public void Attach(SampleProcess sample)
        {
            Process.OutputDataReceived += (_, e) => sample.Append(e.Data);
            Process.ErrorDataReceived += (_, e) => sample.Append(e.Data);
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }
    }
}
