using Almanac.Server.Tests.EndToEnd;
using DuckDB.NET.Data;

namespace Almanac.Server.Tests.Configuration;

/// <summary>The executable's options as a user meets them: --help, and bad values failing at start with a clear message.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_ListsEveryOptionWithDefaultsAndEnvironmentVariables()
    {
        var (exit, stdout, _) = await AlmanacProcess.RunToExitAsync("--help");
        Assert.Equal(0, exit);
        foreach (var text in new[] { "--data-dir", "--otlp-grpc-port", "--otlp-http-port", "--ui-port", "--bind", "--retention", "--storage", "ALMANAC_DATA_DIR", "4317", "16686", "7d" })
        {
            Assert.Contains(text, stdout);
        }
    }

    [Theory]
    [InlineData("--ui-port", "banana", "--ui-port: 'banana' is not a port")]
    [InlineData("--otlp-grpc-port", "70000", "is not a port")]
    [InlineData("--retention", "forever", "--retention: 'forever' is not a duration")]
    [InlineData("--bind", "not-an-ip", "--bind: 'not-an-ip' is not an IP address")]
    [InlineData("--storage", "cassandra", "--storage: 'cassandra' is not a storage backend")]
    [InlineData("--frobnicate", "1", "Unknown option '--frobnicate'")]
    public async Task BadOption_FailsAtStartWithClearMessage(string flag, string value, string expected)
    {
        var (exit, _, stderr) = await AlmanacProcess.RunToExitAsync(flag, value);
        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
    }

    [Fact]
    public async Task DataDirFromAnOlderStorageLayout_FailsAtStartSayingWhatToDo()
    {
        var dataDir = Directory.CreateTempSubdirectory("almanac-old-layout-").FullName;
        try
        {
            // What an Almanac before storage layout 2 left behind: a spans table and no schema_version.
            using (var connection = new DuckDBConnection("Data Source=" + Path.Combine(dataDir, "almanac.duckdb")))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "CREATE TABLE spans (trace_id BLOB, attr_keys VARCHAR[], attr_values VARCHAR[])";
                command.ExecuteNonQuery();
            }

            var ports = AlmanacProcess.FreePorts(3);
            var (exit, _, stderr) = await AlmanacProcess.RunToExitAsync("--data-dir", dataDir,
                "--otlp-grpc-port", ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--otlp-http-port", ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--ui-port", ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture));

            Assert.Equal(1, exit);
            Assert.Contains("storage layout 1", stderr);
            Assert.Contains("--data-dir", stderr);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
