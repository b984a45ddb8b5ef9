using System.Net;
using System.Text.RegularExpressions;
using Almanac.Core.Model;
using Almanac.Server.Tests.EndToEnd;
using Almanac.Testing;
using Google.Protobuf;
using Microsoft.Playwright;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Browser;

/// <summary>/logs and the trace page's logs in a real browser, with logs and spans sent over OTLP.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LogsBrowserTests(BrowserFixture fixture)
{
    private const long Ms = 1_000_000;

    private static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, name + ".png"), FullPage = false });

    private static LogRecord Log(string body, long time, SeverityNumber severity, TraceId? traceId = null, SpanId? spanId = null, params KeyValue[] attributes)
    {
        var record = new LogRecord
        {
            TimeUnixNano = (ulong)time,
            ObservedTimeUnixNano = (ulong)time,
            SeverityNumber = severity,
            SeverityText = severity.ToString(),
            Body = new AnyValue { StringValue = body },
        };
        record.Attributes.Add(attributes);
        if (traceId is { } t)
        {
            record.TraceId = ByteString.CopyFrom(t.ToBytes());
        }

        if (spanId is { } s)
        {
            record.SpanId = ByteString.CopyFrom(s.ToBytes());
        }

        return record;
    }

    private async Task PostLogsAsync(string service, params LogRecord[] records)
    {
        var scopeLogs = new ScopeLogs { Scope = TestData.CreateScope("dice.logger", "1.0") };
        scopeLogs.LogRecords.Add(records);
        var resourceLogs = new ResourceLogs { Resource = TestData.CreateResource(service) };
        resourceLogs.ScopeLogs.Add(scopeLogs);
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(resourceLogs);
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Almanac.HttpEndpoint, "/v1/logs"), OtlpRequests.Protobuf(request));
        response.EnsureSuccessStatusCode();
    }

    private async Task WaitForLogAsync(string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var body = await fixture.Http.GetStringAsync(new Uri(fixture.Almanac.UiEndpoint, "/api/logs?q=" + Uri.EscapeDataString(text)));
            if (body.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"log '{text}' did not become queryable");
    }

    [Fact]
    public async Task Find_a_log_by_text_follow_it_to_its_trace_and_see_the_trace_logs_then_live_tail()
    {
        var traceId = BrowserFixture.RandomTraceId();
        var t0 = BrowserFixture.NowNanos() - (3_000 * Ms);
        var rootId = TestData.NewSpanId();
        var rollId = TestData.NewSpanId();
        await fixture.PostAsync(traceId,
        [
            ("logs-dice", TestData.CreateSpan(traceId, rootId, null, "GET /rolldice", Span.Types.SpanKind.Server, t0, 100 * Ms)),
            ("logs-dice", TestData.CreateSpan(traceId, rollId, rootId, "rolling dice", Span.Types.SpanKind.Internal, t0 + (10 * Ms), 50 * Ms,
                events: [new Span.Types.Event { Name = "dice thrown", TimeUnixNano = (ulong)(t0 + (20 * Ms)) }])),
        ], 2);
        var marker = "rolled a 6 for " + Guid.NewGuid().ToString("N")[..8];
        await PostLogsAsync("logs-dice",
            Log("handling GET /rolldice", t0 + (1 * Ms), SeverityNumber.Info, traceId, rootId),
            Log(marker, t0 + (30 * Ms), SeverityNumber.Warn, traceId, rollId, TestData.Attr("roll.value", 6L), TestData.Attr("player", "<i>ada</i>")),
            Log("unrelated cache miss", t0 + (40 * Ms), SeverityNumber.Debug));
        await WaitForLogAsync(marker);

        var page = await fixture.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        // The top bar leads to /logs; the search is text in the body.
        // URLs are checked with Expect(page).ToHaveURLAsync, which polls, never with WaitForURLAsync: that one checks
        // the current URL and then subscribes to the frame's navigated / load events, and Playwright .NET can deliver
        // the event it waits for between the two (microsoft/playwright-dotnet#3364), which leaves it waiting out its
        // timeout. Each pattern matches only the page the click leads to, and the page's own data-ready flag stands
        // in for the load event.
        await page.GotoAsync("/search");
        await page.ClickAsync("#nav-logs");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/logs$"));
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        await page.FillAsync("#l-q", marker.ToUpperInvariant());
        await page.ClickAsync("#find-logs");
        // The GET form sends the text form-encoded; only the page it opens has it in its URL.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/logs\\?(.*&)?q=" + Regex.Escape(WebUtility.UrlEncode(marker.ToUpperInvariant())) + "(&|$)"));
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        var row = page.Locator("#log-list .log-row");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.Locator(".log-body")).ToHaveTextAsync(marker);
        await Assertions.Expect(row.Locator(".log-sev")).ToHaveTextAsync("WARN");

        // Expanding shows every field; attribute values are text, not markup.
        await row.Locator("summary .log-body").ClickAsync();
        await Assertions.Expect(row.Locator(".log-fields")).ToBeVisibleAsync();
        await Assertions.Expect(row.Locator(".log-fields")).ToContainTextAsync("roll.value");
        await Assertions.Expect(row.Locator(".log-fields")).ToContainTextAsync("<i>ada</i>");
        await Assertions.Expect(row.Locator(".log-fields")).ToContainTextAsync(rollId.ToHex());
        Assert.Equal(0, await row.Locator(".log-fields i").CountAsync());
        await ScreenshotAsync(page, "logs");

        // Its link opens the trace at its span; the trace page lists the trace's logs and events in time order.
        await row.Locator("a.log-trace").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape($"/trace/{traceId.ToHex()}?span={rollId.ToHex()}") + "$"));
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'");
        var traceLogs = page.Locator("#trace-log-list > .log-row");
        await Assertions.Expect(traceLogs).ToHaveCountAsync(3);
        await Assertions.Expect(traceLogs.Locator(".log-body")).ToHaveTextAsync(["handling GET /rolldice", "dice thrown", marker]);
        await Assertions.Expect(page.Locator("#trace-log-count")).ToContainTextAsync("2 log records, 1 span event");

        // The selected span's details list its own log record.
        await Assertions.Expect(page.Locator("#detail-logs .log-row")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#detail-logs .log-body")).ToHaveTextAsync(marker);
        await page.Locator("#trace-logs").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync(page, "trace-logs");

        // Live tail: a record sent now appears at the top without reloading.
        await page.GotoAsync("/logs?service=logs-dice&lookback=1h");
        await Assertions.Expect(page.Locator("#log-list .log-row")).ToHaveCountAsync(3);
        await page.ClickAsync("#live-tail");
        await Assertions.Expect(page.Locator("#live-tail")).ToHaveAttributeAsync("aria-pressed", "true");
        var fresh = "tailed " + Guid.NewGuid().ToString("N")[..8];
        await PostLogsAsync("logs-dice", Log(fresh, BrowserFixture.NowNanos(), SeverityNumber.Error));
        await Assertions.Expect(page.Locator("#log-list .log-row").First.Locator(".log-body")).ToHaveTextAsync(fresh);
        await Assertions.Expect(page.Locator("#log-list .log-row")).ToHaveCountAsync(4);
        await page.ClickAsync("#live-tail");
        await Assertions.Expect(page.Locator("#live-tail")).ToHaveAttributeAsync("aria-pressed", "false");

        // A bad regular expression is a message on the page, not an error page.
        await page.GotoAsync("/logs?q=(unclosed&regex=1");
        await Assertions.Expect(page.Locator("#form-error")).ToContainTextAsync("Not a valid regular expression");

        Assert.Empty(errors);
    }
}
