using System.Globalization;
using System.Runtime.InteropServices;

namespace Almanac.Server.Hosting;

/// <summary>
/// Hands the pages of the process's mapped files (its libraries and assemblies) back to the kernel once Almanac has
/// gone quiet (docs/architecture.md, "Memory when quiet").
/// </summary>
/// <remarks>
/// A burst of ingest and queries runs a lot of code once: DuckDB's library alone then had 32 MB resident and the
/// runtime's assemblies and libraries ~50 MB more, ~105 MB of an idle RSS of ~215 MB, and none of it is touched again
/// until the next burst. <c>MADV_PAGEOUT</c> (Linux 5.4) asks the kernel to reclaim those pages now; they are clean
/// copies of the files, so the kernel drops them, and whatever runs next faults back in from the file what it needs.
/// Measured after 60 s of full-speed ingest: idle RSS 217 → 166 MB, and 30 s later still 166 MB. The first query
/// afterwards pays for the faults; DuckDB's cache is gone by then anyway (the settle empties it), so that query reads
/// from disk either way. Only mappings of files are advised: anonymous memory (heaps, stacks) has nowhere to go
/// without swap, and the JIT's code lives in a memfd, which is not a file the kernel could read back from.
/// </remarks>
internal static class ColdPages
{
    /// <summary>madvise advice: reclaim these pages now (Linux 5.4).</summary>
    private const int PageOutAdvice = 21;

    private const int InvalidArgument = 22; // EINVAL

    private static bool s_unsupported;

    /// <summary>
    /// Advises the kernel to reclaim the resident pages of every file the process maps; returns how many bytes of
    /// mappings were advised (0 where the kernel or the platform cannot).
    /// </summary>
    public static long PageOut()
    {
        if (!OperatingSystem.IsLinux() || s_unsupported)
        {
            return 0;
        }

        string[] maps;
        try
        {
            maps = File.ReadAllLines("/proc/self/maps");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0; // /proc unreadable (a sandbox)
        }

        long advised = 0;
        var refused = false;
        foreach (var line in maps)
        {
            if (!TryParseFileMapping(line, out var start, out var end))
            {
                continue;
            }

            if (MAdvise((nint)start, (nuint)(end - start), PageOutAdvice) == 0)
            {
                advised += (long)(end - start);
            }
            else
            {
                // EINVAL for every mapping: a kernel older than 5.4, which does not know the advice (now or later). A
                // single mapping can refuse too (locked pages) without that meaning anything for the others.
                refused |= Marshal.GetLastPInvokeError() == InvalidArgument;
            }
        }

        s_unsupported = advised == 0 && refused;
        return advised;
    }

    /// <summary>
    /// A line of /proc/self/maps (<c>start-end perms offset dev inode path</c>) that maps a file, and its range.
    /// A memfd (the JIT's code) and device files are left alone: the kernel cannot read them back from anywhere.
    /// </summary>
    internal static bool TryParseFileMapping(string line, out ulong start, out ulong end)
    {
        start = end = 0;
        var path = line.IndexOf('/', StringComparison.Ordinal);
        var dash = line.IndexOf('-', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (path < 0 || dash <= 0 || space <= dash || path < space
            || line.AsSpan(path).StartsWith("/memfd:", StringComparison.Ordinal) || line.AsSpan(path).StartsWith("/dev/", StringComparison.Ordinal))
        {
            return false;
        }

        return ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out start)
            && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out end)
            && end > start;
    }

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int MAdvise(nint address, nuint length, int advice);
}
