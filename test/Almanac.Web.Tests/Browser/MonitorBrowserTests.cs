using Almanac.Testing;
using Microsoft.Playwright;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Browser;

/// <summary>The /monitor page in a real browser against the real almanac: charts drawn from spans sent over OTLP.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MonitorBrowserTests(BrowserFixture fixture)
{
    private const long Ms = 1_000_000;

    [Fact]
    public async Task Monitor_charts_and_operations_table_from_ingested_spans()
    {
        var traceId = BrowserFixture.RandomTraceId();
        var now = BrowserFixture.NowNanos();
        var spans = new List<(string, Span)>();
        void Add(string name, long agoSeconds, long durationMs, Span.Types.SpanKind kind = Span.Types.SpanKind.Server, bool error = false) =>
            spans.Add(("monitor-shop", TestData.CreateSpan(traceId, name: name, kind: kind, startUnixNano: now - (agoSeconds * 1_000 * Ms),
                durationNanos: durationMs * Ms, status: error ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Ok)));
        for (var i = 0; i < 6; i++)
        {
            Add("GET /items", 60 + (i * 90), 10 + (i * 5), error: i == 2);
        }

        Add("POST /order", 120, 250);
        Add("POST /order", 400, 300, error: true);
        Add("order.created", 200, 40, Span.Types.SpanKind.Consumer);
        Add("SELECT items", 60, 3, Span.Types.SpanKind.Client);
        await fixture.PostAsync(traceId, spans, spans.Count);

        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        await page.GotoAsync("/monitor?service=monitor-shop&lookback=15m");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(page.Locator(".topbar nav a.active")).ToHaveTextAsync("Monitor");

        // Three charts with lines that have data: one rate line, one error line, p50/p95/p99.
        await Assertions.Expect(page.Locator("#chart-rate path.ts-line")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#chart-errors path.ts-line")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#chart-latency path.ts-line")).ToHaveCountAsync(3);
        await Assertions.Expect(page.Locator("#chart-latency .ts-legend-item")).ToHaveTextAsync(["p50", "p95", "p99"]);
        Assert.True(int.Parse(await page.Locator("#chart-rate path.ts-line").GetAttributeAsync("data-points") ?? "0") > 10);
        Assert.True(int.Parse(await page.Locator("#chart-latency path.ts-line[data-series='p95']").GetAttributeAsync("data-points") ?? "0") >= 1);
        await Assertions.Expect(page.Locator("#chart-rate .ts-y-title")).ToHaveTextAsync("req/s");

        // The operations table: entry spans only (server + consumer), with numbers.
        var rows = page.Locator("#operations tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(3);
        await Assertions.Expect(page.Locator("#operations tbody td.name")).ToHaveTextAsync(["GET /items", "POST /order", "order.created"]);
        var items = rows.Nth(0);
        await Assertions.Expect(items.Locator("[data-col=calls]")).ToHaveTextAsync("6");
        await Assertions.Expect(items.Locator("[data-col=errors]")).ToHaveTextAsync("16.667%");
        await Assertions.Expect(items.Locator("[data-col=p50]")).ToHaveTextAsync("22.5ms");
        await Assertions.Expect(rows.Nth(1).Locator("[data-col=errors]")).ToHaveTextAsync("50%");

        // Hovering a chart shows the values at that time.
        var latency = page.Locator("#chart-latency svg.ts-chart");
        var box = await latency.BoundingBoxAsync();
        Assert.NotNull(box);
        await page.Mouse.MoveAsync(box.X + (box.Width * 0.9f), box.Y + (box.Height / 2));
        await Assertions.Expect(page.Locator("#chart-latency .ts-tooltip")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#chart-latency .ts-tooltip")).ToContainTextAsync("p95");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, "monitor.png") });

        // Sorting by p95 puts the slow operation first; a row links to its traces.
        await page.ClickAsync("#operations th a[data-sort='p95']");
        await Assertions.Expect(page.Locator("#operations tbody td.name").First).ToHaveTextAsync("POST /order");
        Assert.Contains("sort=p95", page.Url);
        await page.ClickAsync("#operations tbody td.name a >> text=POST /order");
        await Assertions.Expect(page.Locator("#f-operation")).ToHaveValueAsync("POST /order");
        Assert.Contains("/search?service=monitor-shop&operation=POST%20%2Forder", page.Url);

        Assert.Empty(errors);
    }

    [Fact]
    public async Task Timeseries_module_draws_series_as_text_toggles_them_and_reports_marker_clicks()
    {
        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync("/search");

        // The shared chart module on its own, as another page would use it: a hostile series name, a gap, a marker.
        await page.EvaluateAsync("""
            async () => {
              const { createTimeSeriesChart } = await import("/assets/timeseries.js");
              const host = document.createElement("div");
              host.id = "ts-test";
              host.style.width = "640px";
              document.querySelector("main").append(host);
              const t0 = Date.UTC(2026, 10, 20, 12, 0, 0);
              const points = f => Array.from({ length: 10 }, (_, i) => ({ t: t0 + i * 60000, v: i === 4 ? null : f(i) }));
              window.markerClicked = null;
              createTimeSeriesChart(host, {
                unit: "ms", yLabel: "latency",
                series: [
                  { name: "<img src=x onerror=window.pwned=1>", points: points(i => 10 + i),
                    markers: [{ t: t0 + 6 * 60000, v: 16, label: "exemplar trace 4bf92f35", data: "4bf92f35" }] },
                  { name: "p99", points: points(i => 40 + i) },
                ],
                onMarkerClick: m => { window.markerClicked = m.data; },
              });
            }
            """);

        var host = page.Locator("#ts-test");
        await Assertions.Expect(host.Locator("path.ts-line")).ToHaveCountAsync(2);
        await Assertions.Expect(host.Locator(".ts-legend-item")).ToHaveTextAsync(["<img src=x onerror=window.pwned=1>", "p99"]);
        Assert.Equal(0, await host.Locator("img").CountAsync());
        // The gap splits the line into two runs; 9 of the 10 samples have values.
        Assert.Equal("9", await host.Locator("path.ts-line").Nth(1).GetAttributeAsync("data-points"));
        Assert.Equal(2, (await host.Locator("path.ts-line").Nth(1).GetAttributeAsync("d"))!.Count(c => c == 'M'));

        await host.Locator("circle.ts-marker").ClickAsync();
        Assert.Equal("4bf92f35", await page.EvaluateAsync<string>("() => window.markerClicked"));

        // The legend hides and shows a series.
        await host.Locator(".ts-legend-item").Nth(1).ClickAsync();
        await Assertions.Expect(host.Locator("path.ts-line[data-series='p99']")).ToBeHiddenAsync();
        await host.Locator(".ts-legend-item").Nth(1).ClickAsync();
        await Assertions.Expect(host.Locator("path.ts-line[data-series='p99']")).ToBeVisibleAsync();

        Assert.False(await page.EvaluateAsync<bool>("() => window.pwned === 1"));
        Assert.Empty(errors);
    }
}
