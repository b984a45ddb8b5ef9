using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Core.Metrics;

/// <summary>
/// Counts per value range, the common form of explicit-bucket and exponential histograms, so differences (for
/// cumulative points), merges (for group-by) and percentiles are written once. Each bucket holds values in
/// (Lower, Upper]; the outermost explicit buckets reach to ±infinity.
/// </summary>
public sealed class Distribution
{
    private readonly Dictionary<(double Lower, double Upper), double> _counts = new();

    public double Total { get; private set; }

    public bool IsEmpty => Total <= 0;

    public IEnumerable<(double Lower, double Upper, double Count)> Buckets =>
        _counts.Select(kv => (kv.Key.Lower, kv.Key.Upper, kv.Value)).OrderBy(b => b.Upper).ThenBy(b => b.Lower);

    public void Add(double lower, double upper, double count)
    {
        if (count == 0)
        {
            return;
        }

        _counts[(lower, upper)] = _counts.GetValueOrDefault((lower, upper)) + count;
        Total += count;
    }

    public void Add(Distribution other)
    {
        foreach (var (lower, upper, count) in other.Buckets)
        {
            Add(lower, upper, count);
        }
    }

    /// <summary>This minus an earlier cumulative state; null when any bucket went down (a reset).</summary>
    public Distribution? Minus(Distribution earlier)
    {
        var result = new Distribution();
        foreach (var (key, count) in _counts)
        {
            result.Add(key.Lower, key.Upper, count - earlier._counts.GetValueOrDefault(key));
        }

        foreach (var (key, count) in earlier._counts)
        {
            if (!_counts.ContainsKey(key) && count > 0)
            {
                return null;
            }
        }

        return result._counts.Values.Any(c => c < 0) ? null : result;
    }

    /// <summary>
    /// The q-quantile (0..1) by linear interpolation inside the bucket the rank falls in, as Prometheus'
    /// histogram_quantile does: a bucket open to -infinity starts at 0 (or at its upper bound when that is not
    /// positive); a rank in the bucket open to +infinity answers that bucket's lower bound. NaN when empty.
    /// </summary>
    public double Quantile(double q)
    {
        if (IsEmpty)
        {
            return double.NaN;
        }

        var rank = Math.Clamp(q, 0, 1) * Total;
        var seen = 0.0;
        foreach (var (lower, upper, count) in Buckets)
        {
            if (seen + count >= rank && count > 0)
            {
                if (double.IsPositiveInfinity(upper))
                {
                    return lower;
                }

                var low = double.IsNegativeInfinity(lower) ? (upper > 0 ? 0 : upper) : lower;
                return low + ((upper - low) * ((rank - seen) / count));
            }

            seen += count;
        }

        var last = Buckets.Last();
        return double.IsPositiveInfinity(last.Upper) ? last.Lower : last.Upper;
    }

    public static Distribution Of(HistogramDataPoint point)
    {
        var d = new Distribution();
        var bounds = point.ExplicitBounds;
        for (var i = 0; i < point.BucketCounts.Count; i++)
        {
            var lower = i == 0 ? double.NegativeInfinity : (i - 1 < bounds.Count ? bounds[i - 1] : double.PositiveInfinity);
            var upper = i < bounds.Count ? bounds[i] : double.PositiveInfinity;
            d.Add(lower, upper, point.BucketCounts[i]);
        }

        return d;
    }

    /// <summary>
    /// An exponential histogram at <paramref name="scale"/> (at most the point's own): bucket index i covers
    /// (base^i, base^(i+1)] with base = 2^(2^-scale); lowering the scale merges 2^k neighbours (index >> k).
    /// The zero bucket is the single value 0.
    /// </summary>
    public static Distribution Of(ExponentialHistogramDataPoint point, int scale)
    {
        var d = new Distribution();
        var shift = Math.Max(0, point.Scale - scale);
        d.Add(0, 0, point.ZeroCount);
        AddSide(d, point.Positive, scale, shift, 1);
        AddSide(d, point.Negative, scale, shift, -1);
        return d;
    }

    private static void AddSide(Distribution d, ExponentialHistogramDataPoint.Types.Buckets? buckets, int scale, int shift, int sign)
    {
        if (buckets is null)
        {
            return;
        }

        for (var i = 0; i < buckets.BucketCounts.Count; i++)
        {
            var index = ((long)buckets.Offset + i) >> shift;
            var low = ExponentialBound(index, scale);
            var high = ExponentialBound(index + 1, scale);
            if (sign > 0)
            {
                d.Add(low, high, buckets.BucketCounts[i]);
            }
            else
            {
                d.Add(-high, -low, buckets.BucketCounts[i]);
            }
        }
    }

    /// <summary>base^index = 2^(index * 2^-scale).</summary>
    public static double ExponentialBound(long index, int scale) => Math.Pow(2, index * Math.Pow(2, -scale));
}
