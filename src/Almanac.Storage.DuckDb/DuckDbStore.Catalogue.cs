using Almanac.Core.Storage;
using DuckDB.NET.Data;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// The search form's catalogue questions (trace counts per service, an attribute key's values), answered exactly from
/// the span columns in one aggregate query each: zone maps on start_ns skip row groups outside the window and only the
/// few columns involved are read, where the UI used to run one capped search per service or fetch whole traces.
/// </summary>
public sealed partial class DuckDbStore
{
    public Task<IReadOnlyList<ServiceTraces>> GetServiceTraceCountsAsync(long startUnixNano, long endUnixNano, CancellationToken cancellationToken = default) =>
        Read<IReadOnlyList<ServiceTraces>>(connection =>
        {
            // The same window test as FindTraceIdsAsync (a span of the service starts in it), so a count is what that
            // service's search finds.
            using var command = Command(connection, """
                SELECT service, count(DISTINCT trace_id) FROM spans
                WHERE start_ns >= $1 AND start_ns <= $2
                GROUP BY service
                """, startUnixNano, endUnixNano);
            using var reader = command.ExecuteReader();
            var counts = new List<ServiceTraces>();
            while (reader.Read())
            {
                counts.Add(new ServiceTraces(reader.GetString(0), reader.GetInt64(1)));
            }

            return counts.OrderBy(c => c.Service, StringComparer.Ordinal).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<AttributeValueStat>> GetAttributeValuesAsync(string key, string? serviceName, long startUnixNano, long endUnixNano, int limit,
        CancellationToken cancellationToken = default) => Read<IReadOnlyList<AttributeValueStat>>(connection =>
        {
            ArgumentNullException.ThrowIfNull(key);
            if (limit <= 0)
            {
                return [];
            }

            var service = string.IsNullOrEmpty(serviceName) ? null : serviceName;
            // DuckDB numbers parameters by use: only reference $5 when $4 (the service) is there.
            var serviceFilter = service is null ? string.Empty : " AND service = $5";

            // Span and event attributes are pairs in the span row's search text (SearchText: RS key-id US value RS),
            // so the key's values are what follows its id; each span counts once per distinct value. The key id is an
            // integer the store assigned, so it goes into the SQL as a literal. Resource attributes are counted once
            // per span of the resource: resources are few, so spans are grouped by resource id first and only
            // matching resources are unnested.
            var keyId = KeyIdForSearch(connection, key);
            var id = keyId?.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var spanMatch = id is null ? "false" : $"contains(attrs, chr(30) || '{id}' || chr(31))";
            var pattern = id is null ? "''" : $"'\\x1E{id}\\x1F([^\\x1E]*)'";
            var sql = $"""
                WITH window_spans AS (
                    SELECT attrs || coalesce(a.text, '') AS attrs, resource_id FROM spans LEFT JOIN attr_sets a ON a.id = spans.attr_set
                    WHERE start_ns >= $2 AND start_ns <= $3{serviceFilter}
                ),
                span_values AS (
                    SELECT v AS value, count(*) AS n FROM (
                        SELECT unnest(list_distinct(regexp_extract_all(attrs, {pattern}, 1))) AS v FROM window_spans WHERE {spanMatch}
                    ) GROUP BY v
                ),
                per_resource AS (
                    SELECT resource_id, count(*) AS n FROM window_spans GROUP BY resource_id
                ),
                resource_values AS (
                    SELECT v AS value, sum(n) AS n FROM (
                        SELECT unnest(r.attr_keys) AS k, unnest(r.attr_values) AS v, p.n AS n
                        FROM per_resource p JOIN resources r ON r.id = p.resource_id
                        WHERE list_contains(r.attr_keys, $1)
                    ) WHERE k = $1 GROUP BY v
                )
                SELECT value, CAST(sum(n) AS BIGINT) AS n FROM (SELECT * FROM span_values UNION ALL SELECT * FROM resource_values)
                GROUP BY value ORDER BY n DESC, value LIMIT $4
                """;
            object[] parameters = service is null
                ? [key, startUnixNano, endUnixNano, limit]
                : [key, startUnixNano, endUnixNano, limit, service];
            using var command = Command(connection, sql, parameters);
            using var reader = command.ExecuteReader();
            var values = new List<AttributeValueStat>();
            while (reader.Read())
            {
                values.Add(new AttributeValueStat(reader.GetString(0), reader.GetInt64(1)));
            }

            // DuckDB's ORDER BY on VARCHAR is by code point, C# ordinal is by UTF-16 unit: settle ties the contract's way.
            return values.OrderByDescending(v => v.SpanCount).ThenBy(v => v.Value, StringComparer.Ordinal).ToList();
        }, cancellationToken);
}
