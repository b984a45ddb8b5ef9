using Almanac.Core.Model;
using Almanac.Query.Jaeger;
using static Almanac.Query.Tests.QueryStrings;

namespace Almanac.Query.Tests;

public sealed class JaegerQueryParserTests
{
    // 2025-11-20T12:00:00Z
    private const long Now = 1_763_640_000_000_000_000;
    private const long Day = 86_400_000_000_000;

    private static QueryParameterException BadRequest(string query) =>
        Assert.Throws<QueryParameterException>(() => JaegerQueryParser.ParseSearch(Parse(query), Now));

    [Fact]
    public void ParseSearch_OnlyService_UsesJaegerDefaults()
    {
        var request = JaegerQueryParser.ParseSearch(Parse("?service=api"), Now);

        var q = request.Query;
        Assert.Equal("api", q.ServiceName);
        Assert.Null(q.OperationName);
        Assert.Empty(q.Attributes);
        Assert.Equal(Now, q.StartTimeMaxUnixNano);
        Assert.Equal(Now - (2 * Day), q.StartTimeMinUnixNano);
        Assert.Null(q.DurationMinNanos);
        Assert.Null(q.DurationMaxNanos);
        Assert.Equal(JaegerQueryParser.DefaultLimit, q.Limit);
        Assert.Empty(request.TraceIds);
    }

    [Fact]
    public void ParseSearch_UiStyleRequest_ParsesEveryParameter()
    {
        // What Jaeger UI sends from its search form.
        var request = JaegerQueryParser.ParseSearch(Parse(
            "?end=1763640000000000&limit=20&lookback=1h&maxDuration=2s&minDuration=100ms&operation=GET%20%2Fusers" +
            "&service=api&start=1763636400000000&tags=%7B%22http.status_code%22%3A%22500%22%2C%22error%22%3A%22true%22%7D"), Now);

        var q = request.Query;
        Assert.Equal("api", q.ServiceName);
        Assert.Equal("GET /users", q.OperationName);
        Assert.Equal(1_763_636_400_000_000_000, q.StartTimeMinUnixNano);
        Assert.Equal(1_763_640_000_000_000_000, q.StartTimeMaxUnixNano);
        Assert.Equal(100_000_000, q.DurationMinNanos);
        Assert.Equal(2_000_000_000, q.DurationMaxNanos);
        Assert.Equal(20, q.Limit);
        Assert.Equal([new("http.status_code", "500"), new("error", "true")], q.Attributes);
    }

    [Fact]
    public void ParseSearch_EmptyDurations_AreAbsent()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&minDuration=&maxDuration=&operation="), Now).Query;

        Assert.Null(q.DurationMinNanos);
        Assert.Null(q.DurationMaxNanos);
        Assert.Null(q.OperationName);
    }

    [Fact]
    public void ParseSearch_RepeatedTagParams_SplitAtFirstColon()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&tag=http.url:http://x:80/a&tag=error:true"), Now).Query;

        Assert.Equal([new("http.url", "http://x:80/a"), new("error", "true")], q.Attributes);
    }

    [Fact]
    public void ParseSearch_TagsJsonAfterTag_LaterValueWins()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&tag=k:1&tags=%7B%22k%22%3A%222%22%7D"), Now).Query;

        Assert.Equal([new("k", "2")], q.Attributes);
    }

    [Fact]
    public void ParseSearch_TagsJsonWithNumberAndBool_TakesTheirText()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&tags=%7B%22code%22%3A500%2C%22ok%22%3Afalse%7D"), Now).Query;

        Assert.Equal([new("code", "500"), new("ok", "false")], q.Attributes);
    }

    [Fact]
    public void ParseSearch_TagsAsLogfmt_LikeGrafanasTagBox()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&tags=" + Uri.EscapeDataString("http.status_code=500 error=true  msg=\"not found\" q=\"a\\\"b\"")), Now).Query;

        Assert.Equal([new("http.status_code", "500"), new("error", "true"), new("msg", "not found"), new("q", "a\"b")], q.Attributes);
    }

    [Fact]
    public void ParseSearch_LookbackWithoutStart_SetsStartFromEnd()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&lookback=3h"), Now).Query;

        Assert.Equal(Now - (3 * 3_600_000_000_000), q.StartTimeMinUnixNano);
        Assert.Equal(Now, q.StartTimeMaxUnixNano);
    }

    [Fact]
    public void ParseSearch_StartGiven_LookbackIgnored()
    {
        var q = JaegerQueryParser.ParseSearch(Parse("?service=api&lookback=2d&start=1000"), Now).Query;

        Assert.Equal(1_000_000, q.StartTimeMinUnixNano);
    }

    [Theory]
    [InlineData("custom")]
    [InlineData("")]
    public void ParseSearch_CustomOrEmptyLookback_UsesDefaultWindow(string lookback)
    {
        var q = JaegerQueryParser.ParseSearch(Parse($"?service=api&lookback={lookback}"), Now).Query;

        Assert.Equal(Now - (2 * Day), q.StartTimeMinUnixNano);
    }

    [Theory]
    [InlineData("5m", 5 * 60)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 2 * 86400)]
    [InlineData("1w", 7 * 86400)]
    [InlineData("30s", 30)]
    public void ParseLookback_UiValues_Parse(string text, long seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), JaegerQueryParser.ParseLookback(text));
    }

    [Theory]
    [InlineData("?service=api&limit=1")]
    [InlineData("?service=api&limit=1500")]
    public void ParseSearch_LimitWithinRange_IsKept(string query)
    {
        var q = JaegerQueryParser.ParseSearch(Parse(query), Now).Query;

        Assert.Equal(int.Parse(query[(query.LastIndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture), q.Limit);
    }

    [Fact]
    public void ParseSearch_HugeLimit_IsCapped()
    {
        Assert.Equal(JaegerQueryParser.MaxLimit, JaegerQueryParser.ParseSearch(Parse("?service=api&limit=1000000"), Now).Query.Limit);
    }

    [Fact]
    public void ParseSearch_ZeroLimit_MeansDefault()
    {
        Assert.Equal(JaegerQueryParser.DefaultLimit, JaegerQueryParser.ParseSearch(Parse("?service=api&limit=0"), Now).Query.Limit);
    }

    [Fact]
    public void ParseSearch_TraceIds_ParsedInOrderWithoutService()
    {
        var request = JaegerQueryParser.ParseSearch(Parse("?traceID=4bf92f3577b34da6a3ce929d0e0e4736&traceID=abc"), Now);

        Assert.Equal([new TraceId(0x4bf92f3577b34da6, 0xa3ce929d0e0e4736), new TraceId(0, 0xabc)], request.TraceIds);
    }

    [Theory]
    [InlineData("?service=api&limit=banana", "limit")]
    [InlineData("?service=api&limit=-5", "limit")]
    [InlineData("?service=api&limit=99999999999", "limit")]
    [InlineData("?service=api&tags=%7Bnot-json", "tags")]
    [InlineData("?service=api&tags=%5B%22a%22%5D", "tags")]
    [InlineData("?service=api&tags=%7B%22k%22%3A%7B%7D%7D", "tags")]
    [InlineData("?service=api&tags=novalue", "tags")]
    [InlineData("?service=api&tags=k%3D%22open", "tags")]
    [InlineData("?service=api&tag=novalue", "tag")]
    [InlineData("?service=api&tag=:value", "tag")]
    [InlineData("?traceID=not-hex", "traceID")]
    [InlineData("?traceID=4bf92f3577b34da6a3ce929d0e0e47361", "traceID")]
    [InlineData("?service=api&traceID=abc&traceID=xyz", "traceID")]
    [InlineData("?service=api&minDuration=xyz", "minDuration")]
    [InlineData("?service=api&maxDuration=10", "maxDuration")]
    [InlineData("?service=api&minDuration=-1s", "minDuration")]
    [InlineData("?service=api&minDuration=2s&maxDuration=1s", "maxDuration")]
    [InlineData("?service=api&start=2000&end=1000", "start")]
    [InlineData("?service=api&start=yesterday", "start")]
    [InlineData("?service=api&end=1.5", "end")]
    [InlineData("?service=api&start=-1", "start")]
    [InlineData("?service=api&start=99999999999999999", "start")]
    [InlineData("?service=api&lookback=forever", "lookback")]
    [InlineData("?service=api&lookback=1y", "lookback")]
    [InlineData("?operation=x", "service")]
    [InlineData("?service=", "service")]
    public void ParseSearch_BadParameter_ThrowsNamingIt(string query, string parameter)
    {
        var e = BadRequest(query);

        Assert.Contains(parameter, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSearch_TooManyTraceIds_Throws()
    {
        var query = "?" + string.Join('&', Enumerable.Range(1, JaegerQueryParser.MaxLimit + 1).Select(i => $"traceID={i:x}"));

        Assert.Contains("traceID", BadRequest(query).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 0xabcL)]
    [InlineData("?start=1000&end=2000", 0xabcL)]
    [InlineData("?raw=true", 0xabcL)]
    public void ParseGetTrace_ValidInput_ReturnsId(string query, long low)
    {
        Assert.Equal(new TraceId(0, (ulong)low), JaegerQueryParser.ParseGetTrace("ABC", Parse(query)));
    }

    [Theory]
    [InlineData("xyz", "")]
    [InlineData("abc", "?start=soon")]
    [InlineData("abc", "?start=2000&end=1000")]
    public void ParseGetTrace_BadInput_Throws(string traceId, string query)
    {
        Assert.Throws<QueryParameterException>(() => JaegerQueryParser.ParseGetTrace(traceId, Parse(query)));
    }

    [Fact]
    public void ParseDependencies_Defaults_LastDayUntilNow()
    {
        var (start, end) = JaegerQueryParser.ParseDependencies(Parse(""), Now);

        Assert.Equal(Now, end);
        Assert.Equal(Now - Day, start);
    }

    [Fact]
    public void ParseDependencies_EndTsAndLookbackInMillis_Parse()
    {
        var (start, end) = JaegerQueryParser.ParseDependencies(Parse("?endTs=1763640000000&lookback=3600000"), Now);

        Assert.Equal(1_763_640_000_000_000_000, end);
        Assert.Equal(1_763_640_000_000_000_000 - 3_600_000_000_000, start);
    }

    [Theory]
    [InlineData("?endTs=soon")]
    [InlineData("?endTs=-1")]
    [InlineData("?lookback=1h")]
    [InlineData("?lookback=-5")]
    public void ParseDependencies_BadParameter_Throws(string query)
    {
        Assert.Throws<QueryParameterException>(() => JaegerQueryParser.ParseDependencies(Parse(query), Now));
    }

    [Theory]
    [InlineData("?service=api", "api", null)]
    [InlineData("?service=api&spanKind=", "api", null)]
    [InlineData("?service=api&spanKind=server", "api", OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Server)]
    [InlineData("?service=api&spanKind=CONSUMER", "api", OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Consumer)]
    [InlineData("?service=api&spanKind=SPAN_KIND_CLIENT", "api", OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Client)]
    public void ParseOperationsQuery_ValidInput_Parses(string query, string service, OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind? kind)
    {
        var parsed = QueryApiEndpoints.ParseOperationsQuery(Parse(query), "service", "spanKind");

        Assert.Equal(service, parsed.Service);
        Assert.Equal(kind, parsed.Kind);
    }

    [Theory]
    [InlineData("?spanKind=server")]
    [InlineData("?service=api&spanKind=sideways")]
    public void ParseOperationsQuery_BadInput_Throws(string query)
    {
        Assert.Throws<QueryParameterException>(() => QueryApiEndpoints.ParseOperationsQuery(Parse(query), "service", "spanKind"));
    }
}
