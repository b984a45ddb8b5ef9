namespace Almanac.Storage.DuckDb;

/// <summary>The DuckDB schema. Every statement is idempotent so InitializeAsync can run on every start.</summary>
internal static class Schema
{
    public const string Create = """
        -- One row per span, appended batch by batch (each a time slice, so the per-row-group min/max (zone maps) on
        -- start_ns let trace-by-id and time-window searches skip most of the table), grouped by trace within a batch
        -- so a trace's rows sit together. No index: appends stay cheap.
        -- Column choices are about bytes per span (ADR 0003): no end_ns (start + duration, the blob keeps the
        -- rare end that precedes its start), small sequential resource/scope ids that bit-pack, and the span
        -- attributes held once, as search text, instead of in the blob and in two lists.
        CREATE TABLE IF NOT EXISTS spans (
            -- The 16 bytes as one big-endian 128-bit number (sorts like the bytes): a trace's rows sit together, and
            -- DuckDB compresses such runs of a number (2.5 B/span) better than of a BLOB (4.1, ADR 0005).
            trace_id       UHUGEINT  NOT NULL,
            span_id        UBIGINT   NOT NULL,
            -- The parent as a reference, not a copy of its random 8-byte id (8 B/span that nothing compresses,
            -- ADR 0008): parent_offset is how many rows before this one (in the batch's seq order) the parent is,
            -- when it was written in the same write; otherwise 0 and parent_span_id holds the parent's id (0 for a root).
            parent_span_id UBIGINT   NOT NULL,
            parent_offset  INTEGER   NOT NULL,
            -- The row's number within its batch (span_batches.batch), from 0: consecutive, so it compresses to nothing.
            seq            INTEGER   NOT NULL,
            start_ns       BIGINT    NOT NULL,
            duration_ns    BIGINT    NOT NULL,  -- max(0, end - start)
            service        VARCHAR   NOT NULL,
            name           VARCHAR   NOT NULL,
            kind           TINYINT   NOT NULL,
            status_code    TINYINT   NOT NULL,
            resource_id    BIGINT    NOT NULL,  -- resources.id
            scope_id       BIGINT    NOT NULL,  -- scopes.id
            -- DuckDB's own choice (dictionary/FSST) since the pairs of few-valued keys went to attr_sets (ADR 0008):
            -- what is left here (ids, paths with ids, addresses) repeats too little for ZSTD's 2,048-row frames,
            -- whose 4-byte length per value then costs more than FSST's offsets (16.3 against 16.9 B/span).
            attrs          VARCHAR   NOT NULL,  -- span + event attributes as search text (SearchText)
            -- The pairs of keys with few values are not in attrs but in this attribute set (attr_sets.id; 0 = none,
            -- ADR 0008): one small number per span instead of the same long text in row after row.
            attr_set       INTEGER   NOT NULL,
            attr_types     VARCHAR   NOT NULL,  -- type letters of the span's (and events') attributes, or '*': they are in span_proto
            -- DuckDB's own choice (dictionary/FSST), not ZSTD: with attributes and event attributes in the search text,
            -- almost every blob is the same few bytes (the flags), and ZSTD's per-value overhead made 6.4 B/span of
            -- what dictionary compression stores in 3.6 (ADR 0005).
            span_proto     BLOB      NOT NULL,  -- the span minus what the columns above reproduce
            -- Its events' times, in order, as offsets from start_ns (the blob's events have none): left in, an
            -- exception event's time made each error span's blob unique, which widened every row's dictionary index.
            event_times    BIGINT[]  NOT NULL,
            -- span_batches.batch: constant within a write, so it compresses to nothing and zone maps skip on it.
            batch          INTEGER   NOT NULL
        );

        -- One row per batch of consecutive writes (BatchFilter): what trace search prunes on (ADR 0004).
        CREATE TABLE IF NOT EXISTS span_batches (
            batch           INTEGER PRIMARY KEY,
            min_start_ns    BIGINT  NOT NULL,
            max_start_ns    BIGINT  NOT NULL,
            max_duration_ns BIGINT  NOT NULL,
            spans           INTEGER NOT NULL,
            -- Split-block Bloom filters per block of rows (BlockFilters): attribute pairs, services, operations, resources.
            filter          BLOB    NOT NULL,
            trace_filter    BLOB    NOT NULL   -- the same kind of filter over the batch's trace ids (trace by id)
        );

        -- Distinct combinations of common attribute pairs, spelled as search text (AttributeSets, ADR 0008). Written
        -- with the first span that has one; retention deletes the sets no span refers to any more.
        -- ZSTD: sets are distinct by construction, so DuckDB's dictionary has nothing to share between them.
        CREATE TABLE IF NOT EXISTS attr_sets (
            id   INTEGER PRIMARY KEY,
            text VARCHAR NOT NULL USING COMPRESSION zstd
        );

        -- Attribute keys by the small id the spans' search text spells them with; ids are never reused.
        CREATE TABLE IF NOT EXISTS attribute_key_ids (
            id  INTEGER PRIMARY KEY,
            key VARCHAR NOT NULL
        );

        -- Which layout this file has; InitializeAsync refuses a file with another version.
        CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER NOT NULL
        );

        CREATE TABLE IF NOT EXISTS resources (
            id          BIGINT PRIMARY KEY,     -- assigned in order by the writer: small ids compress in spans
            hash        BIGINT    NOT NULL,     -- of the serialized resource + schema url: the dedup key
            service     VARCHAR   NOT NULL,
            schema_url  VARCHAR   NOT NULL,
            attr_keys   VARCHAR[] NOT NULL,
            attr_values VARCHAR[] NOT NULL,
            proto       BLOB      NOT NULL
        );

        CREATE TABLE IF NOT EXISTS scopes (
            id         BIGINT PRIMARY KEY,
            hash       BIGINT  NOT NULL,
            schema_url VARCHAR NOT NULL,
            proto      BLOB    NOT NULL
        );

        -- One row per trace per write: what that write's spans say about the trace. Appended, never updated, and no
        -- index (ADR 0005): readers find a trace's parts through the batches whose trace filter may hold it
        -- (span_batches.trace_filter, in memory) and combine them (TraceParts). Rows sit in batch order, so zone
        -- maps on batch skip everything else.
        CREATE TABLE IF NOT EXISTS trace_parts (
            trace_id       UHUGEINT  NOT NULL,  -- as in spans
            batch          INTEGER   NOT NULL,  -- span_batches.batch of the write
            -- The other times as offsets from start_ns: a part's times are close together, so the offsets bit-pack
            -- into a few bytes (the root's start is usually the part's own: 0), where absolute times take 4-5 each.
            start_ns       BIGINT    NOT NULL,
            end_offset_ns  BIGINT    NOT NULL,
            root_service   VARCHAR   NOT NULL,
            root_name      VARCHAR   NOT NULL,
            has_root       BOOLEAN   NOT NULL,
            root_start_offset_ns BIGINT NOT NULL,
            span_count     INTEGER   NOT NULL,
            error_count    INTEGER   NOT NULL,
            -- The latest span start: with clock skew a span can end before it starts, so the end alone does not
            -- tell whether retention deleted every span of the part.
            last_start_offset_ns BIGINT NOT NULL,
            -- Spans per service as parallel lists.
            services       VARCHAR[] NOT NULL,
            service_counts INTEGER[] NOT NULL
        );

        CREATE TABLE IF NOT EXISTS services (
            name      VARCHAR PRIMARY KEY,
            last_seen BIGINT NOT NULL
        );

        CREATE TABLE IF NOT EXISTS operations (
            service   VARCHAR NOT NULL,
            name      VARCHAR NOT NULL,
            kind      TINYINT NOT NULL,
            last_seen BIGINT  NOT NULL,
            PRIMARY KEY (service, name, kind)
        );

        CREATE TABLE IF NOT EXISTS attribute_keys (
            service   VARCHAR NOT NULL,
            key       VARCHAR NOT NULL,
            type      TINYINT NOT NULL,
            target    TINYINT NOT NULL,
            last_seen BIGINT  NOT NULL,
            PRIMARY KEY (service, key, type, target)
        );

        -- One row per log record, appended in timestamp order per batch (zone maps on ts_ns prune time windows).
        -- The record itself is kept whole in record_proto; the other columns are what search filters and sorts on.
        CREATE TABLE IF NOT EXISTS logs (
            seq          BIGINT    NOT NULL,  -- arrival order: breaks timestamp ties, stable cursor
            ts_ns        BIGINT    NOT NULL,  -- time_unix_nano, or observed time when that is 0
            trace_id     BLOB,                -- 16 raw bytes; NULL without trace context
            span_id      UBIGINT   NOT NULL,  -- 0 without a span id
            severity     TINYINT   NOT NULL,
            service      VARCHAR   NOT NULL,
            resource_id  BIGINT    NOT NULL,
            scope_id     BIGINT    NOT NULL,
            body_text    VARCHAR   NOT NULL,  -- the body's text form (AttributeText), what text search reads
            attr_keys    VARCHAR[] NOT NULL,
            attr_values  VARCHAR[] NOT NULL,
            record_proto BLOB      NOT NULL USING COMPRESSION zstd  -- the whole OTLP LogRecord, exactly as accepted
        );

        -- One row per metric data point, appended in time order per batch (zone maps on time_ns). The point's
        -- protobuf is kept whole (exemplars included); the other columns are what queries filter on.
        CREATE TABLE IF NOT EXISTS metric_points (
            service      VARCHAR   NOT NULL,
            name         VARCHAR   NOT NULL,
            type         TINYINT   NOT NULL,  -- Metric.data oneof field number (5 gauge, 7 sum, 9, 10, 11)
            temporality  TINYINT   NOT NULL,
            monotonic    BOOLEAN   NOT NULL,
            time_ns      BIGINT    NOT NULL,
            start_ns     BIGINT    NOT NULL,
            value        DOUBLE,              -- gauge and sum points
            count        UBIGINT,             -- histogram, exponential histogram and summary points
            sum          DOUBLE,
            series       BIGINT    NOT NULL,  -- hash of resource, scope, metric and point attributes
            resource_id  BIGINT    NOT NULL,
            scope_id     BIGINT    NOT NULL,
            attr_keys    VARCHAR[] NOT NULL,  -- point attribute keys ...
            attr_values  VARCHAR[] NOT NULL,  -- ... and their text forms, index for index
            metric_proto BLOB      NOT NULL USING COMPRESSION zstd,  -- the Metric without data points (name, unit, description, metadata, type)
            point_proto  BLOB      NOT NULL USING COMPRESSION zstd
        );

        -- The metric list: one row per service, name, type and unit.
        CREATE TABLE IF NOT EXISTS metrics (
            service     VARCHAR NOT NULL,
            name        VARCHAR NOT NULL,
            type        TINYINT NOT NULL,
            unit        VARCHAR NOT NULL,
            description VARCHAR NOT NULL,
            temporality TINYINT NOT NULL,
            monotonic   BOOLEAN NOT NULL,
            last_seen   BIGINT  NOT NULL,
            PRIMARY KEY (service, name, type, unit)
        );

        CREATE TABLE IF NOT EXISTS ingest_state (
            id         INTEGER PRIMARY KEY,
            checkpoint BIGINT NOT NULL
        );
        """;

    /// <summary>
    /// The layout <see cref="Create"/> makes. 1: until 2026-11-24 (attr_keys/attr_values lists, end_ns, hashed ids);
    /// 2: the same day until ZSTD (ADR 0003); 3: DuckDB's newest storage format with ZSTD blobs and search text;
    /// 4: spans.batch and span_batches, what search prunes on (ADR 0004); 5: trace_parts and the batches' trace-id
    /// filters instead of the upserted, primary-keyed traces table (ADR 0005); 6: parents as in-batch row references
    /// (spans.parent_offset and seq) and attribute sets (spans.attr_set, attr_sets), ADR 0008; 7: trace parts' times
    /// as offsets from their start, and events' times in spans.event_times; 8: search filters per block of rows
    /// (span_batches.filter as <see cref="BlockFilters"/>, ADR 0009).
    /// </summary>
    public const int Version = 8;

    /// <summary>The one older layout a start converts (<see cref="DuckDbStore"/>'s UpgradeFromLayout7): only its filters' form differs.</summary>
    public const int UpgradableVersion = 7;

    /// <summary>
    /// One attribute filter against a span row: its search text or its attribute set contains the needle (<see cref="SearchText.Needle"/>).
    /// </summary>
    /// <param name="needleParam">The parameter holding the needle.</param>
    /// <param name="sets">The attribute sets whose text holds the needle, found beforehand; null to let the query find them.</param>
    public static string SpanAttributeMatch(int needleParam, IReadOnlyCollection<int>? sets)
    {
        // Looked up first, the sets become an integer list the scan filters on, and a pair no set holds (a key with
        // many values: ids, addresses) leaves a plain substring test, with no join for every scanned row.
        var inSets = sets switch
        {
            null => $" OR attr_set IN (SELECT id FROM attr_sets WHERE contains(text, ${needleParam}))",
            { Count: 0 } => string.Empty,
            _ => " OR attr_set IN (" + string.Join(", ", sets.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")",
        };
        return $"(contains(attrs, ${needleParam}){inSets})";
    }

    /// <summary>
    /// One attribute filter against a row's key/value search lists (resources, log records, metric points): the key and value must sit at the same index. Cheapest
    /// test first (DuckDB evaluates AND/OR terms only on rows still undecided): the value must occur at all; then
    /// the key's first position usually settles it; only rows whose key repeats (span and event attribute of the
    /// same name) pay for the exhaustive lambda.
    /// </summary>
    public static string ListAttributeMatch(int keyParam, int valueParam) =>
        $"(list_contains(attr_values, ${valueParam}) AND (attr_values[list_position(attr_keys, ${keyParam})] = ${valueParam} "
        + $"OR list_bool_or(list_transform(range(1, len(attr_keys) + 1), i -> attr_keys[i] = ${keyParam} AND attr_values[i] = ${valueParam}))))";
}
