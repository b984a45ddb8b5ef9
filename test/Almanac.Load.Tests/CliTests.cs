namespace Almanac.Load.Tests;

public class CliTests
{
    [Fact]
    public void Parses_trace_options()
    {
        var options = Cli.ParseTraceOptions(Cli.ParseFlags([
            "--endpoint", "http://localhost:4318", "--protocol", "http/json", "--exporters", "2", "--rate", "1000", "--duration", "20s",
            "--batch", "100", "--shape", "small", "--services", "3", "--depth", "5", "--fanout", "2", "--gzip",
        ]));
        Assert.Equal(Protocol.HttpJson, options.Protocol);
        Assert.Equal(2, options.Exporters);
        Assert.Equal(1000, options.Rate);
        Assert.Equal(TimeSpan.FromSeconds(20), options.Duration);
        Assert.Equal(100, options.Batch);
        Assert.Equal(Templates.Shape.Small, options.Shape.Shape);
        Assert.Equal((3, 5, 2), (options.Shape.Services, options.Shape.Depth, options.Shape.Fanout));
        Assert.True(options.Gzip);
        Assert.Null(options.Spans);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("2m", 120)]
    [InlineData("1.5h", 5400)]
    [InlineData("500ms", 0.5)]
    [InlineData("15", 15)]
    public void Parses_durations(string text, double seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), Cli.Duration(text, "duration"));

    [Theory]
    [InlineData("--endpoint", "http://10.0.0.5:4317")]
    [InlineData("--protocol", "thrift")]
    [InlineData("--exporters", "0")]
    [InlineData("--duration", "soon")]
    public void Rejects_bad_options(string flag, string value) =>
        Assert.Throws<UsageException>(() => Cli.ParseTraceOptions(Cli.ParseFlags([flag, value])));
}
