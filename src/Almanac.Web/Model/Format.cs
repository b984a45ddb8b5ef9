using System.Globalization;

namespace Almanac.Web.Model;

/// <summary>Human-readable durations and times for the UI (invariant culture, UTC).</summary>
public static class Format
{
    /// <summary>"850ns", "12.3µs", "4.56ms", "1.2s", "3m 4s", "2h 5m".</summary>
    public static string Duration(long nanos)
    {
        if (nanos < 0)
        {
            nanos = 0;
        }

        if (nanos < 1_000)
        {
            return $"{nanos}ns";
        }

        if (nanos < 1_000_000)
        {
            return Trim(nanos / 1_000d) + "µs";
        }

        if (nanos < 1_000_000_000)
        {
            return Trim(nanos / 1_000_000d) + "ms";
        }

        var seconds = nanos / 1_000_000_000d;
        if (seconds < 60)
        {
            return Trim(seconds) + "s";
        }

        var span = TimeSpan.FromTicks(nanos / 100);
        return span.TotalHours >= 1
            ? $"{(long)span.TotalHours}h {span.Minutes}m"
            : $"{span.Minutes}m {span.Seconds}s";
    }

    private static string Trim(double value) =>
        value >= 100 ? value.ToString("0", CultureInfo.InvariantCulture)
        : value >= 10 ? value.ToString("0.#", CultureInfo.InvariantCulture)
        : value.ToString("0.##", CultureInfo.InvariantCulture);

    public static DateTimeOffset ToTime(long unixNano) => DateTimeOffset.FromUnixTimeMilliseconds(unixNano / 1_000_000);

    /// <summary>"2026-11-20 12:00:01.234 UTC".</summary>
    public static string Timestamp(long unixNano) =>
        ToTime(unixNano).ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) + " UTC";

    public static string IsoTimestamp(long unixNano) =>
        ToTime(unixNano).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>"just now", "5 minutes ago", "3 hours ago", "2 days ago".</summary>
    public static string Age(long unixNano, DateTimeOffset now)
    {
        var age = now - ToTime(unixNano);
        if (age < TimeSpan.FromSeconds(45))
        {
            return age < TimeSpan.FromSeconds(-45) ? "in the future" : "just now";
        }

        static string Unit(long n, string unit) => n == 1 ? $"1 {unit} ago" : $"{n} {unit}s ago";
        if (age < TimeSpan.FromMinutes(60))
        {
            return Unit(Math.Max(1, (long)Math.Round(age.TotalMinutes)), "minute");
        }

        if (age < TimeSpan.FromHours(24))
        {
            return Unit((long)age.TotalHours, "hour");
        }

        return Unit((long)age.TotalDays, "day");
    }

    public static string Percent(double fraction) =>
        (Math.Clamp(fraction, 0, 1) * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";
}
