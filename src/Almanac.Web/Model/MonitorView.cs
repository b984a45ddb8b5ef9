using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Model;

/// <summary>One operation's numbers over the whole lookback: the /monitor page's table row.</summary>
public sealed record OperationMetrics(string Name, long Calls, long Errors, double RatePerSecond, double P50Nanos, double P95Nanos, double P99Nanos)
{
    public double ErrorFraction => Calls == 0 ? 0 : (double)Errors / Calls;
}

/// <summary>
/// What the /monitor page shows for a service: per-sample series for the three charts (request rate, error rate,
/// latency p50/p95/p99) and per-operation totals for the table. Three store queries: the service's series, and one
/// sample spanning the whole lookback for the operations and for the service as a whole.
/// </summary>
public sealed class MonitorView
{
    private static readonly double[] Quantiles = [0.5, 0.95, 0.99];

    public required long StepNanos { get; init; }

    /// <summary>Sample times (unix ms) and the values at each; null where no span started (no rate of errors or latency).</summary>
    public required IReadOnlyList<long> TimesMs { get; init; }

    public required IReadOnlyList<double> Rate { get; init; }

    public required IReadOnlyList<double?> ErrorPercent { get; init; }

    public required IReadOnlyList<double?> P50Ms { get; init; }

    public required IReadOnlyList<double?> P95Ms { get; init; }

    public required IReadOnlyList<double?> P99Ms { get; init; }

    public required IReadOnlyList<OperationMetrics> Operations { get; init; }

    public required OperationMetrics? Total { get; init; }

    public static async Task<MonitorView> LoadAsync(ISpanReader reader, string service, IReadOnlyList<Span.Types.SpanKind> kinds,
        DateTimeOffset now, TimeSpan lookback, TimeSpan step, CancellationToken cancellationToken = default)
    {
        var nowNanos = now.ToUnixTimeMilliseconds() * 1_000_000;
        var stepNanos = step.Ticks * 100;
        var lookbackNanos = lookback.Ticks * 100;
        // Sample times on step boundaries (the last one just after now), so reloading keeps buckets where they were.
        var end = ((nowNanos / stepNanos) + 1) * stepNanos;
        var series = await reader.GetSpanMetricsAsync(new SpanMetricsQuery
        {
            ServiceNames = [service],
            SpanKinds = kinds,
            EndUnixNano = end,
            LookbackNano = lookbackNanos - stepNanos,
            StepNano = stepNanos,
            Quantiles = Quantiles,
        }, cancellationToken);

        // The table: one sample whose window is the whole lookback, per operation and for the service.
        var whole = new SpanMetricsQuery
        {
            ServiceNames = [service],
            SpanKinds = kinds,
            EndUnixNano = nowNanos,
            LookbackNano = 0,
            StepNano = lookbackNanos,
            Quantiles = Quantiles,
        };
        var operations = await reader.GetSpanMetricsAsync(whole with { GroupByOperation = true }, cancellationToken);
        var total = await reader.GetSpanMetricsAsync(whole, cancellationToken);

        var times = new List<long>();
        var rate = new List<double>();
        var errors = new List<double?>();
        var p50 = new List<double?>();
        var p95 = new List<double?>();
        var p99 = new List<double?>();
        var points = series.Count == 0 ? [] : series[0].Points;
        var next = 0;
        var stepSeconds = stepNanos / 1e9;
        for (var t = end - lookbackNanos + stepNanos; t <= end; t += stepNanos)
        {
            times.Add(t / 1_000_000);
            if (next < points.Count && points[next].TimestampUnixNano == t)
            {
                var p = points[next++];
                rate.Add(p.Calls / stepSeconds);
                errors.Add(100.0 * p.Errors / p.Calls);
                p50.Add(p.LatencyQuantilesNano[0] / 1e6);
                p95.Add(p.LatencyQuantilesNano[1] / 1e6);
                p99.Add(p.LatencyQuantilesNano[2] / 1e6);
            }
            else
            {
                rate.Add(0);
                errors.Add(null);
                p50.Add(null);
                p95.Add(null);
                p99.Add(null);
            }
        }

        var lookbackSeconds = lookbackNanos / 1e9;
        OperationMetrics Row(SpanMetricsSeries s)
        {
            var p = s.Points[0];
            return new OperationMetrics(s.Operation ?? service, p.Calls, p.Errors, p.Calls / lookbackSeconds,
                p.LatencyQuantilesNano[0], p.LatencyQuantilesNano[1], p.LatencyQuantilesNano[2]);
        }

        return new MonitorView
        {
            StepNanos = stepNanos,
            TimesMs = times,
            Rate = rate,
            ErrorPercent = errors,
            P50Ms = p50,
            P95Ms = p95,
            P99Ms = p99,
            Operations = [.. operations.Where(s => s.Points.Count > 0).Select(Row)],
            Total = total.Count > 0 && total[0].Points.Count > 0 ? Row(total[0]) : null,
        };
    }

    /// <summary>The operations in the table's order: name ascending, every other column largest first.</summary>
    public IReadOnlyList<OperationMetrics> Sorted(string sort) => sort switch
    {
        "name" => [.. Operations.OrderBy(o => o.Name, StringComparer.Ordinal)],
        "errors" => [.. Operations.OrderByDescending(o => o.ErrorFraction).ThenBy(o => o.Name, StringComparer.Ordinal)],
        "p50" => [.. Operations.OrderByDescending(o => o.P50Nanos).ThenBy(o => o.Name, StringComparer.Ordinal)],
        "p95" => [.. Operations.OrderByDescending(o => o.P95Nanos).ThenBy(o => o.Name, StringComparer.Ordinal)],
        "p99" => [.. Operations.OrderByDescending(o => o.P99Nanos).ThenBy(o => o.Name, StringComparer.Ordinal)],
        _ => [.. Operations.OrderByDescending(o => o.RatePerSecond).ThenBy(o => o.Name, StringComparer.Ordinal)],
    };

    /// <summary>The charts' data for timeseries.js: numbers only (no names from span data), as JSON.</summary>
    public string ChartJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("stepMs", StepNanos / 1_000_000);
            WriteArray(w, "times", TimesMs.Select(t => (double?)t));
            WriteArray(w, "rate", Rate.Select(r => (double?)r));
            WriteArray(w, "errorPercent", ErrorPercent);
            WriteArray(w, "p50", P50Ms);
            WriteArray(w, "p95", P95Ms);
            WriteArray(w, "p99", P99Ms);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<double?> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            if (v is { } d && double.IsFinite(d))
            {
                w.WriteNumberValue(Math.Round(d, 6));
            }
            else
            {
                w.WriteNullValue();
            }
        }

        w.WriteEndArray();
    }

    /// <summary>"12.5/s", "0.02/s", "0/s".</summary>
    public static string FormatRate(double perSecond) =>
        (perSecond >= 100 ? perSecond.ToString("0", CultureInfo.InvariantCulture)
            : perSecond >= 1 ? perSecond.ToString("0.##", CultureInfo.InvariantCulture)
            : perSecond.ToString("0.####", CultureInfo.InvariantCulture)) + "/s";
}
