using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Almanac.Query.Tests;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1ns", 1L)]
    [InlineData("500us", 500_000L)]
    [InlineData("500\u00b5s", 500_000L)]
    [InlineData("500\u03bcs", 500_000L)]
    [InlineData("100ms", 100_000_000L)]
    [InlineData("1.2s", 1_200_000_000L)]
    [InlineData(".5s", 500_000_000L)]
    [InlineData("1.s", 1_000_000_000L)]
    [InlineData("1m30s", 90_000_000_000L)]
    [InlineData("1h2m3s4ms5us6ns", 3_723_004_005_006L)]
    [InlineData("1.5h", 5_400_000_000_000L)]
    [InlineData("+2s", 2_000_000_000L)]
    [InlineData("-2s", -2_000_000_000L)]
    [InlineData("2562047h47m16.854775807s", long.MaxValue)]
    public void TryParse_GoSyntax_ParsesToNanoseconds(string text, long expected)
    {
        Assert.True(GoDuration.TryParse(text, out var nanos));
        Assert.Equal(expected, nanos);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("s")]
    [InlineData(".s")]
    [InlineData("1x")]
    [InlineData("1 s")]
    [InlineData("1S")]
    [InlineData("1.2.3s")]
    [InlineData("xyz")]
    [InlineData("-")]
    [InlineData("9999999999999999999h")]
    [InlineData("2562048h")]
    public void TryParse_BadSyntax_Fails(string text)
    {
        Assert.False(GoDuration.TryParse(text, out _));
    }

    [Property]
    public Property TryParse_ComposedUnits_SumOfParts()
    {
        var parts = Gen.Choose(0, 100_000);
        return Prop.ForAll(
            Arb.From(Gen.Zip(Gen.Zip(parts, parts), Gen.Zip(parts, parts))),
            p =>
            {
                var ((h, m), (s, ms)) = p;
                var text = $"{h}h{m}m{s}s{ms}ms";
                var expected = (((((long)h * 60) + m) * 60) + s) * 1_000_000_000 + (ms * 1_000_000L);
                return GoDuration.TryParse(text, out var nanos) && nanos == expected;
            });
    }
}
