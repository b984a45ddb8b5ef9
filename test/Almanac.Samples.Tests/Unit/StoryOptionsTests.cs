using Story;

namespace Almanac.Samples.Tests.Unit;

public sealed class StoryOptionsTests
{
    [Fact]
    public void NoArguments_GiveTheTalksDefaults()
    {
        var options = StoryOptions.Parse([], out var error);

        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal((8000, 8001, 4317, 4318, 16686), (options.DicePort, options.ResponderPort, options.OtlpGrpcPort, options.OtlpHttpPort, options.UiPort));
        Assert.Equal(TimeSpan.FromSeconds(2), options.Interval);
        Assert.Null(options.Count);
        Assert.Equal("./almanac-data", options.DataDir);
    }

    [Fact]
    public void EveryOption_IsRead()
    {
        var options = StoryOptions.Parse(
            ["--interval", "0.5", "--count", "3", "--propagators", "b3multi", "--data-dir", "/tmp/x", "--dice-port", "9000",
             "--responder-port", "9001", "--otlp-grpc-port", "9317", "--otlp-http-port", "9318", "--ui-port", "9686", "--verbose"],
            out var error);

        Assert.Null(error);
        Assert.Equal(
            new StoryOptions
            {
                Interval = TimeSpan.FromSeconds(0.5), Count = 3, Propagators = "b3multi", DataDir = "/tmp/x", DicePort = 9000,
                ResponderPort = 9001, OtlpGrpcPort = 9317, OtlpHttpPort = 9318, UiPort = 9686, Verbose = true,
            },
            options);
    }

    [Theory]
    [InlineData("--dice-port", "0")]
    [InlineData("--ui-port", "70000")]
    [InlineData("--interval", "-1")]
    [InlineData("--interval", "soon")]
    [InlineData("--count", "0")]
    [InlineData("--wat", "1")]
    public void BadValues_AreNamed(string option, string value)
    {
        Assert.Null(StoryOptions.Parse([option, value], out var error));
        Assert.Contains(option, error, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingValue_IsAnError()
    {
        Assert.Null(StoryOptions.Parse(["--count"], out var error));
        Assert.Equal("--count needs a value", error);
    }

    [Fact]
    public void Help_IsNotAnError()
    {
        Assert.Null(StoryOptions.Parse(["--help"], out var error));
        Assert.Equal("", error);
        Assert.Contains("--propagators", StoryOptions.Help, StringComparison.Ordinal);
    }
}
