using System.Globalization;
using System.Text.RegularExpressions;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Query.Jaeger;
using Microsoft.AspNetCore.Http;

namespace Almanac.Query.ApiV3;

/// <summary>
/// Parses Jaeger api_v3's HTTP gateway parameters (RFC 3339 times, Go durations, <c>query.*</c> names).
/// Pure; every client mistake throws <see cref="QueryParameterException"/>.
/// </summary>
internal static partial class ApiV3QueryParser
{
    public const string ServiceName = "query.service_name";
    public const string OperationName = "query.operation_name";
    public const string Attributes = "query.attributes";
    public const string StartTimeMin = "query.start_time_min";
    public const string StartTimeMax = "query.start_time_max";
    public const string DurationMin = "query.duration_min";
    public const string DurationMax = "query.duration_max";
    public const string SearchDepth = "query.search_depth";
    public const string NumTraces = "query.num_traces";
    public const string RawTraces = "query.raw_traces";

    public static TraceQuery ParseFindTraces(IQueryCollection query)
    {
        var minText = Single(query, StartTimeMin);
        var maxText = Single(query, StartTimeMax);
        if (string.IsNullOrEmpty(minText) || string.IsNullOrEmpty(maxText))
        {
            throw new QueryParameterException($"{StartTimeMin} and {StartTimeMax} are required");
        }

        var min = ParseTime(minText, StartTimeMin);
        var max = ParseTime(maxText, StartTimeMax);
        if (min > max)
        {
            throw new QueryParameterException($"{StartTimeMin} must not be after {StartTimeMax}");
        }

        var durationMin = ParseDuration(query, DurationMin);
        var durationMax = ParseDuration(query, DurationMax);
        if (durationMin is not null && durationMax is not null && durationMax < durationMin)
        {
            throw new QueryParameterException($"{DurationMax} must not be less than {DurationMin}");
        }

        // search_depth is the current name; num_traces the one older Jaeger versions used.
        var depthText = Single(query, SearchDepth);
        var depthName = SearchDepth;
        if (string.IsNullOrEmpty(depthText))
        {
            depthText = Single(query, NumTraces);
            depthName = NumTraces;
        }

        int limit;
        try
        {
            limit = JaegerQueryParser.ParseLimit(depthText);
        }
        catch (QueryParameterException)
        {
            throw new QueryParameterException($"malformed parameter {depthName}: '{depthText}' is not a non-negative integer");
        }

        ParseBool(query, RawTraces);

        IReadOnlyList<KeyValuePair<string, string>> attributes;
        try
        {
            attributes = JaegerQueryParser.ParseTags(default, query[Attributes]);
        }
        catch (QueryParameterException e)
        {
            throw new QueryParameterException($"malformed parameter {Attributes}: expecting a JSON object of key/value strings", e);
        }

        var service = Single(query, ServiceName);
        var operation = Single(query, OperationName);
        return new TraceQuery
        {
            ServiceName = string.IsNullOrEmpty(service) ? null : service,
            OperationName = string.IsNullOrEmpty(operation) ? null : operation,
            Attributes = attributes,
            StartTimeMinUnixNano = min,
            StartTimeMaxUnixNano = max,
            DurationMinNanos = durationMin,
            DurationMaxNanos = durationMax,
            Limit = limit,
        };
    }

    /// <summary>
    /// Validates /api/v3/traces/{trace_id}'s optional start_time, end_time and raw_traces. The store looks traces
    /// up by id alone, so the window only has to be well-formed.
    /// </summary>
    public static TraceId ParseGetTrace(string? traceId, IQueryCollection query)
    {
        if (!TraceId.TryParse(traceId, out var id))
        {
            throw new QueryParameterException($"malformed parameter trace_id: '{traceId}' is not a trace id (1 to 32 hex digits)");
        }

        long? start = null;
        long? end = null;
        if (Single(query, "start_time") is { Length: > 0 } startText)
        {
            start = ParseTime(startText, "start_time");
        }

        if (Single(query, "end_time") is { Length: > 0 } endText)
        {
            end = ParseTime(endText, "end_time");
        }

        if (start > end)
        {
            throw new QueryParameterException("start_time must not be after end_time");
        }

        ParseBool(query, "raw_traces");
        return id;
    }

    /// <summary>RFC 3339 with optional fraction (up to nanoseconds) and a mandatory zone; returns unix nanoseconds.</summary>
    public static long ParseTime(string text, string parameter)
    {
        var match = Rfc3339().Match(text);
        if (!match.Success)
        {
            throw new QueryParameterException($"malformed parameter {parameter}: '{text}' is not an RFC 3339 time (e.g. 2024-01-31T15:04:05Z)");
        }

        // DateTimeOffset keeps 100 ns ticks; the remaining fraction digits are added back as nanoseconds.
        var fraction = match.Groups["fraction"].Value;
        var nanosOfSecond = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
        var withoutFraction = match.Groups["seconds"].Value + match.Groups["zone"].Value;
        if (!DateTimeOffset.TryParse(withoutFraction, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var time))
        {
            throw new QueryParameterException($"malformed parameter {parameter}: '{text}' is not a valid time");
        }

        var unixSeconds = time.ToUnixTimeSeconds();
        if (unixSeconds < 0 || unixSeconds > long.MaxValue / 1_000_000_000 - 1)
        {
            throw new QueryParameterException($"malformed parameter {parameter}: '{text}' is out of range");
        }

        return unixSeconds * 1_000_000_000 + nanosOfSecond;
    }

    private static long? ParseDuration(IQueryCollection query, string parameter)
    {
        var text = Single(query, parameter);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!GoDuration.TryParse(text, out var nanos) || nanos < 0)
        {
            throw new QueryParameterException($"malformed parameter {parameter}: '{text}' is not a duration (e.g. 1.5s, 100ms)");
        }

        return nanos;
    }

    private static void ParseBool(IQueryCollection query, string parameter)
    {
        var text = Single(query, parameter);
        if (!string.IsNullOrEmpty(text) && !bool.TryParse(text, out _) && text is not ("1" or "0" or "t" or "f" or "T" or "F"))
        {
            throw new QueryParameterException($"malformed parameter {parameter}: '{text}' is not a boolean");
        }
    }

    private static string? Single(IQueryCollection query, string name)
    {
        var values = query[name];
        return values.Count == 0 ? null : values[0];
    }

    [GeneratedRegex(@"^(?<seconds>\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(?<fraction>\d{1,9}))?(?<zone>[Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
