using Almanac.Server.Hosting;

namespace Almanac.Server.Tests.Hosting;

/// <summary>
/// A quiet almanac hands the pages of its mapped libraries back to the kernel, which is most of what its idle memory
/// still held; only files are advised, never memory the kernel could not read back.
/// </summary>
public sealed class ColdPagesTests
{
    [Fact]
    public void PageOut_LowersTheResidentPagesOfMappedFiles_AndTheProcessRunsOn()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // Touch a good deal of library code first, as a burst of work does.
        var warm = Enumerable.Range(0, 10_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(10_000, warm.Distinct().Count());
        var before = PrivateFileKilobytes();

        var advised = ColdPages.PageOut();

        var after = PrivateFileKilobytes();
        Assert.True(advised > 0, "no mapping of a file was advised");
        // Other tests run meanwhile and fault some pages back in; most of what was resident must still have gone. (Pages
        // other processes map too, such as the runtime's under a test host, are theirs as well and stay.)
        Assert.True(after < before / 2, $"resident file pages {before} kB before, {after} kB after");
        // The reclaimed code and data come back from their files when used.
        Assert.Equal(warm, Enumerable.Range(0, 10_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("7f3a1c000000-7f3a1c200000 r-xp 00000000 08:01 1234 /usr/lib/libduckdb.so", 0x7f3a1c000000UL, 0x7f3a1c200000UL)]
    [InlineData("55d0e000-55d0f000 r--p 00001000 fd:00 99 /opt/almanac/data dir/almanac.dll", 0x55d0e000UL, 0x55d0f000UL)]
    public void AMappedFile_IsAdvised(string line, ulong start, ulong end)
    {
        Assert.True(ColdPages.TryParseFileMapping(line, out var s, out var e));
        Assert.Equal((start, end), (s, e));
    }

    [Theory]
    [InlineData("7f3a1c000000-7f3a1c200000 rw-p 00000000 00:00 0 ")]
    [InlineData("55d0e000-55d0f000 rw-p 00000000 00:00 0 [heap]")]
    [InlineData("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]")]
    [InlineData("7f0000000000-7f0000100000 r-xs 00000000 00:01 77 /memfd:doublemapper (deleted)")]
    [InlineData("7f0000000000-7f0000100000 rw-s 00000000 00:05 12 /dev/shm/something")]
    [InlineData("not a mapping /usr/lib/x.so")]
    public void MemoryTheKernelCannotReadBack_IsLeftAlone(string line) =>
        Assert.False(ColdPages.TryParseFileMapping(line, out _, out _));

    /// <summary>
    /// This process's own resident pages of mapped files (Private_Clean in /proc/self/smaps, over the mappings
    /// <see cref="ColdPages"/> advises).
    /// </summary>
    private static long PrivateFileKilobytes()
    {
        long total = 0;
        var inFile = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            // A mapping's line starts with its address in lower-case hex; its figures' lines with a capitalised name.
            if (line.Length > 0 && (char.IsAsciiDigit(line[0]) || line[0] is >= 'a' and <= 'f'))
            {
                inFile = ColdPages.TryParseFileMapping(line, out _, out _);
            }
            else if (inFile && line.StartsWith("Private_Clean:", StringComparison.Ordinal))
            {
                total += long.Parse(line["Private_Clean:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}
