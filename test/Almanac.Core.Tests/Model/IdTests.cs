using Almanac.Core.Model;
using FsCheck.Xunit;

namespace Almanac.Core.Tests.Model;

public sealed class IdTests
{
    [Property]
    public bool TraceId_HexRoundTrip(ulong high, ulong low)
    {
        var id = new TraceId(high, low);
        return TraceId.TryParse(id.ToHex(), out var parsed) && parsed == id && id.ToHex().Length == 32;
    }

    [Property]
    public bool TraceId_BytesRoundTrip(ulong high, ulong low)
    {
        var id = new TraceId(high, low);
        return TraceId.TryRead(id.ToBytes(), out var parsed) && parsed == id;
    }

    [Property]
    public bool SpanId_HexRoundTrip(ulong value) =>
        SpanId.TryParse(new SpanId(value).ToHex(), out var parsed) && parsed.Value == value;

    [Theory]
    [InlineData("abc", 0UL, 0xabcUL)]
    [InlineData("00000000000000010000000000000002", 1UL, 2UL)]
    [InlineData("4BF92F3577B34DA6A3CE929D0E0E4736", 0x4bf92f3577b34da6UL, 0xa3ce929d0e0e4736UL)]
    public void TraceId_TryParse_AcceptsShortAndUpperCaseIds(string text, ulong high, ulong low)
    {
        Assert.True(TraceId.TryParse(text, out var id));
        Assert.Equal(new TraceId(high, low), id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("xyz")]
    [InlineData("000000000000000000000000000000001")]
    [InlineData("12 34")]
    public void TraceId_TryParse_RejectsNonHexOrTooLong(string text) => Assert.False(TraceId.TryParse(text, out _));

    [Fact]
    public void TraceId_ToJaegerHex_Uses16DigitsFor64BitIds()
    {
        Assert.Equal("00000000000000ff", new TraceId(0, 255).ToJaegerHex());
        Assert.Equal("000000000000000100000000000000ff", new TraceId(1, 255).ToJaegerHex());
    }

    [Fact]
    public void TraceId_TryRead_RejectsWrongLength() => Assert.False(TraceId.TryRead(new byte[15], out _));
}
