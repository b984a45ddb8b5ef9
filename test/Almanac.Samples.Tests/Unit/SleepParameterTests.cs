using Responder;

namespace Almanac.Samples.Tests.Unit;

public sealed class SleepParameterTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("500", 500)]
    [InlineData("3000", 3000)]
    [InlineData("60000", 60000)]
    [InlineData("000000000000000000500", 500)]
    public void ValidSleep_IsAccepted(string value, int expected)
    {
        Assert.True(SleepParameter.TryParse([value], out var ms, out var error));
        Assert.Equal(expected, ms);
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData(null, "missing sleep")]
    [InlineData("", "missing sleep")]
    [InlineData("-1", "must not be negative")]
    [InlineData("-500", "must not be negative")]
    [InlineData("abc", "whole number")]
    [InlineData("1.5", "whole number")]
    [InlineData("+5", "whole number")]
    [InlineData(" 5", "whole number")]
    [InlineData("5ms", "whole number")]
    [InlineData("-", "whole number")]
    [InlineData("60001", "at most 60000")]
    [InlineData("99999999999999999999999", "at most 60000")]
    [InlineData("9999999999", "at most 60000")]
    public void InvalidSleep_IsRejectedWithAMessage(string? value, string message)
    {
        Assert.False(SleepParameter.TryParse(value is null ? [] : [value], out _, out var error));
        Assert.Contains(message, error);
    }

    [Fact]
    public void RepeatedSleep_IsRejected()
    {
        Assert.False(SleepParameter.TryParse(["1", "2"], out _, out var error));
        Assert.Contains("more than once", error);
    }

    [Fact]
    public void LongGarbage_IsTruncatedInTheMessage()
    {
        Assert.False(SleepParameter.TryParse([new string('x', 10_000)], out _, out var error));
        Assert.True(error.Length < 200);
    }
}
