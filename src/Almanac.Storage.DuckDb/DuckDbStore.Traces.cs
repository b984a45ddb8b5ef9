using System.Globalization;
using System.Text;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using DuckDB.NET.Data;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// Reading a trace's summary from its parts (ADR 0005): each write appends one <c>trace_parts</c> row per trace it
/// has spans of, and the batches' trace filters say which batches can hold a trace's parts and spans. Nothing is
/// looked up by index: a lookup reads only the admitted batches' rows, which zone maps on <c>batch</c> find.
/// </summary>
public sealed partial class DuckDbStore
{
    private const string TracePartColumns =
        "trace_id, start_ns, end_offset_ns, root_service, root_name, has_root, root_start_offset_ns, span_count, error_count, last_start_offset_ns, "
        + "services, service_counts";

    /// <summary>
    /// The batches that may hold any of the traces, in batch order. A trace none of them may hold was never stored
    /// (or retention deleted it), which is how a trace that is not there is answered without reading anything.
    /// </summary>
    private static List<SpanBatchInfo> BatchesHolding(SpanBatchInfo[] batches, IEnumerable<TraceId> traceIds)
    {
        var items = traceIds.Select(BatchFilter.TraceHash).ToArray();
        var found = new List<SpanBatchInfo>();
        foreach (var batch in batches)
        {
            foreach (var item in items)
            {
                if (BatchFilter.MayContain(batch.TraceFilter, item))
                {
                    found.Add(batch);
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>
    /// One predicate per run of consecutive batch numbers, to be used in UNION ALL branches: zone maps skip on such a
    /// conjunction, whereas an OR of ranges measured as a scan of everything between the first and the last batch.
    /// With <paramref name="startRange"/> (span rows only), each run also gets its start-time range, clipped to
    /// <paramref name="low"/>..<paramref name="high"/>.
    /// </summary>
    private static List<string> BatchRuns(List<SpanBatchInfo> batches, bool startRange, long low = long.MinValue, long high = long.MaxValue)
    {
        var sorted = batches.OrderBy(b => b.Batch).ToList();
        var runs = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1].Batch == sorted[j].Batch + 1)
            {
                j++;
            }

            var run = new StringBuilder("batch BETWEEN ").Append(sorted[i].Batch.ToString(CultureInfo.InvariantCulture))
                .Append(" AND ").Append(sorted[j].Batch.ToString(CultureInfo.InvariantCulture));
            if (startRange)
            {
                var min = long.MaxValue;
                var max = long.MinValue;
                for (var k = i; k <= j; k++)
                {
                    min = Math.Min(min, sorted[k].MinStart);
                    max = Math.Max(max, sorted[k].MaxStart);
                }

                run.Append(" AND ").Append(StartRange(min, max, low, high));
            }

            runs.Add(run.ToString());
            i = j + 1;
        }

        return runs;
    }

    /// <summary>A span-row predicate on start times: the batch's range clipped to the query's.</summary>
    private static string StartRange(long batchMin, long batchMax, long low, long high) =>
        string.Create(CultureInfo.InvariantCulture, $"start_ns BETWEEN {Math.Max(low, batchMin)} AND {Math.Min(high, batchMax)}");

    /// <summary>
    /// A statement reading <paramref name="columns"/> of the traces' parts from the batches their filters admit, one
    /// UNION ALL branch per run of batches; null when no batch may hold any of them (none is stored).
    /// </summary>
    private string? TracePartRows(string columns, IReadOnlyCollection<TraceId> traceIds, SqlParameters parameters)
    {
        var batches = BatchesHolding(_spanBatches.Snapshot, traceIds);
        if (batches.Count == 0)
        {
            return null;
        }

        var match = TraceIdMatch(traceIds, parameters);
        return string.Join(" UNION ALL ", BatchRuns(batches, startRange: false).Select(run =>
            "SELECT " + columns + " FROM trace_parts WHERE " + match + " AND " + run));
    }

    /// <summary>A row predicate for any of the trace ids, as parameters: an equality for one id, an IN list for more.</summary>
    private static string TraceIdMatch(IReadOnlyCollection<TraceId> traceIds, SqlParameters parameters) => traceIds.Count == 1
        ? "trace_id = " + parameters.Add(Stored(traceIds.First()))
        : "trace_id IN (" + string.Join(", ", traceIds.Select(id => parameters.Add(Stored(id)))) + ")";

    /// <summary>
    /// Each trace's parts combined, in write order (batch, then row), as the summary upsert of layout 4 combined them.
    /// Traces without parts are absent.
    /// </summary>
    private Dictionary<TraceId, TraceAggregate> ReadTraceParts(DuckDBConnection connection, IReadOnlyCollection<TraceId> traceIds)
    {
        var combined = new Dictionary<TraceId, TraceAggregate>();
        var parameters = new SqlParameters();
        if (TracePartRows("batch, rowid AS r, " + TracePartColumns, traceIds, parameters) is not { } rows)
        {
            return combined;
        }

        using var command = Command(connection, rows + " ORDER BY batch, r", parameters.ToArray());
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var id = ReadTraceId(reader, 2);
            if (!combined.TryGetValue(id, out var trace))
            {
                combined[id] = trace = TraceAggregate.Empty();
            }

            // The offsets were taken with wrap-around (a sender may send any 64-bit time), so they are added back the same way.
            var start = reader.GetInt64(3);
            trace.AddPart(start, unchecked(start + reader.GetInt64(4)), reader.GetString(5), reader.GetString(6), reader.GetBoolean(7),
                unchecked(start + reader.GetInt64(8)), reader.GetInt32(9), reader.GetInt32(10), unchecked(start + reader.GetInt64(11)),
                reader.GetFieldValue<List<string>>(12), reader.GetFieldValue<List<int>>(13));
        }

        return combined;
    }

    /// <summary>
    /// Each trace's start (its parts' earliest), for ordering search results: only two columns, since a scan
    /// fetches the projected columns of every row in the batches read before the id filter drops most of them.
    /// </summary>
    private Dictionary<TraceId, long> ReadTraceStarts(DuckDBConnection connection, IReadOnlyCollection<TraceId> traceIds)
    {
        var starts = new Dictionary<TraceId, long>();
        var parameters = new SqlParameters();
        if (TracePartRows("trace_id, start_ns", traceIds, parameters) is not { } rows)
        {
            return starts;
        }

        using var command = Command(connection, "SELECT trace_id, min(start_ns) FROM (" + rows + ") GROUP BY trace_id", parameters.ToArray());
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            starts[ReadTraceId(reader, 0)] = reader.GetInt64(1);
        }

        return starts;
    }

    public Task<IReadOnlyList<TraceSummary>> GetTraceSummariesAsync(IReadOnlyList<TraceId> traceIds, CancellationToken cancellationToken = default) => Read<IReadOnlyList<TraceSummary>>(connection =>
    {
        var found = new Dictionary<TraceId, TraceSummary>();
        foreach (var chunk in traceIds.Distinct().Chunk(500))
        {
            foreach (var (id, t) in ReadTraceParts(connection, chunk))
            {
                found[id] = new TraceSummary(id, t.Start, t.End, t.RootService, t.RootName, t.HasRoot, t.SpanCount, t.ErrorCount,
                    new Dictionary<string, int>(t.PerService, StringComparer.Ordinal));
            }
        }

        return traceIds.Where(found.ContainsKey).Select(id => found[id]).ToList();
    }, cancellationToken);
}
