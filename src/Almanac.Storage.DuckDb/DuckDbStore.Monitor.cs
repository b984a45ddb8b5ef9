using System.Globalization;
using System.Text;
using Almanac.Core.Storage;
using DuckDB.NET.Data;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>Span-derived RED metrics (Jaeger's Monitor tab): one aggregate query over the spans table.</summary>
public sealed partial class DuckDbStore
{
    public Task<IReadOnlyList<SpanMetricsSeries>> GetSpanMetricsAsync(SpanMetricsQuery query, CancellationToken cancellationToken = default)
    {
        query.Validate();
        return Read<IReadOnlyList<SpanMetricsSeries>>(connection =>
        {
            using var command = SpanMetricsCommand(connection, query);
            using var reader = command.ExecuteReader();
            var series = new List<SpanMetricsSeries>();
            string? service = null, operation = null;
            List<SpanMetricsPoint>? points = null;
            while (reader.Read())
            {
                var rowService = reader.GetString(0);
                var rowOperation = query.GroupByOperation ? reader.GetString(1) : null;
                if (points is null || rowService != service || rowOperation != operation)
                {
                    points = [];
                    service = rowService;
                    operation = rowOperation;
                    series.Add(new SpanMetricsSeries(rowService, rowOperation, points));
                }

                IReadOnlyList<double> quantiles = query.Quantiles.Count == 0 ? [] : reader.GetFieldValue<List<double>>(5);
                points.Add(new SpanMetricsPoint(reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), quantiles));
            }

            return series;
        }, cancellationToken);
    }

    /// <summary>
    /// Builds the one query. Each span lands on the sample times whose window holds its start. When windows do not
    /// overlap (window ≤ step, what the /monitor page asks for) that is at most one sample time, found by integer
    /// arithmetic; when they overlap (Jaeger UI: 10-minute rate windows sampled every minute) a range join against
    /// the sample times repeats the span for each window it is in — or, for counts alone, repeats per-step bucket
    /// counts instead. Either way DuckDB groups and computes the quantiles (quantile_cont: exact, interpolated) in
    /// the same pass — no round trip per bucket.
    /// </summary>
    private static DuckDBCommand SpanMetricsCommand(DuckDBConnection connection, SpanMetricsQuery query)
    {
        var start = query.StartUnixNano;
        var end = query.EndUnixNano;
        var step = query.StepNano;
        var window = query.EffectiveWindowNano;

        // Parameters $1..$4 are start, end, step, window; service names follow. Kinds and quantiles are validated
        // numbers, written into the SQL in invariant form.
        var services = string.Join(", ", query.ServiceNames.Select((_, i) => "$" + (i + 5).ToString(CultureInfo.InvariantCulture)));
        var kinds = query.SpanKinds.Count == 0
            ? string.Empty
            : " AND kind IN (" + string.Join(", ", query.SpanKinds.Distinct().Select(k => ((int)k).ToString(CultureInfo.InvariantCulture))) + ")";
        var operation = query.GroupByOperation ? "name" : "''";
        var quantiles = query.Quantiles.Count == 0
            ? string.Empty
            : ", quantile_cont(duration_ns, [" + string.Join(", ", query.Quantiles.Select(q => q.ToString("R", CultureInfo.InvariantCulture))) + "])";

        var sql = new StringBuilder();
        sql.Append(CultureInfo.InvariantCulture, $"""
            WITH s AS (
                SELECT service, {operation} AS op, start_ns, duration_ns, status_code
                FROM spans
                WHERE service IN ({services}){kinds} AND start_ns > $1 - $4 AND start_ns <= $2)
            """);
        if (window <= step)
        {
            // The sample time at or after the span's start; (start_ns - $1 + $3 - 1) is never negative because
            // start_ns > $1 - window ≥ $1 - step.
            sql.Append(CultureInfo.InvariantCulture, $"""
                , b AS (
                    SELECT *, $1 + ((start_ns - $1 + $3 - 1) // $3) * $3 AS t FROM s)
                SELECT service, op, t, count(*), count(*) FILTER (WHERE status_code = {(int)Status.Types.StatusCode.Error}){quantiles}
                FROM b
                WHERE t <= $2 AND t - start_ns < $4
                GROUP BY service, op, t
                ORDER BY service, op, t
                """);
        }
        else if (query.Quantiles.Count == 0 && window % step == 0)
        {
            // Counts only, windows a whole number of steps: count per step-sized bucket first, then add up the
            // buckets in each window, so a span is not repeated once per window (120 times for Jaeger's defaults).
            // Bucket times sit on the sample grid; the anchor below every span keeps the division non-negative.
            var anchor = start - (window / step * step) - step;
            sql.Append(CultureInfo.InvariantCulture, $"""
                , b AS (
                    SELECT service, op, {anchor} + ((start_ns - {anchor} + $3 - 1) // $3) * $3 AS bt, count(*) AS c,
                           count(*) FILTER (WHERE status_code = {(int)Status.Types.StatusCode.Error}) AS e
                    FROM s GROUP BY ALL),
                  p AS (SELECT unnest(range($1, $2 + 1, $3)) AS t)
                SELECT service, op, t, sum(c)::BIGINT, sum(e)::BIGINT
                FROM p JOIN b ON b.bt > p.t - $4 AND b.bt <= p.t
                GROUP BY service, op, t
                ORDER BY service, op, t
                """);
        }
        else
        {
            sql.Append(CultureInfo.InvariantCulture, $"""
                , p AS (SELECT unnest(range($1, $2 + 1, $3)) AS t)
                SELECT service, op, t, count(*), count(*) FILTER (WHERE status_code = {(int)Status.Types.StatusCode.Error}){quantiles}
                FROM p JOIN s ON s.start_ns > p.t - $4 AND s.start_ns <= p.t
                GROUP BY service, op, t
                ORDER BY service, op, t
                """);
        }

        var parameters = new List<object> { start, end, step, window };
        parameters.AddRange(query.ServiceNames);
        return Command(connection, sql.ToString(), [.. parameters]);
    }
}
