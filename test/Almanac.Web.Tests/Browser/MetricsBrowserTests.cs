using System.Text.RegularExpressions;
using Almanac.Core.Model;
using Almanac.Server.Tests.EndToEnd;
using Almanac.Testing;
using Microsoft.Playwright;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.MetricTestData;

namespace Almanac.Web.Tests.Browser;

/// <summary>The /metrics page in a real browser: the list of a service's metrics, a chart, group-by and exemplar links.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MetricsBrowserTests(BrowserFixture fixture)
{
    private const string Service = "browser-dice";
    private const string HostileDescription = "<img src=x onerror=\"window.__pwned=1\"> rolled";

    private async Task PostMetricsAsync(TraceId traceId, SpanId spanId)
    {
        var now = BrowserFixture.NowNanos();
        var start = now - (10 * 60 * Second);
        var six = new List<NumberDataPoint>();
        var two = new List<NumberDataPoint>();
        for (var i = 1; i <= 8; i++)
        {
            var t = start + (i * 60 * Second);
            six.Add(IntNumber(t, i * 3, start, TestData.Attr("roll.value", 6L)));
            two.Add(IntNumber(t, i, start, TestData.Attr("roll.value", "<b>two</b>")));
        }

        six[4].Exemplars.Add(MetricTestData.Exemplar(start + (290 * Second), 1, traceId, spanId));
        var rolls = Sum("dice.rolls", AggregationTemporality.Cumulative, true, [.. six, .. two]);
        rolls.Description = HostileDescription;
        var latency = Histogram("roll.duration", AggregationTemporality.Delta,
            HistogramPoint(now - (60 * Second), now - (120 * Second), [100, 500, 1000], [2, 5, 2, 1]));
        var temperature = Gauge("dice.temperature", Number(now - (30 * Second), 36.6));

        var scope = new ScopeMetrics { Scope = TestData.CreateScope("dice", "0.1.0") };
        scope.Metrics.Add([rolls, latency, temperature]);
        var resourceMetrics = new ResourceMetrics { Resource = TestData.CreateResource(Service) };
        resourceMetrics.ScopeMetrics.Add(scope);
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(resourceMetrics);
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Almanac.HttpEndpoint, "/v1/metrics"), OtlpRequests.Protobuf(request));
        response.EnsureSuccessStatusCode();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var list = await fixture.Http.GetStringAsync(new Uri(fixture.Almanac.UiEndpoint, "/api/otel-metrics?service=" + Service));
            if (list.Contains("dice.temperature", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("metrics did not become queryable");
    }

    [Fact]
    public async Task Metrics_list_chart_group_by_and_exemplar_link_to_trace()
    {
        var traceId = BrowserFixture.RandomTraceId();
        var spanId = TestData.NewSpanId();
        await fixture.PostAsync(traceId, [(Service, TestData.CreateSpan(traceId, spanId, null, "GET /rolldice", Span.Types.SpanKind.Server, BrowserFixture.NowNanos() - (300 * Second), 5_000_000))], 1);
        await PostMetricsAsync(traceId, spanId);

        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        // The top bar leads to the list of the service's metrics: name, type, unit, description (as text).
        await page.GotoAsync("/search");
        // URLs are checked with Expect(page).ToHaveURLAsync, which polls, never with WaitForURLAsync: that one checks
        // the current URL and then subscribes to the frame's navigated / load events, and Playwright .NET can deliver
        // the event it waits for between the two (microsoft/playwright-dotnet#3364), which leaves it waiting out its
        // timeout ("Timeout 90000ms exceeded" with only '"NetworkIdle" event fired' in its log).
        await page.ClickAsync("#nav-metrics");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/metrics$"));
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await page.GotoAsync("/metrics?service=" + Service);
        await Assertions.Expect(page.Locator("#metric-list tbody tr")).ToHaveCountAsync(3);
        await Assertions.Expect(page.Locator("#metric-list tr[data-metric='dice.rolls'] .metric-type")).ToHaveTextAsync("counter");
        await Assertions.Expect(page.Locator("#metric-list tr[data-metric='roll.duration'] .metric-type")).ToHaveTextAsync("histogram (delta)");
        await Assertions.Expect(page.Locator("#metric-list tr[data-metric='dice.temperature'] .metric-unit")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#metric-list tr[data-metric='dice.rolls'] .description")).ToHaveTextAsync(HostileDescription);
        await Assertions.Expect(page.Locator("#nav-metrics")).ToHaveClassAsync("active");

        // One metric's chart: a rate line per counter series, and the exemplar as a marker and a link.
        await page.ClickAsync("#metric-list tr[data-metric='dice.rolls'] a.metric-name");
        await Assertions.Expect(page.Locator("#metric-title")).ToHaveTextAsync("dice.rolls");
        await Assertions.Expect(page.Locator("#metric-chart[data-rendered='true']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#metric-chart path.ts-line")).ToHaveCountAsync(1);
        Assert.True(int.Parse(await page.Locator("#metric-chart path.ts-line").GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture) >= 5);
        await Assertions.Expect(page.Locator("#metric-chart circle.ts-marker")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#metric-exemplars a.exemplar-link")).ToHaveAttributeAsync("href", $"/trace/{traceId.ToHex()}?span={spanId.ToHex()}");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, "metrics.png") });

        // Group by an attribute: one line per value, labels as text.
        await page.FillAsync("#m-groupby", "roll.value");
        await page.ClickAsync("#m-update");
        await Assertions.Expect(page.Locator("#metric-chart[data-rendered='true'] path.ts-line")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#metric-chart .ts-legend-item")).ToHaveTextAsync(["roll.value=6", "roll.value=<b>two</b>"]);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("[?&]groupBy=roll\\.value(&|$)"));

        // A filter narrows to one series.
        await page.FillAsync("#m-filter", "roll.value=6");
        await page.ClickAsync("#m-update");
        // The form always sends filter (empty before this step), so the URL has to name the filter's value to tell
        // the new page from the old one.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("[?&]filter=roll\\.value%3D6(&|$)"));
        await Assertions.Expect(page.Locator("#metric-chart[data-rendered='true'] path.ts-line")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#metric-chart path.ts-line")).ToHaveAttributeAsync("data-series", "roll.value=6");

        // Histograms chart percentiles.
        await page.GotoAsync($"/metrics?service={Service}&name=roll.duration");
        await Assertions.Expect(page.Locator("#metric-chart[data-rendered='true'] .ts-legend-item")).ToHaveTextAsync(["p50", "p95", "p99"]);

        // The exemplar opens its trace.
        await page.GotoAsync($"/metrics?service={Service}&name=dice.rolls");
        await page.ClickAsync("#metric-exemplars a.exemplar-link");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape($"/trace/{traceId.ToHex()}?span={spanId.ToHex()}") + "$"));
        // The trace page has set itself up (so any error it threw is in errors) before the checks below.
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");

        Assert.Empty(errors);
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__pwned ?? null"));
    }

    [Fact]
    public async Task Metrics_bad_step_shows_a_message()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/metrics?service=any&name=x&step=soon");
        // With no metrics at all the page says so; with some, the bad step is named.
        await Assertions.Expect(page.Locator("#no-metrics, #metric-error, #metric-unknown")).ToHaveCountAsync(1);
    }
}
