using Almanac.Core.Model;
using Almanac.Web.Model;

namespace Almanac.Web.Tests.Model;

public class LogSearchFormTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);
    private static readonly long NowNanos = Now.ToUnixTimeMilliseconds() * 1_000_000;

    [Fact]
    public void Url_round_trips_every_field()
    {
        var form = new LogSearchForm
        {
            Service = "dice & co", Severity = "warn", Text = "a+b [x]", Regex = "1", Tags = "user=ann\ncode=500",
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736", SpanId = "00f067aa0ba902b7", Lookback = "custom",
            Start = "2026-11-20T10:00", End = "2026-11-20T11:00", Limit = "50", Before = "123-4", SinceNs = "99",
        };

        var url = form.ToUrl();
        Assert.StartsWith("/logs?service=dice%20%26%20co&severity=warn&q=a%2Bb%20%5Bx%5D&regex=1&tags=user%3Dann%0Acode%3D500", url);
        Assert.Equal(form, LogSearchForm.FromQueryString(new Uri("http://x" + url).Query));
        Assert.StartsWith("/api/logs?", form.ToUrl("/api/logs"));
    }

    [Fact]
    public void Builds_the_storage_query()
    {
        var form = LogSearchForm.FromQueryString("?service=dice&severity=Error&q=Rolled%20&regex=true&tags=roll.value%3D6&lookback=2h&limit=7&before=5-6");
        Assert.True(form.TryBuild(Now, out var q, out var error), error);
        Assert.Equal("dice", q.ServiceName);
        Assert.Equal(17, q.MinSeverityNumber);
        Assert.Equal("Rolled ", q.Text);
        Assert.True(q.TextIsRegex);
        Assert.Equal([new("roll.value", "6")], q.Attributes);
        Assert.Equal(NowNanos - (2 * 3600 * 1_000_000_000L), q.StartTimeMinUnixNano);
        Assert.Equal(long.MaxValue, q.StartTimeMaxUnixNano);
        Assert.Equal(7, q.Limit);
        Assert.Equal("5-6", q.Before);
    }

    [Fact]
    public void Defaults_to_the_last_hour_but_all_time_for_a_trace()
    {
        Assert.True(LogSearchForm.FromQueryString("").TryBuild(Now, out var plain, out _));
        Assert.Equal(NowNanos - (3600 * 1_000_000_000L), plain.StartTimeMinUnixNano);
        Assert.Equal(LogSearchForm.DefaultLimit, plain.Limit);
        Assert.Null(plain.MinSeverityNumber);

        Assert.True(LogSearchForm.FromQueryString("?traceId=4bf92f3577b34da6a3ce929d0e0e4736").TryBuild(Now, out var byTrace, out _));
        Assert.Equal(0, byTrace.StartTimeMinUnixNano);
        Assert.True(TraceId.TryParse("4bf92f3577b34da6a3ce929d0e0e4736", out var expected));
        Assert.Equal(expected, byTrace.TraceId);

        Assert.True(LogSearchForm.FromQueryString("?sinceNs=123&lookback=5m").TryBuild(Now, out var tail, out _));
        Assert.Equal(123, tail.StartTimeMinUnixNano);
    }

    [Theory]
    [InlineData("?severity=loud", "severity")]
    [InlineData("?severity=25", "severity")]
    [InlineData("?traceId=xyz", "Trace id")]
    [InlineData("?spanId=12", "Span id")]
    [InlineData("?spanId=0000000000000000", "Span id")]
    [InlineData("?lookback=forever", "lookback")]
    [InlineData("?lookback=custom", "custom range")]
    [InlineData("?start=2026-11-20T12:00&end=2026-11-20T11:00", "before its start")]
    [InlineData("?limit=0", "Limit")]
    [InlineData("?limit=1001", "Limit")]
    [InlineData("?tags=novalue", "key=value")]
    [InlineData("?sinceNs=soon", "sinceNs")]
    public void Bad_values_name_the_field(string query, string expected)
    {
        Assert.False(LogSearchForm.FromQueryString(query).TryBuild(Now, out _, out var error));
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(0, "")]
    [InlineData(1, "TRACE")]
    [InlineData(9, "INFO")]
    [InlineData(10, "INFO2")]
    [InlineData(16, "WARN4")]
    [InlineData(24, "FATAL4")]
    [InlineData(30, "30")]
    public void Severity_names_follow_the_data_model(int number, string name) => Assert.Equal(name, LogSearchForm.SeverityName(number));

    [Theory]
    [InlineData("warning", 13)]
    [InlineData("INFO", 9)]
    [InlineData("information", 9)]
    [InlineData("fatal", 21)]
    [InlineData("3", 3)]
    public void Severity_accepts_names_and_numbers(string text, int number)
    {
        Assert.True(LogSearchForm.TryParseSeverity(text, out var parsed));
        Assert.Equal(number, parsed);
    }
}
