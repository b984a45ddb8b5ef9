using System.Globalization;
using Almanac.Core.Model;
using Almanac.Core.Storage;

namespace Almanac.Web.Model;

/// <summary>
/// The log search as it travels in the URL of <c>/logs</c> and <c>/api/logs</c> (the same parameters for both), so a
/// search is a link. Values are kept as typed; <see cref="TryBuild"/> turns them into a <see cref="LogQuery"/> or
/// says which one is wrong.
/// </summary>
public sealed record LogSearchForm
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    public const string DefaultLookback = "1h";

    public static readonly IReadOnlyList<(string Value, string Label)> Lookbacks =
    [
        ("5m", "Last 5 minutes"), ("15m", "Last 15 minutes"), ("1h", "Last hour"), ("6h", "Last 6 hours"),
        ("1d", "Last day"), ("7d", "Last 7 days"), ("all", "All time"), ("custom", "Custom range"),
    ];

    /// <summary>The severity ranges of the log data model, by the name of their lowest number.</summary>
    public static readonly IReadOnlyList<(string Name, int Number)> Severities =
    [
        ("trace", 1), ("debug", 5), ("info", 9), ("warn", 13), ("error", 17), ("fatal", 21),
    ];

    public string? Service { get; init; }
    public string? Severity { get; init; }
    public string? Text { get; init; }
    public string? Regex { get; init; }
    public string? Tags { get; init; }
    public string? TraceId { get; init; }
    public string? SpanId { get; init; }
    public string? Lookback { get; init; }
    public string? Start { get; init; }
    public string? End { get; init; }
    public string? Limit { get; init; }
    public string? Before { get; init; }

    /// <summary>Live tail's polls: only records at or after this time (unix ns), with no upper bound.</summary>
    public string? SinceNs { get; init; }

    public bool IsRegex => Regex is not null && (Regex == "1" || Regex.Equals("true", StringComparison.OrdinalIgnoreCase) || Regex.Equals("on", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The lookback in effect: as given; a custom range when only start/end are given; all time when a trace or span
    /// id is given without a window (its records can be older than an hour); one hour otherwise.
    /// </summary>
    public string EffectiveLookback =>
        !string.IsNullOrEmpty(Lookback) ? Lookback
        : Start is not null || End is not null ? "custom"
        : TraceId is not null || SpanId is not null ? "all"
        : DefaultLookback;

    public static LogSearchForm FromQuery(Func<string, string?> get) => new()
    {
        Service = Clean(get("service")),
        Severity = Clean(get("severity")),
        Text = string.IsNullOrEmpty(get("q")) ? null : get("q"),
        Regex = Clean(get("regex")),
        Tags = Clean(get("tags")),
        TraceId = Clean(get("traceId")),
        SpanId = Clean(get("spanId")),
        Lookback = Clean(get("lookback")),
        Start = Clean(get("start")),
        End = Clean(get("end")),
        Limit = Clean(get("limit")),
        Before = Clean(get("before")),
        SinceNs = Clean(get("sinceNs")),
    };

    public static LogSearchForm FromQueryString(string queryString)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(queryString);
        return FromQuery(k => parsed.TryGetValue(k, out var v) ? v.ToString() : null);
    }

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The URL for this search (page or API): only the parameters that are set, in a fixed order.</summary>
    public string ToUrl(string path = "/logs")
    {
        var parts = new List<string>();
        void Add(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add($"{key}={Uri.EscapeDataString(value)}");
            }
        }

        Add("service", Service);
        Add("severity", Severity);
        Add("q", Text);
        Add("regex", IsRegex ? "1" : null);
        Add("tags", Tags);
        Add("traceId", TraceId);
        Add("spanId", SpanId);
        Add("lookback", Lookback);
        Add("start", Start);
        Add("end", End);
        Add("limit", Limit);
        Add("before", Before);
        Add("sinceNs", SinceNs);
        return parts.Count == 0 ? path : path + "?" + string.Join('&', parts);
    }

    /// <summary>Builds the storage query; false with a message naming the bad field.</summary>
    public bool TryBuild(DateTimeOffset now, out LogQuery query, out string? error)
    {
        query = new LogQuery();
        var attributes = new SearchForm { Tags = Tags }.ParseTags(out error);
        if (error is not null)
        {
            return false;
        }

        int? severity = null;
        if (Severity is not null)
        {
            if (!TryParseSeverity(Severity, out var number))
            {
                error = $"Unknown severity '{Severity}': use trace, debug, info, warn, error, fatal or a number from 1 to 24.";
                return false;
            }

            severity = number;
        }

        Core.Model.TraceId? traceId = null;
        if (TraceId is not null)
        {
            if (!Core.Model.TraceId.TryParse(TraceId, out var parsed) || parsed.IsEmpty)
            {
                error = $"Trace id '{TraceId}' is not 1 to 32 hex digits.";
                return false;
            }

            traceId = parsed;
        }

        Core.Model.SpanId? spanId = null;
        if (SpanId is not null)
        {
            if (SpanId.Length != 16 || !ulong.TryParse(SpanId, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) || value == 0)
            {
                error = $"Span id '{SpanId}' is not 16 hex digits.";
                return false;
            }

            spanId = new Core.Model.SpanId(value);
        }

        long startNano = 0, endNano = long.MaxValue;
        if (SinceNs is not null)
        {
            if (!long.TryParse(SinceNs, NumberStyles.None, CultureInfo.InvariantCulture, out startNano))
            {
                error = $"sinceNs '{SinceNs}' is not a time in nanoseconds since 1970.";
                return false;
            }
        }
        else if (EffectiveLookback == "custom")
        {
            var hasStart = SearchForm.TryParseTime(Start, out var start);
            var hasEnd = SearchForm.TryParseTime(End, out var end);
            if ((Start is not null && !hasStart) || (End is not null && !hasEnd) || (!hasStart && !hasEnd))
            {
                error = "A custom range needs a start and/or an end (UTC, e.g. 2026-11-20T12:00).";
                return false;
            }

            if (hasStart)
            {
                startNano = start.ToUnixTimeMilliseconds() * 1_000_000;
            }

            if (hasEnd)
            {
                endNano = (end.ToUnixTimeMilliseconds() * 1_000_000) + 999_999;
            }

            if (endNano < startNano)
            {
                error = "The end of the range is before its start.";
                return false;
            }
        }
        else if (EffectiveLookback != "all")
        {
            if (!SearchForm.TryParseDuration(EffectiveLookback, out var lookbackNanos))
            {
                error = $"Unknown lookback '{Lookback}'.";
                return false;
            }

            // No upper bound: a sender whose clock runs ahead should still see its newest records.
            startNano = (now.ToUnixTimeMilliseconds() * 1_000_000) - lookbackNanos;
        }

        var limit = DefaultLimit;
        if (Limit is not null && (!int.TryParse(Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            error = $"Limit must be a whole number from 1 to {MaxLimit}.";
            return false;
        }

        query = new LogQuery
        {
            ServiceName = Service,
            MinSeverityNumber = severity,
            Text = Text,
            TextIsRegex = IsRegex,
            Attributes = attributes,
            TraceId = traceId,
            SpanId = spanId,
            StartTimeMinUnixNano = startNano,
            StartTimeMaxUnixNano = endNano,
            Limit = limit,
            Before = Before,
        };
        return true;
    }

    public static bool TryParseSeverity(string text, out int number)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number))
        {
            return number is >= 1 and <= 24;
        }

        foreach (var (name, value) in Severities)
        {
            if (text.Equals(name, StringComparison.OrdinalIgnoreCase)
                || (name == "warn" && text.Equals("warning", StringComparison.OrdinalIgnoreCase))
                || (name == "info" && text.Equals("information", StringComparison.OrdinalIgnoreCase)))
            {
                number = value;
                return true;
            }
        }

        return false;
    }

    /// <summary>The data model's short name for a severity number (its range), e.g. 10 → "INFO2"; empty for 0.</summary>
    public static string SeverityName(int number)
    {
        if (number is < 1 or > 24)
        {
            return number == 0 ? string.Empty : number.ToString(CultureInfo.InvariantCulture);
        }

        var (name, lowest) = Severities.Last(s => s.Number <= number);
        var upper = name.ToUpperInvariant();
        return number == lowest ? upper : upper + (number - lowest + 1).ToString(CultureInfo.InvariantCulture);
    }
}
