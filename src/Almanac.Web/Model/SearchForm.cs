using System.Globalization;
using System.Text;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Model;

/// <summary>
/// The search form, exactly as it travels in the URL (<c>/search?service=…&amp;operation=…</c>), so a search is a
/// link that can be shared, bookmarked and reached with Back. Values are kept as typed; <see cref="TryBuild"/>
/// turns them into a <see cref="TraceQuery"/> or says which one is wrong.
/// </summary>
public sealed record SearchForm
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 1500;
    public const string DefaultLookback = "1h";

    public static readonly IReadOnlyList<(string Value, string Label)> Lookbacks =
    [
        ("5m", "Last 5 minutes"), ("15m", "Last 15 minutes"), ("1h", "Last hour"), ("2h", "Last 2 hours"),
        ("6h", "Last 6 hours"), ("12h", "Last 12 hours"), ("1d", "Last day"), ("2d", "Last 2 days"), ("custom", "Custom range"),
    ];

    public static readonly IReadOnlyList<(string Value, string Label)> Sorts =
    [
        ("recent", "Most recent"), ("longest", "Longest first"), ("shortest", "Shortest first"),
        ("most", "Most spans"), ("least", "Fewest spans"),
    ];

    public static readonly IReadOnlyList<string> Kinds = ["server", "client", "producer", "consumer", "internal"];

    public string? Service { get; init; }
    public string? Operation { get; init; }
    public string? SpanKind { get; init; }
    public string? Tags { get; init; }
    public string? Lookback { get; init; }
    public string? Start { get; init; }
    public string? End { get; init; }
    public string? MinDuration { get; init; }
    public string? MaxDuration { get; init; }
    public string? Limit { get; init; }
    public string? Sort { get; init; }

    /// <summary>True when the URL asked for a search (any search parameter present).</summary>
    public bool HasQuery =>
        new[] { Service, Operation, SpanKind, Tags, Lookback, Start, End, MinDuration, MaxDuration, Limit }.Any(v => !string.IsNullOrEmpty(v));

    public string EffectiveLookback => string.IsNullOrEmpty(Lookback) ? DefaultLookback : Lookback;

    public string EffectiveSort => Sorts.Any(s => s.Value == Sort) ? Sort! : "recent";

    public static SearchForm FromQuery(Func<string, string?> get) => new()
    {
        Service = Clean(get("service")),
        Operation = Clean(get("operation")),
        SpanKind = Clean(get("spanKind")),
        Tags = Clean(get("tags")),
        Lookback = Clean(get("lookback")),
        Start = Clean(get("start")),
        End = Clean(get("end")),
        MinDuration = Clean(get("minDuration")),
        MaxDuration = Clean(get("maxDuration")),
        Limit = Clean(get("limit")),
        Sort = Clean(get("sort")),
    };

    public static SearchForm FromQueryString(string queryString)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(queryString);
        return FromQuery(k => parsed.TryGetValue(k, out var v) ? v.ToString() : null);
    }

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The page URL for this form: only the parameters that are set, in a fixed order.</summary>
    public string ToUrl(string path = "/search")
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
        Add("operation", Operation);
        Add("spanKind", SpanKind);
        Add("tags", Tags);
        Add("lookback", Lookback);
        Add("start", Start);
        Add("end", End);
        Add("minDuration", MinDuration);
        Add("maxDuration", MaxDuration);
        Add("limit", Limit);
        Add("sort", Sort);
        return parts.Count == 0 ? path : path + "?" + string.Join('&', parts);
    }

    public IReadOnlyList<KeyValuePair<string, string>> ParseTags(out string? error)
    {
        error = null;
        var result = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrEmpty(Tags))
        {
            return result;
        }

        foreach (var raw in Tags.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"Attribute filter '{line}' is not key=value.";
                return result;
            }

            result.Add(new(line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }

        return result;
    }

    /// <summary>Builds the storage query; false with a message naming the bad field.</summary>
    public bool TryBuild(DateTimeOffset now, out TraceQuery query, out string? error)
    {
        query = new TraceQuery();
        var attributes = ParseTags(out error);
        if (error is not null)
        {
            return false;
        }

        Span.Types.SpanKind? kind = null;
        if (SpanKind is not null)
        {
            var index = Kinds.ToList().IndexOf(SpanKind.ToLowerInvariant());
            if (index < 0)
            {
                error = $"Unknown span kind '{SpanKind}'.";
                return false;
            }

            kind = (Span.Types.SpanKind)(index + 2); // server=2, client=3, producer=4, consumer=5
            if (SpanKind.Equals("internal", StringComparison.OrdinalIgnoreCase))
            {
                kind = Span.Types.SpanKind.Internal;
            }
        }

        long startNano, endNano;
        if (EffectiveLookback == "custom")
        {
            if (!TryParseTime(Start, out var start) || !TryParseTime(End, out var end))
            {
                error = "A custom range needs a start and an end (UTC, e.g. 2026-11-20T12:00).";
                return false;
            }

            if (end < start)
            {
                error = "The end of the range is before its start.";
                return false;
            }

            startNano = start.ToUnixTimeMilliseconds() * 1_000_000;
            endNano = (end.ToUnixTimeMilliseconds() * 1_000_000) + 999_999;
        }
        else
        {
            if (!TryParseDuration(EffectiveLookback, out var lookbackNanos))
            {
                error = $"Unknown lookback '{Lookback}'.";
                return false;
            }

            endNano = now.ToUnixTimeMilliseconds() * 1_000_000;
            startNano = endNano - lookbackNanos;
        }

        long? min = null, max = null;
        if (MinDuration is not null)
        {
            if (!TryParseDuration(MinDuration, out var v))
            {
                error = $"Min duration '{MinDuration}' is not a duration like 100ms, 1.5s or 250us.";
                return false;
            }

            min = v;
        }

        if (MaxDuration is not null)
        {
            if (!TryParseDuration(MaxDuration, out var v))
            {
                error = $"Max duration '{MaxDuration}' is not a duration like 100ms, 1.5s or 250us.";
                return false;
            }

            max = v;
        }

        if (min is not null && max is not null && max < min)
        {
            error = "Max duration is less than min duration.";
            return false;
        }

        var limit = DefaultLimit;
        if (Limit is not null && (!int.TryParse(Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            error = $"Limit must be a whole number from 1 to {MaxLimit}.";
            return false;
        }

        query = new TraceQuery
        {
            ServiceName = Service,
            OperationName = Operation,
            SpanKind = kind,
            Attributes = attributes,
            StartTimeMinUnixNano = startNano,
            StartTimeMaxUnixNano = endNano,
            DurationMinNanos = min,
            DurationMaxNanos = max,
            Limit = limit,
        };
        return true;
    }

    /// <summary>The same search on the Jaeger-compatible JSON API, for "download as JSON".</summary>
    public static string ApiUrl(TraceQuery query)
    {
        var sb = new StringBuilder("/api/traces?");
        void Add(string key, string value) => sb.Append(sb[^1] == '?' ? "" : "&").Append(key).Append('=').Append(Uri.EscapeDataString(value));
        if (query.ServiceName is not null)
        {
            Add("service", query.ServiceName);
        }

        if (query.OperationName is not null)
        {
            Add("operation", query.OperationName);
        }

        foreach (var tag in query.Attributes)
        {
            Add("tag", $"{tag.Key}:{tag.Value}");
        }

        Add("start", (query.StartTimeMinUnixNano / 1000).ToString(CultureInfo.InvariantCulture));
        Add("end", (query.StartTimeMaxUnixNano / 1000).ToString(CultureInfo.InvariantCulture));
        if (query.DurationMinNanos is { } min)
        {
            Add("minDuration", $"{min / 1000}us");
        }

        if (query.DurationMaxNanos is { } max)
        {
            Add("maxDuration", $"{max / 1000}us");
        }

        Add("limit", query.Limit.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public static bool TryParseTime(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    /// <summary>"250us", "100ms", "1.5s", "2m", "1h", "1d"; a bare number is microseconds (Jaeger's API unit).</summary>
    public static bool TryParseDuration(string? text, out long nanos)
    {
        nanos = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim().ToLowerInvariant();
        var i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(s[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        double? unit = s[i..].Trim() switch
        {
            "" or "us" or "µs" or "μs" => 1_000,
            "ns" => 1,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60d * 1_000_000_000,
            "h" => 3600d * 1_000_000_000,
            "d" => 86400d * 1_000_000_000,
            _ => null,
        };
        if (unit is null || number * unit.Value > long.MaxValue / 2)
        {
            return false;
        }

        nanos = (long)(number * unit.Value);
        return true;
    }

    public static IEnumerable<TraceSummary> Sorted(IEnumerable<TraceSummary> traces, string sort) => sort switch
    {
        "longest" => traces.OrderByDescending(t => t.DurationNanos).ThenByDescending(t => t.StartTimeUnixNano),
        "shortest" => traces.OrderBy(t => t.DurationNanos).ThenByDescending(t => t.StartTimeUnixNano),
        "most" => traces.OrderByDescending(t => t.SpanCount).ThenByDescending(t => t.StartTimeUnixNano),
        "least" => traces.OrderBy(t => t.SpanCount).ThenByDescending(t => t.StartTimeUnixNano),
        _ => traces.OrderByDescending(t => t.StartTimeUnixNano).ThenBy(t => t.TraceId),
    };
}
