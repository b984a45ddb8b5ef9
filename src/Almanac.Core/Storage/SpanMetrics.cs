using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Core.Storage;

/// <summary>
/// RED metrics (rate, errors, duration) derived from stored spans, as Jaeger's Monitor tab shows them: for each
/// sample time <c>t</c> from <see cref="StartUnixNano"/> to <see cref="EndUnixNano"/> every <see cref="StepNano"/>,
/// the spans of the given services and kinds that started in the window <c>(t - WindowNano, t]</c>.
/// </summary>
public sealed record SpanMetricsQuery
{
    /// <summary>Beyond this many sample times per series a query is refused (Prometheus' limit, which Jaeger's backend has too).</summary>
    public const int MaxPoints = 11_000;

    /// <summary>Services to report on; one series per service (and per operation when grouped).</summary>
    public required IReadOnlyList<string> ServiceNames { get; init; }

    /// <summary>Span kinds that count; empty counts every kind.</summary>
    public IReadOnlyList<Span.Types.SpanKind> SpanKinds { get; init; } = [Span.Types.SpanKind.Server];

    /// <summary>One series per operation (span name) instead of one per service.</summary>
    public bool GroupByOperation { get; init; }

    /// <summary>The last sample time.</summary>
    public required long EndUnixNano { get; init; }

    /// <summary>How far before <see cref="EndUnixNano"/> the first sample time lies.</summary>
    public required long LookbackNano { get; init; }

    /// <summary>Time between sample times; positive.</summary>
    public required long StepNano { get; init; }

    /// <summary>How far back each sample looks; 0 means <see cref="StepNano"/>, so consecutive samples do not overlap.</summary>
    public long WindowNano { get; init; }

    /// <summary>Latency quantiles to compute (each in [0, 1]), in this order in every point.</summary>
    public IReadOnlyList<double> Quantiles { get; init; } = [];

    public long StartUnixNano => EndUnixNano - LookbackNano;

    public long EffectiveWindowNano => WindowNano > 0 ? WindowNano : StepNano;

    /// <summary>Number of sample times: start, start + step, … up to and including end.</summary>
    public long PointCount => StepNano <= 0 || LookbackNano < 0 ? 0 : (LookbackNano / StepNano) + 1;

    /// <summary>Throws when the query is not one a store can answer (every backend calls this first).</summary>
    public void Validate()
    {
        if (ServiceNames.Count == 0)
        {
            throw new ArgumentException("at least one service name is required", nameof(ServiceNames));
        }

        if (StepNano <= 0 || LookbackNano < 0 || WindowNano < 0 || EndUnixNano < LookbackNano)
        {
            throw new ArgumentException("step must be positive, lookback and window not negative, and the start not before 1970");
        }

        if (PointCount > MaxPoints)
        {
            throw new ArgumentException($"more than {MaxPoints} points per series; use a larger step");
        }

        foreach (var q in Quantiles)
        {
            if (!(q >= 0 && q <= 1))
            {
                throw new ArgumentException("quantiles must lie in [0, 1]", nameof(Quantiles));
            }
        }
    }
}

/// <summary>One series: a service, or one operation of it when the query groups by operation.</summary>
public sealed record SpanMetricsSeries(string Service, string? Operation, IReadOnlyList<SpanMetricsPoint> Points);

/// <summary>
/// One sample time with at least one span in its window (times without spans are left out). Latency quantiles are
/// span durations in nanoseconds, in the order <see cref="SpanMetricsQuery.Quantiles"/> asked for them, computed
/// exactly (continuous interpolation between the two nearest durations).
/// </summary>
public sealed record SpanMetricsPoint(long TimestampUnixNano, long Calls, long Errors, IReadOnlyList<double> LatencyQuantilesNano);
