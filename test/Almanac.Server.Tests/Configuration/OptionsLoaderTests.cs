using System.Net;
using Almanac.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Almanac.Server.Tests.Configuration;

public sealed class OptionsLoaderTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Load_NoConfiguration_GivesZeroConfigDefaults()
    {
        var options = OptionsLoader.Load([], Settings(), _ => null);
        Assert.Equal("./almanac-data", options.DataDir);
        Assert.Equal(4317, options.OtlpGrpcPort);
        Assert.Equal(4318, options.OtlpHttpPort);
        Assert.Equal(16686, options.UiPort);
        Assert.Equal(IPAddress.Loopback, options.Bind);
        Assert.Equal(TimeSpan.FromDays(7), options.Retention);
        Assert.Equal("embedded", options.Storage);
        Assert.Equal(16 * 1024 * 1024, options.MaxRequestBytes);
        Assert.Equal(TimeSpan.FromSeconds(2), options.MaxPendingWait);
    }

    [Fact]
    public void Load_FlagBeatsEnvironmentBeatsAppSettings()
    {
        var env = new Dictionary<string, string> { ["ALMANAC_UI_PORT"] = "17000", ["ALMANAC_RETENTION"] = "2d" };
        var settings = Settings(("Almanac:UiPort", "18000"), ("Almanac:Retention", "1d"), ("Almanac:OtlpHttpPort", "5318"));

        var options = OptionsLoader.Load(["--ui-port=19000"], settings, k => env.GetValueOrDefault(k));

        Assert.Equal(19000, options.UiPort);
        Assert.Equal(TimeSpan.FromDays(2), options.Retention);
        Assert.Equal(5318, options.OtlpHttpPort);
    }

    [Theory]
    [InlineData("7d", 7 * 24 * 60)]
    [InlineData("36h", 36 * 60)]
    [InlineData("90m", 90)]
    [InlineData("1d12h", 36 * 60)]
    public void ParseRetention_AcceptsDurations(string text, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), OptionsLoader.ParseRetention(text));

    [Theory]
    [InlineData("16MiB", 16L * 1024 * 1024)]
    [InlineData("4MB", 4_000_000L)]
    [InlineData("1048576", 1048576L)]
    public void ParseSize_AcceptsUnits(string text, long bytes) =>
        Assert.Equal(bytes, OptionsLoader.ParseSize("max-request-size", text, 1L << 30));

    [Theory]
    [InlineData("0s", 0)]
    [InlineData("2s", 2)]
    [InlineData("1m", 60)]
    public void ParsePendingWait_AcceptsZeroToAMinute(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), OptionsLoader.ParsePendingWait(text));

    [Theory]
    [InlineData("61s")]
    [InlineData("500ms")]
    [InlineData("-1s")]
    [InlineData("")]
    public void ParsePendingWait_RefusesOthersNamingTheOption(string text)
    {
        var ex = Assert.Throws<OptionsLoader.OptionsException>(() => OptionsLoader.ParsePendingWait(text));
        Assert.Contains("--max-pending-wait", ex.Message);
    }

    [Fact]
    public void Load_SamePortTwice_Fails()
    {
        var ex = Assert.Throws<OptionsLoader.OptionsException>(() => OptionsLoader.Load(["--ui-port", "4317"], Settings(), _ => null));
        Assert.Contains("must differ", ex.Message);
    }

    [Fact]
    public void Load_FlagWithoutValue_Fails()
    {
        var ex = Assert.Throws<OptionsLoader.OptionsException>(() => OptionsLoader.Load(["--data-dir"], Settings(), _ => null));
        Assert.Contains("needs a value", ex.Message);
    }
}
