using Almanac.Web.Model;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Model;

public class SearchFormTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Url_round_trips_every_field()
    {
        var form = new SearchForm
        {
            Service = "checkout & co", Operation = "GET /cart?x=1", SpanKind = "server", Tags = "http.status_code=500\nerror=true",
            Lookback = "custom", Start = "2026-11-20T10:00", End = "2026-11-20T11:00", MinDuration = "100ms", MaxDuration = "2s", Limit = "50", Sort = "longest",
        };

        var url = form.ToUrl();
        Assert.StartsWith("/search?service=checkout%20%26%20co&operation=GET%20%2Fcart%3Fx%3D1&spanKind=server&tags=http.status_code%3D500%0Aerror%3Dtrue", url);
        Assert.Equal(form, SearchForm.FromQueryString(new Uri("http://x" + url).Query));
    }

    [Fact]
    public void Empty_form_is_the_bare_page_and_not_a_search()
    {
        Assert.Equal("/search", new SearchForm().ToUrl());
        Assert.False(SearchForm.FromQueryString("").HasQuery);
        Assert.True(SearchForm.FromQueryString("?service=a").HasQuery);
        Assert.False(SearchForm.FromQueryString("?sort=longest").HasQuery);
    }

    [Fact]
    public void Builds_the_storage_query()
    {
        var form = SearchForm.FromQueryString("?service=api&operation=GET%20%2F&spanKind=client&tags=a%3D1%0A%0A%20b%20%3D%20x%3Dy%20&lookback=2h&minDuration=1.5ms&maxDuration=2s&limit=7");
        Assert.True(form.TryBuild(Now, out var q, out var error), error);
        Assert.Equal("api", q.ServiceName);
        Assert.Equal("GET /", q.OperationName);
        Assert.Equal(Span.Types.SpanKind.Client, q.SpanKind);
        Assert.Equal([new("a", "1"), new("b", "x=y")], q.Attributes);
        var end = Now.ToUnixTimeMilliseconds() * 1_000_000;
        Assert.Equal(end, q.StartTimeMaxUnixNano);
        Assert.Equal(end - (2L * 3600 * 1_000_000_000), q.StartTimeMinUnixNano);
        Assert.Equal(1_500_000, q.DurationMinNanos);
        Assert.Equal(2_000_000_000, q.DurationMaxNanos);
        Assert.Equal(7, q.Limit);
    }

    [Theory]
    [InlineData("internal", Span.Types.SpanKind.Internal)]
    [InlineData("server", Span.Types.SpanKind.Server)]
    [InlineData("consumer", Span.Types.SpanKind.Consumer)]
    [InlineData("producer", Span.Types.SpanKind.Producer)]
    public void Span_kinds(string text, Span.Types.SpanKind kind)
    {
        Assert.True(new SearchForm { SpanKind = text }.TryBuild(Now, out var q, out _));
        Assert.Equal(kind, q.SpanKind);
    }

    [Fact]
    public void Custom_range_is_utc_and_inclusive()
    {
        var form = new SearchForm { Lookback = "custom", Start = "2026-11-20T10:00", End = "2026-11-20T11:00:00" };
        Assert.True(form.TryBuild(Now, out var q, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000, q.StartTimeMinUnixNano);
        Assert.Equal((new DateTimeOffset(2026, 11, 20, 11, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000) + 999_999, q.StartTimeMaxUnixNano);
    }

    [Theory]
    [InlineData("?lookback=3w", "lookback")]
    [InlineData("?minDuration=fast", "Min duration")]
    [InlineData("?maxDuration=1x", "Max duration")]
    [InlineData("?minDuration=2s&maxDuration=1s", "less than")]
    [InlineData("?limit=0", "Limit")]
    [InlineData("?limit=abc", "Limit")]
    [InlineData("?tags=novalue", "key=value")]
    [InlineData("?spanKind=weird", "span kind")]
    [InlineData("?lookback=custom&start=2026-11-20T10:00", "custom range")]
    [InlineData("?lookback=custom&start=2026-11-20T10:00&end=2026-11-20T09:00", "before")]
    public void Bad_values_say_which_field(string query, string expected)
    {
        Assert.False(SearchForm.FromQueryString(query).TryBuild(Now, out _, out var error));
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("250us", 250_000)]
    [InlineData("250µs", 250_000)]
    [InlineData("100ms", 100_000_000)]
    [InlineData("1.5s", 1_500_000_000)]
    [InlineData("2m", 120_000_000_000)]
    [InlineData("1h", 3_600_000_000_000)]
    [InlineData("1d", 86_400_000_000_000)]
    [InlineData("10", 10_000)]
    public void Durations(string text, long nanos)
    {
        Assert.True(SearchForm.TryParseDuration(text, out var parsed));
        Assert.Equal(nanos, parsed);
    }

    [Fact]
    public void Api_url_is_the_same_search_on_the_jaeger_api()
    {
        var form = SearchForm.FromQueryString("?service=a%20b&operation=op&tags=k%3Dv&lookback=1h&minDuration=1ms&limit=5");
        Assert.True(form.TryBuild(Now, out var q, out _));
        var end = Now.ToUnixTimeMilliseconds() * 1000;
        Assert.Equal($"/api/traces?service=a%20b&operation=op&tag=k%3Av&start={end - 3_600_000_000}&end={end}&minDuration=1000us&limit=5", SearchForm.ApiUrl(q));
    }

    [Fact]
    public void Format_durations_and_ages()
    {
        Assert.Equal("850ns", Format.Duration(850));
        Assert.Equal("12.3µs", Format.Duration(12_300));
        Assert.Equal("4.56ms", Format.Duration(4_560_000));
        Assert.Equal("1.2s", Format.Duration(1_200_000_000));
        Assert.Equal("3m 4s", Format.Duration(184_000_000_000));
        Assert.Equal("just now", Format.Age(Now.ToUnixTimeMilliseconds() * 1_000_000, Now));
        Assert.Equal("5 minutes ago", Format.Age(Now.AddMinutes(-5).ToUnixTimeMilliseconds() * 1_000_000, Now));
        Assert.Equal("2 days ago", Format.Age(Now.AddDays(-2).ToUnixTimeMilliseconds() * 1_000_000, Now));
    }

    [Fact]
    public void Service_colours_are_stable()
    {
        Assert.Equal(ServiceColors.For("checkout"), ServiceColors.For("checkout"));
        Assert.Matches("^#[0-9a-f]{6}$", ServiceColors.For("<script>"));
        Assert.True(new[] { "a", "b", "c", "d", "e", "f" }.Select(ServiceColors.For).Distinct().Count() > 1);
    }
}
