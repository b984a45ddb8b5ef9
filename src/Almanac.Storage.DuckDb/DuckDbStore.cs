using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp;
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
/// <para>
/// The file is attached without DuckDB's own write-ahead log (ADR 0007): a commit makes a batch visible, and the
/// background CHECKPOINT makes it durable. Until then Almanac's ingest log holds the batch's requests, and
/// <see cref="DurableCheckpoint"/> tells the pipeline how far it may delete that log. Writing every span twice, to
/// DuckDB's log at commit and to the file at checkpoint, cost about a tenth of ingest throughput.
/// </para>
/// </summary>
public sealed partial class DuckDbStore : ITelemetryStore
{
    /// <summary>
    /// A catalogue row's last_seen is rewritten only when data this much newer arrives, so steady traffic does not
    /// upsert every service/operation/key on every batch. Retention is days, so a minute of slack is invisible.
    /// </summary>
    private const long CatalogueRefreshNanos = 60L * 1_000_000_000;

    /// <summary>
    /// Request bytes written since the last checkpoint at which a background CHECKPOINT starts: what the ingest log
    /// keeps and a crash would replay (about 450k realistic spans, a few seconds of replay). A checkpoint on its own
    /// connection lets the writer keep appending (DuckDB's automatic one ran inside the committing transaction and
    /// stalled writes for seconds, ADR 0001). Each one costs more than its share of the rows (at 64 MB, one every
    /// two or three batches, ingest measured 10% slower than with DuckDB's own WAL; at 256 MB, 13% faster: ADR 0007).
    /// </summary>
    private const long DefaultCheckpointBytes = 256L * 1024 * 1024;

    /// <summary>...or the time since the last one at which any write starts one, so a quiet store does not keep
    /// hours of requests in the ingest log for a restart to replay.</summary>
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMinutes(1);

    /// <summary>The name the database file is attached under (the connections' own database is in memory and empty).</summary>
    private const string Catalog = "almanac";

    private readonly string _databaseFilePath;
    private readonly long _checkpointBytes;
    private Task _backgroundCheckpoint = Task.CompletedTask;
    private long _bytesSinceCheckpoint;
    private long _lastCheckpointTicks = Environment.TickCount64;
    private long _committedCheckpoint;
    private long _durableCheckpoint;
    private readonly ILogger<DuckDbStore>? _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>Queries hold it shared; <see cref="ReleaseMemoryAsync"/> alone for the moment DuckDB's cap is low.</summary>
    private readonly ReaderWriterLockSlim _readGate = new();
    private readonly ConcurrentBag<DuckDBConnection> _readers = new();
    private readonly ConcurrentDictionary<long, ResourceEntry> _resources = new();
    private readonly ConcurrentDictionary<long, ScopeEntry> _scopes = new();

    // Writer-only state (guarded by _writeLock).
    private readonly SpanCodec _codec = new();
    private readonly SearchText _searchText = new();
    private readonly BatchFilter _batchFilter;
    private readonly AttributeSets _attributeSets;
    private readonly Dictionary<string, byte[]> _utf8 = new(StringComparer.Ordinal);
    private readonly Dictionary<long, ResourceEntry> _resourcesByHash = new();
    private readonly Dictionary<long, ScopeEntry> _scopesByHash = new();
    private long _nextResourceId = 1;
    private long _nextScopeId = 1;
    private readonly Dictionary<string, int> _keyIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _newKeyIds = new(StringComparer.Ordinal);
    private readonly Func<string, int> _keyIdOf;
    private readonly Dictionary<int, string> _writerKeyNames = new();
    private int _nextKeyId = 1;

    // Attribute key ids for readers: filled after each commit, and from the table on a miss (another instance wrote it).
    private readonly ConcurrentDictionary<int, string> _keyNames = new();
    private readonly ConcurrentDictionary<string, int> _keyIdsRead = new(StringComparer.Ordinal);

    // Attribute set texts for readers, from the table on a miss; cleared when large (sets are few, texts long).
    private readonly ConcurrentDictionary<int, string> _attributeSetTexts = new();
    private readonly CatalogueCache<string> _knownServices = new(StringComparer.Ordinal);
    private readonly CatalogueCache<(string Service, string Name, int Kind)> _knownOperations = new(null);
    private readonly CatalogueCache<(string Service, string Key, int Type, int Target)> _knownKeys = new(null);
    /// <summary>Holds the DuckDB instance the file is attached to; every other connection is a duplicate of it.</summary>
    private DuckDBConnection? _root;
    private DuckDBConnection? _writer;
    private bool _disposed;

    /// <summary>DuckDB's buffer pool cap (database-wide).</summary>
    public const string MemoryLimit = "384MB";

    /// <summary>The cap for the moment <see cref="ReleaseMemoryAsync"/> empties the pool.</summary>
    private const string ReleasedMemoryLimit = "16MB";

    public DuckDbStore(string databaseFilePath, ILogger<DuckDbStore>? logger = null)
        : this(databaseFilePath, logger, DefaultCheckpointBytes)
    {
    }

    /// <summary>
    /// Lets tests checkpoint after every batch (or never) instead of after 256 MB of requests, close search
    /// batches after a few spans instead of <see cref="BatchFilter.GroupSpans"/>, filter blocks of a few rows instead
    /// of <see cref="BatchFilter.BlockRows"/>, and learn common attribute keys from the first span instead of thousands.
    /// </summary>
    internal DuckDbStore(string databaseFilePath, ILogger<DuckDbStore>? logger, long checkpointBytes, int batchGroupSpans = BatchFilter.GroupSpans,
        AttributeSets.Options? attributeSets = null, int filterBlockRows = BatchFilter.BlockRows)
    {
        _batchFilter = new BatchFilter(batchGroupSpans, filterBlockRows);
        _attributeSets = new AttributeSets(attributeSets);
        _checkpointBytes = checkpointBytes;
        _databaseFilePath = databaseFilePath;
        _logger = logger;
        _keyIdOf = KeyIdForWrite;
    }

    /// <inheritdoc/>
    public long DurableCheckpoint => Interlocked.Read(ref _durableCheckpoint);

    public StoreCapabilities Capabilities => StoreCapabilities.AtomicCheckpoint | StoreCapabilities.Durable;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        // A new file is created in DuckDB's newest storage format: only that one has ZSTD compression, which the
        // spans' search text and blobs use (ADR 0003, layout 3). An existing file keeps the format it was made with.
        _root = new DuckDBConnection("Data Source=:memory:;storage_compatibility_version=latest");
        _root.Open();
        // Spills go beside the file, where DuckDB puts them for a database it opened itself (not the working directory).
        Execute(_root, $"SET temp_directory = {SqlLiteral(_databaseFilePath + ".tmp")}");
        Execute(_root, $"ATTACH {SqlLiteral(_databaseFilePath)} AS {Catalog} (RECOVERY_MODE no_wal_writes)");
        _writer = Connect();
        // No log to grow, so DuckDB's own checkpoints would only come from this threshold: keep them to ours.
        Execute(_writer, "SET checkpoint_threshold = '1GB'");
        // DuckDB's buffer pool defaults to 80% of the machine's memory and keeps what it read: at 10M spans that made
        // Almanac hold gigabytes. A fixed cap keeps one binary on a laptop or a small VM predictable; operators that
        // need more memory spill to the database's .tmp directory instead of failing.
        Execute(_writer, $"SET memory_limit = '{MemoryLimit}'");
        var stored = CheckSchemaVersion(_writer);
        Execute(_writer, Schema.Create);
        if (stored == Schema.UpgradableVersion)
        {
            UpgradeFromLayout7(_writer);
        }

        Execute(_writer, "INSERT INTO schema_version SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM schema_version)", Schema.Version);
        LoadIdMaps(_writer);
        LoadBatches(_writer);
        // What the file holds survived whatever ended the last run.
        _committedCheckpoint = _durableCheckpoint = ReadCheckpoint(_writer);
        _logger?.LogDebug("DuckDB span store opened at {Path}", _databaseFilePath);
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

    /// <summary>
    /// A file written with another layout is refused with a message that says what to do, rather than failing on
    /// the first batch; returns the file's layout (this one's for a new file). Only layout 7 is converted
    /// (<see cref="UpgradeFromLayout7"/>); the older ones (all pre-release) stay readable only by the Almanac that wrote them.
    /// </summary>
    private int CheckSchemaVersion(DuckDBConnection connection)
    {
        using var tables = Command(connection,
            $"SELECT count(*) FILTER (table_name = 'spans'), count(*) FILTER (table_name = 'schema_version') FROM duckdb_tables() WHERE database_name = '{Catalog}' AND schema_name = 'main'");
        using var reader = tables.ExecuteReader();
        reader.Read();
        var hasSpans = reader.GetInt64(0) > 0;
        var hasVersion = reader.GetInt64(1) > 0;
        if (!hasSpans)
        {
            return Schema.Version;
        }

        var version = 1;
        if (hasVersion)
        {
            using var command = Command(connection, "SELECT max(version) FROM schema_version");
            version = command.ExecuteScalar() is int v ? v : Schema.Version;
        }

        if (version != Schema.Version && version != Schema.UpgradableVersion)
        {
            throw new InvalidDataException(
                $"The database {_databaseFilePath} has storage layout {version}, but this Almanac reads layout {Schema.Version}. "
                + "Move that data directory away (or delete it) or choose another --data-dir; this version cannot read or convert it.");
        }

        return version;
    }

    /// <summary>
    /// Layout 7 differs only in the search filters' form: one filter per batch, which becomes a one-block filter that
    /// covers the whole batch (<see cref="BlockFilters.WholeBatch"/>), so its spans are searched as before. One
    /// transaction, so a crash leaves layout 7 to convert again; the layout number goes up with it, and an older
    /// Almanac then refuses the file instead of misreading the new filters.
    /// </summary>
    private void UpgradeFromLayout7(DuckDBConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        var filters = new List<(int Batch, byte[] Filter)>();
        using (var command = Command(connection, "SELECT batch, filter FROM span_batches"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                filters.Add((reader.GetInt32(0), ReadBytes(reader, 1)));
            }
        }

        foreach (var (batch, filter) in filters)
        {
            Execute(connection, "UPDATE span_batches SET filter = $1 WHERE batch = $2", BlockFilters.WholeBatch(filter).Bytes, batch);
        }

        Execute(connection, "UPDATE schema_version SET version = $1", Schema.Version);
        transaction.Commit();
        _logger?.LogInformation("Converted {Path} from storage layout {Old} to {New} ({Batches} search filters)", _databaseFilePath,
            Schema.UpgradableVersion, Schema.Version, filters.Count);
    }

    /// <summary>The writer hands out resource, scope and key ids in order, so it needs those already stored.</summary>
    private void LoadIdMaps(DuckDBConnection connection)
    {
        using (var command = Command(connection, "SELECT key, id FROM attribute_key_ids"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var key = reader.GetString(0);
                var id = reader.GetInt32(1);
                _keyIds[key] = id;
                _writerKeyNames[id] = key;
                _keyIdsRead[key] = id;
                _keyNames[id] = key;
                _nextKeyId = Math.Max(_nextKeyId, id + 1);
            }
        }

        // One query each, not one per row: a long-lived data directory can hold thousands of pods' resources.
        using (var command = Command(connection, "SELECT " + ResourceColumns + " FROM resources"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var entry = _resources.GetOrAdd(reader.GetInt64(0), ReadResource(reader));
                _resourcesByHash[entry.Hash] = entry;
                _nextResourceId = Math.Max(_nextResourceId, entry.Id + 1);
            }
        }

        using (var command = Command(connection, "SELECT coalesce(max(id), 0) FROM attr_sets"))
        {
            _attributeSets.Load(Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
        }

        // Which keys the stored sets hold: each pair starts with a record separator, the key id and a unit separator.
        using (var command = Command(connection,
            "SELECT DISTINCT unnest(regexp_extract_all(text, chr(30) || '([0-9]+)' || chr(31), 1)) FROM attr_sets"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                // A number too big for a key id is not one of ours: then any key may be in a set.
                _attributeSets.Keys.Mark(int.TryParse(reader.GetString(0), System.Globalization.CultureInfo.InvariantCulture, out var key) ? key : -1);
            }
        }

        using (var command = Command(connection, "SELECT id FROM scopes"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var entry = GetScope(connection, reader.GetInt64(0));
                _scopesByHash[entry.Hash] = entry;
                _nextScopeId = Math.Max(_nextScopeId, entry.Id + 1);
            }
        }
    }

    private void WriteCore(TelemetryBatch batch)
    {
        var writer = Writer;
        var requests = TraceRequestsOf(batch);
        var spanCount = ScanRequests(requests);
        // Resource and scope keys are catalogued once per batch, so they get the batch's newest start as last seen.
        var newest = long.MinValue;
        for (var i = 0; i < spanCount; i++)
        {
            newest = Math.Max(newest, _spanRefs[i].Start);
        }

        var state = new SpanWriteState(spanCount > 0 ? newest : 0);
        var batchResources = state.BatchResources;
        var batchScopes = state.BatchScopes;
        var newResources = state.NewResources;
        var newScopes = state.NewScopes;
        var catalogue = state.Catalogue;
        var traces = state.Traces;

        _newKeyIds.Clear();
        _batchFilter.Begin();
        _attributeSets.Begin();
        using var transaction = writer.BeginTransaction();
        using (var appender = writer.CreateAppender("spans"))
        {
            var skipped = AppendSpans(appender, requests, spanCount, state);
            if (skipped > 0)
            {
                _logger?.LogWarning("Skipped {Count} invalid span(s) in a batch; ingest validation should have refused them", skipped);
            }
        }

        if (_attributeSets.PendingRows.Count > 0)
        {
            using var appender = writer.CreateAppender("attr_sets");
            foreach (var (id, text) in _attributeSets.PendingRows)
            {
                appender.CreateRow().AppendValue((int?)id).AppendValue(text.AsSpan()).EndRow();
            }
        }

        if (traces.Count > 0)
        {
            // Appended as they are: readers combine a trace's parts (TraceParts), so no write reads or updates a row.
            var batchNumber = _batchFilter.Batch;
            using var appender = writer.CreateAppender("trace_parts");
            foreach (var (traceId, t) in traces)
            {
                _batchFilter.AddTrace(traceId);
                appender.CreateRow()
                        .AppendValue((UInt128?)Stored(traceId))
                        .AppendValue((int?)batchNumber)
                        .AppendValue((long?)t.Start)
                        .AppendValue((long?)unchecked(t.End - t.Start))
                        .AppendValue(t.RootService)
                        .AppendValue(t.RootName)
                        .AppendValue((bool?)t.HasRoot)
                        .AppendValue((long?)unchecked(t.RootStart - t.Start))
                        .AppendValue((int?)t.SpanCount)
                        .AppendValue((int?)t.ErrorCount)
                        .AppendValue((long?)unchecked(t.LastStart - t.Start))
                        .AppendValue((IEnumerable<string>)t.PerService.Keys)
                        .AppendValue((IEnumerable<int>)t.PerService.Values)
                        .EndRow();
            }
        }

        WriteLogs(writer, batch.Logs, batchResources, batchScopes, newResources, newScopes);
        WriteMetrics(writer, batch.Metrics, newResources, newScopes);

        foreach (var r in newResources)
        {
            Execute(writer, "INSERT INTO resources VALUES ($1, $2, $3, $4, $5, $6, $7)",
                r.Id, r.Hash, r.Service, r.SchemaUrl, r.Keys, r.Values, r.Resource.ToByteArray());
        }

        foreach (var s in newScopes)
        {
            Execute(writer, "INSERT INTO scopes VALUES ($1, $2, $3, $4)",
                s.Id, s.Hash, s.SchemaUrl, s.Scope.ToByteArray());
        }

        foreach (var chunk in _newKeyIds.Chunk(200))
        {
            var sql = new StringBuilder("INSERT INTO attribute_key_ids VALUES ");
            var parameters = new List<object>(chunk.Length * 2);
            foreach (var (key, id) in chunk)
            {
                sql.Append(parameters.Count == 0 ? "(" : ", (")
                    .Append('$').Append((parameters.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))
                    .Append(", $").Append((parameters.Count + 2).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(')');
                parameters.Add(id);
                parameters.Add(key);
            }

            Execute(writer, sql.ToString(), parameters.ToArray());
        }

        catalogue.ResolveKeyIds(id => _writerKeyNames[id]);
        var catalogueUpdates = WriteCatalogue(writer, catalogue);

        Execute(writer, "INSERT INTO ingest_state VALUES (0, $1) ON CONFLICT (id) DO UPDATE SET checkpoint = excluded.checkpoint",
            batch.Checkpoint);
        _batchFilter.Write(writer);
        transaction.Commit();
        Interlocked.Exchange(ref _committedCheckpoint, batch.Checkpoint);
        _bytesSinceCheckpoint += BytesOf(batch, requests);
        _batchFilter.Committed(_spanBatches);
        _attributeSets.Committed();

        // Only now that the rows are committed may the caches claim they exist.
        foreach (var r in newResources)
        {
            _resources.TryAdd(r.Id, r);
            _resourcesByHash[r.Hash] = r;
            _nextResourceId = Math.Max(_nextResourceId, r.Id + 1);
        }

        foreach (var s in newScopes)
        {
            _scopes.TryAdd(s.Id, s);
            _scopesByHash[s.Hash] = s;
            _nextScopeId = Math.Max(_nextScopeId, s.Id + 1);
        }

        foreach (var (key, id) in _newKeyIds)
        {
            _keyIds[key] = id;
            _keyNames[id] = key;
            _keyIdsRead[key] = id;
            _nextKeyId = Math.Max(_nextKeyId, id + 1);
        }

        catalogueUpdates();
        MaybeStartBackgroundCheckpoint();
    }

    /// <summary>The id of an attribute key, handing out the next one for a key never seen (stored with the batch).</summary>
    private int KeyIdForWrite(string key)
    {
        if (_keyIds.TryGetValue(key, out var id) || _newKeyIds.TryGetValue(key, out id))
        {
            return id;
        }

        id = _nextKeyId + _newKeyIds.Count;
        _newKeyIds.Add(key, id);
        // Overwritten if this batch fails and the id goes to another key in the next one.
        _writerKeyNames[id] = key;
        return id;
    }

    private string KeyName(DuckDBConnection connection, int id)
    {
        if (_keyNames.TryGetValue(id, out var key))
        {
            return key;
        }

        using var command = Command(connection, "SELECT key FROM attribute_key_ids WHERE id = $1", id);
        key = command.ExecuteScalar() as string ?? throw new InvalidDataException($"Span references missing attribute key {id}.");
        return _keyNames.GetOrAdd(id, key);
    }

    /// <summary>The id a key was stored under, or null when no span ever had it.</summary>
    private int? KeyIdForSearch(DuckDBConnection connection, string key)
    {
        if (_keyIdsRead.TryGetValue(key, out var id))
        {
            return id;
        }

        using var command = Command(connection, "SELECT id FROM attribute_key_ids WHERE key = $1", key);
        if (command.ExecuteScalar() is int found)
        {
            return _keyIdsRead.GetOrAdd(key, found);
        }

        return null;
    }

    /// <summary>
    /// The id of a resource (new ones get the next sequential id and are inserted with the batch), shared by spans, log
    /// records and metric points; attribute keys go to the span catalogue only when one is given.
    /// </summary>
    private ResourceEntry ResolveResource(Resource resource, string service, string schemaUrl, Dictionary<Resource, ResourceEntry> batch, List<ResourceEntry> added, CatalogueDelta? catalogue, long seen)
    {
        if (batch.TryGetValue(resource, out var entry) && entry.SchemaUrl == schemaUrl)
        {
            return entry;
        }

        var bytes = resource.ToByteArray();
        var hash = HashId(1, bytes, schemaUrl);
        if (!_resourcesByHash.TryGetValue(hash, out entry))
        {
            entry = added.Find(r => r.Hash == hash);
            if (entry is null)
            {
                var keys = new List<string>();
                var values = new List<string>();
                foreach (var kv in resource.Attributes)
                {
                    keys.Add(kv.Key);
                    values.Add(AttributeText.Of(kv.Value));
                }

                entry = new ResourceEntry(_nextResourceId + added.Count, hash, resource, service, schemaUrl, keys, values);
                added.Add(entry);
            }
        }

        if (catalogue is not null)
        {
            // Keys of a resource are recorded once per batch; the catalogue cache makes repeats free.
            foreach (var kv in resource.Attributes)
            {
                catalogue.Key(entry.Service, kv.Key, kv.Value, AttributeTarget.Resource, seen);
            }
        }

        batch[resource] = entry;
        return entry;
    }

    private ScopeEntry ResolveScope(InstrumentationScope scope, string schemaUrl, Dictionary<InstrumentationScope, ScopeEntry> batch, List<ScopeEntry> added, CatalogueDelta? catalogue, string service, long seen)
    {
        if (batch.TryGetValue(scope, out var entry) && entry.SchemaUrl == schemaUrl)
        {
            return entry;
        }

        var bytes = scope.ToByteArray();
        var hash = HashId(2, bytes, schemaUrl);
        if (!_scopesByHash.TryGetValue(hash, out entry))
        {
            entry = added.Find(s => s.Hash == hash);
            if (entry is null)
            {
                entry = new ScopeEntry(_nextScopeId + added.Count, hash, scope, schemaUrl);
                added.Add(entry);
            }
        }

        if (catalogue is not null)
        {
            foreach (var kv in scope.Attributes)
            {
                catalogue.Key(service, kv.Key, kv.Value, AttributeTarget.Scope, seen);
            }
        }

        batch[scope] = entry;
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
        if (!_backgroundCheckpoint.IsCompleted || _disposed || _bytesSinceCheckpoint == 0)
        {
            return;
        }

        if (_bytesSinceCheckpoint < _checkpointBytes && Environment.TickCount64 - _lastCheckpointTicks < (long)CheckpointInterval.TotalMilliseconds)
        {
            return;
        }

        _bytesSinceCheckpoint = 0;
        _lastCheckpointTicks = Environment.TickCount64;
        // Every batch committed before the checkpoint starts is in it; one committed while it runs may be too, and
        // counts as durable only after the next.
        var upTo = Interlocked.Read(ref _committedCheckpoint);
        _backgroundCheckpoint = Task.Run(() =>
        {
            try
            {
                using var connection = Connect();
                Checkpoint(connection, upTo);
            }
            catch (DuckDBException e)
            {
                // Harmless: the ingest log keeps the data (DurableCheckpoint did not move); a later commit tries again.
                _logger?.LogWarning(e, "Background checkpoint failed");
            }
        });
    }

    /// <inheritdoc/>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await _backgroundCheckpoint;
            await Task.Run(() => Checkpoint(Writer, Interlocked.Read(ref _committedCheckpoint)), CancellationToken.None);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Empties DuckDB's buffer pool by lowering its cap for a moment: DuckDB keeps what it read or wrote until the cap
    /// forces it out, so after a burst it held its full <see cref="MemoryLimit"/> for as long as Almanac ran. Queries
    /// wait the few milliseconds this takes (<see cref="_readGate"/>): DuckDB spills most operators to its temporary
    /// directory under a low cap (a test running heavy queries alongside never saw one fail, gate or not), but not
    /// every allocation can wait for disk. Blocks not yet in the file would go to the temporary directory too, which
    /// is why the caller flushes first.
    /// </summary>
    public async Task ReleaseMemoryAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await _backgroundCheckpoint;
            ReleaseWriterScratch();
            await Task.Run(() =>
            {
                _readGate.EnterWriteLock();
                try
                {
                    try
                    {
                        Execute(Writer, $"SET memory_limit = '{ReleasedMemoryLimit}'");
                    }
                    catch (DuckDBException e)
                    {
                        // Something it cannot evict: the cap stays as it was, and so does the memory.
                        _logger?.LogDebug(e, "DuckDB kept its buffer pool");
                    }
                    finally
                    {
                        Execute(Writer, $"SET memory_limit = '{MemoryLimit}'");
                    }
                }
                finally
                {
                    // Even if restoring the cap threw: a gate left shut would stop every query for good.
                    _readGate.ExitWriteLock();
                }
            }, CancellationToken.None);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>DuckDB's memory in use (its buffer pool and what its operators hold), for tests.</summary>
    internal Task<long> GetMemoryInUseAsync() => Read(connection =>
    {
        using var command = Command(connection, "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()");
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }, CancellationToken.None);

    /// <summary>
    /// Writes every committed batch into the file; those up to <paramref name="upTo"/> are then durable. Checkpoints
    /// never overlap (each starts under the write lock once the one before has finished), so the value only grows.
    /// </summary>
    private void Checkpoint(DuckDBConnection connection, long upTo)
    {
        Execute(connection, $"CHECKPOINT {Catalog}");
        Interlocked.Exchange(ref _durableCheckpoint, upTo);
    }

    /// <summary>What a batch adds to the next checkpoint, roughly: its requests' bytes, and a guess for logs and metrics.</summary>
    private static long BytesOf(TelemetryBatch batch, List<ReadOnlyMemory<byte>> traceRequests)
    {
        long bytes = 0;
        foreach (var request in traceRequests)
        {
            bytes += request.Length;
        }

        return bytes + (256L * (batch.Logs.Count + batch.Metrics.Count));
    }

    /// <summary>A new connection to the store's database, its default catalog the attached file.</summary>
    private DuckDBConnection Connect()
    {
        var connection = (_root ?? throw new InvalidOperationException("InitializeAsync has not been called.")).Duplicate();
        try
        {
            connection.Open();
            Execute(connection, $"USE {Catalog}");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Text as a SQL string literal, for the places DuckDB takes no parameter (ATTACH, SET) or should see a constant.
    /// Standard SQL strings have no escapes besides the doubled quote, so the text cannot break out of it.
    /// </summary>
    private static string SqlLiteral(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

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
        // Only the batches whose trace filter may hold the trace are read; a trace none of them holds is answered
        // without touching the database.
        var groups = TraceGroups(_spanBatches.Snapshot, [traceId]);
        return groups.Count == 0 ? null : AssembleTraces(connection, ReadTraceRows(connection, groups[0])).GetValueOrDefault(traceId);
    }, cancellationToken);

    /// <summary>
    /// Several traces: one statement per group of traces that the same batches may hold, as many at a time as there are
    /// processors. A search's traces often share a few batches, and then one statement reads them all (20 traces
    /// from 3 batches: 6 ms instead of 16 one by one). Traces in batches of their own are read one by one, as before:
    /// a statement with a UNION ALL branch per trace ran its scans one after another, 27 ms for 20 traces instead of
    /// 20, and grouping traces that only share some of their batches measured slower too.
    /// </summary>
    public async Task<IReadOnlyList<TraceData>> GetTracesAsync(IReadOnlyList<TraceId> traceIds, CancellationToken cancellationToken = default)
    {
        var found = new System.Collections.Concurrent.ConcurrentDictionary<TraceId, TraceData>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(TraceGroups(_spanBatches.Snapshot, traceIds.Distinct()), options, async (group, token) => await Read(connection =>
        {
            foreach (var (id, trace) in AssembleTraces(connection, ReadTraceRows(connection, group)))
            {
                found[id] = trace;
            }

            return true;
        }, token));
        return traceIds.Where(found.ContainsKey).Select(id => found[id]).ToList();
    }

    /// <summary>
    /// The traces grouped by the batches whose trace filters may hold them; a trace no batch may hold is in no group
    /// (it was never stored, or retention deleted it).
    /// </summary>
    private static List<TraceGroup> TraceGroups(SpanBatchInfo[] batches, IEnumerable<TraceId> traceIds)
    {
        var groups = new Dictionary<string, TraceGroup>(StringComparer.Ordinal);
        foreach (var id in traceIds)
        {
            var holding = BatchesHolding(batches, [id]);
            if (holding.Count == 0)
            {
                continue;
            }

            var key = string.Join(',', holding.Select(batch => batch.Batch));
            if (groups.TryGetValue(key, out var group))
            {
                group.TraceIds.Add(id);
            }
            else
            {
                groups[key] = new TraceGroup([id], holding);
            }
        }

        // A few traces are read faster one by one: DuckDB skips to one trace id in a batch's trace-ordered rows, not to
        // a list of them (20 traces in batches of their own: 18 ms one per statement, 21–31 ms when the pairs that
        // shared their batches were read together).
        return [.. groups.Values.SelectMany(group => group.TraceIds.Count >= MinTracesPerGroup
            ? [group]
            : group.TraceIds.Select(id => new TraceGroup([id], group.Batches)))];
    }

    /// <summary>Traces in the same batches below which each is read by a statement of its own.</summary>
    private const int MinTracesPerGroup = 4;

    /// <summary>Traces that the same batches may hold.</summary>
    private sealed record TraceGroup(List<TraceId> TraceIds, List<SpanBatchInfo> Batches);

    /// <summary>The span rows of the group's traces, one UNION ALL branch per run of its batches.</summary>
    private static List<(TraceId Id, TraceRow Row)> ReadTraceRows(DuckDBConnection connection, TraceGroup group)
    {
        var parameters = new SqlParameters();
        var match = TraceIdMatch(group.TraceIds, parameters);
        var rows = new List<(TraceId Id, TraceRow Row)>();
        using var command = Command(connection, string.Join(" UNION ALL ", BatchRuns(group.Batches, startRange: true).Select(run =>
            "SELECT span_id, parent_span_id, name, start_ns, duration_ns, service, resource_id, scope_id, span_proto, kind, attrs, attr_types, "
            + "batch, seq, parent_offset, attr_set, event_times, trace_id FROM spans WHERE " + match + " AND " + run)), parameters.ToArray());
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add((ReadTraceId(reader, 17), new TraceRow(reader.GetFieldValue<ulong>(0), reader.GetFieldValue<ulong>(1), reader.GetString(2),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetString(5), reader.GetInt64(6), reader.GetInt64(7), ReadBytes(reader, 8),
                reader.GetFieldValue<sbyte>(9), reader.GetString(10), reader.GetString(11), reader.GetInt32(12), reader.GetInt32(13),
                reader.GetInt32(14), reader.GetInt32(15), reader.GetFieldValue<List<long>>(16))));
        }

        return rows;
    }

    /// <summary>The traces the rows make up, each row resolved to a span (parent, resource, scope, attributes).</summary>
    private Dictionary<TraceId, TraceData> AssembleTraces(DuckDBConnection connection, IEnumerable<(TraceId Id, TraceRow Row)> rows)
    {
        var traces = new Dictionary<TraceId, TraceData>();
        Func<int, string> keyOf = id => KeyName(connection, id);
        foreach (var trace in rows.GroupBy(row => row.Id, row => row.Row))
        {
            var traceId = trace.Key;
            var spans = trace.ToList();

            // A parent written in the same write is a row reference (batch, seq - parent_offset) to a row of the same
            // trace; retention turns the reference into the id before it deletes the parent's row
            // (MaterializeParentsOf), so it always resolves.
            var spanIdAt = new Dictionary<(int Batch, int Seq), ulong>(spans.Count);
            foreach (var row in spans)
            {
                spanIdAt[(row.Batch, row.Seq)] = row.SpanId;
            }

            var result = new List<SpanData>(spans.Count);
            foreach (var row in spans)
            {
                var parentId = row.ParentOffset == 0 ? row.ParentSpanId : spanIdAt.GetValueOrDefault((row.Batch, row.Seq - row.ParentOffset));
                var resource = GetResource(connection, row.ResourceId);
                var scope = GetScope(connection, row.ScopeId);
                var span = SpanCodec.Decode(row.Proto, traceId, row.SpanId, parentId, row.Name, row.Start, row.Duration, row.Kind, row.Attrs,
                    AttributeSetText(connection, row.AttrSet), row.AttrTypes, row.EventTimes, keyOf);
                result.Add(new SpanData(traceId, new SpanId(row.SpanId), new SpanId(parentId), row.Service,
                    resource.Resource, resource.SchemaUrl, scope.Scope, scope.SchemaUrl, span));
            }

            traces[traceId] = new TraceData(traceId, result);
        }

        return traces;
    }

    /// <summary>
    /// <c>a + b</c> for two BIGINT columns with the wrap-around of C#'s unchecked addition: trace parts store times as
    /// offsets taken that way (a sender may send any 64-bit time), and a plain SQL sum would fail on overflow.
    /// </summary>
    private static string WrappedSum(string a, string b) =>
        $"(CASE WHEN {a}::HUGEINT + {b} > 9223372036854775807 THEN {a}::HUGEINT + {b} - 18446744073709551616 "
        + $"WHEN {a}::HUGEINT + {b} < -9223372036854775808 THEN {a}::HUGEINT + {b} + 18446744073709551616 ELSE {a}::HUGEINT + {b} END)";

    /// <summary>
    /// Before retention deletes the spans that started before the cutoff: a span that stays keeps its parent's id
    /// in parent_span_id instead of a reference to a row that is about to go. Only batches with spans on both sides
    /// of the cutoff can hold such a pair (a reference never leaves its batch), and span_batches says which those are.
    /// </summary>
    private static void MaterializeParentsOf(DuckDBConnection writer, long cutoffUnixNano) => Execute(writer, """
        WITH straddling AS (SELECT batch FROM span_batches WHERE min_start_ns < $1 AND max_start_ns >= $1),
        parents AS (
            SELECT batch, seq, span_id FROM spans
            WHERE batch IN (SELECT batch FROM straddling) AND start_ns < $1)
        UPDATE spans SET parent_span_id = parents.span_id, parent_offset = 0
        FROM parents
        WHERE spans.batch IN (SELECT batch FROM straddling) AND spans.start_ns >= $1 AND spans.parent_offset <> 0
          AND parents.batch = spans.batch AND parents.seq = spans.seq - spans.parent_offset
        """, cutoffUnixNano);

    /// <summary>One span row of a trace as read, before its parent reference is resolved.</summary>
    private sealed record TraceRow(ulong SpanId, ulong ParentSpanId, string Name, long Start, long Duration, string Service, long ResourceId,
        long ScopeId, byte[] Proto, sbyte Kind, string Attrs, string AttrTypes, int Batch, int Seq, int ParentOffset, int AttrSet,
        List<long> EventTimes);

    /// <summary>An attribute set's text ("" for none); sets never change, so a read caches it.</summary>
    private string AttributeSetText(DuckDBConnection connection, int id)
    {
        if (id == 0)
        {
            return string.Empty;
        }

        if (_attributeSetTexts.TryGetValue(id, out var text))
        {
            return text;
        }

        using var command = Command(connection, "SELECT text FROM attr_sets WHERE id = $1", id);
        text = command.ExecuteScalar() as string
            ?? throw new InvalidDataException($"A stored span refers to attribute set {id}, which {_databaseFilePath} does not hold.");
        if (_attributeSetTexts.Count >= 50_000)
        {
            _attributeSetTexts.Clear();
        }

        return _attributeSetTexts.GetOrAdd(id, text);
    }

    public Task<IReadOnlyList<string>> GetServicesAsync(CancellationToken cancellationToken = default) =>
        ReadNamesAsync("SELECT name FROM services", cancellationToken);

    /// <summary>One string column, sorted ordinally in .NET (DuckDB's VARCHAR order is by code point, not UTF-16 unit).</summary>
    private Task<IReadOnlyList<string>> ReadNamesAsync(string sql, CancellationToken cancellationToken) => Read<IReadOnlyList<string>>(connection =>
    {
        using var command = Command(connection, sql);
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
        // join does not have to build over the whole table. A parent is a row reference (same batch, seq -
        // parent_offset) or, when it came in another write, its id: two equi-joins, one per kind.
        using var command = Command(connection, """
            WITH c AS (
                SELECT trace_id, batch, seq - parent_offset AS parent_seq, parent_offset, parent_span_id, service FROM spans
                WHERE start_ns >= $1 AND start_ns <= $2 AND (parent_offset <> 0 OR parent_span_id <> 0)),
            p AS (SELECT trace_id, batch, seq, span_id, service FROM spans WHERE trace_id IN (SELECT trace_id FROM c)),
            links AS (
                SELECT p.service AS parent, c.service AS child
                FROM c JOIN p ON p.trace_id = c.trace_id AND p.batch = c.batch AND p.seq = c.parent_seq
                WHERE c.parent_offset <> 0
                UNION ALL
                SELECT p.service, c.service
                FROM c JOIN p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
                WHERE c.parent_offset = 0)
            SELECT parent, child, count(*) FROM links
            WHERE parent <> child
            GROUP BY parent, child
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

    public Task<long> GetCheckpointAsync(CancellationToken cancellationToken = default) => Read(ReadCheckpoint, cancellationToken);

    private static long ReadCheckpoint(DuckDBConnection connection)
    {
        using var command = Command(connection, "SELECT checkpoint FROM ingest_state WHERE id = 0");
        return command.ExecuteScalar() is long checkpoint ? checkpoint : 0L;
    }

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
                MaterializeParentsOf(writer, cutoffUnixNano);
                using (var command = Command(writer, "DELETE FROM spans WHERE start_ns < $1", cutoffUnixNano))
                {
                    deleted = command.ExecuteNonQuery();
                }

                // The catalogue rows may trail the data by up to CatalogueRefreshNanos; bring them up to date first
                // so an entry seen after the cutoff is not deleted for a stale last_seen.
                UpsertCatalogue(writer, _knownServices.Stale(), _knownOperations.Stale(), _knownKeys.Stale());

                // A trace part goes with the last of its spans; a trace with spans on both sides keeps its older parts.
                Execute(writer, $"DELETE FROM trace_parts WHERE {WrappedSum("start_ns", "last_start_offset_ns")} < $1", cutoffUnixNano);
                DeleteBatchesOlderThan(writer, cutoffUnixNano);
                Execute(writer, "DELETE FROM attr_sets WHERE id NOT IN (SELECT DISTINCT attr_set FROM spans)");
                Execute(writer, "DELETE FROM logs WHERE ts_ns < $1", cutoffUnixNano);
                Execute(writer, "DELETE FROM services WHERE last_seen < $1", cutoffUnixNano);
                Execute(writer, "DELETE FROM operations WHERE last_seen < $1", cutoffUnixNano);
                Execute(writer, "DELETE FROM attribute_keys WHERE last_seen < $1", cutoffUnixNano);
                DeleteMetricsOlderThan(writer, cutoffUnixNano);
                transaction.Commit();
                BatchesDeletedOlderThan(cutoffUnixNano);
                // Some set the writer knows may be gone now: it makes those it meets again anew.
                _attributeSets.Forget();

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
                    // Writes what was committed since the last checkpoint, so the next start replays nothing.
                    Checkpoint(_writer, Interlocked.Read(ref _committedCheckpoint));
                }
                catch (DuckDBException e)
                {
                    _logger?.LogWarning(e, "Checkpoint on close failed; the ingest log will be replayed on the next start");
                }

                await _writer.DisposeAsync();
                _writer = null;
            }

            if (_root is not null)
            {
                await _root.DisposeAsync();
                _root = null;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>UTF-8 of a service or span name, cached: a batch repeats a few hundred distinct names.</summary>
    private byte[] Utf8(string text)
    {
        if (!_utf8.TryGetValue(text, out var bytes))
        {
            // Bounded: names are low-cardinality, but a sender with a unique name per span must not grow this forever.
            if (_utf8.Count >= 100_000)
            {
                _utf8.Clear();
            }

            bytes = Encoding.UTF8.GetBytes(text);
            _utf8[text] = bytes;
        }

        return bytes;
    }

    private DuckDBConnection Writer => _writer ?? throw new InvalidOperationException("InitializeAsync has not been called.");

    /// <summary>Runs a query on a pooled reader connection (DuckDB connections are not thread-safe; the database is).</summary>
    private Task<T> Read<T>(Func<DuckDBConnection, T> query, CancellationToken cancellationToken) => Task.Run(() =>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_readers.TryTake(out var connection))
        {
            connection = Connect();
        }

        _readGate.EnterReadLock();
        try
        {
            return query(connection);
        }
        finally
        {
            _readGate.ExitReadLock();
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

        using var command = Command(connection, "SELECT " + ResourceColumns + " FROM resources WHERE id = $1", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidDataException($"Span references missing resource {id}.");
        }

        return _resources.GetOrAdd(id, ReadResource(reader));
    }

    private const string ResourceColumns = "id, hash, service, schema_url, attr_keys, attr_values, proto";

    private static ResourceEntry ReadResource(DbDataReader reader)
    {
        // Read back with ingest's recursion limit: attributes nest as deep as ingest accepted them.
        var resource = OtlpProtobuf.ParseAccepted<Resource>(ReadBytes(reader, 6));
        return new ResourceEntry(reader.GetInt64(0), reader.GetInt64(1), resource, reader.GetString(2), reader.GetString(3),
            reader.GetFieldValue<List<string>>(4), reader.GetFieldValue<List<string>>(5));
    }

    private ScopeEntry GetScope(DuckDBConnection connection, long id)
    {
        if (_scopes.TryGetValue(id, out var entry))
        {
            return entry;
        }

        using var command = Command(connection, "SELECT schema_url, proto, hash FROM scopes WHERE id = $1", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidDataException($"Span references missing scope {id}.");
        }

        var scope = OtlpProtobuf.ParseAccepted<InstrumentationScope>(ReadBytes(reader, 1));

        entry = new ScopeEntry(id, reader.GetInt64(2), scope, reader.GetString(0));
        return _scopes.GetOrAdd(id, entry);
    }

    /// <summary>A BLOB column's bytes (DuckDB.NET hands a BLOB out as a stream of known length).</summary>
    internal static byte[] ReadBytes(DbDataReader reader, int ordinal)
    {
        using var stream = reader.GetStream(ordinal);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>A trace id as spans and trace_parts store it: its bytes as one big-endian 128-bit number.</summary>
    private static UInt128 Stored(TraceId id) => new(id.High, id.Low);

    /// <summary>A stored trace id (DuckDB.NET reads UHUGEINT as a BigInteger).</summary>
    private static TraceId ReadTraceId(DbDataReader reader, int ordinal)
    {
        var value = (UInt128)reader.GetFieldValue<System.Numerics.BigInteger>(ordinal);
        return new TraceId((ulong)(value >> 64), (ulong)value);
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
    private sealed record ResourceEntry(long Id, long Hash, Resource Resource, string Service, string SchemaUrl, List<string> Keys, List<string> Values);

    private sealed record ScopeEntry(long Id, long Hash, InstrumentationScope Scope, string SchemaUrl);

    /// <summary>
    /// One trace's share of a write, folded in memory so the write appends one trace part per trace; readers fold a
    /// trace's parts into one the same way (<see cref="AddPart"/>).
    /// </summary>
    private sealed class TraceAggregate
    {
        private TraceAggregate()
        {
            Start = long.MaxValue;
            End = long.MinValue;
            LastStart = long.MinValue;
            RootStart = long.MaxValue;
        }

        public TraceAggregate(long start, long end, bool isRoot, string service, string name, bool isError)
        {
            Start = start;
            End = end;
            LastStart = start;
            SetRoot(start, isRoot, service, name);
            Count(service, isError);
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

        public void Add(long start, long end, bool isRoot, string service, string name, bool isError)
        {
            Start = Math.Min(Start, start);
            End = Math.Max(End, end);
            LastStart = Math.Max(LastStart, start);
            if (!HasRoot && (isRoot || start < RootStart))
            {
                SetRoot(start, isRoot, service, name);
            }

            Count(service, isError);
        }

        /// <summary>Nothing yet: the first part added supplies everything.</summary>
        public static TraceAggregate Empty() => new();

        /// <summary>
        /// Folds in another write's part, in write order: a real root seen first is kept, otherwise a real root or an
        /// earlier stand-in replaces the one held.
        /// </summary>
        public void AddPart(long start, long end, string rootService, string rootName, bool hasRoot, long rootStart, int spans, int errors,
            long lastStart, List<string> services, List<int> counts)
        {
            Start = Math.Min(Start, start);
            End = Math.Max(End, end);
            LastStart = Math.Max(LastStart, lastStart);
            if (!HasRoot && (hasRoot || rootStart < RootStart))
            {
                SetRoot(rootStart, hasRoot, rootService, rootName);
            }

            SpanCount += spans;
            ErrorCount += errors;
            for (var i = 0; i < services.Count; i++)
            {
                PerService[services[i]] = PerService.GetValueOrDefault(services[i]) + counts[i];
            }
        }

        private void SetRoot(long start, bool isRoot, string service, string name)
        {
            RootService = service;
            RootName = name;
            RootStart = start;
            HasRoot = isRoot;
        }

        private void Count(string service, bool isError)
        {
            SpanCount++;
            if (isError)
            {
                ErrorCount++;
            }

            PerService[service] = PerService.GetValueOrDefault(service) + 1;
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

        // Attribute keys by (service index, key id, type, target) packed in a long: a batch counts about ten per span,
        // and hashing a long is far cheaper than hashing two strings each time.
        private readonly Dictionary<string, int> _serviceIndex = new(StringComparer.Ordinal);
        private readonly List<string> _serviceNames = new();
        private readonly Dictionary<long, long> _keysById = new();

        public void Service(string name, long seen) => Bump(Services, name, seen);

        public int ServiceIndex(string service)
        {
            if (!_serviceIndex.TryGetValue(service, out var index))
            {
                index = _serviceNames.Count;
                _serviceIndex.Add(service, index);
                _serviceNames.Add(service);
            }

            return index;
        }

        public void KeyById(int serviceIndex, int keyId, byte type, AttributeTarget target, long seen) =>
            Bump(_keysById, ((long)serviceIndex << 40) | ((long)keyId << 8) | ((long)type << 4) | (long)target, seen);

        /// <summary>Folds the id-keyed entries into <see cref="Keys"/>.</summary>
        public void ResolveKeyIds(Func<int, string> keyName)
        {
            foreach (var (packed, seen) in _keysById)
            {
                var service = _serviceNames[(int)(packed >> 40)];
                var key = keyName((int)((packed >> 8) & 0xFFFF_FFFF));
                Bump(Keys, (service, key, (int)((packed >> 4) & 0xF), (int)(packed & 0xF)), seen);
            }

            _keysById.Clear();
        }

        public void Operation(string service, string name, int kind, long seen) => Bump(Operations, (service, name, kind), seen);

        public void Key(string service, string key, AnyValue? value, AttributeTarget target, long seen) =>
            Key(service, key, AttributeText.TypeOf(value), target, seen);

        public void Key(string service, string key, AttributeValueType type, AttributeTarget target, long seen) =>
            Bump(Keys, (service, key, (int)type, (int)target), seen);

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
