using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Story;

/// <summary>One of the story's three processes (`dotnet some.dll ...`): started, watched until ready, stopped gently.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Queue<string> _lines = new();
    private readonly Process _process;
    private readonly bool _echo;

    private ChildProcess(string name, Process process, bool echo)
    {
        Name = name;
        _process = process;
        _echo = echo;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process printed.</summary>
    public string RecentOutput
    {
        get
        {
            lock (_lines)
            {
                return string.Join(Environment.NewLine, _lines);
            }
        }
    }

    public static ChildProcess Start(string name, string dll, IEnumerable<string> args, IDictionary<string, string> environment, bool echo)
    {
        // In its own session (setsid) where there is one, so a terminal's Ctrl-C reaches only the driver, which
        // then stops the three in order: dice and responder first (flushing their spans), Almanac last.
        var setsid = OperatingSystem.IsLinux() && File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null;
        var psi = new ProcessStartInfo(setsid ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (setsid is not null)
        {
            psi.ArgumentList.Add("dotnet");
        }

        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + name);
        var child = new ChildProcess(name, process, echo);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 200.</summary>
    public async Task WaitUntilReadyAsync(Uri url, TimeSpan timeout, CancellationToken cancellation)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:{Environment.NewLine}{RecentOutput}");
            }

            try
            {
                using var response = await http.GetAsync(url, cancellation);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellation.IsCancellationRequested)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} was not ready at {url} within {timeout.TotalSeconds:0} s:{Environment.NewLine}{RecentOutput}");
            }

            await Task.Delay(100, cancellation);
        }
    }

    /// <summary>SIGTERM (as Ctrl-C would), then waits; kills it if it has not exited by <paramref name="timeout"/>.
    /// Returns the exit code, or null if it had to be killed.</summary>
    public async Task<int?> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return _process.ExitCode;
        }

        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return null;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return null;
        }
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

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > KeptLines)
            {
                _lines.Dequeue();
            }
        }

        if (_echo)
        {
            var text = new StringBuilder().Append('[').Append(Name).Append("] ").Append(line).ToString();
            Console.WriteLine(text);
        }
    }
}
