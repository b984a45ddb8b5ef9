using System.Reflection;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Web.Components;
using Almanac.Web.Components.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Almanac.Web;

/// <summary>Wires the web UI into a host: services, then endpoints on the UI port's branch.</summary>
public static class AlmanacWebExtensions
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    public static IServiceCollection AddAlmanacWeb(this IServiceCollection services)
    {
        // Static SSR for pages; interactive server components where the UI talks back (the search form's filters).
        services.AddRazorComponents().AddInteractiveServerComponents();
        return services;
    }

    /// <summary>
    /// Maps the UI: <c>/</c> → <c>/search</c>, <c>/search</c>, <c>/trace/{id}</c>, its timeline model, the span-details fragment,
    /// <c>/lookup?id=</c>, <c>/logs</c> with <c>/logs/rows</c> (live tail) and <c>/api/logs</c>, the embedded assets under
    /// <c>/assets/</c>, Blazor's script and its circuit hub (<c>/_blazor</c>). The branch must use web sockets, routing and antiforgery.
    /// </summary>
    public static IEndpointRouteBuilder MapAlmanacWeb(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", () => Results.Redirect("/search"));

        // The top bar's trace-id box: valid ids go to their trace, anything else to a page that says so.
        endpoints.MapGet("/lookup", (string? id) =>
        {
            var text = id?.Trim() ?? string.Empty;
            return TraceId.TryParse(text, out var traceId) && !traceId.IsEmpty
                ? Results.Redirect("/trace/" + traceId.ToHex())
                : Results.Redirect("/trace/invalid");
        });

        endpoints.MapGet("/trace/{traceId}/span/{spanId}", (string traceId, string spanId) =>
            new RazorComponentResult<SpanDetailsFragment>(new { TraceIdText = traceId, SpanIdText = spanId }));

        // The timeline's data: the compact JSON model app.js renders (virtualised) for the trace page.
        endpoints.MapGet("/trace/{traceId}/model", async (string traceId, ISpanReader reader, HttpContext context) =>
        {
            if (!Model.TraceLinks.TryParse(traceId, out var id))
            {
                return Results.BadRequest("not a trace id");
            }

            var trace = await reader.GetTraceAsync(id, context.RequestAborted);
            if (trace is null || trace.Spans.Count == 0)
            {
                return Results.NotFound();
            }

            context.Response.Headers.CacheControl = "no-cache";
            return Results.Bytes(Model.TraceModel.ToUtf8Json(Model.TraceView.Build(trace)), "application/json");
        });

        // The search form's attribute value autocomplete: values a key had in recent traces.
        endpoints.MapGet("/search/values", async (string? service, string? key, ISpanReader reader, TimeProvider clock, HttpContext context) =>
        {
            if (string.IsNullOrEmpty(key))
            {
                return Results.BadRequest("key is required");
            }

            var now = clock.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;
            var values = await Model.AttributeValues.RecentAsync(reader, service, key, now, context.RequestAborted);
            context.Response.Headers.CacheControl = "no-cache";
            return Results.Json(new { key, values = values.Select(v => new { value = v.Value, count = v.Count }) });
        });

        // The search form's service list: trace counts per service over the form's lookback (or custom range).
        endpoints.MapGet("/search/counts", async (ISpanReader reader, TimeProvider clock, HttpContext context) =>
        {
            var form = Model.SearchForm.FromQueryString(context.Request.QueryString.Value ?? string.Empty);
            var window = new Model.SearchForm { Lookback = form.Lookback, Start = form.Start, End = form.End };
            if (!window.TryBuild(clock.GetUtcNow(), out var query, out var error))
            {
                return Results.BadRequest(error);
            }

            var counts = await Model.ServiceCounts.CountAsync(reader, query.StartTimeMinUnixNano, query.StartTimeMaxUnixNano, context.RequestAborted);
            context.Response.Headers.CacheControl = "no-cache";
            return Results.Json(new { counts = counts.Select(c => new { service = c.Service, count = c.Count, atLeast = c.AtLeast, label = Model.ServiceCounts.Label(c) }) });
        });

        // "Open file": parses an uploaded trace file (OTLP/JSON or Jaeger JSON) into the same model, with span
        // details included. Nothing is stored. The body is the raw file (not a form), so no antiforgery token applies:
        // the answer goes only to the page that sent the file.
        endpoints.MapPost("/open/model", async (HttpContext context) =>
        {
            // Trace files are bigger than export batches (a 100,000-span Jaeger JSON is tens of MB): own limit.
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = MaxOpenFileBytes;
            }

            if (context.Request.ContentLength > MaxOpenFileBytes)
            {
                return Results.Text(TooBig, "text/plain; charset=utf-8", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            using var body = new MemoryStream();
            try
            {
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return Results.Text(TooBig, "text/plain; charset=utf-8", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            try
            {
                var opened = Model.TraceFile.Read(body.GetBuffer().AsSpan(0, (int)body.Length));
                context.Response.Headers.CacheControl = "no-store";
                return Results.Bytes(Model.TraceModel.ToUtf8Json(Model.TraceView.Build(opened.Trace), details: true, opened.Notes), "application/json");
            }
            catch (FormatException ex)
            {
                return Results.Text(ex.Message, "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
            }
        });

        // The log search as JSON (documented in docs/api.md): the same parameters as the /logs page.
        endpoints.MapGet("/api/logs", async (ILogReader reader, TimeProvider clock, HttpContext context) =>
        {
            var result = await SearchLogsAsync(reader, clock, context);
            if (result.Error is not null)
            {
                return Results.Json(new { error = result.Error }, statusCode: StatusCodes.Status400BadRequest);
            }

            context.Response.Headers.CacheControl = "no-cache";
            return Results.Bytes(Model.LogJson.ToUtf8Json(result.Page!), "application/json");
        });

        // Live tail's polls: the newest matching rows as the page renders them (app.js skips ids it already shows).
        endpoints.MapGet("/logs/rows", async (ILogReader reader, TimeProvider clock, HttpContext context) =>
        {
            var result = await SearchLogsAsync(reader, clock, context);
            if (result.Error is not null)
            {
                return Results.Text(result.Error, "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
            }

            context.Response.Headers.CacheControl = "no-cache";
            return (IResult)new RazorComponentResult<LogRows>(new { Entries = result.Page!.Entries });
        });

        endpoints.MapGet("/assets/{name}", (string name, HttpContext context) =>
        {
            var extension = Path.GetExtension(name);
            if (!ContentTypes.TryGetValue(extension, out var contentType))
            {
                return Results.NotFound();
            }

            var stream = typeof(AlmanacWebExtensions).Assembly.GetManifestResourceStream("Almanac.Web.Assets." + name);
            if (stream is null)
            {
                return Results.NotFound();
            }

            context.Response.Headers.CacheControl = "no-cache";
            return Results.Stream(stream, contentType, enableRangeProcessing: false, lastModified: AssemblyTime);
        });

        // Blazor's own script, embedded from the framework's asset package at build time (see the csproj): the
        // framework only serves it through static web assets, which a packed tool and the tests' built dll lack.
        endpoints.MapGet("/_framework/blazor.web.js", (HttpContext context) =>
        {
            var stream = Assembly.GetManifestResourceStream("Almanac.Web.Framework.blazor.web.js");
            if (stream is null)
            {
                return Results.NotFound();
            }

            context.Response.Headers.CacheControl = "no-cache";
            return Results.Stream(stream, "text/javascript; charset=utf-8", enableRangeProcessing: false, lastModified: AssemblyTime);
        });

        endpoints.MapRazorComponents<App>().AddInteractiveServerRenderMode();

        // Anything else on the UI port: a plain 404 page pointing back to search (the API keeps plain 404s).
        endpoints.MapFallback(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            if (context.Request.Path.StartsWithSegments("/api"))
            {
                return Task.CompletedTask;
            }

            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.WriteAsync(NotFoundPage);
        });
        return endpoints;
    }

    private static async Task<(LogPage? Page, string? Error)> SearchLogsAsync(ILogReader reader, TimeProvider clock, HttpContext context)
    {
        var form = Model.LogSearchForm.FromQueryString(context.Request.QueryString.Value ?? string.Empty);
        if (!form.TryBuild(clock.GetUtcNow(), out var query, out var error))
        {
            return (null, error);
        }

        try
        {
            return (await reader.FindLogsAsync(query, context.RequestAborted), null);
        }
        catch (ArgumentException ex)
        {
            // An invalid regular expression or cursor from the user.
            return (null, ex.Message);
        }
    }

    /// <summary>Largest file "Open file" reads: it is parsed in memory, so this bounds what one upload can cost.</summary>
    public const long MaxOpenFileBytes = 64L * 1024 * 1024;

    private const string TooBig = "The file is larger than 64 MB, the most Open file reads.";

    private const string NotFoundPage = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Not found · Almanac</title><link rel="stylesheet" href="/assets/app.css"><script src="/assets/theme.js"></script></head>
        <body><header class="topbar"><a class="brand" href="/search"><span class="logo" aria-hidden="true"></span>Almanac</a></header>
        <main><div class="panel empty" id="page-not-found"><h1>Page not found</h1><p class="muted">There is nothing at this address.</p>
        <p><a href="/search">Search traces</a></p></div></main></body></html>
        """;

    private static readonly DateTimeOffset AssemblyTime =
        File.GetLastWriteTimeUtc(typeof(AlmanacWebExtensions).Assembly.Location) is var t && t.Year > 2000 ? new DateTimeOffset(t, TimeSpan.Zero) : DateTimeOffset.UnixEpoch;

    internal static Assembly Assembly => typeof(AlmanacWebExtensions).Assembly;
}
