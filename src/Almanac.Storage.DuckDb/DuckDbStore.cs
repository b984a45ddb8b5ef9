using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using DuckDB.NET.Data;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// The embedded default backend: one DuckDB database file. One writer at a time (batches are serialized by a
/// lock and each commits in one transaction with its checkpoint); queries run concurrently on their own
/// connections and see committed snapshots (DuckDB's MVCC).
/// </summary>
public sealed partial class DuckDbStore : ITelemetryStore
{
    /// <summary>
    /// A catalogue row's last_seen is rewritten only when data this much newer arrives, so steady traffic does not
    /// upsert every service/operation/key on every batch. Retention is days, so a minute of slack is invisible.
    /// </summary>
    private const long CatalogueRefreshNanos = 60L * 1_000_000_000;

    /// <summary>
    /// WAL size at which a background CHECKPOINT starts. DuckDB's own automatic checkpoint runs inside the
    /// committing transaction, which measured as multi-second stalls of WriteAsync (ADR 0001); a checkpoint on
    /// its own connection lets the writer keep appending. DuckDB's threshold is raised far above this so it only
    /// acts as a backstop if background checkpoints keep failing.
    /// </summary>
    private const long DefaultBackgroundCheckpointWalBytes = 64L * 1024 * 1024;

    private readonly string _connectionString;
    private readonly string _walPath;
    private readonly long _backgroundCheckpointWalBytes;
    private Task _backgroundCheckpoint = Task.CompletedTask;
    private readonly ILogger<DuckDbStore>? _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentBag<DuckDBConnection> _readers = new();
    private readonly ConcurrentDictionary<long, ResourceEntry> _resources = new();
    private readonly ConcurrentDictionary<long, ScopeEntry> _scopes = new();

    // Writer-only state (guarded by _writeLock).
    private readonly SpanCodec _codec = new();
    private readonly CatalogueCache<string> _knownServices = new(StringComparer.Ordinal);
    private readonly CatalogueCache<(string Service, string Name, int Kind)> _knownOperations = new(null);
    private readonly CatalogueCache<(string Service, string Key, int Type, int Target)> _knownKeys = new(null);
    private DuckDBConnection? _writer;
    private bool _disposed;

    public DuckDbStore(string databaseFilePath, ILogger<DuckDbStore>? logger = null)
        : this(databaseFilePath, logger, DefaultBackgroundCheckpointWalBytes)
    {
    }

    /// <summary>Lets tests checkpoint after every batch instead of after 64 MB of WAL.</summary>
    internal DuckDbStore(string databaseFilePath, ILogger<DuckDbStore>? logger, long backgroundCheckpointWalBytes)
    {
        _backgroundCheckpointWalBytes = backgroundCheckpointWalBytes;
        _connectionString = "Data Source=" + databaseFilePath;
        _walPath = databaseFilePath + ".wal";
        _logger = logger;
    }

    public StoreCapabilities Capabilities => StoreCapabilities.AtomicCheckpoint | StoreCapabilities.Durable;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        _writer = new DuckDBConnection(_connectionString);
        _writer.Open();
        Execute(_writer, "SET checkpoint_threshold = '1GB'");
        Execute(_writer, Schema.Create);
        Execute(_writer, Schema.CreateStaging);
        _logger?.LogDebug("DuckDB span store opened at {ConnectionString}", _connectionString);
    }, cancellationToken);

    public async Task WriteAsync(TelemetryBatch batch, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            // Not cancellable once started: the batch commits whole or not at all.
            await Task.Run(() => WriteCore(batch), CancellationToken.None);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void WriteCore(TelemetryBatch batch)
    {
        var writer = Writer;
        var spans = batch.Spans;

        // Start-time order keeps each row group's start_ns range narrow, which is what zone maps prune on.
        var order = new int[spans.Count];
        var starts = new long[spans.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            starts[i] = spans[i].StartTimeUnixNano;
        }

        Array.Sort(starts, order);

        var batchResources = new Dictionary<Resource, ResourceEntry>(ReferenceEqualityComparer.Instance);
        var batchScopes = new Dictionary<InstrumentationScope, ScopeEntry>(ReferenceEqualityComparer.Instance);
        var newResources = new List<ResourceEntry>();
        var newScopes = new List<ScopeEntry>();
        var traces = new Dictionary<TraceId, TraceAggregate>();
        var catalogue = new CatalogueDelta();
        var keys = new List<string>();
        var values = new List<string>();
        // Resource and scope keys are catalogued once per batch, so they get the batch's newest start as last seen.
        var batchNewest = starts.Length > 0 ? starts[^1] : 0;

        using var transaction = writer.BeginTransaction();
        Execute(writer, "DELETE FROM temp.main.trace_batch");
        using (var appender = writer.CreateAppender("spans"))
        {
            foreach (var index in order)
            {
                var data = spans[index];
                var resource = ResolveResource(data, batchResources, newResources, catalogue, batchNewest);
                var scope = ResolveScope(data, batchScopes, newScopes, catalogue, resource.Service, batchNewest);
                var span = data.Span;

                keys.Clear();
                values.Clear();
                foreach (var kv in span.Attributes)
                {
                    keys.Add(kv.Key);
                    values.Add(AttributeText.Of(kv.Value));
                    catalogue.Key(data.ServiceName, kv.Key, kv.Value, AttributeTarget.Span, data.StartTimeUnixNano);
                }

                foreach (var evt in span.Events)
                {
                    foreach (var kv in evt.Attributes)
                    {
                        keys.Add(kv.Key);
                        values.Add(AttributeText.Of(kv.Value));
                        catalogue.Key(data.ServiceName, kv.Key, kv.Value, AttributeTarget.Event, data.StartTimeUnixNano);
                    }
                }

                foreach (var link in span.Links)
                {
                    foreach (var kv in link.Attributes)
                    {
                        catalogue.Key(data.ServiceName, kv.Key, kv.Value, AttributeTarget.Link, data.StartTimeUnixNano);
                    }
                }

                catalogue.Service(data.ServiceName, data.StartTimeUnixNano);
                catalogue.Operation(data.ServiceName, span.Name, (int)span.Kind, data.StartTimeUnixNano);

                appender.CreateRow()
                    .AppendValue(data.TraceId.ToBytes())
                    .AppendValue((ulong?)data.SpanId.Value)
                    .AppendValue((ulong?)data.ParentSpanId.Value)
                    .AppendValue((long?)data.StartTimeUnixNano)
                    .AppendValue((long?)data.EndTimeUnixNano)
                    .AppendValue((long?)data.DurationNanos)
                    .AppendValue(data.ServiceName)
                    .AppendValue(span.Name)
                    .AppendValue((sbyte?)(int)span.Kind)
                    .AppendValue((sbyte?)(int)(span.Status?.Code ?? Status.Types.StatusCode.Unset))
                    .AppendValue((long?)resource.Id)
                    .AppendValue((long?)scope.Id)
                    .AppendValue((IEnumerable<string>)keys)
                    .AppendValue((IEnumerable<string>)values)
                    .AppendValue(_codec.Encode(data))
                    .EndRow();

                if (!traces.TryGetValue(data.TraceId, out var aggregate))
                {
                    aggregate = new TraceAggregate(data);
                    traces.Add(data.TraceId, aggregate);
                }
                else
                {
                    aggregate.Add(data);
                }
            }
        }

        if (traces.Count > 0)
        {
            using (var appender = writer.CreateAppender("temp", "main", "trace_batch"))
            {
                foreach (var (traceId, t) in traces)
                {
                    appender.CreateRow()
                        .AppendValue(traceId.ToBytes())
                        .AppendValue((long?)t.Start)
                        .AppendValue((long?)t.End)
                        .AppendValue(t.RootService)
                        .AppendValue(t.RootName)
                        .AppendValue((bool?)t.HasRoot)
                        .AppendValue((long?)t.RootStart)
                        .AppendValue((int?)t.SpanCount)
                        .AppendValue((int?)t.ErrorCount)
                        .AppendValue((long?)t.LastStart)
                        .AppendValue((IEnumerable<string>)t.PerService.Keys)
                        .AppendValue((IEnumerable<int>)t.PerService.Values)
                        .EndRow();
                }
            }

            Execute(writer, Schema.MergeTraces);
        }

        WriteMetrics(writer, batch.Metrics, newResources, newScopes);

        foreach (var r in newResources)
        {
            Execute(writer, "INSERT INTO resources VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                r.Id, r.Service, r.SchemaUrl, r.Keys, r.Values, r.Resource.ToByteArray());
        }

        foreach (var s in newScopes)
        {
            Execute(writer, "INSERT INTO scopes VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                s.Id, s.SchemaUrl, s.Scope.ToByteArray());
        }

        var catalogueUpdates = WriteCatalogue(writer, catalogue);

        Execute(writer, "INSERT INTO ingest_state VALUES (0, $1) ON CONFLICT (id) DO UPDATE SET checkpoint = excluded.checkpoint",
            batch.Checkpoint);
        transaction.Commit();

        // Only now that the rows are durable may the caches claim they exist.
        foreach (var r in newResources)
        {
            _resources.TryAdd(r.Id, r);
        }

        foreach (var s in newScopes)
        {
            _scopes.TryAdd(s.Id, s);
        }

        catalogueUpdates();
        MaybeStartBackgroundCheckpoint();
    }

    private ResourceEntry ResolveResource(SpanData data, Dictionary<Resource, ResourceEntry> batch, List<ResourceEntry> added, CatalogueDelta catalogue, long seen)
    {
        if (batch.TryGetValue(data.Resource, out var entry) && entry.SchemaUrl == data.ResourceSchemaUrl)
        {
            return entry;
        }

        var bytes = data.Resource.ToByteArray();
        var id = HashId(1, bytes, data.ResourceSchemaUrl);
        if (!_resources.TryGetValue(id, out entry))
        {
            entry = added.Find(r => r.Id == id);
            if (entry is null)
            {
                var keys = new List<string>();
                var values = new List<string>();
                foreach (var kv in data.Resource.Attributes)
                {
                    keys.Add(kv.Key);
                    values.Add(AttributeText.Of(kv.Value));
                }

                entry = new ResourceEntry(id, data.Resource, data.ServiceName, data.ResourceSchemaUrl, keys, values);
                added.Add(entry);
            }
        }

        // Keys of a resource are recorded once per batch; the catalogue cache makes repeats free.
        foreach (var kv in data.Resource.Attributes)
        {
            catalogue.Key(entry.Service, kv.Key, kv.Value, AttributeTarget.Resource, seen);
        }

        batch[data.Resource] = entry;
        return entry;
    }

    private ScopeEntry ResolveScope(SpanData data, Dictionary<InstrumentationScope, ScopeEntry> batch, List<ScopeEntry> added, CatalogueDelta catalogue, string service, long seen)
    {
        if (batch.TryGetValue(data.Scope, out var entry) && entry.SchemaUrl == data.ScopeSchemaUrl)
        {
            return entry;
        }

        var bytes = data.Scope.ToByteArray();
        var id = HashId(2, bytes, data.ScopeSchemaUrl);
        if (!_scopes.TryGetValue(id, out entry))
        {
            entry = added.Find(s => s.Id == id);
            if (entry is null)
            {
                entry = new ScopeEntry(id, data.Scope, data.ScopeSchemaUrl);
                added.Add(entry);
            }
        }

        foreach (var kv in data.Scope.Attributes)
        {
            catalogue.Key(service, kv.Key, kv.Value, AttributeTarget.Scope, seen);
        }

        batch[data.Scope] = entry;
        return entry;
    }

    /// <summary>
    /// A content hash: identical resources from different exports share a row. SHA-256 (truncated) rather than a
    /// fast non-cryptographic hash because it runs once per distinct resource per batch, and collisions would
    /// silently attach spans to the wrong resource.
    /// </summary>
    private static long HashId(byte kind, byte[] proto, string schemaUrl)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([kind]);
        hash.AppendData(BitConverter.GetBytes(proto.Length));
        hash.AppendData(proto);
        hash.AppendData(Encoding.UTF8.GetBytes(schemaUrl));
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return BitConverter.ToInt64(digest);
    }

    /// <summary>Upserts catalogue rows the caches do not already cover; returns the cache update to run after commit.</summary>
    private Action WriteCatalogue(DuckDBConnection writer, CatalogueDelta delta)
    {
        var services = _knownServices.Due(delta.Services);
        var operations = _knownOperations.Due(delta.Operations);
        var keys = _knownKeys.Due(delta.Keys);
        UpsertCatalogue(writer, services, operations, keys);
        return () =>
        {
            _knownServices.Committed(delta.Services, services);
            _knownOperations.Committed(delta.Operations, operations);
            _knownKeys.Committed(delta.Keys, keys);
        };
    }

    private static void UpsertCatalogue(DuckDBConnection writer, List<KeyValuePair<string, long>> services,
        List<KeyValuePair<(string Service, string Name, int Kind), long>> operations,
        List<KeyValuePair<(string Service, string Key, int Type, int Target), long>> keys)
    {
        UpsertRows(writer, "services", "last_seen", 2, services.Select(s => new object[] { s.Key, s.Value }));
        UpsertRows(writer, "operations", "last_seen", 4, operations.Select(o => new object[] { o.Key.Service, o.Key.Name, (sbyte)o.Key.Kind, o.Value }));
        UpsertRows(writer, "attribute_keys", "last_seen", 5,
            keys.Select(k => new object[] { k.Key.Service, k.Key.Key, (sbyte)k.Key.Type, (sbyte)k.Key.Target, k.Value }));
    }

    /// <summary>Called by the writer after a commit; at most one background checkpoint runs at a time.</summary>
    private void MaybeStartBackgroundCheckpoint()
    {
        if (!_backgroundCheckpoint.IsCompleted || _disposed)
        {
            return;
        }

        long walBytes;
        try
        {
            walBytes = new FileInfo(_walPath).Length;
        }
        catch (IOException)
        {
            return;
        }

        if (walBytes < _backgroundCheckpointWalBytes)
        {
            return;
        }

        _backgroundCheckpoint = Task.Run(() =>
        {
            try
            {
                using var connection = new DuckDBConnection(_connectionString);
                connection.Open();
                Execute(connection, "CHECKPOINT");
            }
            catch (DuckDBException e)
            {
                // Harmless: the WAL keeps the data; the next commit past the threshold tries again.
                _logger?.LogWarning(e, "Background checkpoint failed");
            }
        });
    }

    /// <summary>
    /// Multi-row upserts, a few hundred rows per statement: a cold start meets hundreds of new catalogue rows at
    /// once, and one statement per row costs milliseconds each in DuckDB.
    /// </summary>
    private static void UpsertRows(DuckDBConnection writer, string table, string lastSeenColumn, int columns, IEnumerable<object[]> rows)
    {
        foreach (var chunk in rows.Chunk(200))
        {
            var sql = new StringBuilder("INSERT INTO ").Append(table).Append(" VALUES ");
            var parameters = new List<object>(chunk.Length * columns);
            foreach (var row in chunk)
            {
                sql.Append(parameters.Count == 0 ? "(" : ", (");
                for (var i = 0; i < columns; i++)
                {
                    parameters.Add(row[i]);
                    sql.Append(i == 0 ? "$" : ", $").Append(parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                sql.Append(')');
            }

            sql.Append(" ON CONFLICT DO UPDATE SET ").Append(lastSeenColumn).Append(" = greatest(").Append(table).Append('.')
                .Append(lastSeenColumn).Append(", excluded.").Append(lastSeenColumn).Append(')');
            Execute(writer, sql.ToString(), parameters.ToArray());
        }
    }

    public Task<TraceData?> GetTraceAsync(TraceId traceId, CancellationToken cancellationToken = default) => Read(connection =>
    {
        var id = traceId.ToBytes();
        long start, lastStart;
        using (var command = Command(connection, "SELECT start_ns, last_start_ns FROM traces WHERE trace_id = $1", id))
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return null;
            }

            start = reader.GetInt64(0);
            lastStart = reader.GetInt64(1);
        }

        var result = new List<SpanData>();
        // The start range is redundant for correctness but lets zone maps skip row groups outside the trace.
        using (var command = Command(connection,
            "SELECT span_id, parent_span_id, name, start_ns, end_ns, service, resource_id, scope_id, span_proto "
            + "FROM spans WHERE trace_id = $1 AND start_ns >= $2 AND start_ns <= $3", id, start, lastStart))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var spanId = reader.GetFieldValue<ulong>(0);
                var parentId = reader.GetFieldValue<ulong>(1);
                var resource = GetResource(connection, reader.GetInt64(6));
                var scope = GetScope(connection, reader.GetInt64(7));
                Span span;
                using (var proto = reader.GetStream(8))
                {
                    span = SpanCodec.Decode(proto, traceId, spanId, parentId, reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4));
                }

                result.Add(new SpanData(traceId, new SpanId(spanId), new SpanId(parentId), reader.GetString(5),
                    resource.Resource, resource.SchemaUrl, scope.Scope, scope.SchemaUrl, span));
            }
        }

        return result.Count == 0 ? null : new TraceData(traceId, result);
    }, cancellationToken);

    public Task<IReadOnlyList<TraceId>> FindTraceIdsAsync(TraceQuery query, CancellationToken cancellationToken = default) => Read<IReadOnlyList<TraceId>>(connection =>
    {
        if (query.Limit <= 0)
        {
            return [];
        }

        var parameters = new List<object>();
        string P(object value)
        {
            parameters.Add(value);
            return "$" + parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var where = new StringBuilder();
        where.Append("start_ns >= ").Append(P(query.StartTimeMinUnixNano))
            .Append(" AND start_ns <= ").Append(P(query.StartTimeMaxUnixNano));
        if (!string.IsNullOrEmpty(query.ServiceName))
        {
            where.Append(" AND service = ").Append(P(query.ServiceName));
        }

        if (!string.IsNullOrEmpty(query.OperationName))
        {
            where.Append(" AND name = ").Append(P(query.OperationName));
        }

        if (query.SpanKind is { } kind)
        {
            where.Append(" AND kind = ").Append(P((sbyte)kind));
        }

        if (query.DurationMinNanos is { } min)
        {
            where.Append(" AND duration_ns >= ").Append(P(min));
        }

        if (query.DurationMaxNanos is { } max)
        {
            where.Append(" AND duration_ns <= ").Append(P(max));
        }

        foreach (var (key, value) in query.Attributes)
        {
            // Resources are few: resolve which match first so each span row only compares an id.
            var resourceIds = MatchingResources(connection, key, value);
            P(key);
            var keyParam = parameters.Count;
            P(value);
            var valueParam = parameters.Count;
            where.Append(" AND (");
            if (resourceIds.Count > 0)
            {
                where.Append("resource_id IN (").AppendJoin(", ", resourceIds.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                    .Append(") OR ");
            }

            where.Append(Schema.AttributeMatch(keyParam, valueParam)).Append(')');
        }

        var sql = "SELECT t.trace_id FROM traces t SEMI JOIN (SELECT trace_id FROM spans WHERE " + where
            + ") m ON t.trace_id = m.trace_id ORDER BY t.start_ns DESC, t.trace_id LIMIT " + P(query.Limit);
        using var command = Command(connection, sql, parameters.ToArray());
        using var reader = command.ExecuteReader();
        var ids = new List<TraceId>();
        while (reader.Read())
        {
            ids.Add(ReadTraceId(reader, 0));
        }

        return ids;
    }, cancellationToken);

    private static List<long> MatchingResources(DuckDBConnection connection, string key, string value)
    {
        using var command = Command(connection, "SELECT id FROM resources WHERE " + Schema.AttributeMatch(1, 2), key, value);
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    public Task<IReadOnlyList<TraceSummary>> GetTraceSummariesAsync(IReadOnlyList<TraceId> traceIds, CancellationToken cancellationToken = default) => Read<IReadOnlyList<TraceSummary>>(connection =>
    {
        var found = new Dictionary<TraceId, TraceSummary>();
        foreach (var chunk in traceIds.Distinct().Chunk(500))
        {
            var placeholders = string.Join(", ", Enumerable.Range(1, chunk.Length).Select(i => "$" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            using var command = Command(connection,
                "SELECT trace_id, start_ns, end_ns, root_service, root_name, has_root, span_count, error_count, services, service_counts "
                + "FROM traces WHERE trace_id IN (" + placeholders + ")", chunk.Select(id => (object)id.ToBytes()).ToArray());
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = ReadTraceId(reader, 0);
                var names = reader.GetFieldValue<List<string>>(8);
                var counts = reader.GetFieldValue<List<int>>(9);
                var perService = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < names.Count; i++)
                {
                    perService[names[i]] = perService.GetValueOrDefault(names[i]) + counts[i];
                }

                found[id] = new TraceSummary(id, reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                    reader.GetBoolean(5), reader.GetInt32(6), reader.GetInt32(7), perService);
            }
        }

        return traceIds.Where(found.ContainsKey).Select(id => found[id]).ToList();
    }, cancellationToken);

    public Task<IReadOnlyList<string>> GetServicesAsync(CancellationToken cancellationToken = default) => Read<IReadOnlyList<string>>(connection =>
    {
        using var command = Command(connection, "SELECT name FROM services");
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }, cancellationToken);

    public Task<IReadOnlyList<OperationInfo>> GetOperationsAsync(string serviceName, Span.Types.SpanKind? kind = null, CancellationToken cancellationToken = default) => Read<IReadOnlyList<OperationInfo>>(connection =>
    {
        using var command = kind is { } k
            ? Command(connection, "SELECT name, kind FROM operations WHERE service = $1 AND kind = $2", serviceName, (sbyte)k)
            : Command(connection, "SELECT name, kind FROM operations WHERE service = $1", serviceName);
        using var reader = command.ExecuteReader();
        var operations = new List<OperationInfo>();
        while (reader.Read())
        {
            operations.Add(new OperationInfo(reader.GetString(0), (Span.Types.SpanKind)reader.GetFieldValue<sbyte>(1)));
        }

        return operations.OrderBy(o => o.Name, StringComparer.Ordinal).ThenBy(o => o.Kind).ToList();
    }, cancellationToken);

    public Task<IReadOnlyList<DependencyLink>> GetDependenciesAsync(long startUnixNano, long endUnixNano, CancellationToken cancellationToken = default) => Read<IReadOnlyList<DependencyLink>>(connection =>
    {
        // Parents are looked up only within traces that have a child in the window (the semi join), so the
        // join does not have to build over the whole table.
        using var command = Command(connection, """
            WITH c AS (
                SELECT trace_id, parent_span_id, service FROM spans
                WHERE start_ns >= $1 AND start_ns <= $2 AND parent_span_id <> 0)
            SELECT p.service, c.service, count(*)
            FROM c JOIN (SELECT trace_id, span_id, service FROM spans WHERE trace_id IN (SELECT trace_id FROM c)) p
              ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
            WHERE p.service <> c.service
            GROUP BY p.service, c.service
            """, startUnixNano, endUnixNano);
        using var reader = command.ExecuteReader();
        var links = new List<DependencyLink>();
        while (reader.Read())
        {
            links.Add(new DependencyLink(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return links.OrderBy(l => l.Parent, StringComparer.Ordinal).ThenBy(l => l.Child, StringComparer.Ordinal).ToList();
    }, cancellationToken);

    public Task<IReadOnlyList<AttributeKeyInfo>> GetAttributeKeysAsync(string? serviceName = null, CancellationToken cancellationToken = default) => Read<IReadOnlyList<AttributeKeyInfo>>(connection =>
    {
        using var command = serviceName is null
            ? Command(connection, "SELECT DISTINCT key, type, target FROM attribute_keys")
            : Command(connection, "SELECT DISTINCT key, type, target FROM attribute_keys WHERE service = $1", serviceName);
        using var reader = command.ExecuteReader();
        var keys = new List<AttributeKeyInfo>();
        while (reader.Read())
        {
            keys.Add(new AttributeKeyInfo(reader.GetString(0), (AttributeValueType)reader.GetFieldValue<sbyte>(1), (AttributeTarget)reader.GetFieldValue<sbyte>(2)));
        }

        return keys.OrderBy(k => k.Key, StringComparer.Ordinal).ThenBy(k => k.Target).ThenBy(k => k.Type).ToList();
    }, cancellationToken);

    public Task<long> GetCheckpointAsync(CancellationToken cancellationToken = default) => Read(connection =>
    {
        using var command = Command(connection, "SELECT checkpoint FROM ingest_state WHERE id = 0");
        return command.ExecuteScalar() is long checkpoint ? checkpoint : 0L;
    }, cancellationToken);

    public async Task<long> DeleteOlderThanAsync(long cutoffUnixNano, CancellationToken cancellationToken = default)
    {
        // Under the writer lock: DuckDB's optimistic concurrency would otherwise abort whichever of a batch's
        // summary upsert and this delete touched the same trace row second. Queries are not blocked.
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() =>
            {
                var writer = Writer;
                using var transaction = writer.BeginTransaction();
                long deleted;
                using (var command = Command(writer, "DELETE FROM spans WHERE start_ns < $1", cutoffUnixNano))
                {
                    deleted = command.ExecuteNonQuery();
                }

                // The catalogue rows may trail the data by up to CatalogueRefreshNanos; bring them up to date first
                // so an entry seen after the cutoff is not deleted for a stale last_seen.
                UpsertCatalogue(writer, _knownServices.Stale(), _knownOperations.Stale(), _knownKeys.Stale());

                // Only traces that started before the cutoff can have lost spans.
                Execute(writer, """
                    DELETE FROM traces WHERE start_ns < $1 AND (end_ns < $1 OR trace_id NOT IN (
                        SELECT trace_id FROM spans WHERE start_ns >= $1))
                    """, cutoffUnixNano);
                Execute(writer, "DELETE FROM services WHERE last_seen < $1", cutoffUnixNano);
                Execute(writer, "DELETE FROM operations WHERE last_seen < $1", cutoffUnixNano);
                Execute(writer, "DELETE FROM attribute_keys WHERE last_seen < $1", cutoffUnixNano);
                DeleteMetricsOlderThan(writer, cutoffUnixNano);
                transaction.Commit();

                // The caches may now claim rows that are gone; the next batch re-inserts whatever is still live.
                _knownServices.Clear();
                _knownOperations.Clear();
                _knownKeys.Clear();
                // The retention service reports what was deleted in readable units; this is for diagnosis only.
                _logger?.LogDebug("Retention deleted {Count} spans older than {CutoffUnixNano} ns", deleted, cutoffUnixNano);
                return deleted;
            }, CancellationToken.None);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _writeLock.WaitAsync();
        try
        {
            await _backgroundCheckpoint;
            while (_readers.TryTake(out var reader))
            {
                await reader.DisposeAsync();
            }

            if (_writer is not null)
            {
                try
                {
                    // Folds the WAL into the main file so the next open does not have to replay it.
                    Execute(_writer, "CHECKPOINT");
                }
                catch (DuckDBException e)
                {
                    _logger?.LogWarning(e, "Checkpoint on close failed; the WAL will be replayed on next open");
                }

                await _writer.DisposeAsync();
                _writer = null;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private DuckDBConnection Writer => _writer ?? throw new InvalidOperationException("InitializeAsync has not been called.");

    /// <summary>Runs a query on a pooled reader connection (DuckDB connections are not thread-safe; the database is).</summary>
    private Task<T> Read<T>(Func<DuckDBConnection, T> query, CancellationToken cancellationToken) => Task.Run(() =>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_readers.TryTake(out var connection))
        {
            // DuckDB.NET shares one database instance between connections to the same file within a process.
            connection = new DuckDBConnection(_connectionString);
            connection.Open();
        }

        try
        {
            return query(connection);
        }
        finally
        {
            if (_disposed)
            {
                connection.Dispose();
            }
            else
            {
                _readers.Add(connection);
            }
        }
    }, cancellationToken);

    private ResourceEntry GetResource(DuckDBConnection connection, long id)
    {
        if (_resources.TryGetValue(id, out var entry))
        {
            return entry;
        }

        using var command = Command(connection, "SELECT service, schema_url, attr_keys, attr_values, proto FROM resources WHERE id = $1", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidDataException($"Span references missing resource {id}.");
        }

        Resource resource;
        using (var proto = reader.GetStream(4))
        {
            resource = Resource.Parser.ParseFrom(proto);
        }

        entry = new ResourceEntry(id, resource, reader.GetString(0), reader.GetString(1),
            reader.GetFieldValue<List<string>>(2), reader.GetFieldValue<List<string>>(3));
        return _resources.GetOrAdd(id, entry);
    }

    private ScopeEntry GetScope(DuckDBConnection connection, long id)
    {
        if (_scopes.TryGetValue(id, out var entry))
        {
            return entry;
        }

        using var command = Command(connection, "SELECT schema_url, proto FROM scopes WHERE id = $1", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidDataException($"Span references missing scope {id}.");
        }

        InstrumentationScope scope;
        using (var proto = reader.GetStream(1))
        {
            scope = InstrumentationScope.Parser.ParseFrom(proto);
        }

        entry = new ScopeEntry(id, scope, reader.GetString(0));
        return _scopes.GetOrAdd(id, entry);
    }

    private static TraceId ReadTraceId(DbDataReader reader, int ordinal)
    {
        using var stream = reader.GetStream(ordinal);
        Span<byte> bytes = stackalloc byte[TraceId.ByteLength];
        stream.ReadExactly(bytes);
        TraceId.TryRead(bytes, out var id);
        return id;
    }

    private static DuckDBCommand Command(DuckDBConnection connection, string sql, params object[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(parameter));
        }

        return command;
    }

    private static void Execute(DuckDBConnection connection, string sql, params object[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        command.ExecuteNonQuery();
    }

    /// <summary>Resources are immutable once stored, so entries are shared by every reader.</summary>
    private sealed record ResourceEntry(long Id, Resource Resource, string Service, string SchemaUrl, List<string> Keys, List<string> Values);

    private sealed record ScopeEntry(long Id, InstrumentationScope Scope, string SchemaUrl);

    /// <summary>One trace's share of a batch, folded in memory so the summary upsert is one row per trace.</summary>
    private sealed class TraceAggregate
    {
        public TraceAggregate(SpanData first)
        {
            Start = first.StartTimeUnixNano;
            End = first.EndTimeUnixNano;
            LastStart = first.StartTimeUnixNano;
            SetRoot(first);
            Count(first);
        }

        public long Start { get; private set; }

        public long End { get; private set; }

        public long LastStart { get; private set; }

        public string RootService { get; private set; } = string.Empty;

        public string RootName { get; private set; } = string.Empty;

        public bool HasRoot { get; private set; }

        public long RootStart { get; private set; }

        public int SpanCount { get; private set; }

        public int ErrorCount { get; private set; }

        public Dictionary<string, int> PerService { get; } = new(StringComparer.Ordinal);

        public void Add(SpanData span)
        {
            Start = Math.Min(Start, span.StartTimeUnixNano);
            End = Math.Max(End, span.EndTimeUnixNano);
            LastStart = Math.Max(LastStart, span.StartTimeUnixNano);
            var isRoot = span.ParentSpanId.IsEmpty;
            if (!HasRoot && (isRoot || span.StartTimeUnixNano < RootStart))
            {
                SetRoot(span);
            }

            Count(span);
        }

        private void SetRoot(SpanData span)
        {
            RootService = span.ServiceName;
            RootName = span.Span.Name;
            RootStart = span.StartTimeUnixNano;
            HasRoot = span.ParentSpanId.IsEmpty;
        }

        private void Count(SpanData span)
        {
            SpanCount++;
            if (span.IsError)
            {
                ErrorCount++;
            }

            PerService[span.ServiceName] = PerService.GetValueOrDefault(span.ServiceName) + 1;
        }
    }

    /// <summary>
    /// What the catalogue tables hold (Written) and the newest time the writer has committed data for (Newest).
    /// Rows are rewritten only when Newest runs CatalogueRefreshNanos ahead, or before retention compares them.
    /// </summary>
    private sealed class CatalogueCache<TKey>
        where TKey : notnull
    {
        private readonly Dictionary<TKey, (long Written, long Newest)> _entries;

        public CatalogueCache(IEqualityComparer<TKey>? comparer) => _entries = new(comparer);

        public List<KeyValuePair<TKey, long>> Due(Dictionary<TKey, long> seen) =>
            seen.Where(s => !_entries.TryGetValue(s.Key, out var e) || s.Value > e.Written + CatalogueRefreshNanos).ToList();

        public void Committed(Dictionary<TKey, long> seen, List<KeyValuePair<TKey, long>> written)
        {
            foreach (var (key, value) in written)
            {
                _entries[key] = (value, value);
            }

            foreach (var (key, value) in seen)
            {
                if (_entries.TryGetValue(key, out var e) && value > e.Newest)
                {
                    _entries[key] = (e.Written, value);
                }
            }
        }

        public List<KeyValuePair<TKey, long>> Stale() =>
            _entries.Where(e => e.Value.Newest > e.Value.Written).Select(e => new KeyValuePair<TKey, long>(e.Key, e.Value.Newest)).ToList();

        public void Clear() => _entries.Clear();
    }

    /// <summary>Catalogue entries seen in one batch with the newest start time each was seen at.</summary>
    private sealed class CatalogueDelta
    {
        public Dictionary<string, long> Services { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Service, string Name, int Kind), long> Operations { get; } = new();

        public Dictionary<(string Service, string Key, int Type, int Target), long> Keys { get; } = new();

        public void Service(string name, long seen) => Bump(Services, name, seen);

        public void Operation(string service, string name, int kind, long seen) => Bump(Operations, (service, name, kind), seen);

        public void Key(string service, string key, AnyValue? value, AttributeTarget target, long seen) =>
            Bump(Keys, (service, key, (int)AttributeText.TypeOf(value), (int)target), seen);

        private static void Bump<TKey>(Dictionary<TKey, long> map, TKey key, long seen)
            where TKey : notnull
        {
            if (!map.TryGetValue(key, out var current) || seen > current)
            {
                map[key] = seen;
            }
        }
    }
}
