using System.Globalization;
using Almanac.Core.Storage;
using Microsoft.AspNetCore.Http;

namespace Almanac.Core.Metrics;

/// <summary>The URL's query parameters were not usable; the message says which and why (shown to the user / a 400).</summary>
public sealed class MetricQueryException(string message) : Exception(message);

/// <summary>
/// One chart of one metric, as the web page's URL and the JSON API spell it: <c>service</c>, <c>name</c>, optional
/// <c>type</c>, a window (<c>lookback</c> such as <c>1h</c>, or <c>start</c>/<c>end</c> in unix milliseconds),
/// <c>step</c> (<c>30s</c>; chosen for about 120 points when absent), repeated <c>filter=key=value</c> and
/// <c>groupBy=key</c> (also comma separated).
/// </summary>
public sealed record MetricChartQuery(
    string ServiceName,
    string MetricName,
    MetricType? Type,
    long StartUnixNano,
    long EndUnixNano,
    long StepNanos,
    IReadOnlyList<KeyValuePair<string, string>> Filters,
    IReadOnlyList<string> GroupBy)
{
    public const string DefaultLookback = "1h";
    private const int MaxFilters = 20;
    private const int MaxGroupBy = 5;
    private const int MaxTextLength = 1_000;
    private const long Ms = 1_000_000;

    public static MetricChartQuery Parse(IQueryCollection query, long nowUnixNano)
    {
        var service = Text(query, "service");
        var name = Text(query, "name");
        if (service.Length == 0)
        {
            throw new MetricQueryException("parameter 'service' is required");
        }

        if (name.Length == 0)
        {
            throw new MetricQueryException("parameter 'name' is required");
        }

        MetricType? type = Text(query, "type") switch
        {
            "" => null,
            var t => ParseType(t) ?? throw new MetricQueryException($"parameter 'type': '{t}' is not one of gauge, sum, histogram, exponential_histogram, summary"),
        };

        var end = Text(query, "end") is { Length: > 0 } endText ? Millis(endText, "end") : nowUnixNano;
        long start;
        if (Text(query, "start") is { Length: > 0 } startText)
        {
            start = Millis(startText, "start");
        }
        else
        {
            var lookbackText = Text(query, "lookback") is { Length: > 0 } l ? l : DefaultLookback;
            if (!TryParseDuration(lookbackText, out var lookback))
            {
                throw new MetricQueryException($"parameter 'lookback': '{lookbackText}' is not a duration such as 15m, 1h or 2d");
            }

            start = end - lookback;
        }

        if (start >= end)
        {
            throw new MetricQueryException("'start' must be before 'end'");
        }

        long step;
        if (Text(query, "step") is { Length: > 0 } stepText)
        {
            if (!TryParseDuration(stepText, out step) || step < 1_000 * Ms)
            {
                throw new MetricQueryException($"parameter 'step': '{stepText}' is not a duration of at least 1s (such as 30s or 5m)");
            }
        }
        else
        {
            step = SeriesRequest.DefaultStep(start, end);
        }

        if ((end - start) / step >= SeriesRequest.MaxSteps)
        {
            throw new MetricQueryException($"the window holds more than {SeriesRequest.MaxSteps} steps of {StepText(step)}; choose a larger step");
        }

        var filters = new List<KeyValuePair<string, string>>();
        foreach (var filter in query["filter"])
        {
            if (string.IsNullOrWhiteSpace(filter))
            {
                continue;
            }

            var eq = filter.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || filter.Length > MaxTextLength)
            {
                throw new MetricQueryException($"parameter 'filter': '{Shorten(filter)}' is not key=value");
            }

            filters.Add(KeyValuePair.Create(filter[..eq].Trim(), filter[(eq + 1)..].Trim()));
        }

        var groupBy = query["groupBy"].SelectMany(g => (g ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal).ToList();
        if (filters.Count > MaxFilters || groupBy.Count > MaxGroupBy || groupBy.Any(g => g.Length > MaxTextLength))
        {
            throw new MetricQueryException($"at most {MaxFilters} filters and {MaxGroupBy} groupBy keys");
        }

        return new MetricChartQuery(service, name, type, start, end, step, filters, groupBy);

        static string StepText(long nanos) => (nanos / 1_000_000_000).ToString(CultureInfo.InvariantCulture) + "s";
    }

    /// <summary>
    /// Reads the points (one step before the window too, as the baseline for counters) and computes the series.
    /// Null when the service never reported the metric.
    /// </summary>
    public async Task<MetricChart?> RunAsync(IMetricReader reader, CancellationToken cancellationToken = default)
    {
        var catalogue = await reader.GetMetricsAsync(ServiceName, cancellationToken);
        var info = catalogue.FirstOrDefault(m => m.Name == MetricName && (Type is null || m.Type == Type));
        if (info is null)
        {
            return null;
        }

        var points = await reader.GetMetricPointsAsync(new MetricPointQuery
        {
            ServiceName = ServiceName,
            MetricName = MetricName,
            Type = info.Type,
            StartTimeMinUnixNano = StartUnixNano - StepNanos,
            StartTimeMaxUnixNano = EndUnixNano,
            Attributes = Filters,
        }, cancellationToken);
        var result = MetricSeries.Compute(points, new SeriesRequest(StartUnixNano, EndUnixNano, StepNanos, GroupBy), info.Type, info.IsMonotonic);
        return new MetricChart(info, this, result, points.Count, points.Count >= MetricPointQuery.DefaultLimit);
    }

    public static string TypeName(MetricType type) => type switch
    {
        MetricType.Gauge => "gauge",
        MetricType.Sum => "sum",
        MetricType.Histogram => "histogram",
        MetricType.ExponentialHistogram => "exponential_histogram",
        _ => "summary",
    };

    public static MetricType? ParseType(string text) => text switch
    {
        "gauge" => MetricType.Gauge,
        "sum" => MetricType.Sum,
        "histogram" => MetricType.Histogram,
        "exponential_histogram" => MetricType.ExponentialHistogram,
        "summary" => MetricType.Summary,
        _ => null,
    };

    /// <summary>Durations as <c>90s</c>, <c>15m</c>, <c>1h30m</c>, <c>2d</c>, <c>500ms</c>.</summary>
    public static bool TryParseDuration(string text, out long nanos)
    {
        nanos = 0;
        var i = 0;
        if (text.Length == 0 || text.Length > 32)
        {
            return false;
        }

        while (i < text.Length)
        {
            var digits = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == digits || !long.TryParse(text.AsSpan(digits, i - digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }

            long unit;
            if (text.AsSpan(i).StartsWith("ms", StringComparison.Ordinal)) { unit = Ms; i += 2; }
            else if (i < text.Length && text[i] == 's') { unit = 1_000 * Ms; i++; }
            else if (i < text.Length && text[i] == 'm') { unit = 60_000 * Ms; i++; }
            else if (i < text.Length && text[i] == 'h') { unit = 3_600_000 * Ms; i++; }
            else if (i < text.Length && text[i] == 'd') { unit = 86_400_000 * Ms; i++; }
            else
            {
                return false;
            }

            if (n > long.MaxValue / unit || nanos > long.MaxValue - (n * unit))
            {
                return false;
            }

            nanos += n * unit;
        }

        return nanos > 0;
    }

    private static long Millis(string text, string parameter)
    {
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) || ms < 0 || ms > long.MaxValue / Ms)
        {
            throw new MetricQueryException($"parameter '{parameter}': '{Shorten(text)}' is not a time in unix milliseconds");
        }

        return ms * Ms;
    }

    private static string Text(IQueryCollection query, string name)
    {
        var value = query[name].ToString().Trim();
        if (value.Length > MaxTextLength)
        {
            throw new MetricQueryException($"parameter '{name}' is longer than {MaxTextLength} characters");
        }

        return value;
    }

    private static string Shorten(string text) => text.Length > 60 ? text[..60] + "…" : text;
}

/// <summary>A computed chart: the metric, the query it answers, its series, how many points were read and whether the read hit its limit.</summary>
public sealed record MetricChart(MetricInfo Metric, MetricChartQuery Query, SeriesResult Result, int PointsRead, bool PointsTruncated);
