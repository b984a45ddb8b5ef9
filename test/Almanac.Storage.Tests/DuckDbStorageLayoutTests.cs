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

        Assert.Contains($"layout {layout}, but this Almanac reads layout 7", error.Message, StringComparison.Ordinal);
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

    private static string ServiceNameOf(Almanac.Core.Model.SpanData span) =>
        span.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue;
}
