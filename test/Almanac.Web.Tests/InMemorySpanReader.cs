using Almanac.Core.Model;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests;

/// <summary>A small in-memory <see cref="ISpanReader"/> for component tests (search filters service and operation only).</summary>
public sealed class InMemorySpanReader : ISpanReader
{
    private readonly List<SpanData> _spans = [];

    public Exception? FailWith { get; set; }

    public TraceQuery? LastQuery { get; private set; }

    public InMemorySpanReader Add(params SpanData[] spans)
    {
        _spans.AddRange(spans);
        return this;
    }

    private void ThrowIfFailing()
    {
        if (FailWith is not null)
        {
            throw FailWith;
        }
    }

    public Task<TraceData?> GetTraceAsync(TraceId traceId, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        var spans = _spans.Where(s => s.TraceId == traceId).ToList();
        return Task.FromResult(spans.Count == 0 ? null : new TraceData(traceId, spans));
    }

    public Task<IReadOnlyList<TraceId>> FindTraceIdsAsync(TraceQuery query, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        LastQuery = query;
        IReadOnlyList<TraceId> ids = [.. _spans
            .Where(s => (query.ServiceName is null || s.ServiceName == query.ServiceName) && (query.OperationName is null || s.Span.Name == query.OperationName))
            .GroupBy(s => s.TraceId)
            .OrderByDescending(g => g.Min(s => s.StartTimeUnixNano))
            .Select(g => g.Key)
            .Take(query.Limit)];
        return Task.FromResult(ids);
    }

    public Task<IReadOnlyList<TraceSummary>> GetTraceSummariesAsync(IReadOnlyList<TraceId> traceIds, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        IReadOnlyList<TraceSummary> result = [.. traceIds.Select(id =>
        {
            var spans = _spans.Where(s => s.TraceId == id).ToList();
            var root = spans.FirstOrDefault(s => s.ParentSpanId.IsEmpty) ?? spans.MinBy(s => s.StartTimeUnixNano)!;
            return new TraceSummary(id, spans.Min(s => s.StartTimeUnixNano), spans.Max(s => s.EndTimeUnixNano), root.ServiceName, root.Span.Name,
                root.ParentSpanId.IsEmpty, spans.Count, spans.Count(s => s.IsError),
                spans.GroupBy(s => s.ServiceName).ToDictionary(g => g.Key, g => g.Count()));
        })];
        return Task.FromResult(result);
    }

    public Task<IReadOnlyList<string>> GetServicesAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        IReadOnlyList<string> services = [.. _spans.Select(s => s.ServiceName).Distinct().Order(StringComparer.Ordinal)];
        return Task.FromResult(services);
    }

    public Task<IReadOnlyList<OperationInfo>> GetOperationsAsync(string serviceName, Span.Types.SpanKind? kind = null, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        IReadOnlyList<OperationInfo> ops = [.. _spans.Where(s => s.ServiceName == serviceName).Select(s => new OperationInfo(s.Span.Name, s.Span.Kind)).Distinct()
            .OrderBy(o => o.Name, StringComparer.Ordinal).ThenBy(o => o.Kind)];
        return Task.FromResult(ops);
    }

    public Task<IReadOnlyList<DependencyLink>> GetDependenciesAsync(long startUnixNano, long endUnixNano, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<DependencyLink>>([]);

    public Task<IReadOnlyList<AttributeKeyInfo>> GetAttributeKeysAsync(string? serviceName = null, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        IReadOnlyList<AttributeKeyInfo> keys = [.. _spans.Where(s => serviceName is null || s.ServiceName == serviceName)
            .SelectMany(s => s.Span.Attributes.Select(a => a.Key)).Distinct().Order(StringComparer.Ordinal)
            .Select(k => new AttributeKeyInfo(k, AttributeValueType.String, AttributeTarget.Span))];
        return Task.FromResult(keys);
    }

    /// <summary>The same windows and interpolated quantiles as the stores, computed naively (fine for a few spans).</summary>
    public Task<IReadOnlyList<SpanMetricsSeries>> GetSpanMetricsAsync(SpanMetricsQuery query, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        query.Validate();
        var window = query.EffectiveWindowNano;
        var matching = _spans.Where(s => query.ServiceNames.Contains(s.ServiceName) && (query.SpanKinds.Count == 0 || query.SpanKinds.Contains(s.Span.Kind)));
        var series = new List<SpanMetricsSeries>();
        foreach (var group in matching.GroupBy(s => (s.ServiceName, Operation: query.GroupByOperation ? s.Span.Name : null))
                     .OrderBy(g => g.Key.ServiceName, StringComparer.Ordinal).ThenBy(g => g.Key.Operation, StringComparer.Ordinal))
        {
            var points = new List<SpanMetricsPoint>();
            for (var t = query.StartUnixNano; t <= query.EndUnixNano; t += query.StepNano)
            {
                var inWindow = group.Where(s => s.StartTimeUnixNano > t - window && s.StartTimeUnixNano <= t).ToList();
                if (inWindow.Count == 0)
                {
                    continue;
                }

                var durations = inWindow.Select(s => (double)s.DurationNanos).Order().ToArray();
                points.Add(new SpanMetricsPoint(t, inWindow.Count, inWindow.Count(s => s.IsError), [.. query.Quantiles.Select(q => Interpolate(durations, q))]));
            }

            if (points.Count > 0)
            {
                series.Add(new SpanMetricsSeries(group.Key.ServiceName, group.Key.Operation, points));
            }
        }

        return Task.FromResult<IReadOnlyList<SpanMetricsSeries>>(series);
    }

    private static double Interpolate(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = (int)Math.Ceiling(position);
        return sorted[lower] + ((position - lower) * (sorted[upper] - sorted[lower]));
    }

    public Task<IReadOnlyList<ServiceTraces>> GetServiceTraceCountsAsync(long startUnixNano, long endUnixNano, CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        IReadOnlyList<ServiceTraces> counts = [.. _spans.Where(s => s.StartTimeUnixNano >= startUnixNano && s.StartTimeUnixNano <= endUnixNano)
            .GroupBy(s => s.ServiceName).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ServiceTraces(g.Key, g.Select(s => s.TraceId).Distinct().Count()))];
        return Task.FromResult(counts);
    }

    public Task<IReadOnlyList<AttributeValueStat>> GetAttributeValuesAsync(string key, string? serviceName, long startUnixNano, long endUnixNano, int limit,
        CancellationToken cancellationToken = default)
    {
        ThrowIfFailing();
        // Text forms as the DuckDB store spells them for strings, ints and bools: enough for the component tests.
        static string Text(OpenTelemetry.Proto.Common.V1.AnyValue v) => v.ValueCase switch
        {
            OpenTelemetry.Proto.Common.V1.AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            OpenTelemetry.Proto.Common.V1.AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
            _ => v.StringValue,
        };
        IReadOnlyList<AttributeValueStat> values = [.. _spans
            .Where(s => s.StartTimeUnixNano >= startUnixNano && s.StartTimeUnixNano <= endUnixNano && (serviceName is null || s.ServiceName == serviceName))
            .SelectMany(s => s.Span.Attributes.Concat(s.Span.Events.SelectMany(e => e.Attributes)).Concat(s.Resource.Attributes))
            .Where(kv => kv.Key == key)
            .GroupBy(kv => Text(kv.Value))
            .Select(g => new AttributeValueStat(g.Key, g.Count()))
            .OrderByDescending(v => v.SpanCount).ThenBy(v => v.Value, StringComparer.Ordinal)
            .Take(Math.Max(0, limit))];
        return Task.FromResult(values);
    }
}
