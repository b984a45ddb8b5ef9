using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;
using DuckDB.NET.Data;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>
/// The whole contract again with attribute sets learned from the first span (ADR 0008): a key with at most three
/// values is common, so the contract's spans mix pairs kept in their rows with pairs kept in sets, and every read,
/// search and catalogue answer has to put the two back together. (The default store learns from thousands of spans,
/// so the contract's few spans keep every pair in the row.)
/// </summary>
public sealed class DuckDbAttributeSetStoreTests : StoreContractTests
{
    internal static readonly AttributeSets.Options AtOnce = new(SampleEvery: 1, MinSamples: 1, MaxDistinct: 3, MinRepeats: 1);

    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-sets-").FullName;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    protected override Task<ITelemetryStore> CreateStoreAsync() =>
        Task.FromResult<ITelemetryStore>(new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, attributeSets: AtOnce));

    protected override Task<ITelemetryStore> ReopenStoreAsync() => CreateStoreAsync();

    protected override Task CleanUpAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>How attribute sets behave at their limits: a key that turns out to have many values, a full set table, retention.</summary>
public sealed class DuckDbAttributeSetTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-setlimits-").FullName;

    private const long Ms = 1_000_000;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Spans_KeyTurnsRareAndSetTableFills_EverySpanReadsBackAndIsFound()
    {
        // At most two sets: after the first two distinct combinations, spans keep every pair in their own text.
        await using var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024,
            attributeSets: DuckDbAttributeSetStoreTests.AtOnce with { MaxSets = 2 });
        await store.InitializeAsync();
        var traces = new List<(TraceId Id, string Method, long User)>();
        for (var i = 0; i < 40; i++)
        {
            // http.method has 4 values (common until the fourth shows up), user.id a new one each time (never common).
            var method = (i % 4) switch { 0 => "GET", 1 => "POST", 2 => "PUT", _ => "DELETE" };
            var id = NewTraceId();
            traces.Add((id, method, 1000 + i));
            await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(id, startUnixNano: T(i),
                attributes: [Attr("http.method", method), Attr("user.id", 1000L + i), Attr("net.transport", "ip_tcp")]))], i + 1));
        }

        foreach (var (id, method, user) in traces)
        {
            var span = Assert.Single((await store.GetTraceAsync(id))!.Spans).Span;
            Assert.Equal([("http.method", method), ("user.id", user.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("net.transport", "ip_tcp")],
                span.Attributes.Select(a => (a.Key, a.Value.HasStringValue ? a.Value.StringValue : a.Value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }

        Assert.Equal(10, (await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("http.method", "POST")], Limit = 100 })).Count);
        Assert.Equal(40, (await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("net.transport", "ip_tcp")], Limit = 100 })).Count);
        Assert.Equal([traces[7].Id], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("user.id", "1007")] }));
        Assert.Equal(2L, await Scalar(store, "SELECT count(*) FROM attr_sets"));
    }

    [Fact]
    public async Task Spans_KeyWithANewValueEverySpan_NeverGoesIntoSets()
    {
        // Learned as the default store learns, only sooner: a key is common after 8 samples if its values repeat.
        await using var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024,
            attributeSets: new AttributeSets.Options(SampleEvery: 1, MinSamples: 8));
        await store.InitializeAsync();
        var traces = new List<TraceId>();
        for (var i = 0; i < 100; i++)
        {
            traces.Add(NewTraceId());
            await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(traces[i], startUnixNano: T(i),
                attributes: [Attr("http.method", i % 2 == 0 ? "GET" : "POST"), Attr("enduser.id", $"user-{i}")]))], i + 1));
        }

        // Only the method's two values became sets. Had the ids counted as common while fewer than 256 were seen,
        // nearly every span would have made a set of its own.
        Assert.Equal(2L, await Scalar(store, "SELECT count(*) FROM attr_sets"));
        Assert.Equal([traces[42]], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("enduser.id", "user-42")] }));
        Assert.Equal(50, (await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("http.method", "POST")], Limit = 100 })).Count);
    }

    [Fact]
    public async Task Spans_SetTextBudgetSpent_LongValuesStayInTheirRows()
    {
        // 100 bytes of set text in all: the first short set fits, a 2 kB statement does not.
        await using var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024,
            attributeSets: DuckDbAttributeSetStoreTests.AtOnce with { MaxBytes = 100 });
        await store.InitializeAsync();
        var statement = "SELECT " + string.Join(", ", Enumerable.Range(0, 300).Select(i => $"c{i}")) + " FROM t";
        var shortOne = NewTraceId();
        var longOne = NewTraceId();
        await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(shortOne, startUnixNano: T(0), attributes: [Attr("db.system", "postgresql")]))], 1));
        await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(longOne, startUnixNano: T(1), attributes: [Attr("db.statement", statement)]))], 2));

        Assert.Equal(statement, Assert.Single((await store.GetTraceAsync(longOne))!.Spans).Span.Attributes.Single().Value.StringValue);
        Assert.Equal([longOne], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("db.statement", statement)] }));
        Assert.Equal([shortOne], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("db.system", "postgresql")] }));
        Assert.Equal(1L, await Scalar(store, "SELECT count(*) FROM attr_sets"));
    }

    [Fact]
    public async Task Retention_DeletesSetsNoSpanUses_AndLaterSpansStillGetSets()
    {
        await using var store = new DuckDbStore(DatabasePath, null, 64L * 1024 * 1024, attributeSets: DuckDbAttributeSetStoreTests.AtOnce);
        await store.InitializeAsync();
        var old = NewTraceId();
        await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(old, startUnixNano: T(0), attributes: [Attr("tier", "gold")]))], 1));
        await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(NewTraceId(), startUnixNano: T(500), attributes: [Attr("tier", "silver")]))], 2));
        Assert.Equal(2L, await Scalar(store, "SELECT count(*) FROM attr_sets"));

        await store.DeleteOlderThanAsync(T(100));

        Assert.Equal(1L, await Scalar(store, "SELECT count(*) FROM attr_sets"));
        // The set for "gold" is gone: a new span with it must get a set that exists, not the deleted one's number.
        var again = NewTraceId();
        await store.WriteAsync(new TelemetryBatch([Data(CreateSpan(again, startUnixNano: T(600), attributes: [Attr("tier", "gold")]))], 3));
        Assert.Equal("gold", Assert.Single((await store.GetTraceAsync(again))!.Spans).Span.Attributes.Single().Value.StringValue);
        Assert.Equal([again], await store.FindTraceIdsAsync(new TraceQuery { Attributes = [new("tier", "gold")] }));
    }

    private static SpanData Data(OpenTelemetry.Proto.Trace.V1.Span span) => ToSpanData(span, CreateResource("svc"), null);

    private static long T(long offsetMs) => BaseTimeUnixNano + (offsetMs * Ms);

    /// <summary>Asks a copy of the file (the store holds the original open) after making everything committed durable.</summary>
    private async Task<long> Scalar(DuckDbStore store, string sql)
    {
        await store.FlushAsync();
        var copy = Path.Combine(_directory, "copy-" + Guid.NewGuid().ToString("N") + ".duckdb");
        File.Copy(DatabasePath, copy);
        using var connection = new DuckDBConnection("Data Source=" + copy);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The marks that let a search skip the sets for a key none of them holds.</summary>
public sealed class SetKeysTests
{
    [Fact]
    public void MarkKeysOf_SetText_MarksItsKeysOnly()
    {
        var keys = new SetKeys();
        keys.MarkKeysOf(Text("\u001e6\u001fproduct-catalog\u001e7\u001f8080\u001e"));
        keys.MarkKeysOf(Text("\u001e130\u001fa value with 12 digits\u001e"));

        Assert.True(keys.MayHold(6));
        Assert.True(keys.MayHold(7));
        Assert.True(keys.MayHold(130));
        Assert.False(keys.MayHold(8));
        Assert.False(keys.MayHold(12));
        Assert.False(keys.MayHold(5000));
    }

    [Theory]
    [InlineData("6\u001fvalue\u001e")]
    [InlineData("\u001e6value\u001e")]
    [InlineData("\u001e6\u001fvalue")]
    [InlineData("\u001e99999999999\u001fvalue\u001e")]
    public void MarkKeysOf_TextItCannotRead_EveryKeyMayBeInASet(string text)
    {
        var keys = new SetKeys();
        keys.MarkKeysOf(Text(text));

        // A mark missed would make searches miss spans; one too many only costs a look through the sets.
        Assert.True(keys.MayHold(1));
        Assert.True(keys.MayHold(4242));
    }

    private static byte[] Text(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}
