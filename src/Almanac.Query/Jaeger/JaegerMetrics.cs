using System.Globalization;
using System.Text.Json;
using Almanac.Core.Storage;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.Jaeger;

/// <summary>Which of Jaeger's three metrics endpoints a request is for.</summary>
internal enum JaegerMetricKind
{
    Calls,
    Errors,
    Latencies,
}

/// <summary>A parsed <c>/api/metrics/{calls|errors|latencies}</c> request, in nanoseconds.</summary>
internal sealed record JaegerMetricsRequest(
    JaegerMetricKind Kind,
    IReadOnlyList<string> Services,
    bool GroupByOperation,
    IReadOnlyList<Span.Types.SpanKind> SpanKinds,
    long EndUnixNano,
    long LookbackNano,
    long StepNano,
    long RatePerNano,
    double Quantile)
{
    public SpanMetricsQuery ToStoreQuery() => new()
    {
        ServiceNames = Services,
        SpanKinds = SpanKinds,
        GroupByOperation = GroupByOperation,
        EndUnixNano = EndUnixNano,
        LookbackNano = LookbackNano,
        StepNano = StepNano,
        // Jaeger's values are Prometheus rate()s: each sample looks back ratePer, however far apart samples are.
        WindowNano = RatePerNano,
        Quantiles = Kind == JaegerMetricKind.Latencies ? [Quantile] : [],
    };
}

/// <summary>
/// Jaeger's metrics query API (cmd/query/app/http_handler.go, query_parser.go): the parameters Jaeger UI's Monitor
/// tab sends and the <c>MetricFamily</c> JSON it reads (jaeger api_v2 metrics/openmetrics.proto, protobuf JSON).
/// Values follow Jaeger's span-metrics backend: call rates in calls per second over the trailing <c>ratePer</c>
/// window, error rates as the fraction of those calls that failed (0–1), latencies in milliseconds.
/// </summary>
internal static class JaegerMetrics
{
    public const long DefaultLookbackMillis = 60 * 60 * 1000;
    public const long DefaultStepMillis = 5 * 1000;
    public const long DefaultRatePerMillis = 10 * 60 * 1000;

    /// <summary>The smallest step Almanac computes (its clock is nanoseconds; Jaeger's API speaks milliseconds).</summary>
    public const long MinStepMillis = 1;

    private const long NanosPerMilli = 1_000_000;

    public static JaegerMetricsRequest Parse(JaegerMetricKind kind, IQueryCollection query, long nowUnixNano)
    {
        var services = query["service"].Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).Distinct(StringComparer.Ordinal).ToList();
        if (services.Count == 0)
        {
            throw new QueryParameterException("unable to parse param 'service': please provide at least one service name");
        }

        var groupByOperation = ParseBool(query, "groupByOperation");
        var spanKinds = ParseSpanKinds(query);
        var end = nowUnixNano;
        if (Single(query, "endTs") is { Length: > 0 } endText)
        {
            end = Millis(endText, "endTs", allowZero: true) * NanosPerMilli;
        }

        var lookback = Millis(Single(query, "lookback"), "lookback", allowZero: true, DefaultLookbackMillis) * NanosPerMilli;
        var step = Millis(Single(query, "step"), "step", allowZero: false, DefaultStepMillis) * NanosPerMilli;
        var ratePer = Millis(Single(query, "ratePer"), "ratePer", allowZero: false, DefaultRatePerMillis) * NanosPerMilli;
        if (lookback > end)
        {
            throw new QueryParameterException("unable to parse param 'lookback': it reaches back before 1970");
        }

        if ((lookback / step) + 1 > SpanMetricsQuery.MaxPoints)
        {
            throw new QueryParameterException(
                $"unable to parse param 'step': lookback / step gives more than {SpanMetricsQuery.MaxPoints} points per series; use a larger step");
        }

        double quantile = 0;
        if (kind == JaegerMetricKind.Latencies)
        {
            var text = Single(query, "quantile");
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out quantile) || !(quantile >= 0 && quantile <= 1))
            {
                throw new QueryParameterException($"unable to parse param 'quantile': '{text}' is not a number between 0 and 1 (e.g. 0.95)");
            }
        }

        return new JaegerMetricsRequest(kind, services, groupByOperation, spanKinds, end, lookback, step, ratePer, quantile);
    }

    /// <summary>Writes the <c>MetricFamily</c>: one metric per series, calls filled with zeros where no span started.</summary>
    public static void Write(Utf8JsonWriter writer, JaegerMetricsRequest request, IReadOnlyList<SpanMetricsSeries> series)
    {
        var grouping = request.GroupByOperation ? "service & operation" : "service";
        var prefix = request.GroupByOperation ? "service_operation_" : "service_";
        var (name, help) = request.Kind switch
        {
            JaegerMetricKind.Calls => (prefix + "call_rate", "calls/sec, grouped by " + grouping),
            JaegerMetricKind.Errors => (prefix + "error_rate", "error rate, computed as a fraction of errors/sec over calls/sec, grouped by " + grouping),
            _ => (prefix + "latencies", request.Quantile.ToString("R", CultureInfo.InvariantCulture) + "th quantile latency, grouped by " + grouping),
        };

        var ratePerSeconds = request.RatePerNano / 1e9;
        var start = request.EndUnixNano - request.LookbackNano;
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("type", "GAUGE");
        writer.WriteString("help", help);
        // Always present (protobuf JSON would omit an empty list): Jaeger UI reads metrics[0] without a check.
        writer.WriteStartArray("metrics");
        foreach (var s in series)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("labels");
            // Label order as Jaeger's Prometheus reader returns them (sorted by name).
            if (s.Operation is not null)
            {
                WriteLabel(writer, "operation", s.Operation);
            }

            WriteLabel(writer, "service_name", s.Service);
            writer.WriteEndArray();
            writer.WriteStartArray("metricPoints");
            if (request.Kind == JaegerMetricKind.Calls)
            {
                var next = 0;
                for (var t = start; t <= request.EndUnixNano; t += request.StepNano)
                {
                    long calls = 0;
                    while (next < s.Points.Count && s.Points[next].TimestampUnixNano < t)
                    {
                        next++;
                    }

                    if (next < s.Points.Count && s.Points[next].TimestampUnixNano == t)
                    {
                        calls = s.Points[next].Calls;
                    }

                    WritePoint(writer, calls / ratePerSeconds, t);
                }
            }
            else
            {
                foreach (var point in s.Points)
                {
                    var value = request.Kind == JaegerMetricKind.Errors
                        ? (double)point.Errors / point.Calls
                        : point.LatencyQuantilesNano[0] / NanosPerMilli;
                    WritePoint(writer, value, point.TimestampUnixNano);
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary><c>/api/metrics/minstep</c>: Jaeger's envelope with the smallest step in milliseconds.</summary>
    public static void WriteMinStep(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("data", MinStepMillis);
        writer.WriteNumber("total", 0);
        writer.WriteNumber("limit", 0);
        writer.WriteNumber("offset", 0);
        writer.WriteNull("errors");
        writer.WriteEndObject();
    }

    /// <summary>protobuf JSON for google.protobuf.Timestamp: RFC 3339 in UTC, fractional seconds only when present.</summary>
    internal static string Timestamp(long unixNano)
    {
        var time = DateTimeOffset.UnixEpoch.AddTicks(unixNano / 100);
        var nanos = unixNano % 1_000_000_000;
        var format = nanos == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'"
            : nanos % 1_000_000 == 0 ? "yyyy-MM-dd'T'HH:mm:ss.fff'Z'"
            : nanos % 1_000 == 0 ? "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'"
            : "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
        return time.UtcDateTime.ToString(format, CultureInfo.InvariantCulture);
    }

    private static void WritePoint(Utf8JsonWriter writer, double value, long unixNano)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("gaugeValue");
        writer.WriteNumber("doubleValue", value);
        writer.WriteEndObject();
        writer.WriteString("timestamp", Timestamp(unixNano));
        writer.WriteEndObject();
    }

    private static void WriteLabel(Utf8JsonWriter writer, string name, string value)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("value", value);
        writer.WriteEndObject();
    }

    private static List<Span.Types.SpanKind> ParseSpanKinds(IQueryCollection query)
    {
        // Repeated (spanKind=server&spanKind=consumer, what Jaeger reads) or comma-separated (older Jaeger).
        var texts = query["spanKind"].SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (texts.Count == 0)
        {
            return [Span.Types.SpanKind.Server];
        }

        var kinds = new List<Span.Types.SpanKind>();
        foreach (var text in texts)
        {
            if (!SpanKinds.TryParse(text, out var kind) || kind is null)
            {
                throw new QueryParameterException(
                    $"unable to parse param 'spanKind': unsupported span kind: '{text}' (use unspecified, internal, server, client, producer or consumer)");
            }

            kinds.Add(kind.Value);
        }

        return kinds;
    }

    private static bool ParseBool(IQueryCollection query, string name)
    {
        var text = Single(query, name);
        return text switch
        {
            null or "" => false,
            "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
            "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
            _ => throw new QueryParameterException($"unable to parse param '{name}': '{text}' is not true or false"),
        };
    }

    private static long Millis(string? text, string name, bool allowZero, long defaultValue = 0)
    {
        if (string.IsNullOrEmpty(text))
        {
            return defaultValue;
        }

        // Bounded so that converting to nanoseconds cannot overflow (about 292 years).
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value > long.MaxValue / NanosPerMilli || (value == 0 && !allowZero))
        {
            var what = allowZero ? "a non-negative whole number of milliseconds" : "a positive whole number of milliseconds";
            throw new QueryParameterException($"unable to parse param '{name}': '{text}' is not {what}");
        }

        return value;
    }

    private static string? Single(IQueryCollection query, string name)
    {
        var values = query[name];
        return values.Count == 0 ? null : values[0];
    }
}
