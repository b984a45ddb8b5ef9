using System.Diagnostics;
using Microsoft.Playwright;

namespace Almanac.Bench;

/// <summary>
/// Opens trace pages in Debian's headless Chromium, the way the browser tests do, and times navigation until the
/// timeline's rows are rendered (app.js sets data-ready on the document once it has drawn them).
/// </summary>
internal static class UiTiming
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static async Task<IReadOnlyList<Latencies>> MeasureAsync(AlmanacApi api, IReadOnlyList<int> sizes, int repeats)
    {
        if (sizes.Count == 0)
        {
            return [];
        }

        if (!File.Exists(ChromiumPath))
        {
            Console.Error.WriteLine($"  skipping UI timings: no Chromium at {ChromiumPath} (apt-get install chromium)");
            return [];
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });

        var results = new List<Latencies>();
        foreach (var size in sizes)
        {
            Console.Error.WriteLine($"  storing a {size:N0}-span trace for the UI");
            var posting = Stopwatch.StartNew();
            var traceId = await api.StoreBigTraceAsync(size);
            var stored = posting.Elapsed;
            var ms = new List<double>();
            for (var i = 0; i < repeats; i++)
            {
                // A fresh context each time: no cached model or script, as a user opening a shared link.
                await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
                {
                    BaseURL = api.Ui.ToString(),
                    ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
                });
                context.SetDefaultTimeout(600_000);
                var page = await context.NewPageAsync();
                var watch = Stopwatch.StartNew();
                await page.GotoAsync($"/trace/{traceId}", new PageGotoOptions { Timeout = 600_000 });
                await page.WaitForFunctionAsync("() => document.documentElement.dataset.ready === 'true'", null, new PageWaitForFunctionOptions { Timeout = 600_000 });
                await page.Locator("#timeline-body .tl-row").First.WaitForAsync();
                ms.Add(watch.Elapsed.TotalMilliseconds);
                var rows = await page.Locator("#timeline-body").GetAttributeAsync("data-rows");
                if (rows != size.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    throw new InvalidOperationException($"the {size}-span trace page shows {rows} rows");
                }
            }

            results.Add(new Latencies($"open a {size:N0}-span trace", ms, $"stored in {stored.TotalSeconds:F1} s"));
        }

        return results;
    }
}
