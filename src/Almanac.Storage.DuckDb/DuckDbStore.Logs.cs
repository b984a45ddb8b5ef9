using System.Globalization;
using System.Text;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp;
using DuckDB.NET.Data;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>Log records: written in the span batch's transaction, searched newest first.</summary>
public sealed partial class DuckDbStore
{
    // Writer-only (guarded by _writeLock): the next seq; -1 until read from the table on the first write.
    private long _nextLogSeq = -1;

    /// <summary>
    /// Appends a batch's log records inside the writer's open transaction. Resources and scopes go through the same
    /// per-batch and stored dedup as the spans', so the caller inserts the new ones once for both signals.
    /// </summary>
    private void WriteLogs(DuckDBConnection writer, IReadOnlyList<LogRecordData> logs,
        Dictionary<Resource, ResourceEntry> batchResources, Dictionary<InstrumentationScope, ScopeEntry> batchScopes,
        List<ResourceEntry> newResources, List<ScopeEntry> newScopes)
    {
        if (logs.Count == 0)
        {
            return;
        }

        if (_nextLogSeq < 0)
        {
            using var command = Command(writer, "SELECT coalesce(max(seq), 0) + 1 FROM logs");
            _nextLogSeq = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        // Timestamp order keeps each row group's ts_ns range narrow, which is what zone maps prune on.
        var order = new int[logs.Count];
        var times = new long[logs.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            times[i] = logs[i].TimestampUnixNano;
        }

        Array.Sort(times, order);

        var seq = _nextLogSeq;
        var keys = new List<string>();
        var values = new List<string>();
        using (var appender = writer.CreateAppender("logs"))
        {
            foreach (var index in order)
            {
                var data = logs[index];
                var resource = ResolveResource(data.Resource, data.ServiceName, data.ResourceSchemaUrl, batchResources, newResources, catalogue: null, seen: 0);
                var scope = ResolveScope(data.Scope, data.ScopeSchemaUrl, batchScopes, newScopes, catalogue: null, data.ServiceName, seen: 0);
                var record = data.Record;

                keys.Clear();
                values.Clear();
                foreach (var kv in record.Attributes)
                {
                    keys.Add(kv.Key);
                    values.Add(AttributeText.Of(kv.Value));
                }

                var row = appender.CreateRow()
                    .AppendValue((long?)seq++)
                    .AppendValue((long?)data.TimestampUnixNano);
                row = data.TraceId.IsEmpty ? row.AppendNullValue() : row.AppendValue(data.TraceId.ToBytes());
                row.AppendValue((ulong?)data.SpanId.Value)
                    .AppendValue((sbyte?)ClampSeverity((int)record.SeverityNumber))
                    .AppendValue(data.ServiceName)
                    .AppendValue((long?)resource.Id)
                    .AppendValue((long?)scope.Id)
                    .AppendValue(AttributeText.Of(record.Body))
                    .AppendValue((IEnumerable<string>)keys)
                    .AppendValue((IEnumerable<string>)values)
                    .AppendValue(record.ToByteArray())
                    .EndRow();
            }
        }

        // Claimed only once the appender has taken every row; a failed commit leaves gaps, which is harmless.
        _nextLogSeq = seq;
    }

    // Severity numbers outside 0..24 are kept in the record proto; the column only has to order them sensibly.
    private static int ClampSeverity(int severity) => Math.Clamp(severity, 0, 127);

    public Task<LogPage> FindLogsAsync(LogQuery query, CancellationToken cancellationToken = default)
    {
        // Validated before going to a reader thread so callers get ArgumentException synchronously-shaped (as a faulted task).
        (long Time, long Seq)? before = null;
        if (query.Before is { } cursor)
        {
            before = ParseLogId(cursor) ?? throw new ArgumentException($"'{cursor}' is not a log cursor.", nameof(query));
        }

        return Read(connection =>
        {
            var limit = Math.Clamp(query.Limit, 0, LogQuery.MaxLimit);
            if (limit == 0)
            {
                return new LogPage([], null);
            }

            var parameters = new SqlParameters();

            var where = new StringBuilder();
            where.Append("ts_ns >= ").Append(parameters.Add(query.StartTimeMinUnixNano))
                .Append(" AND ts_ns <= ").Append(parameters.Add(query.StartTimeMaxUnixNano));
            if (before is { } b)
            {
                where.Append(" AND (ts_ns < ").Append(parameters.Add(b.Time)).Append(" OR (ts_ns = ").Append(parameters.Add(b.Time))
                    .Append(" AND seq < ").Append(parameters.Add(b.Seq)).Append("))");
            }

            if (!string.IsNullOrEmpty(query.ServiceName))
            {
                where.Append(" AND service = ").Append(parameters.Add(query.ServiceName));
            }

            if (query.MinSeverityNumber is { } severity)
            {
                where.Append(" AND severity >= ").Append(parameters.Add((sbyte)ClampSeverity(severity)));
            }

            if (query.TraceId is { } traceId)
            {
                where.Append(" AND trace_id = ").Append(parameters.Add(traceId.ToBytes()));
            }

            if (query.SpanId is { } spanId)
            {
                where.Append(" AND span_id = ").Append(parameters.Add(spanId.Value));
            }

            if (!string.IsNullOrEmpty(query.Text))
            {
                if (query.TextIsRegex)
                {
                    // A literal, not a parameter: DuckDB compiles a constant pattern once instead of per row.
                    var literal = SqlLiteral(query.Text);
                    ValidateRegex(connection, literal);
                    where.Append(" AND regexp_matches(body_text, ").Append(literal).Append(')');
                }
                else
                {
                    where.Append(" AND contains(lower(body_text), ").Append(parameters.Add(query.Text.ToLowerInvariant())).Append(')');
                }
            }

            foreach (var (key, value) in query.Attributes)
            {
                var resourceIds = MatchingResources(connection, key, value);
                parameters.Add(key);
                var keyParam = parameters.Count;
                parameters.Add(value);
                var valueParam = parameters.Count;
                where.Append(" AND (");
                if (resourceIds.Count > 0)
                {
                    where.Append("resource_id IN (").AppendJoin(", ", resourceIds.Select(id => id.ToString(CultureInfo.InvariantCulture)))
                        .Append(") OR ");
                }

                where.Append(Schema.ListAttributeMatch(keyParam, valueParam)).Append(')');
            }

            // Sort on the narrow columns first and read the protos of the page only.
            var sql = "SELECT seq, ts_ns, service, resource_id, scope_id, record_proto FROM logs WHERE " + where
                + " ORDER BY ts_ns DESC, seq DESC LIMIT " + parameters.Add(limit);
            var entries = ReadLogs(connection, sql, parameters.ToArray());
            var next = entries.Count == limit ? entries[^1].Id : null;
            return new LogPage(entries, next);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<LogRecordData>> GetTraceLogsAsync(TraceId traceId, int limit = LogQuery.MaxLimit, CancellationToken cancellationToken = default) =>
        Read<IReadOnlyList<LogRecordData>>(connection =>
        {
            if (limit <= 0)
            {
                return [];
            }

            var entries = ReadLogs(connection,
                "SELECT seq, ts_ns, service, resource_id, scope_id, record_proto FROM logs WHERE trace_id = $1 ORDER BY ts_ns, seq LIMIT $2",
                [traceId.ToBytes(), limit]);
            return entries.Select(e => e.Log).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<string>> GetLogServicesAsync(CancellationToken cancellationToken = default) =>
        ReadNamesAsync("SELECT DISTINCT service FROM logs", cancellationToken);

    private List<LogEntry> ReadLogs(DuckDBConnection connection, string sql, object[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        var entries = new List<LogEntry>();
        while (reader.Read())
        {
            var seq = reader.GetInt64(0);
            var time = reader.GetInt64(1);
            var resource = GetResource(connection, reader.GetInt64(3));
            var scope = GetScope(connection, reader.GetInt64(4));
            var record = OtlpProtobuf.ParseAccepted<LogRecord>(ReadBytes(reader, 5));

            // The ids were validated at ingest (empty or the right length), so these reads cannot fail on stored data.
            TraceId.TryRead(record.TraceId.Span, out var traceId);
            SpanId.TryRead(record.SpanId.Span, out var spanId);
            var data = new LogRecordData(traceId, spanId, reader.GetString(2), resource.Resource, resource.SchemaUrl, scope.Scope, scope.SchemaUrl, record);
            entries.Add(new LogEntry(FormatLogId(time, seq), data));
        }

        return entries;
    }

    private static void ValidateRegex(DuckDBConnection connection, string literal)
    {
        try
        {
            Execute(connection, "SELECT regexp_matches('', " + literal + ")");
        }
        catch (DuckDBException e)
        {
            throw new ArgumentException("Not a valid regular expression: " + FirstLine(e.Message), e);
        }
    }

    private static string FirstLine(string message)
    {
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? message : message[..newline];
    }

    // "<timestamp>-<seq>": both parts are what the newest-first order compares, so the id alone is a cursor.
    private static string FormatLogId(long time, long seq) =>
        time.ToString(CultureInfo.InvariantCulture) + "-" + seq.ToString(CultureInfo.InvariantCulture);

    private static (long Time, long Seq)? ParseLogId(string id)
    {
        var dash = id.LastIndexOf('-');
        if (dash <= 0
            || !long.TryParse(id.AsSpan(0, dash), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var time)
            || !long.TryParse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return null;
        }

        return (time, seq);
    }
}
