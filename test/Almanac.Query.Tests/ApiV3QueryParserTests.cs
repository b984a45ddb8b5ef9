using Almanac.Core.Model;
using Almanac.Query.ApiV3;
using static Almanac.Query.Tests.QueryStrings;

namespace Almanac.Query.Tests;

public sealed class ApiV3QueryParserTests
{
    private const string Window = "query.start_time_min=2025-11-20T11:00:00Z&query.start_time_max=2025-11-20T12:00:00Z";

    [Fact]
    public void ParseFindTraces_AllParameters_Parse()
    {
        var q = ApiV3QueryParser.ParseFindTraces(Parse(
            "?query.service_name=api&query.operation_name=GET%20%2F&" + Window +
            "&query.duration_min=1ms&query.duration_max=1.5s&query.search_depth=7&query.raw_traces=true" +
            "&query.attributes=%7B%22http.status_code%22%3A%22500%22%7D"));

        Assert.Equal("api", q.ServiceName);
        Assert.Equal("GET /", q.OperationName);
        Assert.Equal(1_763_636_400_000_000_000, q.StartTimeMinUnixNano);
        Assert.Equal(1_763_640_000_000_000_000, q.StartTimeMaxUnixNano);
        Assert.Equal(1_000_000, q.DurationMinNanos);
        Assert.Equal(1_500_000_000, q.DurationMaxNanos);
        Assert.Equal(7, q.Limit);
        Assert.Equal([new("http.status_code", "500")], q.Attributes);
    }

    [Fact]
    public void ParseFindTraces_OnlyWindow_HasDefaults()
    {
        var q = ApiV3QueryParser.ParseFindTraces(Parse("?" + Window));

        Assert.Null(q.ServiceName);
        Assert.Null(q.OperationName);
        Assert.Empty(q.Attributes);
        Assert.Null(q.DurationMinNanos);
        Assert.Equal(Jaeger.JaegerQueryParser.DefaultLimit, q.Limit);
    }

    [Fact]
    public void ParseFindTraces_LegacyNumTraces_SetsLimit()
    {
        Assert.Equal(3, ApiV3QueryParser.ParseFindTraces(Parse("?" + Window + "&query.num_traces=3")).Limit);
    }

    [Theory]
    [InlineData("2025-11-20T12:00:00Z", 1_763_640_000_000_000_000)]
    [InlineData("2025-11-20T12:00:00.5Z", 1_763_640_000_500_000_000)]
    [InlineData("2025-11-20T12:00:00.123456789Z", 1_763_640_000_123_456_789)]
    [InlineData("2025-11-20T14:00:00+02:00", 1_763_640_000_000_000_000)]
    [InlineData("2025-11-20t12:00:00z", 1_763_640_000_000_000_000)]
    public void ParseTime_Rfc3339_ParsesToUnixNanos(string text, long expected)
    {
        Assert.Equal(expected, ApiV3QueryParser.ParseTime(text, "t"));
    }

    [Theory]
    [InlineData("2025-11-20")]
    [InlineData("2025-11-20T12:00:00")]
    [InlineData("2025-11-20 12:00:00Z")]
    [InlineData("2025-13-20T12:00:00Z")]
    [InlineData("1763640000")]
    [InlineData("2025-11-20T12:00:00.1234567891Z")]
    public void ParseTime_NotRfc3339_Throws(string text)
    {
        Assert.Throws<QueryParameterException>(() => ApiV3QueryParser.ParseTime(text, "t"));
    }

    [Theory]
    [InlineData("?query.service_name=api", "query.start_time_min")]
    [InlineData("?query.start_time_min=2025-11-20T11:00:00Z", "query.start_time_max")]
    [InlineData("?query.start_time_min=yesterday&query.start_time_max=2025-11-20T12:00:00Z", "query.start_time_min")]
    [InlineData("?query.start_time_min=2025-11-20T13:00:00Z&query.start_time_max=2025-11-20T12:00:00Z", "query.start_time_min")]
    [InlineData("?" + Window + "&query.duration_min=fast", "query.duration_min")]
    [InlineData("?" + Window + "&query.duration_min=2s&query.duration_max=1s", "query.duration_max")]
    [InlineData("?" + Window + "&query.search_depth=lots", "query.search_depth")]
    [InlineData("?" + Window + "&query.num_traces=-1", "query.num_traces")]
    [InlineData("?" + Window + "&query.raw_traces=maybe", "query.raw_traces")]
    [InlineData("?" + Window + "&query.attributes=%7Bbroken", "query.attributes")]
    public void ParseFindTraces_BadParameter_ThrowsNamingIt(string query, string parameter)
    {
        var e = Assert.Throws<QueryParameterException>(() => ApiV3QueryParser.ParseFindTraces(Parse(query)));

        Assert.Contains(parameter, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseGetTrace_IdAndWindow_ReturnsId()
    {
        var id = ApiV3QueryParser.ParseGetTrace("4bf92f3577b34da6a3ce929d0e0e4736",
            Parse("?start_time=2025-11-20T11:00:00Z&end_time=2025-11-20T12:00:00Z&raw_traces=false"));

        Assert.Equal(new TraceId(0x4bf92f3577b34da6, 0xa3ce929d0e0e4736), id);
    }

    [Theory]
    [InlineData("not-hex", "", "trace_id")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e47360", "", "trace_id")]
    [InlineData("", "", "trace_id")]
    [InlineData("abc", "?start_time=noon", "start_time")]
    [InlineData("abc", "?end_time=2026", "end_time")]
    [InlineData("abc", "?start_time=2025-11-20T13:00:00Z&end_time=2025-11-20T12:00:00Z", "start_time")]
    [InlineData("abc", "?raw_traces=yes", "raw_traces")]
    public void ParseGetTrace_BadParameter_ThrowsNamingIt(string traceId, string query, string parameter)
    {
        var e = Assert.Throws<QueryParameterException>(() => ApiV3QueryParser.ParseGetTrace(traceId, Parse(query)));

        Assert.Contains(parameter, e.Message, StringComparison.Ordinal);
    }
}
