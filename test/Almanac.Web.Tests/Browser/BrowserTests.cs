using System.Text.RegularExpressions;
using Almanac.Core.Model;
using Almanac.Testing;
using Almanac.Web.Tests.Components;
using Microsoft.Playwright;
using Xunit.Abstractions;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Browser;

/// <summary>The UI in a real browser against the real almanac, with data sent over OTLP.</summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserTests(BrowserFixture fixture, ITestOutputHelper output)
{
    private const long Ms = 1_000_000;

    private static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, name + ".png"), FullPage = false });

    private static Task<int> VisibleRowsAsync(IPage page) =>
        page.EvaluateAsync<int>("() => Array.from(document.querySelectorAll('#timeline-body .tl-row')).filter(r => !r.hidden).length");

    [Fact]
    public async Task Search_open_trace_collapse_details_critical_path_and_find()
    {
        // A checkout trace over three services, plus a few other traces for the scatter plot.
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (5_000 * Ms);
        var rootId = TestData.NewSpanId();
        var payId = TestData.NewSpanId();
        Span S(SpanId id, SpanId? parent, string name, long startMs, long endMs, Span.Types.SpanKind kind = Span.Types.SpanKind.Server,
            Status.Types.StatusCode status = Status.Types.StatusCode.Unset, IEnumerable<OpenTelemetry.Proto.Common.V1.KeyValue>? attributes = null) =>
            TestData.CreateSpan(traceId, id, parent, name, kind, t0 + (startMs * Ms), (endMs - startMs) * Ms, status, attributes);
        await fixture.PostAsync(traceId,
        [
            ("shop-frontend", S(rootId, null, "GET /checkout", 0, 120, attributes: [TestData.Attr("http.route", "/checkout"), TestData.Attr("http.response.status_code", 500L)])),
            ("shop-payments", S(payId, rootId, "POST /pay", 10, 70, status: Status.Types.StatusCode.Error, attributes: [TestData.Attr("payment.provider", "acme")])),
            ("shop-db", S(TestData.NewSpanId(), payId, "INSERT payments", 20, 45, Span.Types.SpanKind.Client, attributes: [TestData.Attr("db.system", "postgresql")])),
            ("shop-frontend", S(TestData.NewSpanId(), rootId, "render receipt", 80, 110, Span.Types.SpanKind.Internal)),
        ], 4);
        for (var i = 0; i < 8; i++)
        {
            var other = BrowserFixture.RandomTraceId();
            var start = BrowserFixture.NowNanos() - ((i + 1) * 60_000 * Ms);
            var r = TestData.NewSpanId();
            await fixture.PostAsync(other,
            [
                ("shop-frontend", TestData.CreateSpan(other, r, null, i % 2 == 0 ? "GET /cart" : "GET /products", Span.Types.SpanKind.Server, start, (20 + (i * 13)) * Ms)),
                ("shop-db", TestData.CreateSpan(other, TestData.NewSpanId(), r, "SELECT products", Span.Types.SpanKind.Client, start + Ms, 5 * Ms,
                    i == 3 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset)),
            ], 2);
        }

        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        // / redirects to the search page.
        await page.GotoAsync("/");
        Assert.EndsWith("/search", page.Url);

        await page.GotoAsync("/search?service=shop-frontend&lookback=1h");
        await Assertions.Expect(page.Locator("#results .result")).ToHaveCountAsync(9);
        await Assertions.Expect(page.Locator("#scatter circle")).ToHaveCountAsync(9);
        await Assertions.Expect(page.Locator("#f-service")).ToHaveValueAsync("shop-frontend");
        await Assertions.Expect(page.Locator("#f-service option[value='shop-frontend']")).ToHaveTextAsync("shop-frontend  (9 traces)");
        await Assertions.Expect(page.Locator("#f-service option[value='shop-payments']")).ToHaveTextAsync("shop-payments  (1 trace)");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await ScreenshotAsync(page, "search");

        // The filters are an interactive server component: Blazor's script is served by Almanac itself and its
        // circuit connects (the component re-renders itself as interactive).
        using (var script = await fixture.Http.GetAsync(new Uri(fixture.Almanac.UiEndpoint, "/_framework/blazor.web.js")))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, script.StatusCode);
            Assert.StartsWith("text/javascript", script.Content.Headers.ContentType?.ToString());
        }

        await Assertions.Expect(page.Locator("#search-filters")).ToHaveAttributeAsync("data-interactive", "true");
        Assert.True(await page.EvaluateAsync<bool>("() => typeof window.Blazor === 'object'"));
        await Assertions.Expect(page.Locator("#f-service option[value='shop-frontend']")).ToHaveTextAsync("shop-frontend  (9 traces)");

        // Known attribute keys add a filter line.
        await page.ClickAsync("#attribute-keys summary");
        await page.ClickAsync("#attribute-keys button.key[data-key='http.route']");
        await Assertions.Expect(page.Locator("#f-tags")).ToHaveValueAsync("http.route=");

        // ... and offer the values the key had in recent traces; picking one completes the line.
        await Assertions.Expect(page.Locator("#attribute-values button.value")).ToHaveTextAsync(["/checkout"]);
        await page.ClickAsync("#attribute-values button.value");
        await Assertions.Expect(page.Locator("#f-tags")).ToHaveValueAsync("http.route=/checkout");
        await page.FillAsync("#f-tags", "");

        // Changing the service reloads the operation list from the API.
        await page.SelectOptionAsync("#f-service", "shop-db");
        await Assertions.Expect(page.Locator("#f-operation option")).ToContainTextAsync(["All operations", "INSERT payments", "SELECT products"]);
        await page.SelectOptionAsync("#f-service", "shop-frontend");

        // A point of the scatter plot opens its trace; Back returns to the same search.
        // URLs are checked with Expect(page).ToHaveURLAsync, which polls, never with WaitForURLAsync, even one started
        // before the click: once the frame has navigated, that one checks whether the load state is there yet and only
        // then subscribes to it, and Playwright .NET can deliver "load" between the two
        // (microsoft/playwright-dotnet#3364), which leaves it waiting out its timeout. Each pattern matches only the
        // page being opened, and the page's own data-ready flag stands in for the load event.
        var point = page.Locator($"#scatter a[href='/trace/{traceId.ToHex()}']");
        await point.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape($"/trace/{traceId.ToHex()}") + "$"));
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(page.Locator("#trace-title")).ToContainTextAsync("shop-frontend: GET /checkout");
        await page.GoBackAsync(); // waits for the load event itself, in the browser, where it cannot be missed
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/search\\?service=shop-frontend(&|$)"));
        await Assertions.Expect(page.Locator("#results .result")).ToHaveCountAsync(9);
        await Assertions.Expect(page.Locator("#search-filters")).ToHaveAttributeAsync("data-interactive", "true");

        // Sorting by duration keeps the query in the URL. Wait for the sorted page itself (its sort link marked
        // current and its script done), not just the URL, before clicking on it.
        await page.ClickAsync("#sort a[data-sort='longest']");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("[?&]sort=longest(&|$)"));
        await Assertions.Expect(page.Locator("#sort a[data-sort='longest']")).ToHaveAttributeAsync("aria-current", "true");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        Assert.Contains("service=shop-frontend", page.Url);
        await Assertions.Expect(page.Locator("#results .result .name").First).ToContainTextAsync("GET /checkout"); // 120ms, the longest

        // Open the checkout trace.
        await page.Locator($"#results .result[data-trace-id='{traceId.ToHex()}']").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape($"/trace/{traceId.ToHex()}") + "$"));
        await Assertions.Expect(page.Locator("#timeline-body .tl-row")).ToHaveCountAsync(4);
        await Assertions.Expect(page.Locator("#trace-title")).ToContainTextAsync("shop-frontend: GET /checkout");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");

        // Collapse the root: only it stays visible; expand again.
        await page.Locator("#row-0 .tog").ClickAsync();
        Assert.Equal(1, await VisibleRowsAsync(page));
        await page.Locator("#row-0 .tog").ClickAsync();
        Assert.Equal(4, await VisibleRowsAsync(page));
        await page.Locator("#row-1 .tog").ClickAsync(); // POST /pay hides INSERT only
        Assert.Equal(3, await VisibleRowsAsync(page));
        await page.ClickAsync("#expand-all");
        Assert.Equal(4, await VisibleRowsAsync(page));

        // The critical path is drawn on the bars.
        Assert.True(await page.Locator("#timeline-body .cp").CountAsync() >= 4);
        Assert.True(await page.Locator("#row-0 .cp").First.IsVisibleAsync());

        // Span details without a page reload.
        await page.Locator("#row-1 .op").ClickAsync();
        await Assertions.Expect(page.Locator("#span-details #detail-name")).ToHaveTextAsync("POST /pay");
        await Assertions.Expect(page.Locator("#detail-status")).ToHaveTextAsync("error");
        await Assertions.Expect(page.Locator("#detail-attributes")).ToContainTextAsync("payment.provider");
        await Assertions.Expect(page.Locator("#detail-resource")).ToContainTextAsync("shop-payments");
        Assert.Contains("?span=", page.Url);
        await ScreenshotAsync(page, "trace");

        // Find in trace.
        await page.FillAsync("#find", "postgresql");
        await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("1 match");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row.match .op")).ToHaveTextAsync("INSERT payments");
        await ScreenshotAsync(page, "trace-find");
        await page.FillAsync("#find", "");

        // Theme toggle, and the top bar's trace-id lookup.
        await page.ClickAsync("#theme-toggle");
        Assert.Equal("dark", await page.EvaluateAsync<string>("() => document.documentElement.getAttribute('data-theme')"));
        await ScreenshotAsync(page, "trace-dark");
        await page.FillAsync(".lookup input", traceId.ToHex().ToUpperInvariant());
        await page.PressAsync(".lookup input", "Enter");
        // /lookup redirects to the id in lower case, without ?span= (which the page before had in its URL).
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape($"/trace/{traceId.ToHex()}") + "$"));
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");

        // An unknown trace gets a clear not-found page.
        var response = await page.GotoAsync("/trace/" + new TraceId(7, 7).ToHex());
        Assert.Equal(404, response!.Status);
        await Assertions.Expect(page.Locator("#not-found")).ToContainTextAsync("Trace not found");

        // Other unknown pages get a page too, with the way back.
        response = await page.GotoAsync("/no/such/page");
        Assert.Equal(404, response!.Status);
        await Assertions.Expect(page.Locator("#page-not-found a")).ToHaveAttributeAsync("href", "/search");
        using var api = await fixture.Http.GetAsync(new Uri(fixture.Almanac.UiEndpoint, "/api/no-such-endpoint"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, api.StatusCode);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Hostile_span_data_never_runs_or_injects_markup()
    {
        var dialogs = new List<string>();
        var page = await fixture.NewPageAsync();
        page.Dialog += async (_, d) =>
        {
            dialogs.Add(d.Message);
            await d.DismissAsync();
        };

        for (var p = 0; p < HostileDataTests.Payloads.Length; p++)
        {
            var payload = HostileDataTests.Payloads[p];
            var (traceId, spanId, spans) = HostileDataTests.HostileTrace(payload);

            // Re-stamp to now so the default lookback finds it.
            var now = BrowserFixture.NowNanos();
            foreach (var s in spans)
            {
                var duration = s.Span.EndTimeUnixNano - s.Span.StartTimeUnixNano;
                s.Span.StartTimeUnixNano = (ulong)now;
                s.Span.EndTimeUnixNano = (ulong)now + duration;
            }

            await fixture.PostAsync(traceId, spans.Select(s => (s.ServiceName, s.Span)), 2);

            await page.GotoAsync("/search?service=" + Uri.EscapeDataString(payload));
            await Assertions.Expect(page.Locator("#results .result .name").First).ToContainTextAsync(payload);
            await AssertNothingInjectedAsync(page);

            // The live form renders hostile service names, keys and suggested values as text too.
            await Assertions.Expect(page.Locator("#search-filters")).ToHaveAttributeAsync("data-interactive", "true");
            await Assertions.Expect(page.Locator("#f-service option:checked")).ToContainTextAsync(payload + "  (");
            await page.ClickAsync("#attribute-keys summary");
            await page.Locator("#attribute-keys button.key").Filter(new() { HasTextString = payload }).First.ClickAsync();
            await Assertions.Expect(page.Locator("#attribute-values button.value").First).ToHaveTextAsync(payload);
            await page.Locator("#attribute-values button.value").First.ClickAsync();
            await Assertions.Expect(page.Locator("#f-tags")).ToHaveValueAsync(payload + "=" + payload);
            await AssertNothingInjectedAsync(page);

            await page.GotoAsync($"/trace/{traceId.ToHex()}");
            await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
            await Assertions.Expect(page.Locator("#trace-title")).ToContainTextAsync(payload);
            await page.Locator("#row-0 .op").ClickAsync();
            await Assertions.Expect(page.Locator("#span-details #detail-name")).ToHaveTextAsync(payload);
            await Assertions.Expect(page.Locator("#detail-attributes")).ToContainTextAsync(payload);
            await page.FillAsync("#find", payload);
            await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("2 matches");
            await AssertNothingInjectedAsync(page);
            if (p == 0)
            {
                await ScreenshotAsync(page, "hostile");
            }

            Assert.Equal(spanId.ToHex(), await page.Locator("#span-details").GetAttributeAsync("data-span-id"));
        }

        await Task.Delay(300);
        Assert.Empty(dialogs);
    }

    private static async Task AssertNothingInjectedAsync(IPage page)
    {
        // No elements an injection would create, no inline scripts, no handler attributes, no script URLs.
        var injected = await page.EvaluateAsync<string[]>("""
            () => [
              ...Array.from(document.querySelectorAll('img, iframe, object, embed, script:not([src])')).map(e => e.outerHTML),
              ...Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).map(e => e.outerHTML),
              ...Array.from(document.querySelectorAll('[href]')).filter(e => /^\s*javascript:/i.test(e.getAttribute('href'))).map(e => e.outerHTML),
            ]
            """);
        Assert.Empty(injected);
    }

    [Fact]
    public async Task Ten_thousand_span_trace_opens_and_scrolls()
    {
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (60_000 * Ms);
        var ids = new List<SpanId>();
        var spans = new List<(string, Span)>();
        for (var i = 0; i < 10_000; i++)
        {
            var id = TestData.NewSpanId();
            SpanId? parent = i == 0 ? null : ids[(i - 1) / 5];
            var start = t0 + (i * 100_000L);
            spans.Add(($"svc-{i % 6}", TestData.CreateSpan(traceId, id, parent, $"op-{i % 37}", Span.Types.SpanKind.Internal, start,
                i == 0 ? 2_000 * Ms : 500_000L + (i % 50 * 10_000L), attributes: [TestData.Attr("index", (long)i)])));
            ids.Add(id);
        }

        var posting = System.Diagnostics.Stopwatch.StartNew();
        await fixture.PostAsync(traceId, spans, 10_000);
        output.WriteLine($"posted and stored in {posting.Elapsed}");

        var page = await fixture.NewPageAsync();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await page.GotoAsync($"/trace/{traceId.ToHex()}", new PageGotoOptions { Timeout = 120_000 });
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'", null, new PageWaitForFunctionOptions { Timeout = 120_000 });
        var loaded = watch.Elapsed;
        output.WriteLine($"page loaded in {loaded}");
        await Assertions.Expect(page.Locator("#span-count")).ToHaveTextAsync("10000");
        Assert.Equal("10000", await page.Locator("#timeline-body").GetAttributeAsync("data-rows"));

        // Virtualised: only the rows near the viewport are in the document.
        Assert.InRange(await page.Locator("#timeline-body .tl-row").CountAsync(), 10, 200);

        // Scroll to the end: the last row is there (nothing dropped) and can be opened.
        await page.EvaluateAsync("() => { const b = document.getElementById('timeline-body'); b.scrollTop = b.scrollHeight; }");
        var last = page.Locator("#row-9999");
        await Assertions.Expect(last).ToBeVisibleAsync();
        output.WriteLine($"scrolled at {watch.Elapsed}");
        await last.Locator(".op").ClickAsync();
        output.WriteLine($"clicked at {watch.Elapsed}");
        await Assertions.Expect(page.Locator("#span-details #detail-name")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^op-\\d+$"));
        output.WriteLine($"details at {watch.Elapsed}");
        await page.FillAsync("#find", "index=9999");
        await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("1 match");
        await ScreenshotAsync(page, "trace-10k");
        Assert.True(loaded < TimeSpan.FromSeconds(60), $"10,000-span trace took {loaded} to load");
    }

    [Fact]
    public async Task Hundred_thousand_span_trace_opens_and_scrolls_to_the_last_span()
    {
        const int Count = 100_000;
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (120_000 * Ms);
        var ids = new SpanId[Count];
        var spans = new List<(string, Span)>(Count);
        for (var i = 0; i < Count; i++)
        {
            ids[i] = TestData.NewSpanId();
            SpanId? parent = i == 0 ? null : ids[(i - 1) / 8];
            spans.Add(($"svc-{i % 7}", TestData.CreateSpan(traceId, ids[i], parent, $"op-{i}", Span.Types.SpanKind.Internal, t0 + (i * 10_000L),
                i == 0 ? 1_100 * Ms : 200_000L + (i % 13 * 10_000L))));
        }

        var posting = System.Diagnostics.Stopwatch.StartNew();
        await fixture.PostManyAsync(traceId, spans, 10_000);
        output.WriteLine($"100,000 spans posted and stored in {posting.Elapsed}");

        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await page.GotoAsync($"/trace/{traceId.ToHex()}", new PageGotoOptions { Timeout = 180_000 });
        output.WriteLine($"page HTML loaded in {watch.Elapsed}");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'", null, new PageWaitForFunctionOptions { Timeout = 180_000 });
        output.WriteLine($"timeline rendered in {watch.Elapsed}");
        await Assertions.Expect(page.Locator("#span-count")).ToHaveTextAsync("100000");
        Assert.Equal("100000", await page.Locator("#timeline-body").GetAttributeAsync("data-rows"));
        Assert.InRange(await page.Locator("#timeline-body .tl-row").CountAsync(), 10, 200);
        await Assertions.Expect(page.Locator("#timeline-status")).ToBeEmptyAsync(); // nothing was cut

        // The last span in depth-first order is the last child of the deepest last branch: find it by its row id.
        await page.EvaluateAsync("() => { const b = document.getElementById('timeline-body'); b.scrollTop = b.scrollHeight; }");
        var last = page.Locator($"#row-{Count - 1}");
        await Assertions.Expect(last).ToBeVisibleAsync();
        output.WriteLine($"scrolled to the last span at {watch.Elapsed}");
        await Assertions.Expect(last.Locator(".op")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^op-\\d+$"));

        // The page stays responsive: find across all 100,000 spans.
        await page.FillAsync("#find", "op-99999");
        await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("1 match");
        output.WriteLine($"found a span at {watch.Elapsed}");
        await ScreenshotAsync(page, "trace-100k");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Minimap_drag_zooms_the_time_axis_and_reset_restores_it()
    {
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (5_000 * Ms);
        var rootId = TestData.NewSpanId();
        var spans = new List<(string, Span)> { ("mm-api", TestData.CreateSpan(traceId, rootId, null, "GET /", Span.Types.SpanKind.Server, t0, 1_000 * Ms)) };
        for (var i = 0; i < 10; i++)
        {
            spans.Add(("mm-db", TestData.CreateSpan(traceId, TestData.NewSpanId(), rootId, "q" + i, Span.Types.SpanKind.Client, t0 + (i * 100 * Ms), 80 * Ms)));
        }

        await fixture.PostAsync(traceId, spans, spans.Count);
        var page = await fixture.NewPageAsync();
        await page.GotoAsync($"/trace/{traceId.ToHex()}");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        var ticks = page.Locator("#ticks span");
        await Assertions.Expect(ticks.Last).ToHaveTextAsync("1s");
        await Assertions.Expect(page.Locator("#zoom-reset")).ToBeHiddenAsync();

        // Drag over the first quarter of the minimap: the axis now ends near 250ms.
        var box = (await page.Locator("#minimap-canvas").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + 2, box.Y + (box.Height / 2));
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + (box.Width * 0.1f), box.Y + (box.Height / 2), new MouseMoveOptions { Steps = 4 });
        await page.Mouse.MoveAsync(box.X + (box.Width * 0.25f), box.Y + (box.Height / 2), new MouseMoveOptions { Steps = 4 });
        await page.Mouse.UpAsync();
        await Assertions.Expect(page.Locator("#zoom-reset")).ToBeVisibleAsync();
        var lastTick = await ticks.Last.TextContentAsync();
        output.WriteLine($"zoomed axis ends at {lastTick}");
        Assert.Matches("^2[2-5]\\d(\\.\\d+)?ms$", lastTick);
        await Assertions.Expect(page.Locator("#minimap-window")).ToBeVisibleAsync();
        await ScreenshotAsync(page, "trace-minimap-zoom");

        // Spans outside the window have no bar; the ones inside are drawn wider.
        Assert.Equal(0, await page.Locator("#row-10 .bar").CountAsync()); // q9 starts at 900ms

        await page.ClickAsync("#zoom-reset");
        await Assertions.Expect(ticks.Last).ToHaveTextAsync("1s");
        await Assertions.Expect(page.Locator("#zoom-reset")).ToBeHiddenAsync();
        Assert.Equal(1, await page.Locator("#row-10 .bar").CountAsync());
    }

    [Fact]
    public async Task Timeline_keyboard_navigation_find_shortcuts_and_zoom_in_the_url()
    {
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (5_000 * Ms);
        var rootId = TestData.NewSpanId();
        var callId = TestData.NewSpanId();
        Span S(SpanId id, SpanId? parent, string name, long startMs, long endMs) =>
            TestData.CreateSpan(traceId, id, parent, name, Span.Types.SpanKind.Server, t0 + (startMs * Ms), (endMs - startMs) * Ms);
        await fixture.PostAsync(traceId,
        [
            ("kb-api", S(rootId, null, "GET /kb", 0, 1_000)),
            ("kb-api", S(callId, rootId, "call backend", 100, 600)),
            ("kb-backend", S(TestData.NewSpanId(), callId, "grandchild work", 200, 500)),
            ("kb-api", S(TestData.NewSpanId(), rootId, "render", 700, 900)),
        ], 4);
        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync($"/trace/{traceId.ToHex()}");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row")).ToHaveCountAsync(4);

        // Focus lands on the first row; arrows move between rows.
        await page.FocusAsync("#timeline-body");
        await Assertions.Expect(page.Locator("#row-0")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bcursor\\b"));
        await page.Keyboard.PressAsync("ArrowDown");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row.cursor .op")).ToHaveTextAsync("call backend");

        // Left collapses the row's children, right shows them again, right once more goes to the first child, left
        // from a leaf goes to its parent.
        await page.Keyboard.PressAsync("ArrowLeft");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row")).ToHaveCountAsync(3);
        await page.Keyboard.PressAsync("ArrowRight");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row")).ToHaveCountAsync(4);
        await page.Keyboard.PressAsync("ArrowRight");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row.cursor .op")).ToHaveTextAsync("grandchild work");
        await page.Keyboard.PressAsync("ArrowLeft");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row.cursor .op")).ToHaveTextAsync("call backend");
        await page.Keyboard.PressAsync("End");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row.cursor .op")).ToHaveTextAsync("render");
        await page.Keyboard.PressAsync("ArrowUp");
        await page.Keyboard.PressAsync("ArrowUp");

        // Enter opens the details of the row the cursor is on.
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#span-details #detail-name")).ToHaveTextAsync("call backend");
        Assert.Contains("?span=", page.Url);

        // "/" focuses find; Esc clears it, then a second Esc closes the details.
        await page.Keyboard.PressAsync("/");
        Assert.True(await page.EvaluateAsync<bool>("() => document.activeElement === document.getElementById('find')"));
        await page.Keyboard.TypeAsync("grandchild");
        await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("1 match");
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.Locator("#find")).ToHaveValueAsync("");
        await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("");
        Assert.Equal(0, await page.Locator("#timeline-body .tl-row.match").CountAsync());
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.Locator("#details")).ToBeHiddenAsync();
        Assert.DoesNotContain("span=", page.Url);

        // A minimap zoom goes into the URL: the link opens zoomed, and Back undoes the zoom.
        var box = (await page.Locator("#minimap-canvas").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + (box.Width * 0.1f), box.Y + (box.Height / 2));
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + (box.Width * 0.3f), box.Y + (box.Height / 2), new MouseMoveOptions { Steps = 4 });
        await page.Mouse.MoveAsync(box.X + (box.Width * 0.5f), box.Y + (box.Height / 2), new MouseMoveOptions { Steps = 4 });
        await page.Mouse.UpAsync();
        await Assertions.Expect(page.Locator("#zoom-reset")).ToBeVisibleAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("[?&]from=\\d+&to=\\d+"));
        var zoomedUrl = page.Url;
        var zoomedAxis = await page.Locator("#ticks span").Last.TextContentAsync();
        Assert.NotEqual("1s", zoomedAxis);

        var shared = await fixture.NewPageAsync();
        await shared.GotoAsync(zoomedUrl);
        await shared.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(shared.Locator("#zoom-reset")).ToBeVisibleAsync();
        await Assertions.Expect(shared.Locator("#ticks span").Last).ToHaveTextAsync(zoomedAxis!);
        await Assertions.Expect(shared.Locator("#minimap-window")).ToBeVisibleAsync();

        await page.GoBackAsync();
        await Assertions.Expect(page.Locator("#zoom-reset")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#ticks span").Last).ToHaveTextAsync("1s");
        Assert.DoesNotContain("from=", page.Url);
        await page.GoForwardAsync();
        await Assertions.Expect(page.Locator("#zoom-reset")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#ticks span").Last).ToHaveTextAsync(zoomedAxis!);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Times_switch_between_UTC_and_local_and_the_choice_is_remembered()
    {
        var traceId = BrowserFixture.RandomTraceId();
        // 2026-01-15 10:20:30.250 UTC: 15:50:30.250 in Kolkata (UTC+05:30, no daylight saving).
        var t0 = new DateTimeOffset(2026, 1, 15, 10, 20, 30, 250, TimeSpan.Zero).ToUnixTimeMilliseconds() * Ms;
        var rootId = TestData.NewSpanId();
        await fixture.PostAsync(traceId,
        [
            ("tz-api", TestData.CreateSpan(traceId, rootId, null, "GET /tz", Span.Types.SpanKind.Server, t0, 100 * Ms)),
            ("tz-db", TestData.CreateSpan(traceId, TestData.NewSpanId(), rootId, "SELECT tz", Span.Types.SpanKind.Client, t0 + (10 * Ms), 50 * Ms)),
        ], 2);
        var second = BrowserFixture.RandomTraceId(); // a second result, so the scatter plot has a time axis
        await fixture.PostAsync(second, [("tz-api", TestData.CreateSpan(second, TestData.NewSpanId(), null, "GET /tz", Span.Types.SpanKind.Server, t0 + (300_000 * Ms), 80 * Ms))], 1);
        var page = await fixture.NewPageAsync(timezoneId: "Asia/Kolkata");
        await page.GotoAsync($"/trace/{traceId.ToHex()}");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(page.Locator("#trace-start")).ToHaveTextAsync("2026-01-15 10:20:30.250 UTC");
        await Assertions.Expect(page.Locator("#tz-toggle")).ToHaveTextAsync("UTC");

        await page.ClickAsync("#tz-toggle");
        await Assertions.Expect(page.Locator("#trace-start")).ToHaveTextAsync("2026-01-15 15:50:30.250 UTC+05:30");
        await Assertions.Expect(page.Locator("#tz-toggle")).ToHaveTextAsync("Local");

        // Span details fetched later follow the choice too.
        await page.Locator("#row-1 .op").ClickAsync();
        await Assertions.Expect(page.Locator("#span-details")).ToContainTextAsync("2026-01-15 15:50:30.260 UTC+05:30");

        // Remembered: the search page (result times, scatter axis) opens in local time.
        await page.GotoAsync("/search?service=tz-api&lookback=custom&start=2026-01-15T10:00:00&end=2026-01-15T11:00:00");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(page.Locator($"#results .result[data-trace-id='{traceId.ToHex()}'] time")).ToHaveTextAsync("2026-01-15 15:50:30.250 UTC+05:30");
        await Assertions.Expect(page.Locator("#scatter .tz-name")).ToHaveTextAsync("local time");
        await page.ClickAsync("#tz-toggle");
        await Assertions.Expect(page.Locator($"#results .result[data-trace-id='{traceId.ToHex()}'] time")).ToHaveTextAsync("2026-01-15 10:20:30.250 UTC");
        await Assertions.Expect(page.Locator("#scatter .tz-name")).ToHaveTextAsync("UTC");
    }

    [Fact]
    public async Task Services_whose_preferred_colours_collide_get_distinct_colours_in_one_trace()
    {
        // Two service names with the same preferred colour, and a third: three colours on every page of the trace.
        var names = Enumerable.Range(0, 400).Select(i => "hue-" + i).ToList();
        var (a, b) = names.SelectMany(x => names.Where(y => string.CompareOrdinal(x, y) < 0 && Almanac.Web.Model.ServiceColors.For(x) == Almanac.Web.Model.ServiceColors.For(y)).Select(y => (x, y))).First();
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (5_000 * Ms);
        var rootId = TestData.NewSpanId();
        await fixture.PostAsync(traceId,
        [
            (a, TestData.CreateSpan(traceId, rootId, null, "root", Span.Types.SpanKind.Server, t0, 100 * Ms)),
            (b, TestData.CreateSpan(traceId, TestData.NewSpanId(), rootId, "child", Span.Types.SpanKind.Client, t0 + (10 * Ms), 50 * Ms)),
            ("hue-other", TestData.CreateSpan(traceId, TestData.NewSpanId(), rootId, "other", Span.Types.SpanKind.Client, t0 + (20 * Ms), 50 * Ms)),
        ], 3);
        var page = await fixture.NewPageAsync();
        await page.GotoAsync($"/trace/{traceId.ToHex()}");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await Assertions.Expect(page.Locator("#timeline-body .tl-row")).ToHaveCountAsync(3);
        var rowColors = await page.EvaluateAsync<string[]>("() => Array.from(document.querySelectorAll('#timeline-body .tl-row .dot')).map(d => getComputedStyle(d).backgroundColor)");
        Assert.Equal(3, rowColors.Distinct().Count());

        // The header chips, the search result's chips and the span details use the same assignment as the rows.
        var chipColors = await page.EvaluateAsync<string[]>("() => Array.from(document.querySelectorAll('.trace-head .chip .dot')).map(d => getComputedStyle(d).backgroundColor)");
        Assert.Equal(rowColors.Order(), chipColors.Order());
        await page.Locator("#row-1 .op").ClickAsync();
        await Assertions.Expect(page.Locator("#span-details #detail-name")).ToHaveTextAsync("child");
        Assert.Equal(rowColors[1], await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('#span-details h2 .dot')).backgroundColor"));
        await page.GotoAsync($"/search?service={a}&lookback=1h");
        var resultColors = await page.EvaluateAsync<string[]>($"() => Array.from(document.querySelectorAll(\"#results .result[data-trace-id='{traceId.ToHex()}'] .chip.service .dot\")).map(d => getComputedStyle(d).backgroundColor)");
        Assert.Equal(rowColors.Order(), resultColors.Order());
    }

    [Fact]
    public async Task Open_file_shows_OTLP_and_Jaeger_JSON_without_storing_and_explains_bad_files()
    {
        // A stored trace, downloaded in both formats the query API speaks.
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (5_000 * Ms);
        var rootId = TestData.NewSpanId();
        await fixture.PostAsync(traceId,
        [
            ("file-web", TestData.CreateSpan(traceId, rootId, null, "GET /file", Span.Types.SpanKind.Server, t0, 100 * Ms, attributes: [TestData.Attr("http.route", "/file")])),
            ("file-db", TestData.CreateSpan(traceId, TestData.NewSpanId(), rootId, "SELECT file", Span.Types.SpanKind.Client, t0 + (10 * Ms), 50 * Ms,
                Status.Types.StatusCode.Error, [TestData.Attr("db.system", "sqlite")])),
            ("file-web", TestData.CreateSpan(traceId, TestData.NewSpanId(), rootId, "<b>render</b>", Span.Types.SpanKind.Internal, t0 + (70 * Ms), 20 * Ms)),
        ], 3);
        var dir = Directory.CreateTempSubdirectory("almanac-open-");
        async Task<string> SaveAsync(string name, string url)
        {
            var path = Path.Combine(dir.FullName, name);
            await File.WriteAllTextAsync(path, await fixture.Http.GetStringAsync(new Uri(fixture.Almanac.UiEndpoint, url)));
            return path;
        }

        var jaeger = await SaveAsync("jaeger.json", "/api/traces/" + traceId.ToHex());
        var v3 = await SaveAsync("otlp-v3.json", "/api/v3/traces/" + traceId.ToHex());

        // An OTLP/HTTP JSON body of a trace that was never sent to almanac.
        var fileTrace = BrowserFixture.RandomTraceId();
        var otlpBody = Path.Combine(dir.FullName, "body.json");
        await File.WriteAllTextAsync(otlpBody, $$$"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"only-in-file"}}]},
              "scopeSpans":[{"scope":{"name":"lib","version":"1"},"spans":[
                {"traceId":"{{{fileTrace.ToHex()}}}","spanId":"00000000000000a1","name":"file root","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000300000000",
                 "attributes":[{"key":"from","value":{"stringValue":"<img src=x onerror=alert(1)>"}}]},
                {"traceId":"{{{fileTrace.ToHex()}}}","spanId":"00000000000000a2","parentSpanId":"00000000000000a1","name":"file child","startTimeUnixNano":"1700000000100000000","endTimeUnixNano":"1700000000200000000",
                 "status":{"code":2,"message":"boom"},"events":[{"name":"retry","timeUnixNano":"1700000000150000000"}],
                 "links":[{"traceId":"{{{traceId.ToHex()}}}","spanId":"00000000000000b1","attributes":[{"key":"link.kind","value":{"stringValue":"follows"}}]}]}]}]}]}
            """);
        var notTrace = Path.Combine(dir.FullName, "not-a-trace.json");
        await File.WriteAllTextAsync(notTrace, """{"hello": "world"}""");
        var notJson = Path.Combine(dir.FullName, "not-json.json");
        await File.WriteAllTextAsync(notJson, "this is not json");

        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        var dialogs = 0;
        page.Dialog += async (_, d) =>
        {
            dialogs++;
            await d.DismissAsync();
        };
        await page.GotoAsync("/search");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");

        // OTLP/JSON body, opened from the search page's top bar.
        await page.SetInputFilesAsync("#open-file", otlpBody);
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/open$"));
        await Assertions.Expect(page.Locator("#span-count")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Locator("#trace-title")).ToHaveTextAsync("only-in-file: file root");
        await Assertions.Expect(page.Locator("#trace-id")).ToHaveTextAsync(fileTrace.ToHex());
        await Assertions.Expect(page.Locator("#error-count")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#ticks span").Last).ToHaveTextAsync("300ms");
        await page.Locator("#row-0 .op").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-attributes")).ToContainTextAsync("<img src=x onerror=alert(1)>");
        await page.Locator("#row-1 .op").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-name")).ToHaveTextAsync("file child");
        await Assertions.Expect(page.Locator("#detail-status")).ToHaveTextAsync("error: boom");
        await Assertions.Expect(page.Locator("#detail-events")).ToContainTextAsync("retry");
        await Assertions.Expect(page.Locator("#detail-links a")).ToHaveAttributeAsync("href", "/trace/" + traceId.ToHex());
        await Assertions.Expect(page.Locator("#detail-links")).ToContainTextAsync("link.kind");
        await Assertions.Expect(page.Locator("#detail-scope")).ToHaveTextAsync("Instrumentation scope" + "lib 1");
        await page.FillAsync("#find", "onerror");
        await Assertions.Expect(page.Locator("#find-count")).ToHaveTextAsync("1 match");
        await ScreenshotAsync(page, "open-file");
        await AssertNothingInjectedAsync(page);
        using (var stored = await fixture.Http.GetAsync(new Uri(fixture.Almanac.UiEndpoint, "/api/traces/" + fileTrace.ToHex())))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, stored.StatusCode); // shown, not stored
        }

        // Jaeger JSON, opened from the /open page itself.
        await page.SetInputFilesAsync("#open-file", jaeger);
        await Assertions.Expect(page.Locator("#trace-id")).ToHaveTextAsync(traceId.ToHex());
        await Assertions.Expect(page.Locator("#span-count")).ToHaveTextAsync("3");
        await Assertions.Expect(page.Locator("#trace-title")).ToHaveTextAsync("file-web: GET /file");
        await Assertions.Expect(page.Locator("#error-count")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#timeline-body .op")).ToHaveTextAsync(["GET /file", "SELECT file", "<b>render</b>"]);
        await page.Locator("#row-1 .op").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-kind")).ToHaveTextAsync("client");
        await Assertions.Expect(page.Locator("#detail-attributes")).ToContainTextAsync("sqlite");

        // OTLP/JSON from /api/v3.
        await page.SetInputFilesAsync("#open-file", v3);
        await Assertions.Expect(page.Locator("#open-file-name")).ToHaveTextAsync("otlp-v3.json");
        await Assertions.Expect(page.Locator("#span-count")).ToHaveTextAsync("3");
        await Assertions.Expect(page.Locator("#trace-title")).ToHaveTextAsync("file-web: GET /file");
        await Assertions.Expect(page.Locator("#service-chips .chip")).ToHaveTextAsync(["file-db", "file-web"]);

        // Bad files: a clear message, no trace.
        await page.SetInputFilesAsync("#open-file", notTrace);
        await Assertions.Expect(page.Locator("#open-error")).ToContainTextAsync("Could not open not-a-trace.json: The file is JSON but not a trace");
        await Assertions.Expect(page.Locator("#opened")).ToBeHiddenAsync();
        await page.SetInputFilesAsync("#open-file", notJson);
        await Assertions.Expect(page.Locator("#open-error")).ToContainTextAsync("Could not open not-json.json: The file is not JSON");
        await ScreenshotAsync(page, "open-file-error");

        // Back returns to the search page the first file was opened from.
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator("#search-form")).ToBeVisibleAsync();

        Assert.Empty(errors);
        Assert.Equal(0, dialogs);
        dir.Delete(recursive: true);
    }
}
