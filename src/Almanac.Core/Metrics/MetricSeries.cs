using Almanac.Otlp;
using System.Globalization;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Core.Metrics;

/// <summary>What to chart: a window cut into steps, and the attribute keys whose values split the points into groups.</summary>
public sealed record SeriesRequest(long StartUnixNano, long EndUnixNano, long StepNanos, IReadOnlyList<string> GroupBy)
{
    public const int MaxSteps = 2_000;
    public const int MaxGroups = 50;
    public const int MaxExemplars = 500;

    /// <summary>Steps that give about <paramref name="target"/> points over the window (1 s … 1 d, rounded to a readable step).</summary>
    public static long DefaultStep(long startUnixNano, long endUnixNano, int target = 120)
    {
        long[] seconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
        var wanted = Math.Max(1, (endUnixNano - startUnixNano) / target);
        foreach (var s in seconds)
        {
            if (s * 1_000_000_000 >= wanted)
            {
                return s * 1_000_000_000;
            }
        }

        return seconds[^1] * 1_000_000_000;
    }
}

/// <summary>One line of a group: its name (<c>value</c>, <c>rate</c>, <c>p50</c>, …) and one value per step that has data.</summary>
public sealed record SeriesLine(string Name, IReadOnlyList<SeriesPoint> Points);

/// <summary>The value of the step starting at <see cref="TimeUnixNano"/> (covering [time, time + step)).</summary>
public readonly record struct SeriesPoint(long TimeUnixNano, double Value);

/// <summary>A recorded measurement that links to the trace it was taken in.</summary>
public sealed record ExemplarPoint(long TimeUnixNano, double Value, string TraceId, string SpanId);

/// <summary>One group's lines and exemplars; <see cref="Increase"/> is, for counters, the increase over the whole window.</summary>
public sealed record SeriesGroup(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<SeriesLine> Lines, IReadOnlyList<ExemplarPoint> Exemplars, double? Increase = null);

/// <summary>
/// A chart's data. <see cref="Kind"/> says what the values are: <c>value</c> (gauges, non-monotonic sums),
/// <c>rate</c> (monotonic sums, per second), <c>percentiles</c> (histograms, exponential histograms, summaries).
/// <see cref="Truncated"/> is true when groups beyond <see cref="SeriesRequest.MaxGroups"/> were left out.
/// </summary>
public sealed record SeriesResult(string Kind, long StepNanos, IReadOnlyList<SeriesGroup> Groups, bool Truncated);

/// <summary>
/// Turns stored points into chart series. A series is one resource + scope + point attribute set; each is followed
/// over time on its own and the results are combined per group:
/// gauges — mean over the group's series of each series' last value in the step;
/// non-monotonic sums — cumulative: sum of each series' last value; delta: sum of the deltas in the step;
/// monotonic sums — rate per second: per series, the step's increase over the time it accrued (a cumulative point's
/// increase is its difference from the previous point, over the time between them; a drop in value or a new start
/// time is a reset, after which the new value is all increase, since the start time; a delta point's value over its
/// own interval), summed over the group's series; plus the group's increase over the whole window;
/// histograms and exponential histograms — p50, p95, p99 of the step's observations (bucket increases computed
/// like counters, merged over the group, interpolated within buckets);
/// summaries — the mean over the group's series of each reported quantile's last value in the step.
/// A cumulative series' first point counts as all increase only if its start time lies in the window; points before
/// the window serve as the baseline for the first step (callers read one step before the window).
/// </summary>
public static class MetricSeries
{
    private static readonly double[] Percentiles = [0.5, 0.95, 0.99];

    /// <summary>
    /// <paramref name="type"/> and <paramref name="monotonic"/> say what the metric is when known (from the catalogue), so
    /// an empty window still answers the right kind; otherwise the first point decides. Points of another type are skipped.
    /// </summary>
    public static SeriesResult Compute(IReadOnlyList<MetricData> points, SeriesRequest request, MetricType? type = null, bool? monotonic = null)
    {
        if (request.StepNanos <= 0 || request.EndUnixNano < request.StartUnixNano)
        {
            throw new ArgumentException("step must be positive and end must not be before start");
        }

        var steps = (int)Math.Min(int.MaxValue, ((request.EndUnixNano - request.StartUnixNano) / request.StepNanos) + 1);
        if (steps > SeriesRequest.MaxSteps)
        {
            throw new ArgumentException($"the window holds {steps} steps; at most {SeriesRequest.MaxSteps} (use a larger step)");
        }

        var metricType = type ?? (points.Count == 0 ? MetricType.Gauge : MetricPoints.TypeOf(points[0].Metric) ?? MetricType.Gauge);
        var isMonotonic = monotonic ?? (points.Count > 0 && MetricPoints.IsMonotonic(points[0].Metric));
        var kind = metricType switch
        {
            MetricType.Sum when isMonotonic => "rate",
            MetricType.Gauge or MetricType.Sum => "value",
            _ => "percentiles",
        };

        // Series, in first-seen order, each with its points in time order (the reader returns them so).
        var resourceKeys = new Dictionary<object, string>(ReferenceEqualityComparer.Instance);
        var series = new Dictionary<string, SeriesState>(StringComparer.Ordinal);
        var groups = new Dictionary<string, GroupState>(StringComparer.Ordinal);
        var truncated = false;
        foreach (var data in points)
        {
            if (MetricPoints.TypeOf(data.Metric) != metricType)
            {
                continue;
            }

            foreach (var point in MetricDataPoints.Enumerate(data.Metric))
            {
                var key = SeriesKey(data, point, resourceKeys);
                if (!series.TryGetValue(key, out var state))
                {
                    var labels = Labels(data, point, request.GroupBy);
                    var groupKey = string.Join("\u0000", labels.Select(l => l.Value));
                    if (!groups.TryGetValue(groupKey, out var group))
                    {
                        if (groups.Count >= SeriesRequest.MaxGroups)
                        {
                            truncated = true;
                            continue;
                        }

                        group = new GroupState(labels, steps);
                        groups.Add(groupKey, group);
                    }

                    state = new SeriesState(group, MetricPoints.TemporalityOf(data.Metric));
                    series.Add(key, state);
                }

                state.Group.SeriesCount++;
                Accumulate(state, point, request, metricType, isMonotonic);
            }
        }

        var result = new List<SeriesGroup>();
        // Groups in label order, so a chart's legend is stable from one request to the next.
        foreach (var group in groups.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Value))
        {
            result.Add(new SeriesGroup(group.Labels, Lines(group, request, kind, metricType), group.Exemplars, kind == "rate" ? group.Total : null));
        }

        return new SeriesResult(kind, request.StepNanos, result, truncated);
    }

    private static void Accumulate(SeriesState state, MetricPoint point, SeriesRequest request, MetricType type, bool monotonic)
    {
        var time = (long)Math.Min(point.TimeUnixNano, long.MaxValue);
        var inWindow = time >= request.StartUnixNano && time <= request.EndUnixNano;
        var step = inWindow ? (int)((time - request.StartUnixNano) / request.StepNanos) : -1;
        var group = state.Group;
        var cumulative = state.Temporality == MetricTemporality.Cumulative;
        var startedInWindow = point.StartTimeUnixNano > 0 && (long)Math.Min(point.StartTimeUnixNano, long.MaxValue) >= request.StartUnixNano;

        if (inWindow)
        {
            foreach (var exemplar in point.Exemplars)
            {
                AddExemplar(group, exemplar, request);
            }
        }

        switch (point.Point)
        {
            case NumberDataPoint n:
            {
                var value = MetricPoints.NumberValue(n);
                if (type == MetricType.Sum && monotonic)
                {
                    // The increase and the time it took: a delta point's own interval; a cumulative point's distance
                    // from the previous point, or from its start time after a restart (or as a series' first point).
                    var pointStart = (long)Math.Min(point.StartTimeUnixNano, long.MaxValue);
                    double? increase;
                    long interval;
                    if (!cumulative)
                    {
                        (increase, interval) = (value, time - pointStart);
                    }
                    else if (state.PreviousValue is not { } previous)
                    {
                        (increase, interval) = startedInWindow ? (value, time - pointStart) : ((double?)null, 0L);
                    }
                    else if (value < previous || point.StartTimeUnixNano != state.PreviousStart)
                    {
                        (increase, interval) = (value, pointStart > state.PreviousTime && pointStart < time ? time - pointStart : time - state.PreviousTime);
                    }
                    else
                    {
                        (increase, interval) = (value - previous, time - state.PreviousTime);
                    }

                    if (step >= 0 && increase is { } inc)
                    {
                        // Without a usable interval (no start time, equal times) the step stands in.
                        state.Increase[step] += inc;
                        state.Interval[step] += interval > 0 && pointStart > 0 ? interval : request.StepNanos;
                        group.Has[step] = true;
                        group.Total += inc;
                    }
                }
                else if (type == MetricType.Sum && !cumulative)
                {
                    if (step >= 0)
                    {
                        group.Sums[step] += value;
                        group.Has[step] = true;
                    }
                }
                else if (step >= 0)
                {
                    // Gauges and cumulative non-monotonic sums: each series' last value in the step.
                    state.Last[step] = value;
                }

                state.PreviousValue = value;
                state.PreviousTime = time;
                break;
            }

            case HistogramDataPoint h:
                AddDistribution(state, step, Distribution.Of(h), h.Count, point.StartTimeUnixNano, cumulative, startedInWindow);
                break;

            case ExponentialHistogramDataPoint e:
            {
                // Differences need both states at one scale; SDKs lower the scale as the range grows.
                var scale = Math.Min(e.Scale, state.PreviousScale ?? e.Scale);
                if (state.PreviousExponential is { } earlier && cumulative)
                {
                    state.PreviousDistribution = Distribution.Of(earlier, scale);
                }

                AddDistribution(state, step, Distribution.Of(e, scale), e.Count, point.StartTimeUnixNano, cumulative, startedInWindow);
                state.PreviousExponential = e;
                state.PreviousScale = e.Scale;
                break;
            }

            case SummaryDataPoint s:
                if (step >= 0)
                {
                    state.Quantiles[step] = s.QuantileValues.Select(q => (q.Quantile, q.Value)).ToArray();
                }

                break;
        }

        state.PreviousStart = point.StartTimeUnixNano;
    }

    private static void AddDistribution(SeriesState state, int step, Distribution current, ulong count, ulong start, bool cumulative, bool startedInWindow)
    {
        Distribution? increase;
        if (!cumulative)
        {
            increase = current;
        }
        else if (state.PreviousDistribution is not { } previous)
        {
            increase = startedInWindow ? current : null;
        }
        else
        {
            increase = count < state.PreviousCount || start != state.PreviousStart ? current : current.Minus(previous) ?? current;
        }

        if (step >= 0 && increase is not null)
        {
            (state.Group.Distributions[step] ??= new Distribution()).Add(increase);
        }

        state.PreviousDistribution = current;
        state.PreviousCount = count;
    }

    private static void AddExemplar(GroupState group, Exemplar exemplar, SeriesRequest request)
    {
        var time = (long)Math.Min(exemplar.TimeUnixNano, long.MaxValue);
        if (group.Exemplars.Count >= SeriesRequest.MaxExemplars || time < request.StartUnixNano || time > request.EndUnixNano
            || exemplar.TraceId.Length != TraceId.ByteLength || exemplar.SpanId.Length != SpanId.ByteLength)
        {
            return;
        }

        var traceId = Convert.ToHexStringLower(exemplar.TraceId.Span);
        var spanId = Convert.ToHexStringLower(exemplar.SpanId.Span);
        if (traceId.All(c => c == '0'))
        {
            return;
        }

        group.Exemplars.Add(new ExemplarPoint(time, MetricPoints.ExemplarValue(exemplar), traceId, spanId));
    }

    private static List<SeriesLine> Lines(GroupState group, SeriesRequest request, string kind, MetricType type)
    {
        long T(int step) => request.StartUnixNano + (step * request.StepNanos);
        var steps = group.Sums.Length;
        var seconds = request.StepNanos / 1e9;
        switch (kind)
        {
            case "rate":
            {
                // Each series' rate in the step is its increase over the time that increase took (so a step shorter
                // than the export interval still shows the true rate); a group's rate is the sum of its series'.
                var points = new List<SeriesPoint>();
                for (var i = 0; i < steps; i++)
                {
                    if (group.Has[i])
                    {
                        var rate = group.Series.Where(s => s.Interval[i] > 0).Sum(s => s.Increase[i] / (s.Interval[i] / 1e9));
                        points.Add(new SeriesPoint(T(i), rate));
                    }
                }

                return [new SeriesLine("rate", points)];
            }

            case "value":
            {
                var points = new List<SeriesPoint>();
                var isGauge = type == MetricType.Gauge;
                for (var i = 0; i < steps; i++)
                {
                    var lasts = group.Series.Select(s => s.Last[i]).Where(v => v is not null).Select(v => v!.Value).ToList();
                    if (group.Has[i])
                    {
                        points.Add(new SeriesPoint(T(i), group.Sums[i] + lasts.Sum()));
                    }
                    else if (lasts.Count > 0)
                    {
                        points.Add(new SeriesPoint(T(i), isGauge ? lasts.Average() : lasts.Sum()));
                    }
                }

                return [new SeriesLine("value", points)];
            }

            default:
            {
                if (type == MetricType.Summary)
                {
                    var byQuantile = new SortedDictionary<double, List<SeriesPoint>>();
                    for (var i = 0; i < steps; i++)
                    {
                        var reported = group.Series.Select(s => s.Quantiles[i]).Where(q => q is not null).SelectMany(q => q!).GroupBy(q => q.Quantile);
                        foreach (var q in reported)
                        {
                            if (!byQuantile.TryGetValue(q.Key, out var list))
                            {
                                byQuantile.Add(q.Key, list = []);
                            }

                            list.Add(new SeriesPoint(T(i), q.Average(v => v.Value)));
                        }
                    }

                    return byQuantile.Select(kv => new SeriesLine(PercentileName(kv.Key), kv.Value)).ToList();
                }

                var lines = Percentiles.Select(p => (Name: PercentileName(p), Q: p, Points: new List<SeriesPoint>())).ToList();
                for (var i = 0; i < steps; i++)
                {
                    if (group.Distributions[i] is { IsEmpty: false } d)
                    {
                        foreach (var line in lines)
                        {
                            line.Points.Add(new SeriesPoint(T(i), d.Quantile(line.Q)));
                        }
                    }
                }

                return lines.Select(l => new SeriesLine(l.Name, l.Points)).ToList();
            }
        }
    }

    /// <summary>0.5 → "p50", 0.999 → "p99.9", 1 → "max", 0 → "min".</summary>
    public static string PercentileName(double quantile) => quantile switch
    {
        >= 1 => "max",
        <= 0 => "min",
        _ => "p" + (quantile * 100).ToString("0.###", CultureInfo.InvariantCulture),
    };

    private static string SeriesKey(MetricData data, MetricPoint point, Dictionary<object, string> cache)
    {
        if (!cache.TryGetValue(data.Resource, out var resource))
        {
            resource = Convert.ToBase64String(data.Resource.ToByteArray()) + "|" + data.ResourceSchemaUrl;
            cache.Add(data.Resource, resource);
        }

        if (!cache.TryGetValue(data.Scope, out var scope))
        {
            scope = Convert.ToBase64String(data.Scope.ToByteArray()) + "|" + data.ScopeSchemaUrl;
            cache.Add(data.Scope, scope);
        }

        var attributes = new RepeatedFieldBytes(point.Attributes);
        return string.Concat(data.ServiceName, "|", resource, "|", scope, "|", data.Metric.Unit, "|", attributes.Text);
    }

    /// <summary>The group-by keys' values: the point's attribute, else the resource's, else empty.</summary>
    private static SortedDictionary<string, string> Labels(MetricData data, MetricPoint point, IReadOnlyList<string> groupBy)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in groupBy)
        {
            var value = point.Attributes.FirstOrDefault(kv => kv.Key == key)?.Value
                ?? data.Resource.Attributes.FirstOrDefault(kv => kv.Key == key)?.Value;
            labels[key] = value is null ? string.Empty : AttributeValueText.Of(value);
        }

        return labels;
    }

    private readonly struct RepeatedFieldBytes(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes)
    {
        public string Text
        {
            get
            {
                var message = new KeyValueList();
                message.Values.Add(attributes);
                return Convert.ToBase64String(message.ToByteArray());
            }
        }
    }

    private sealed class GroupState(SortedDictionary<string, string> labels, int steps)
    {
        public IReadOnlyDictionary<string, string> Labels { get; } = labels;

        public double[] Sums { get; } = new double[steps];

        public bool[] Has { get; } = new bool[steps];

        public Distribution?[] Distributions { get; } = new Distribution?[steps];

        public List<SeriesState> Series { get; } = [];

        public List<ExemplarPoint> Exemplars { get; } = [];

        public int SeriesCount { get; set; }

        /// <summary>Monotonic sums: the increase over the whole window (e.g. how many rolls), summed over the group's series.</summary>
        public double Total { get; set; }
    }

    private sealed class SeriesState
    {
        public SeriesState(GroupState group, MetricTemporality temporality)
        {
            Group = group;
            Temporality = temporality;
            Last = new double?[group.Sums.Length];
            Increase = new double[group.Sums.Length];
            Interval = new double[group.Sums.Length];
            Quantiles = new (double Quantile, double Value)[]?[group.Sums.Length];
            group.Series.Add(this);
        }

        public GroupState Group { get; }

        public MetricTemporality Temporality { get; }

        public double?[] Last { get; }

        /// <summary>Monotonic sums: the increase in each step and the nanoseconds it accrued over.</summary>
        public double[] Increase { get; }

        public double[] Interval { get; }

        public long PreviousTime { get; set; }

        public (double Quantile, double Value)[]?[] Quantiles { get; }

        public double? PreviousValue { get; set; }

        public ulong PreviousStart { get; set; }

        public ulong PreviousCount { get; set; }

        public Distribution? PreviousDistribution { get; set; }

        public ExponentialHistogramDataPoint? PreviousExponential { get; set; }

        public int? PreviousScale { get; set; }
    }
}

/// <summary>An attribute value's text, as filters and labels compare it: strings as they are, numbers invariant, the rest as OTLP/JSON.</summary>
public static class AttributeValueText
{
    public static string Of(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.None => string.Empty,
        _ => JsonFormatter.Default.Format(value),
    };
}
