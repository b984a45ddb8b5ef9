using System.Globalization;
using System.Text.Json;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Almanac.Query.Jaeger;

/// <summary>A parsed <c>/api/traces</c> request: either a search or a list of trace ids to fetch.</summary>
internal sealed record JaegerSearchRequest(TraceQuery Query, IReadOnlyList<TraceId> TraceIds);

/// <summary>
/// Parses Jaeger v1 query parameters with Jaeger's names, defaults and formats (cmd/query/app/query_parser.go).
/// Pure: "now" comes from the caller. Every client mistake throws <see cref="QueryParameterException"/>.
/// </summary>
internal static class JaegerQueryParser
{
    /// <summary>Jaeger's default when the request names no limit (the UI always sends one, 20 by default).</summary>
    public const int DefaultLimit = 100;

    /// <summary>Guards the store and the response size: every result trace is loaded in full.</summary>
    public const int MaxLimit = 1500;

    /// <summary>Jaeger searches the last two days when the request gives no start.</summary>
    public static readonly TimeSpan DefaultLookback = TimeSpan.FromDays(2);

    /// <summary>Jaeger's dependency graph covers the last day unless told otherwise.</summary>
    public static readonly TimeSpan DefaultDependencyLookback = TimeSpan.FromDays(1);

    public static JaegerSearchRequest ParseSearch(IQueryCollection query, long nowUnixNano)
    {
        var traceIds = new List<TraceId>();
        foreach (var text in query["traceID"])
        {
            traceIds.Add(ParseTraceId(text, "traceID"));
        }

        if (traceIds.Count > MaxLimit)
        {
            throw new QueryParameterException($"too many traceID params: {traceIds.Count} given, at most {MaxLimit} allowed");
        }

        var service = Single(query, "service");
        var operation = Single(query, "operation");
        var attributes = ParseTags(query["tag"], query["tags"]);

        var endUnixNano = ParseMicros(query, "end") ?? nowUnixNano;
        var startUnixNano = ParseMicros(query, "start");
        if (startUnixNano is null)
        {
            var lookback = ParseLookback(Single(query, "lookback")) ?? DefaultLookback;
            startUnixNano = SaturatingSubtract(endUnixNano, lookback.Ticks * 100);
        }

        if (startUnixNano > endUnixNano)
        {
            throw new QueryParameterException("'start' must not be after 'end'");
        }

        var limit = ParseLimit(Single(query, "limit"));
        var minDuration = ParseDuration(query, "minDuration");
        var maxDuration = ParseDuration(query, "maxDuration");
        if (minDuration is not null && maxDuration is not null && maxDuration < minDuration)
        {
            throw new QueryParameterException("'maxDuration' should be greater than 'minDuration'");
        }

        if (traceIds.Count == 0 && string.IsNullOrEmpty(service))
        {
            throw new QueryParameterException("parameter 'service' is required");
        }

        var traceQuery = new TraceQuery
        {
            ServiceName = NullIfEmpty(service),
            OperationName = NullIfEmpty(operation),
            Attributes = attributes,
            StartTimeMinUnixNano = startUnixNano.Value,
            StartTimeMaxUnixNano = endUnixNano,
            DurationMinNanos = minDuration,
            DurationMaxNanos = maxDuration,
            Limit = limit,
        };
        return new JaegerSearchRequest(traceQuery, traceIds);
    }

    /// <summary>Jaeger accepts 1 to 32 hex digits (shorter ids are left-padded with zeros).</summary>
    public static TraceId ParseTraceId(string? text, string parameter)
    {
        if (!TraceId.TryParse(text, out var id))
        {
            throw new QueryParameterException(
                $"cannot parse {parameter} param: '{text}' is not a trace id (1 to 32 hex digits)");
        }

        return id;
    }

    /// <summary>
    /// /api/traces/{traceID}: the id, plus Jaeger v2's optional start/end (unix microseconds) bounding the lookup.
    /// The store finds traces by id alone, so the bounds only have to be well-formed.
    /// </summary>
    public static TraceId ParseGetTrace(string? traceId, IQueryCollection query)
    {
        var id = ParseTraceId(traceId, "traceID");
        var start = ParseMicros(query, "start");
        var end = ParseMicros(query, "end");
        if (start > end)
        {
            throw new QueryParameterException("'start' must not be after 'end'");
        }

        return id;
    }

    /// <summary>
    /// Merges repeated <c>tag=key:value</c> (split at the first colon; values may hold colons) and
    /// <c>tags={"key":"value"}</c> JSON objects. A later value for a key replaces an earlier one, as in Jaeger's map.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ParseTags(StringValues simpleTags, StringValues jsonTags)
    {
        var result = new List<KeyValuePair<string, string>>();

        foreach (var tag in simpleTags)
        {
            var colon = tag?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (colon <= 0)
            {
                throw new QueryParameterException($"malformed 'tag' parameter, expecting key:value, received: {tag}");
            }

            Set(result, tag![..colon], tag[(colon + 1)..]);
        }

        foreach (var tags in jsonTags)
        {
            if (string.IsNullOrWhiteSpace(tags))
            {
                continue;
            }

            // Besides Jaeger's JSON object, accept what people type into Grafana's tag box: logfmt pairs.
            if (!tags.TrimStart().StartsWith('{'))
            {
                foreach (var (key, value) in ParseLogfmt(tags))
                {
                    Set(result, key, value);
                }

                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(tags);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new QueryParameterException("malformed 'tags' parameter, expecting a JSON object of key/value strings");
                }

                foreach (var property in doc.RootElement.EnumerateObject())
                {
                    // Jaeger insists on strings; numbers and booleans are taken as their text, since attribute
                    // filters compare text anyway and Grafana users type {"http.status_code": 500}.
                    var value = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString()!,
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                        _ => throw new QueryParameterException(
                            $"malformed 'tags' parameter, value of '{property.Name}' must be a string"),
                    };
                    Set(result, property.Name, value);
                }
            }
            catch (JsonException e)
            {
                throw new QueryParameterException($"malformed 'tags' parameter, cannot unmarshal JSON: {e.Message}", e);
            }
        }

        return result;
    }

    public static int ParseLimit(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return DefaultLimit;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit) || limit < 0)
        {
            throw new QueryParameterException($"unable to parse param 'limit': '{text}' is not a non-negative integer");
        }

        // Zero means "not given" to Jaeger's storage backends.
        return limit == 0 ? DefaultLimit : Math.Min(limit, MaxLimit);
    }

    /// <summary>A Go duration in nanoseconds; null when absent or empty (the UI sends empty fields).</summary>
    public static long? ParseDuration(IQueryCollection query, string parameter)
    {
        var text = Single(query, parameter);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!GoDuration.TryParse(text, out var nanos))
        {
            throw new QueryParameterException(
                $"cannot parse {parameter}: '{text}' is not a duration (use units ns, us, ms, s, m, h, e.g. 1.5s or 100ms)");
        }

        if (nanos < 0)
        {
            throw new QueryParameterException($"cannot parse {parameter}: '{text}' is negative");
        }

        return nanos;
    }

    /// <summary>Unix microseconds in; unix nanoseconds out. Null when absent.</summary>
    public static long? ParseMicros(IQueryCollection query, string parameter)
    {
        var text = Single(query, parameter);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros)
            || micros < 0 || micros > long.MaxValue / 1_000)
        {
            throw new QueryParameterException($"unable to parse param '{parameter}': '{text}' is not a time in unix microseconds");
        }

        return micros * 1_000;
    }

    /// <summary>
    /// The UI's lookback ("1h", "2d", "custom"). Jaeger's server ignores it because the UI also sends start and end;
    /// we honour it only when start is missing, which helps hand-written queries. "custom" means start/end rule.
    /// </summary>
    public static TimeSpan? ParseLookback(string? text)
    {
        if (string.IsNullOrEmpty(text) || text == "custom")
        {
            return null;
        }

        var unit = text[^1];
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw new QueryParameterException($"unable to parse param 'lookback': '{text}' (expecting e.g. 1h, 2d or custom)");
        }

        var unitTime = unit switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            'w' => TimeSpan.FromDays(7),
            _ => throw new QueryParameterException($"unable to parse param 'lookback': '{text}' (expecting e.g. 1h, 2d or custom)"),
        };

        // Anything past a century is the same as "everything"; capping keeps the arithmetic from overflowing.
        var maxCount = TimeSpan.FromDays(36_500).Ticks / unitTime.Ticks;
        return TimeSpan.FromTicks(Math.Min(count, maxCount) * unitTime.Ticks);
    }

    /// <summary>
    /// /api/dependencies: <c>endTs</c> and <c>lookback</c> in milliseconds (Jaeger's units for this endpoint).
    /// Returns the window in unix nanoseconds.
    /// </summary>
    public static (long StartUnixNano, long EndUnixNano) ParseDependencies(IQueryCollection query, long nowUnixNano)
    {
        var endTs = Single(query, "endTs");
        var end = nowUnixNano;
        if (!string.IsNullOrEmpty(endTs))
        {
            if (!long.TryParse(endTs, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var endMillis)
                || endMillis < 0 || endMillis > long.MaxValue / 1_000_000)
            {
                throw new QueryParameterException($"unable to parse endTs: '{endTs}' is not a time in unix milliseconds");
            }

            end = endMillis * 1_000_000;
        }

        var lookbackText = Single(query, "lookback");
        var lookbackNanos = DefaultDependencyLookback.Ticks * 100;
        if (!string.IsNullOrEmpty(lookbackText))
        {
            if (!long.TryParse(lookbackText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var lookbackMillis)
                || lookbackMillis < 0)
            {
                throw new QueryParameterException($"unable to parse lookback: '{lookbackText}' is not a duration in milliseconds");
            }

            if (lookbackMillis > 0)
            {
                lookbackNanos = lookbackMillis > long.MaxValue / 1_000_000 ? long.MaxValue : lookbackMillis * 1_000_000;
            }
        }

        return (SaturatingSubtract(end, lookbackNanos), end);
    }

    private static long SaturatingSubtract(long value, long amount) => value - Math.Min(amount, value);

    private static string? Single(IQueryCollection query, string name)
    {
        var values = query[name];
        return values.Count == 0 ? null : values[0];
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary><c>key=value key2="quoted value" key3=\"x\"</c>: space-separated pairs, values optionally double-quoted with backslash escapes.</summary>
    internal static List<(string Key, string Value)> ParseLogfmt(string text)
    {
        var pairs = new List<(string, string)>();
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i == text.Length)
            {
                break;
            }

            var keyStart = i;
            while (i < text.Length && text[i] != '=' && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i == keyStart || i == text.Length || text[i] != '=')
            {
                throw new QueryParameterException($"malformed 'tags' parameter, expecting a JSON object or key=value pairs, received: {text}");
            }

            var key = text[keyStart..i];
            i++;
            var value = new System.Text.StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    var c = text[i++];
                    if (c == '\\' && i < text.Length)
                    {
                        value.Append(text[i++]);
                    }
                    else if (c == '"')
                    {
                        closed = true;
                        break;
                    }
                    else
                    {
                        value.Append(c);
                    }
                }

                if (!closed)
                {
                    throw new QueryParameterException($"malformed 'tags' parameter, unterminated quoted value for '{key}'");
                }
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    value.Append(text[i++]);
                }
            }

            pairs.Add((key, value.ToString()));
        }

        return pairs;
    }

    private static void Set(List<KeyValuePair<string, string>> list, string key, string value)
    {
        var index = list.FindIndex(kv => kv.Key == key);
        if (index >= 0)
        {
            list[index] = new(key, value);
        }
        else
        {
            list.Add(new(key, value));
        }
    }
}
