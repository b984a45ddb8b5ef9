using System.Globalization;
using System.Text;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using DuckDB.NET.Data;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// Trace search, pruned by batch (ADR 0004, <see cref="BatchFilter"/>): only batches whose time range, longest
/// duration and Bloom filter admit the query are read, newest first, a few at a time, and the search stops as soon as
/// no unread batch can hold a trace that sorts before the <c>limit</c>-th one found. The answer is the one a full
/// scan gives (<see cref="FindTraceIdsUnprunedAsync"/>, kept for the test that compares them).
/// </summary>
public sealed partial class DuckDbStore
{
    /// <summary>
    /// Full batches in the first group of batches a search reads (each further group is twice as large): one
    /// statement costs a few milliseconds whatever it reads, so a group is worth a couple of batches.
    /// </summary>
    private const int FirstChunkBatches = 2;

    /// <summary>
    /// Trace ids per trace-start lookup (at least the limit). Small: a trace starts at or just before its latest
    /// matching span, so the first few ids by that bound almost always settle the top, and every id adds the batches
    /// its filter admits (false positives included) to the statement. 256 ids took 40–60 ms a lookup; 32 take ~4.
    /// </summary>
    private const int TraceLookupChunk = 32;

    /// <summary>
    /// Runs of admitted filter blocks past which a batch is read whole: each run is a branch of the statement, and a
    /// value in many scattered blocks (a mid-cardinality one) gains little from skipping the gaps between them.
    /// </summary>
    private const int MaxRunsPerBatch = 4;

    private readonly SpanBatches _spanBatches = new();

    private void LoadBatches(DuckDBConnection connection)
    {
        var rows = SpanBatches.Read(connection);
        _spanBatches.Load(rows);
        _batchFilter.Load(rows);
    }

    /// <summary>A straddling batch keeps its row (its filter still describes the spans left, and a few more).</summary>
    private static void DeleteBatchesOlderThan(DuckDBConnection writer, long cutoff)
    {
        Execute(writer, "DELETE FROM span_batches WHERE max_start_ns < $1", cutoff);
        Execute(writer, "UPDATE span_batches SET min_start_ns = $1 WHERE min_start_ns < $1", cutoff);
    }

    private void BatchesDeletedOlderThan(long cutoff)
    {
        _spanBatches.DeleteOlderThan(cutoff);
        _batchFilter.Close();
    }

    public Task<IReadOnlyList<TraceId>> FindTraceIdsAsync(TraceQuery query, CancellationToken cancellationToken = default) =>
        Read<IReadOnlyList<TraceId>>(connection => FindTraceIds(connection, query, prune: true), cancellationToken);

    /// <summary>The same search over every span, without the batch filters: what the pruned search must equal.</summary>
    internal Task<IReadOnlyList<TraceId>> FindTraceIdsUnprunedAsync(TraceQuery query, CancellationToken cancellationToken = default) =>
        Read<IReadOnlyList<TraceId>>(connection => FindTraceIds(connection, query, prune: false), cancellationToken);

    /// <summary>Batches, rows (at most) and summary lookups the last pruned search read (for the benchmark's report).</summary>
    internal (int Batches, long Spans, int Lookups) LastSearchWork { get; private set; }

    private List<TraceId> FindTraceIds(DuckDBConnection connection, TraceQuery query, bool prune)
    {
        if (query.Limit <= 0)
        {
            return [];
        }

        var parameters = new SqlParameters();

        // Every filter a candidate batch must pass: the items its Bloom filter must (maybe) hold, one list per filter,
        // any item of a list will do (an attribute may match on the span or through one of several resources).
        var required = new List<ulong[]>();
        var where = new StringBuilder();
        where.Append("start_ns >= ").Append(parameters.Add(query.StartTimeMinUnixNano))
            .Append(" AND start_ns <= ").Append(parameters.Add(query.StartTimeMaxUnixNano));
        if (!string.IsNullOrEmpty(query.ServiceName))
        {
            where.Append(" AND service = ").Append(parameters.Add(query.ServiceName));
            required.Add([BatchFilter.ServiceHash(query.ServiceName)]);
        }

        if (!string.IsNullOrEmpty(query.OperationName))
        {
            where.Append(" AND name = ").Append(parameters.Add(query.OperationName));
            required.Add([BatchFilter.OperationHash(query.OperationName)]);
        }

        if (query.SpanKind is { } kind)
        {
            where.Append(" AND kind = ").Append(parameters.Add((sbyte)kind));
        }

        if (query.DurationMinNanos is { } min)
        {
            where.Append(" AND duration_ns >= ").Append(parameters.Add(min));
        }

        if (query.DurationMaxNanos is { } max)
        {
            where.Append(" AND duration_ns <= ").Append(parameters.Add(max));
        }

        // One snapshot for every statement below, so the sets, batches and trace starts read agree with each other.
        using var transaction = connection.BeginTransaction();
        foreach (var (key, value) in query.Attributes)
        {
            // Resources are few: resolve which match first so each span row only compares an id.
            var resourceIds = MatchingResources(connection, key, value);
            var keyId = KeyIdForSearch(connection, key);
            if (keyId is null && resourceIds.Count == 0)
            {
                // No span ever had this key and no resource has the pair: nothing can match.
                return [];
            }

            var items = resourceIds.Select(BatchFilter.ResourceHash).ToList();
            where.Append(" AND (");
            if (resourceIds.Count > 0)
            {
                where.Append("resource_id IN (").AppendJoin(", ", resourceIds.Select(id => id.ToString(CultureInfo.InvariantCulture)))
                    .Append(") OR ");
            }

            if (keyId is { } known)
            {
                var needle = SearchText.Needle(known, value);
                parameters.Add(needle);
                // The snapshot has begun (resources were read in it), so a set any span in it uses has its keys marked.
                var sets = _attributeSets.Keys.MayHold(known) ? MatchingAttributeSets(connection, needle) : [];
                where.Append(Schema.SpanAttributeMatch(parameters.Count, sets)).Append(')');
                items.Add(BatchFilter.PairHash(known, value));
            }
            else
            {
                where.Append("false)");
            }

            required.Add([.. items]);
        }

        if (!prune)
        {
            var sql = "SELECT t.trace_id FROM (SELECT trace_id, min(start_ns) AS start_ns FROM trace_parts GROUP BY trace_id) t "
                + "SEMI JOIN (SELECT trace_id FROM spans WHERE " + where
                + ") m ON t.trace_id = m.trace_id ORDER BY t.start_ns DESC, t.trace_id LIMIT " + parameters.Add(query.Limit);
            using var command = Command(connection, sql, parameters.ToArray());
            using var reader = command.ExecuteReader();
            var ids = new List<TraceId>();
            while (reader.Read())
            {
                ids.Add(ReadTraceId(reader, 0));
            }

            return ids;
        }

        var candidates = Candidates(_spanBatches.Snapshot, query, required);
        var best = new TopTraces(query.Limit);
        var (batchesRead, rowsRead, lookups) = (0, 0L, 0);
        var next = 0;
        var chunkRows = (long)FirstChunkBatches * _batchFilter.GroupSize;
        while (next < candidates.Count && !best.Beats(candidates[next].Batch.MaxStart))
        {
            // The next group: newest batches first, up to chunkRows rows to read (at least one batch). Blocks read for
            // a rare value hold about one trace each, so the group also takes as many of those as traces are missing:
            // each group costs a statement and a lookup of trace starts, and a rare value's 20 traces took three.
            var chunk = new List<Candidate>();
            long rows = 0;
            var runs = 0;
            while (next < candidates.Count && !best.Beats(candidates[next].Batch.MaxStart)
                   && (chunk.Count == 0 || rows + candidates[next].Rows <= chunkRows
                       || (candidates[next].SeqRuns is { } seqRuns && runs + seqRuns.Count <= query.Limit - best.Count)))
            {
                rows += candidates[next].Rows;
                runs += candidates[next].SeqRuns?.Count ?? 0;
                chunk.Add(candidates[next++]);
            }

            chunkRows *= 2;
            batchesRead += chunk.Count;
            rowsRead += rows;
            lookups += ReadChunk(connection, where.ToString(), parameters, query, chunk, best);
        }

        LastSearchWork = (batchesRead, rowsRead, lookups);
        return best.Ordered();
    }

    /// <summary>
    /// The batches that may hold a matching span, newest (by latest span start) first, each with the runs of rows
    /// (by <c>seq</c>) whose filter blocks admit the query, or none when the whole batch is to be read.
    /// </summary>
    private static List<Candidate> Candidates(SpanBatchInfo[] batches, TraceQuery query, List<ulong[]> required)
    {
        var candidates = new List<Candidate>();
        foreach (var batch in batches)
        {
            if (batch.MaxStart < query.StartTimeMinUnixNano || batch.MinStart > query.StartTimeMaxUnixNano
                || (query.DurationMinNanos is { } min && batch.MaxDuration < min))
            {
                continue;
            }

            var filter = batch.Filter;
            if (required.Count == 0)
            {
                candidates.Add(new Candidate(batch, null, batch.Spans));
                continue;
            }

            List<(int From, int To)>? runs = null;
            var admitted = 0;
            for (var block = 0; block < filter.Count; block++)
            {
                if (!Admits(filter, block, required))
                {
                    continue;
                }

                admitted++;
                if (filter.BlockRows > 0)
                {
                    // In longs: a damaged file's block size must not wrap a range around.
                    var from = (int)Math.Min(int.MaxValue, (long)block * filter.BlockRows);
                    var to = (int)Math.Min(int.MaxValue, (long)from + filter.BlockRows - 1);
                    runs ??= [];
                    if (runs.Count > 0 && runs[^1].To == from - 1)
                    {
                        runs[^1] = (runs[^1].From, to);
                    }
                    else
                    {
                        runs.Add((from, to));
                    }
                }
            }

            if (admitted == 0)
            {
                continue;
            }

            // Past a few runs, one read of the whole batch costs less than a statement branch per run.
            candidates.Add(runs is null || admitted == filter.Count || runs.Count > MaxRunsPerBatch
                ? new Candidate(batch, null, batch.Spans)
                : new Candidate(batch, runs, Math.Min(batch.Spans, (long)admitted * filter.BlockRows)));
        }

        candidates.Sort((a, b) => b.Batch.MaxStart.CompareTo(a.Batch.MaxStart));
        return candidates;
    }

    /// <summary>Whether the block's filter may hold, for every filter of the query, one of its items.</summary>
    private static bool Admits(BlockFilters filter, int block, List<ulong[]> required)
    {
        foreach (var anyOf in required)
        {
            var found = false;
            foreach (var item in anyOf)
            {
                if (filter.MayContain(block, item))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Reads one group of batches: the traces with a matching span there, each with the latest start of those spans
    /// (an upper bound of the trace's start), then the trace starts from the summaries, best bounds first, until no
    /// remaining trace can enter the top. Returns the number of summary lookups.
    /// </summary>
    private int ReadChunk(DuckDBConnection connection, string where, SqlParameters parameters, TraceQuery query, List<Candidate> chunk, TopTraces best)
    {
        var (low, high) = (query.StartTimeMinUnixNano, query.StartTimeMaxUnixNano);
        var runs = BatchRuns(chunk.Where(c => c.SeqRuns is null).Select(c => c.Batch).ToList(), startRange: true, low, high);
        foreach (var candidate in chunk)
        {
            foreach (var (from, to) in candidate.SeqRuns ?? [])
            {
                var batch = candidate.Batch;
                runs.Add(string.Create(CultureInfo.InvariantCulture,
                    $"batch = {batch.Batch} AND seq BETWEEN {from} AND {to} AND {StartRange(batch.MinStart, batch.MaxStart, low, high)}"));
            }
        }

        var sql = new StringBuilder("SELECT trace_id, max(start_ns) AS bound FROM (")
            .AppendJoin(" UNION ALL ", runs.Select(run => "SELECT trace_id, start_ns FROM spans WHERE " + where + " AND " + run));
        sql.Append(") GROUP BY trace_id");

        var found = new List<(TraceId Id, long Bound)>();

        using (var command = Command(connection, sql.ToString(), parameters.ToArray()))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var id = ReadTraceId(reader, 0);
                if (!best.Contains(id))
                {
                    found.Add((id, reader.GetInt64(1)));
                }
            }
        }

        found.Sort((a, b) => b.Bound.CompareTo(a.Bound));
        var lookups = 0;
        var size = Math.Max(TraceLookupChunk, query.Limit);
        for (var next = 0; next < found.Count && !best.Beats(found[next].Bound); next += size)
        {
            lookups++;
            foreach (var (id, start) in ReadTraceStarts(connection, found.Skip(next).Take(size).Select(f => f.Id).ToList()))
            {
                best.Offer(id, start);
            }
        }

        return lookups;
    }

    /// <summary>
    /// The attribute sets whose text holds the needle, or null when there are so many (a pair nearly every span has)
    /// that the statement is better off joining them itself than listing them.
    /// </summary>
    private static List<int>? MatchingAttributeSets(DuckDBConnection connection, string needle)
    {
        const int MaxListed = 1000;
        using var command = Command(connection, $"SELECT id FROM attr_sets WHERE contains(text, $1) LIMIT {MaxListed + 1}", needle);
        using var reader = command.ExecuteReader();
        var ids = new List<int>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt32(0));
        }

        return ids.Count > MaxListed ? null : ids;
    }

    private static List<long> MatchingResources(DuckDBConnection connection, string key, string value)
    {
        using var command = Command(connection, "SELECT id FROM resources WHERE " + Schema.ListAttributeMatch(1, 2), key, value);
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>A batch a search reads: the runs of rows (inclusive <c>seq</c> ranges) its filter blocks admit, or null for all of it.</summary>
    private sealed record Candidate(SpanBatchInfo Batch, List<(int From, int To)>? SeqRuns, long Rows);

    /// <summary>The best <c>limit</c> traces so far, in the order search answers: start descending, then trace id.</summary>
    private sealed class TopTraces
    {
        private readonly int _limit;
        private readonly SortedSet<(long Start, TraceId Id)> _best = new(Comparer<(long Start, TraceId Id)>.Create(
            (a, b) => a.Start != b.Start ? b.Start.CompareTo(a.Start) : a.Id.CompareTo(b.Id)));
        private readonly HashSet<TraceId> _seen = new();

        public TopTraces(int limit) => _limit = limit;

        public bool Contains(TraceId id) => _seen.Contains(id);

        /// <summary>Traces held, at most the limit.</summary>
        public int Count => _best.Count;

        public void Offer(TraceId id, long start)
        {
            if (!_seen.Add(id))
            {
                return;
            }

            _best.Add((start, id));
            if (_best.Count > _limit)
            {
                _best.Remove(_best.Max);
            }
        }

        /// <summary>
        /// Whether every trace reachable only through spans starting at or before <paramref name="bound"/> sorts after
        /// the ones held: a trace starts no later than any of its spans, so such a trace starts at or before the
        /// bound, and a tie on start could still win on trace id, hence strictly less.
        /// </summary>
        public bool Beats(long bound) => _best.Count == _limit && bound < _best.Max.Start;

        public List<TraceId> Ordered() => _best.Select(b => b.Id).ToList();
    }
}
