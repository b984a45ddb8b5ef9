using Almanac.Core.Model;
using Almanac.Server.Tests.EndToEnd;
using Almanac.Testing;
using Google.Protobuf;
using Microsoft.Playwright;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Browser;

/// <summary>
/// One real almanac process and one headless Chromium (Debian's, /usr/bin/chromium — .ci/run installs it; the
/// Playwright driver ships in its NuGet package and no browser is ever downloaded) for the browser tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public AlmanacProcess Almanac { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public static string ScreenshotDir => Path.Combine(AlmanacProcess.RepositoryRoot, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            await InstallChromiumAsync();
        }

        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"Browser tests need Debian's Chromium at {ChromiumPath}: apt-get install -y chromium (.ci/run does this).");
        }

        Almanac = await AlmanacProcess.StartAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        Directory.CreateDirectory(ScreenshotDir);
    }

    /// <summary>
    /// The README's test command must pass on a fresh machine that has only the .NET SDK: as root on Debian, fetch
    /// the browser the same way .ci/run does. Anywhere else the caller gets the clear message above instead.
    /// </summary>
    private static async Task InstallChromiumAsync()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
        {
            return;
        }

        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var install = System.Diagnostics.Process.Start(psi)!;
        var stdout = install.StandardOutput.ReadToEndAsync();
        var stderr = install.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await install.WaitForExitAsync(timeout.Token);
        await Task.WhenAll(stdout, stderr);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (Almanac is not null)
        {
            await Almanac.DisposeAsync();
        }

        Http.Dispose();
    }

    /// <summary>A page in a fresh browser context; <paramref name="timezoneId"/> sets the browser's time zone (IANA name).</summary>
    public async Task<IPage> NewPageAsync(string? timezoneId = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Almanac.UiEndpoint.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
            ColorScheme = ColorScheme.Light,
            TimezoneId = timezoneId,
        });
        // Generous bounds, not timings: CI runs every test assembly at once on two cores, and a page waiting on a
        // starved server must not fail a test whose assertions would hold a moment later.
        context.SetDefaultTimeout(90_000);
        context.SetDefaultNavigationTimeout(90_000);
        Assertions.SetDefaultExpectTimeout(90_000);
        return await context.NewPageAsync();
    }

    /// <summary>One export request, one ResourceSpans per service.</summary>
    private static ExportTraceServiceRequest Request(IEnumerable<(string Service, Span Span)> spans)
    {
        var request = new ExportTraceServiceRequest();
        foreach (var group in spans.GroupBy(s => s.Service))
        {
            var scopeSpans = new ScopeSpans { Scope = TestData.CreateScope("web.tests", "1.0") };
            scopeSpans.Spans.Add(group.Select(g => g.Span));
            var resourceSpans = new ResourceSpans { Resource = TestData.CreateResource(group.Key) };
            resourceSpans.ScopeSpans.Add(scopeSpans);
            request.ResourceSpans.Add(resourceSpans);
        }

        return request;
    }

    /// <summary>Posts spans over OTLP/HTTP protobuf, one ResourceSpans per service, and waits until the trace is queryable.</summary>
    public async Task PostAsync(TraceId traceId, IEnumerable<(string Service, Span Span)> spans, int expectedSpans)
    {
        using var response = await Http.PostAsync(new Uri(Almanac.HttpEndpoint, "/v1/traces"), OtlpRequests.Protobuf(Request(spans)));
        response.EnsureSuccessStatusCode();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var get = await Http.GetAsync(new Uri(Almanac.UiEndpoint, "/api/traces/" + traceId.ToHex()));
            if (get.IsSuccessStatusCode)
            {
                var body = await get.Content.ReadAsStringAsync();
                if (CountOccurrences(body, "\"spanID\"") >= expectedSpans)
                {
                    return;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"trace {traceId.ToHex()} did not become queryable");
    }

    /// <summary>Posts a big trace in batches and waits until the trace page's model holds every span.</summary>
    public async Task PostManyAsync(TraceId traceId, IReadOnlyList<(string Service, Span Span)> spans, int batchSize)
    {
        for (var i = 0; i < spans.Count; i += batchSize)
        {
            using var response = await Http.PostAsync(new Uri(Almanac.HttpEndpoint, "/v1/traces"), OtlpRequests.Protobuf(Request(spans.Skip(i).Take(batchSize))));
            response.EnsureSuccessStatusCode();
        }

        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (DateTime.UtcNow < deadline)
        {
            using var get = await Http.GetAsync(new Uri(Almanac.UiEndpoint, "/trace/" + traceId.ToHex() + "/model"));
            if (get.IsSuccessStatusCode)
            {
                using var model = System.Text.Json.JsonDocument.Parse(await get.Content.ReadAsStreamAsync());
                if (model.RootElement.GetProperty("spanCount").GetInt32() >= spans.Count)
                {
                    return;
                }
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"trace {traceId.ToHex()} did not become queryable");
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    public static TraceId RandomTraceId() =>
        new((ulong)Random.Shared.NextInt64(1, long.MaxValue), (ulong)Random.Shared.NextInt64(1, long.MaxValue));

    public static long NowNanos() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public static ByteString Bytes(TraceId id) => ByteString.CopyFrom(id.ToBytes());
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
