using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using DuckDB.NET.Data;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>DuckDB-specific: a database file written in another storage layout is refused with a message, never misread.</summary>
public sealed class DuckDbStorageLayoutTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-layout-").FullName;

    private string DatabasePath => Path.Combine(_directory, "almanac.duckdb");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Initialize_FileFromTheFirstLayout_RefusesWithWhatToDo()
    {
        // The first layout had no schema_version table and kept attributes in two lists.
        using (var connection = new DuckDBConnection("Data Source=" + DatabasePath))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE spans (trace_id BLOB, attr_keys VARCHAR[], attr_values VARCHAR[]); INSERT INTO spans VALUES ('\\x01'::BLOB, ['k'], ['v'])";
            command.ExecuteNonQuery();
        }

        await using var store = new DuckDbStore(DatabasePath);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.InitializeAsync());

        Assert.Contains("layout 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", error.Message, StringComparison.Ordinal);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A file of each earlier numbered layout, with just enough of its tables to be told apart: 3 had no spans.batch
    /// and no span_batches (no search by batch); 4 kept one upserted, primary-keyed row per trace in traces (5 reads
    /// trace_parts); 5 stored every parent's id (6 references a parent written alongside, ADR 0008); 6 kept trace
    /// parts' times absolute and events' times in the blob.
    /// </summary>
    [Theory]
    [InlineData(3, "CREATE TABLE spans (trace_id BLOB)")]
    [InlineData(4, "CREATE TABLE spans (trace_id BLOB); CREATE TABLE traces (trace_id BLOB PRIMARY KEY)")]
    [InlineData(5, "CREATE TABLE spans (trace_id UHUGEINT, span_id UBIGINT, parent_span_id UBIGINT)")]
    [InlineData(6, "CREATE TABLE spans (trace_id UHUGEINT, parent_offset INTEGER, seq INTEGER, attr_set INTEGER)")]
    public async Task Initialize_FileFromAnEarlierLayout_RefusesWithWhatToDo(int layout, string tables)
    {
        using (var connection = new DuckDBConnection("Data Source=" + DatabasePath))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = tables + $"; CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES ({layout})";
            command.ExecuteNonQuery();
        }

        await using var store = new DuckDbStore(DatabasePath);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.InitializeAsync());

        Assert.Contains($"layout {layout}, but this Almanac reads layout 8", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_FileItWroteItself_OpensAndKeepsIds()
    {
        var first = NewTraceId();
        await using (var store = new DuckDbStore(DatabasePath))
        {
            await store.InitializeAsync();
            await store.WriteAsync(new TelemetryBatch([ToSpanData(CreateSpan(first), CreateResource("a"))], 1));
        }

        // After a reopen new resources must not reuse the ids of stored ones, or old spans would change resource.
        var second = NewTraceId();
        await using (var store = new DuckDbStore(DatabasePath))
        {
            await store.InitializeAsync();
            await store.WriteAsync(new TelemetryBatch([ToSpanData(CreateSpan(second), CreateResource("b"))], 2));
            Assert.Equal("a", (await store.GetTraceAsync(first))!.Spans[0].ServiceName);
            Assert.Equal("a", ServiceNameOf((await store.GetTraceAsync(first))!.Spans[0]));
            Assert.Equal("b", ServiceNameOf((await store.GetTraceAsync(second))!.Spans[0]));
        }
    }

    /// <summary>
    /// Layout 7 kept one search filter per batch; a start converts the file (ADR 0009) instead of refusing it, and
    /// its spans stay searchable next to new ones.
    /// </summary>
    [Fact]
    public async Task Initialize_FileFromLayout7_ConvertsItAndKeepsItSearchable()
    {
        var old = NewTraceId();
        await using (var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, filterBlockRows: int.MaxValue))
        {
            await store.InitializeAsync();
            await store.WriteAsync(new TelemetryBatch([ToSpanData(CreateSpan(old, attributes: [Attr("user", "u-old")]), CreateResource("a"))], 1));
        }

        // What layout 7 stored: the batch's single Bloom filter, without the block header, and version 7.
        using (var connection = new DuckDBConnection("Data Source=" + DatabasePath))
        {
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT batch, filter FROM span_batches";
            var rows = new List<(int Batch, byte[] Filter)>();
            using (var reader = read.ExecuteReader())
            {
                while (reader.Read())
                {
                    using var stream = reader.GetStream(1);
                    using var copy = new MemoryStream();
                    stream.CopyTo(copy);
                    rows.Add((reader.GetInt32(0), copy.ToArray()[12..]));
                }
            }

            foreach (var (batch, filter) in rows)
            {
                using var write = connection.CreateCommand();
                write.CommandText = "UPDATE span_batches SET filter = $1 WHERE batch = $2";
                write.Parameters.Add(new DuckDBParameter(filter));
                write.Parameters.Add(new DuckDBParameter(batch));
                write.ExecuteNonQuery();
            }

            using var version = connection.CreateCommand();
            version.CommandText = "UPDATE schema_version SET version = 7";
            version.ExecuteNonQuery();
        }

        var added = NewTraceId();
        await using (var store = new DuckDbStore(DatabasePath))
        {
            await store.InitializeAsync();
            await store.WriteAsync(new TelemetryBatch([ToSpanData(CreateSpan(added, attributes: [Attr("user", "u-new")]), CreateResource("a"))], 2));
            Assert.Equal([old], await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "a", Attributes = [new("user", "u-old")] }));
            Assert.Equal([added], await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "a", Attributes = [new("user", "u-new")] }));
            Assert.Empty(await store.FindTraceIdsAsync(new TraceQuery { ServiceName = "a", Attributes = [new("user", "u-none")] }));
        }

        // Converted once: the file is layout 8 now, and opens again as such.
        using (var connection = new DuckDBConnection("Data Source=" + DatabasePath))
        {
            connection.Open();
            using var version = connection.CreateCommand();
            version.CommandText = "SELECT version FROM schema_version";
            Assert.Equal(8, version.ExecuteScalar());
        }

        await using var reopened = new DuckDbStore(DatabasePath);
        await reopened.InitializeAsync();
        Assert.Equal([old], await reopened.FindTraceIdsAsync(new TraceQuery { ServiceName = "a", Attributes = [new("user", "u-old")] }));
    }

    private static string ServiceNameOf(Almanac.Core.Model.SpanData span) =>
        span.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue;
}
