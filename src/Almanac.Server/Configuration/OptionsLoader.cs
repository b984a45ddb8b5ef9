using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Almanac.Server.Configuration;

/// <summary>
/// Reads options from, in order of precedence: command-line flags (<c>--data-dir x</c> or <c>--data-dir=x</c>),
/// <c>ALMANAC_*</c> environment variables, then the <c>Almanac</c> section of appsettings.json. Every value is
/// validated here so a bad one stops Almanac at start with a message that names the option and what it accepts.
/// </summary>
internal static class OptionsLoader
{
    internal sealed record OptionSpec(string Flag, string ConfigKey, string Default, string Help)
    {
        public string EnvironmentVariable => "ALMANAC_" + Flag.Replace('-', '_').ToUpperInvariant();
    }

    internal static readonly OptionSpec[] Specs =
    [
        new("data-dir", "DataDir", "./almanac-data", "Directory for the database and the write-ahead log."),
        new("otlp-grpc-port", "OtlpGrpcPort", "4317", "Port for OTLP/gRPC."),
        new("otlp-http-port", "OtlpHttpPort", "4318", "Port for OTLP/HTTP (protobuf and JSON)."),
        new("ui-port", "UiPort", "16686", "Port for the web UI and the query APIs (Jaeger v1, api_v3)."),
        new("bind", "Bind", "127.0.0.1", "Address to listen on. Use 0.0.0.0 or :: to listen on all interfaces."),
        new("retention", "Retention", "7d", "How long to keep data, e.g. 7d, 36h, 90m. Older data is deleted automatically."),
        new("storage", "Storage", "embedded", "Storage backend: embedded (DuckDB in --data-dir)."),
        new("max-request-size", "MaxRequestSize", "16MiB", "Largest OTLP request accepted, after decompression (e.g. 16MiB, 4MB, 1048576)."),
        new("max-pending-size", "MaxPendingSize", "64MiB", "Acknowledged data waiting for storage beyond which exports are held (see --max-pending-wait), then refused with a retry hint."),
        new("max-pending-wait", "MaxPendingWait", "2s", "How long an export that finds --max-pending-size full waits for storage to catch up before it is refused (0s: at once; at most 60s)."),
    ];

    /// <summary>Thrown for a bad option; the message is printed as is.</summary>
    internal sealed class OptionsException(string message) : Exception(message);

    public static bool IsHelp(string[] args) => args.Any(a => a is "--help" or "-h" or "-?" or "help");

    public static bool IsVersion(string[] args) => args.Any(a => a is "--version");

    public static AlmanacOptions Load(string[] args, IConfiguration appSettings, Func<string, string?> getEnvironmentVariable)
    {
        var flags = ParseFlags(args);
        string Get(OptionSpec spec) =>
            flags.TryGetValue(spec.Flag, out var flag) ? flag
            : getEnvironmentVariable(spec.EnvironmentVariable) is { Length: > 0 } env ? env
            : appSettings[$"Almanac:{spec.ConfigKey}"] is { Length: > 0 } setting ? setting
            : spec.Default;

        var values = Specs.ToDictionary(s => s.Flag, Get);
        var options = new AlmanacOptions
        {
            DataDir = values["data-dir"],
            OtlpGrpcPort = ParsePort("otlp-grpc-port", values["otlp-grpc-port"]),
            OtlpHttpPort = ParsePort("otlp-http-port", values["otlp-http-port"]),
            UiPort = ParsePort("ui-port", values["ui-port"]),
            Bind = ParseAddress(values["bind"]),
            Retention = ParseRetention(values["retention"]),
            Storage = ParseStorage(values["storage"]),
            MaxRequestBytes = (int)ParseSize("max-request-size", values["max-request-size"], max: 1L << 30),
            MaxPendingBytes = ParseSize("max-pending-size", values["max-pending-size"], max: 1L << 40),
            MaxPendingWait = ParsePendingWait(values["max-pending-wait"]),
        };

        var ports = new[] { options.OtlpGrpcPort, options.OtlpHttpPort, options.UiPort };
        if (ports.Distinct().Count() != ports.Length)
        {
            throw new OptionsException($"--otlp-grpc-port, --otlp-http-port and --ui-port must differ (got {options.OtlpGrpcPort}, {options.OtlpHttpPort}, {options.UiPort}).");
        }

        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            throw new OptionsException("--data-dir must not be empty.");
        }

        return options;
    }

    public static string HelpText()
    {
        var sb = new StringBuilder();
        sb.AppendLine("almanac — an OpenTelemetry-native tracing backend: OTLP in, Jaeger-compatible APIs out.");
        sb.AppendLine();
        sb.AppendLine("Usage: almanac [options]");
        sb.AppendLine();
        sb.AppendLine("Options (flag, environment variable, appsettings key Almanac:<Key>; flags win, then environment, then appsettings):");
        foreach (var spec in Specs)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  --{spec.Flag} <value>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"      {spec.Help}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"      default: {spec.Default}   env: {spec.EnvironmentVariable}   appsettings: Almanac:{spec.ConfigKey}");
        }

        sb.AppendLine("  --help      Show this help.");
        sb.AppendLine("  --version   Show the version.");
        return sb.ToString();
    }

    private static Dictionary<string, string> ParseFlags(string[] args)
    {
        var known = Specs.Select(s => s.Flag).ToHashSet(StringComparer.Ordinal);
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new OptionsException($"Unexpected argument '{arg}'. Options start with --; see --help.");
            }

            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (!known.Contains(name))
            {
                throw new OptionsException($"Unknown option '--{name}'. See --help for the options.");
            }

            if (value is null)
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new OptionsException($"Option '--{name}' needs a value.");
                }

                value = args[++i];
            }

            flags[name] = value;
        }

        return flags;
    }

    internal static int ParsePort(string flag, string text)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new OptionsException($"--{flag}: '{text}' is not a port (1-65535).");
        }

        return port;
    }

    internal static IPAddress ParseAddress(string text)
    {
        if (text == "localhost")
        {
            return IPAddress.Loopback;
        }

        if (!IPAddress.TryParse(text, out var address))
        {
            throw new OptionsException($"--bind: '{text}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1, ::).");
        }

        return address;
    }

    internal static string ParseStorage(string text) => text switch
    {
        "embedded" or "duckdb" => "embedded",
        _ => throw new OptionsException($"--storage: '{text}' is not a storage backend. Available: embedded."),
    };

    /// <summary>Durations like 7d, 36h, 90m, 45s, or combinations (1d12h).</summary>
    internal static TimeSpan ParseRetention(string text)
    {
        if (TryParseDuration(text, out var value) && value >= TimeSpan.FromMinutes(1) && value <= TimeSpan.FromDays(36500))
        {
            return value;
        }

        throw new OptionsException($"--retention: '{text}' is not a duration between 1m and 100 years (use e.g. 7d, 36h, 90m, 1d12h).");
    }

    internal static TimeSpan ParsePendingWait(string text)
    {
        if (TryParseDuration(text, out var value) && value <= TimeSpan.FromSeconds(60))
        {
            return value;
        }

        throw new OptionsException($"--max-pending-wait: '{text}' is not a duration from 0s to 60s (use e.g. 2s, 0s, 1m).");
    }

    /// <summary>The inverse of <see cref="TryParseDuration"/> for display: 7d, 36h, 90m.</summary>
    internal static string FormatDuration(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerDay == 0 ? $"{value.Ticks / TimeSpan.TicksPerDay}d"
        : value.Ticks % TimeSpan.TicksPerHour == 0 ? $"{value.Ticks / TimeSpan.TicksPerHour}h"
        : value.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{value.Ticks / TimeSpan.TicksPerMinute}m"
        : $"{(long)value.TotalSeconds}s";

    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start || i == text.Length || !long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000)
            {
                return false;
            }

            TimeSpan unit;
            switch (text[i])
            {
                case 'd': unit = TimeSpan.FromDays(1); break;
                case 'h': unit = TimeSpan.FromHours(1); break;
                case 'm': unit = TimeSpan.FromMinutes(1); break;
                case 's': unit = TimeSpan.FromSeconds(1); break;
                default: return false;
            }

            i++;
            value += unit * n;
        }

        return true;
    }

    /// <summary>Sizes like 16MiB, 4MB, 512KiB, 1048576 (bytes).</summary>
    internal static long ParseSize(string flag, string text, long max)
    {
        var s = text.Trim();
        var digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
        {
            digits++;
        }

        long multiplier = s[digits..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" => 1000,
            "KIB" or "K" => 1024,
            "MB" => 1000 * 1000,
            "MIB" or "M" => 1024 * 1024,
            "GB" => 1000L * 1000 * 1000,
            "GIB" or "G" => 1024L * 1024 * 1024,
            _ => -1,
        };
        if (digits == 0 || multiplier < 0 || !long.TryParse(s.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n <= 0 || n > max / multiplier)
        {
            throw new OptionsException($"--{flag}: '{text}' is not a size between 1 byte and {max} bytes (use e.g. 16MiB, 4MB, 1048576).");
        }

        return n * multiplier;
    }
}
