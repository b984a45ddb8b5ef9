using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>
/// The real <c>almanac</c> executable in a child process, on free loopback ports, with its own data directory —
/// the way a user runs it. Restartable on the same data directory; killable with SIGKILL.
/// </summary>
public sealed class AlmanacProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    private AlmanacProcess(string dataDir, bool ownsDataDir, string[] extraArgs, IReadOnlyDictionary<string, string?>? environment = null)
    {
        DataDir = dataDir;
        OwnsDataDir = ownsDataDir;
        ExtraArgs = extraArgs;
        Environment = environment ?? new Dictionary<string, string?>();
        PickPorts();
    }

    public string DataDir { get; }

    public bool OwnsDataDir { get; }

    public string[] ExtraArgs { get; }

    /// <summary>Variables set (or, when null, removed) in the environment almanac starts with.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; }

    /// <summary>The running process's id (the one started: almanac may replace its image, never its process).</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("almanac is not started");

    public int GrpcPort { get; private set; }

    public int HttpPort { get; private set; }

    public int UiPort { get; private set; }

    public Uri GrpcEndpoint => new($"http://127.0.0.1:{GrpcPort}");

    public Uri HttpEndpoint => new($"http://127.0.0.1:{HttpPort}");

    public Uri UiEndpoint => new($"http://127.0.0.1:{UiPort}");

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

    public static Task<AlmanacProcess> StartAsync(string? dataDir = null, params string[] extraArgs) => StartCoreAsync(dataDir, extraArgs, environment: null);

    /// <summary>Starts almanac on a fresh data directory with <paramref name="environment"/> applied to its environment.</summary>
    public static Task<AlmanacProcess> StartWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment) =>
        StartCoreAsync(dataDir: null, [], environment);

    private static async Task<AlmanacProcess> StartCoreAsync(string? dataDir, string[] extraArgs, IReadOnlyDictionary<string, string?>? environment)
    {
        var owns = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "almanac-e2e-" + Guid.NewGuid().ToString("N"));
        var almanac = new AlmanacProcess(dataDir, owns, extraArgs, environment);
        await almanac.StartProcessAsync();
        return almanac;
    }

    /// <summary>The repository root (where Almanac.slnx is), found above the test assembly.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Almanac.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Almanac.slnx) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A project's built dll, in the same configuration (Debug/Release) as the tests.</summary>
    public static string BuiltDll(string projectDirectory, string assemblyName)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(RepositoryRoot, projectDirectory, "bin", configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the solution first; {assemblyName}.dll not found", dll);
    }

    /// <summary>Path of the built almanac.dll beside this test assembly's configuration.</summary>
    public static string ServerDll() => BuiltDll(Path.Combine("src", "Almanac.Server"), "almanac");

    /// <summary>Runs almanac to completion with the given arguments (for --help and bad options).</summary>
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunToExitAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ServerDll());
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Starts almanac on the data directory and waits until it is ready. This machine is shared: another process can
    /// take one of the ports between <see cref="FreePorts"/> and the bind, or while a restart has them released; then
    /// almanac says so and exits, and it is started again on fresh ports (the endpoints change, the data does not).
    /// </summary>
    public async Task StartProcessAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync();
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                _process?.Dispose();
                PickPorts();
            }
        }
    }

    /// <summary>Three distinct ports (almanac refuses to start when two of them are the same).</summary>
    private void PickPorts()
    {
        var ports = FreePorts(3);
        GrpcPort = ports[0];
        HttpPort = ports[1];
        UiPort = ports[2];
    }

    private async Task StartOnceAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ServerDll());
        foreach (var a in new[] { "--data-dir", DataDir, "--otlp-grpc-port", $"{GrpcPort}", "--otlp-http-port", $"{HttpPort}", "--ui-port", $"{UiPort}" }.Concat(ExtraArgs))
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in Environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(name);
            }
            else
            {
                psi.Environment[name] = value;
            }
        }

        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"almanac exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(UiEndpoint, "/readyz"));
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

            await Task.Delay(100);
        }

        throw new TimeoutException("almanac did not become ready:\n" + Output);
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing — what survives is what was durable.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, as a service manager or Ctrl-C would, and wait for a clean exit.</summary>
    public async Task<int> StopGracefullyAsync(TimeSpan timeout)
    {
        if (_process is null || _process.HasExited)
        {
            return _process?.ExitCode ?? 0;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async Task RestartAsync()
    {
        await StopGracefullyAsync(TimeSpan.FromSeconds(30));
        await StartProcessAsync();
    }

    public async Task KillAndRestartAsync()
    {
        await KillAsync();
        await StartProcessAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        if (OwnsDataDir && Directory.Exists(DataDir))
        {
            try
            {
                Directory.Delete(DataDir, recursive: true);
            }
            catch (IOException)
            {
            }
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

    /// <summary>
    /// A loopback port free at the time of asking. For more than one port for the same process use
    /// <see cref="FreePorts"/>: this one releases the port as it returns, so a second call can return it again.
    /// </summary>
    public static int FreePort() => FreePorts(1)[0];

    /// <summary>
    /// <paramref name="count"/> different loopback ports, free at the time of asking. Every listener stays bound
    /// until all the ports are picked, so the system cannot hand out the same port twice (picking them one at a time
    /// did, once: "--otlp-grpc-port, --otlp-http-port and --ui-port must differ (got 38617, 38617, 36839)").
    /// </summary>
    public static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listeners.Add(listener);
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }
}
