using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Almanac.Core.Metrics;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Otlp;
using DuckDB.NET.Data;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Almanac.Storage.DuckDb;

/// <summary>Metric storage: points in <c>metric_points</c>, the list in <c>metrics</c>, resources and scopes shared with spans.</summary>
public sealed partial class DuckDbStore
{
    /// <summary>
    /// Appends a batch's metric points inside the span transaction. New resources and scopes join the lists the
    /// span code inserts, so both signals share one row per distinct resource.
    /// </summary>
    private void WriteMetrics(DuckDBConnection writer, IReadOnlyList<MetricData> metrics, List<ResourceEntry> newResources, List<ScopeEntry> newScopes)
    {
        if (metrics.Count == 0)
        {
            return;
        }

        var rows = new List<PointRow>();
        var catalogue = new Dictionary<(string Service, string Name, int Type, string Unit), (string Description, int Temporality, bool Monotonic, long Seen)>();
        var resources = new Dictionary<Resource, ResourceEntry>(ReferenceEqualityComparer.Instance);
        var scopes = new Dictionary<InstrumentationScope, ScopeEntry>(ReferenceEqualityComparer.Instance);
        foreach (var data in metrics)
        {
            var type = MetricPoints.TypeOf(data.Metric);
            if (type is null)
            {
                continue; // the flattener rejects these; nothing to store
            }

            var resource = ResolveResource(data.Resource, data.ServiceName, data.ResourceSchemaUrl, resources, newResources, catalogue: null, seen: 0);
            var scope = ResolveScope(data.Scope, data.ScopeSchemaUrl, scopes, newScopes, catalogue: null, data.ServiceName, seen: 0);
            var header = MetricPoints.Header(data.Metric);
            var headerBytes = header.ToByteArray();
            var temporality = (int)MetricPoints.TemporalityOf(data.Metric);
            var monotonic = MetricPoints.IsMonotonic(data.Metric);
            long newest = 0;
            foreach (var point in MetricDataPoints.Enumerate(data.Metric))
            {
                var keys = new List<string>(point.Attributes.Count);
                var values = new List<string>(point.Attributes.Count);
                foreach (var kv in point.Attributes)
                {
                    keys.Add(kv.Key);
                    values.Add(AttributeText.Of(kv.Value));
                }

                var time = ToSigned(point.TimeUnixNano);
                newest = Math.Max(newest, time);
                double? value = null;
                ulong? count = null;
                double? sum = null;
                switch (point.Point)
                {
                    case NumberDataPoint n: value = MetricPoints.NumberValue(n); break;
                    case HistogramDataPoint h: count = h.Count; sum = h.HasSum ? h.Sum : null; break;
                    case ExponentialHistogramDataPoint e: count = e.Count; sum = e.HasSum ? e.Sum : null; break;
                    case SummaryDataPoint s: count = s.Count; sum = s.Sum; break;
                }

                rows.Add(new PointRow(data.ServiceName, data.Metric.Name, (int)type.Value, temporality, monotonic, time,
                    ToSigned(point.StartTimeUnixNano), value, count, sum,
                    SeriesId(resource.Id, scope.Id, headerBytes, point.Attributes), resource.Id, scope.Id, keys, values, headerBytes,
                    point.Point.ToByteArray()));
            }

            var catalogueKey = (data.ServiceName, data.Metric.Name, (int)type.Value, data.Metric.Unit);
            if (!catalogue.TryGetValue(catalogueKey, out var known) || known.Seen <= newest)
            {
                catalogue[catalogueKey] = (data.Metric.Description, temporality, monotonic, Math.Max(newest, known.Seen));
            }
        }

        // Time order keeps each row group's time_ns range narrow, which is what zone maps prune on.
        rows.Sort((a, b) => a.Time.CompareTo(b.Time));
        using (var appender = writer.CreateAppender("metric_points"))
        {
            foreach (var r in rows)
            {
                appender.CreateRow()
                    .AppendValue(r.Service)
                    .AppendValue(r.Name)
                    .AppendValue((sbyte?)r.Type)
                    .AppendValue((sbyte?)r.Temporality)
                    .AppendValue((bool?)r.Monotonic)
                    .AppendValue((long?)r.Time)
                    .AppendValue((long?)r.Start)
                    .AppendValue(r.Value)
                    .AppendValue(r.Count)
                    .AppendValue(r.Sum)
                    .AppendValue((long?)r.Series)
                    .AppendValue((long?)r.ResourceId)
                    .AppendValue((long?)r.ScopeId)
                    .AppendValue((IEnumerable<string>)r.Keys)
                    .AppendValue((IEnumerable<string>)r.Values)
                    .AppendValue(r.Header)
                    .AppendValue(r.Point)
                    .EndRow();
            }
        }

        // A Collector batch can carry hundreds of distinct metrics: a few hundred rows per statement, since one
        // statement per row costs milliseconds each in DuckDB. The latest description, temporality and
        // monotonicity win.
        foreach (var chunk in catalogue.Chunk(200))
        {
            var sql = new StringBuilder("INSERT INTO metrics VALUES ");
            var parameters = new List<object>(chunk.Length * 8);
            foreach (var ((service, name, type, unit), (description, temporality, monotonic, seen)) in chunk)
            {
                sql.Append(parameters.Count == 0 ? "(" : ", (");
                foreach (var value in new object[] { service, name, (sbyte)type, unit, description, (sbyte)temporality, monotonic, seen })
                {
                    parameters.Add(value);
                    sql.Append(sql[^1] == '(' ? "$" : ", $").Append(parameters.Count.ToString(CultureInfo.InvariantCulture));
                }

                sql.Append(')');
            }

            sql.Append("""
                 ON CONFLICT DO UPDATE SET
                    description = CASE WHEN excluded.last_seen >= metrics.last_seen THEN excluded.description ELSE metrics.description END,
                    temporality = CASE WHEN excluded.last_seen >= metrics.last_seen THEN excluded.temporality ELSE metrics.temporality END,
                    monotonic = CASE WHEN excluded.last_seen >= metrics.last_seen THEN excluded.monotonic ELSE metrics.monotonic END,
                    last_seen = greatest(metrics.last_seen, excluded.last_seen)
                """);
            Execute(writer, sql.ToString(), parameters.ToArray());
        }
    }

    /// <summary>Called inside the retention transaction.</summary>
    private static void DeleteMetricsOlderThan(DuckDBConnection writer, long cutoffUnixNano)
    {
        Execute(writer, "DELETE FROM metric_points WHERE time_ns < $1", cutoffUnixNano);
        Execute(writer, "DELETE FROM metrics WHERE last_seen < $1", cutoffUnixNano);
    }

    public Task<IReadOnlyList<string>> GetMetricServicesAsync(CancellationToken cancellationToken = default) => Read<IReadOnlyList<string>>(connection =>
    {
        var result = new List<string>();
        using var command = Command(connection, "SELECT DISTINCT service FROM metrics");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(reader.GetString(0));
        }

        result.Sort(StringComparer.Ordinal);
        return result;
    }, cancellationToken);

    public Task<IReadOnlyList<MetricInfo>> GetMetricsAsync(string? serviceName = null, CancellationToken cancellationToken = default) => Read<IReadOnlyList<MetricInfo>>(connection =>
    {
        var result = new List<MetricInfo>();
        using var command = serviceName is null
            ? Command(connection, "SELECT service, name, type, unit, description, temporality, monotonic, last_seen FROM metrics")
            : Command(connection, "SELECT service, name, type, unit, description, temporality, monotonic, last_seen FROM metrics WHERE service = $1", serviceName);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(new MetricInfo(reader.GetString(0), reader.GetString(1), (MetricType)reader.GetFieldValue<sbyte>(2), reader.GetString(3),
                reader.GetString(4), (MetricTemporality)reader.GetFieldValue<sbyte>(5), reader.GetBoolean(6), reader.GetInt64(7)));
        }

        // Sorted here, ordinally, rather than by DuckDB's collation so every backend agrees.
        result.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.ServiceName, b.ServiceName);
            c = c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
            c = c != 0 ? c : a.Type.CompareTo(b.Type);
            return c != 0 ? c : string.CompareOrdinal(a.Unit, b.Unit);
        });
        return result;
    }, cancellationToken);

    public Task<IReadOnlyList<MetricData>> GetMetricPointsAsync(MetricPointQuery query, CancellationToken cancellationToken = default) => Read<IReadOnlyList<MetricData>>(connection =>
    {
        if (query.Limit <= 0)
        {
            return [];
        }

        var parameters = new SqlParameters();

        var sql = new StringBuilder("SELECT service, resource_id, scope_id, metric_proto, point_proto FROM metric_points WHERE service = ")
            .Append(parameters.Add(query.ServiceName)).Append(" AND name = ").Append(parameters.Add(query.MetricName))
            .Append(" AND time_ns >= ").Append(parameters.Add(query.StartTimeMinUnixNano))
            .Append(" AND time_ns <= ").Append(parameters.Add(query.StartTimeMaxUnixNano));
        if (query.Type is { } type)
        {
            sql.Append(" AND type = ").Append(parameters.Add((sbyte)type));
        }

        foreach (var (key, value) in query.Attributes)
        {
            var resourceIds = MatchingResources(connection, key, value);
            parameters.Add(key);
            var keyParam = parameters.Count;
            parameters.Add(value);
            var valueParam = parameters.Count;
            sql.Append(" AND (");
            if (resourceIds.Count > 0)
            {
                sql.Append("resource_id IN (").Append(string.Join(", ", resourceIds.Select(id => id.ToString(CultureInfo.InvariantCulture)))).Append(") OR ");
            }

            sql.Append(Schema.ListAttributeMatch(keyParam, valueParam)).Append(')');
        }

        sql.Append(" ORDER BY time_ns, series LIMIT ").Append(query.Limit.ToString(CultureInfo.InvariantCulture));

        var result = new List<MetricData>();
        // Points of one metric repeat a handful of headers; parse each once.
        var headers = new Dictionary<string, Metric>(StringComparer.Ordinal);
        using var command = Command(connection, sql.ToString(), parameters.ToArray());
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var resource = GetResource(connection, reader.GetInt64(1));
            var scope = GetScope(connection, reader.GetInt64(2));
            var headerBytes = ReadBytes(reader, 3);
            var headerKey = Convert.ToBase64String(headerBytes);
            if (!headers.TryGetValue(headerKey, out var header))
            {
                header = OtlpProtobuf.ParseAccepted<Metric>(headerBytes);
                headers.Add(headerKey, header);
            }

            var metric = header.Clone();
            MetricPoints.AddPoint(metric, ReadBytes(reader, 4));
            result.Add(new MetricData(reader.GetString(0), resource.Resource, resource.SchemaUrl, scope.Scope, scope.SchemaUrl, metric));
        }

        return result;
    }, cancellationToken);

    /// <summary>OTLP times are unsigned; anything past 2262 is clamped rather than wrapping negative.</summary>
    private static long ToSigned(ulong unixNano) => unixNano > long.MaxValue ? long.MaxValue : (long)unixNano;

    /// <summary>
    /// A series is one resource + scope + metric + point attribute set: what the series maths follows over time.
    /// A fast hash suffices: the id only groups points for queries, the data itself stays in each row.
    /// </summary>
    private static long SeriesId(long resourceId, long scopeId, byte[] header, Google.Protobuf.Collections.RepeatedField<KeyValue> attributes)
    {
        var hash = new XxHash64();
        hash.Append(BitConverter.GetBytes(resourceId));
        hash.Append(BitConverter.GetBytes(scopeId));
        hash.Append(header);
        foreach (var kv in attributes)
        {
            hash.Append(kv.ToByteArray());
        }

        return BitConverter.ToInt64(hash.GetCurrentHash());
    }

    private sealed record PointRow(string Service, string Name, int Type, int Temporality, bool Monotonic, long Time, long Start,
        double? Value, ulong? Count, double? Sum, long Series, long ResourceId, long ScopeId, List<string> Keys, List<string> Values,
        byte[] Header, byte[] Point);
}
