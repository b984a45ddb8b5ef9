using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Almanac.Server.Hosting;

/// <summary>
/// Caps the C library's heap arenas by starting the process again with <c>MALLOC_ARENA_MAX</c> set, once, before
/// anything else happens (docs/architecture.md, "Memory when quiet").
/// </summary>
/// <remarks>
/// glibc gives every thread that allocates an arena of its own, up to eight per core. DuckDB's objects come from
/// glibc's malloc on whichever pool thread runs a write or a query, so after a burst of ingest 16 arenas on this
/// 2-core machine held ~70 MB, of which ~20 MB was in use, and none of it goes back (<c>malloc_trim</c> frees nothing:
/// the free space lies between live blocks). With the arenas capped at the core count the same burst idled ~30 MB
/// lower, at no measured cost to ingest. glibc reads the cap only when the process starts, and the runtime's own
/// threads have made their arenas before <c>Main</c> runs, so setting it later (<c>mallopt</c>) does little; the
/// process has to start with it. <c>execve</c> keeps the process id, the open standard streams and the arguments,
/// so a service manager, a shell or a test harness sees one process, ready at most ~50 ms later.
/// A user's own <c>MALLOC_ARENA_MAX</c> (any value) is kept and nothing is restarted.
/// </remarks>
internal static class NativeHeapArenas
{
    public const string Variable = "MALLOC_ARENA_MAX";

    /// <summary>The cap: one arena per core, at least two (one and two idled the same on 2 cores).</summary>
    public static int Cap => Math.Max(2, Environment.ProcessorCount);

    /// <summary>
    /// On Linux with glibc, when <c>MALLOC_ARENA_MAX</c> is not set, replaces this process with the same command and
    /// environment plus the cap; returns (and the process carries on with glibc's default) when it is set already,
    /// elsewhere, under a debugger, or when the restart cannot be made.
    /// </summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is not null || Debugger.IsAttached || !IsGlibc())
        {
            return;
        }

        try
        {
            // The process's own argument and environment blocks, byte for byte: the runtime's copies decode them as
            // UTF-8 and would alter a value that is not.
            var argv = Split(File.ReadAllBytes("/proc/self/cmdline"));
            var environment = Split(File.ReadAllBytes("/proc/self/environ"));
            if (argv.Count == 0)
            {
                return;
            }

            environment.Add(System.Text.Encoding.ASCII.GetBytes($"{Variable}={Cap}"));
            RemoveDiagnosticsSocket();
            Exec("/proc/self/exe", argv, environment);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // /proc unreadable (a sandbox): run with glibc's default.
        }
    }

    /// <summary>
    /// The runtime being replaced listens for diagnostic tools (dotnet-counters, dotnet-trace) on a socket file named
    /// after the process id and start time, which the new image shares: left in place, the new runtime cannot bind
    /// its own and the tools connect to one nobody answers. Removing the file lets the new runtime make it afresh.
    /// Should the exec then fail, this process runs on without the socket: the tools cannot attach, nothing else changes.
    /// </summary>
    private static void RemoveDiagnosticsSocket()
    {
        foreach (var socket in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
        {
            File.Delete(socket);
        }
    }

    private static bool IsGlibc()
    {
        try
        {
            return GnuGetLibcVersion() != IntPtr.Zero;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl and others: the variable means nothing there
        }
    }

    /// <summary>NUL-terminated entries, as /proc lays them out.</summary>
    private static List<byte[]> Split(byte[] block)
    {
        var entries = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < block.Length; i++)
        {
            if (block[i] == 0)
            {
                entries.Add(block[start..i]);
                start = i + 1;
            }
        }

        if (start < block.Length)
        {
            entries.Add(block[start..]);
        }

        return entries;
    }

    /// <summary>execve: does not return when it works; when it fails the process simply carries on.</summary>
    private static void Exec(string path, List<byte[]> argv, List<byte[]> environment)
    {
        var allocated = new List<IntPtr>();
        try
        {
            var args = ToNative(argv, allocated);
            var env = ToNative(environment, allocated);
            _ = ExecVe(path, args, env);
        }
        finally
        {
            foreach (var p in allocated)
            {
                Marshal.FreeHGlobal(p);
            }
        }
    }

    /// <summary>A NULL-terminated array of NUL-terminated native strings.</summary>
    private static IntPtr[] ToNative(List<byte[]> entries, List<IntPtr> allocated)
    {
        var pointers = new IntPtr[entries.Count + 1];
        for (var i = 0; i < entries.Count; i++)
        {
            var p = Marshal.AllocHGlobal(entries[i].Length + 1);
            allocated.Add(p);
            Marshal.Copy(entries[i], 0, p, entries[i].Length);
            Marshal.WriteByte(p, entries[i].Length, 0);
            pointers[i] = p;
        }

        return pointers;
    }

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static extern IntPtr GnuGetLibcVersion();

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static extern int ExecVe([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr[] argv, IntPtr[] envp);
}
