using Almanac.Core.Storage;
using Almanac.Storage.DuckDb;

namespace Almanac.Storage.Tests;

/// <summary>The embedded DuckDB backend against the shared contract; each test gets its own database directory.</summary>
public sealed class DuckDbStoreTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("almanac-duckdb-").FullName;

    private string DatabasePath => Path.Combine(_directory, "spans.duckdb");

    protected override Task<ITelemetryStore> CreateStoreAsync() => Task.FromResult<ITelemetryStore>(new DuckDbStore(DatabasePath));

    protected override Task<ITelemetryStore> ReopenStoreAsync() => CreateStoreAsync();

    protected override Task CleanUpAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}
