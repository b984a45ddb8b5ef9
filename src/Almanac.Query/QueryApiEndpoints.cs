using System.Text.Json;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using Almanac.Query.ApiV3;
using Almanac.Query.Jaeger;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Almanac.Query;

/// <summary>
/// Jaeger's query HTTP API (the v1 JSON API that Jaeger UI and Grafana's Jaeger data source call, and api_v3's
/// OTLP/JSON gateway) over <see cref="ISpanReader"/>. Needs <see cref="ISpanReader"/> in DI; uses
/// <see cref="TimeProvider"/> from DI for "now" when registered, the system clock otherwise.
/// </summary>
public static class QueryApiEndpoints
{
    public static IEndpointRouteBuilder MapJaegerQueryApi(this IEndpointRouteBuilder app)
    {
        // Jaeger v1 (cmd/query/app/http_handler.go).
        app.MapGet("/api/services", GetServicesAsync);
        app.MapGet("/api/services/{service}/operations", GetOperationNamesAsync);
        app.MapGet("/api/operations", GetOperationsAsync);
        app.MapGet("/api/traces", SearchTracesAsync);
        app.MapGet("/api/traces/{traceID}", GetTraceAsync);
        app.MapGet("/api/dependencies", GetDependenciesAsync);
        app.MapGet("/api/metrics/calls", context => GetMetricsAsync(context, JaegerMetricKind.Calls));
        app.MapGet("/api/metrics/errors", context => GetMetricsAsync(context, JaegerMetricKind.Errors));
        app.MapGet("/api/metrics/latencies", context => GetMetricsAsync(context, JaegerMetricKind.Latencies));
        app.MapGet("/api/metrics/minstep", GetMinStepAsync);

        // api_v3 HTTP gateway (cmd/query/app/apiv3/http_gateway.go).
        app.MapGet("/api/v3/services", GetServicesV3Async);
        app.MapGet("/api/v3/operations", GetOperationsV3Async);
        app.MapGet("/api/v3/traces", FindTracesV3Async);
        app.MapGet("/api/v3/traces/{trace_id}", GetTraceV3Async);
        return app;
    }

    private static Task GetServicesAsync(HttpContext context) => RunV1(context, async (_, ct) =>
    {
        var services = await Reader(context).GetServicesAsync(ct);
        return (StatusCodes.Status200OK, w => JaegerResponses.WriteStrings(w, services));
    });

    private static Task GetOperationNamesAsync(HttpContext context) => RunV1(context, async (_, ct) =>
    {
        var service = RouteValue(context, "service");
        var operations = await Reader(context).GetOperationsAsync(service, null, ct);
        // The legacy route lists names only; the same name under several kinds appears once.
        var names = new List<string>(operations.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            if (seen.Add(operation.Name))
            {
                names.Add(operation.Name);
            }
        }

        return (StatusCodes.Status200OK, w => JaegerResponses.WriteStrings(w, names));
    });

    private static Task GetOperationsAsync(HttpContext context) => RunV1(context, async (_, ct) =>
    {
        var (service, kind) = ParseOperationsQuery(context.Request.Query, "service", "spanKind");
        var operations = await Reader(context).GetOperationsAsync(service, kind, ct);
        return (StatusCodes.Status200OK, w => JaegerResponses.WriteOperations(w, operations));
    });

    private static Task SearchTracesAsync(HttpContext context) => RunV1(context, async (now, ct) =>
    {
        var request = JaegerQueryParser.ParseSearch(context.Request.Query, now);
        var traces = new List<TraceData>();
        var missing = new List<TraceId>();
        if (request.TraceIds.Count > 0)
        {
            foreach (var id in request.TraceIds)
            {
                var trace = await Reader(context).GetTraceAsync(id, ct);
                if (trace is null)
                {
                    missing.Add(id);
                }
                else
                {
                    traces.Add(trace);
                }
            }
        }
        else
        {
            var ids = await Reader(context).FindTraceIdsAsync(request.Query, ct);
            traces.AddRange(await Reader(context).GetTracesAsync(ids, ct));
        }

        return (StatusCodes.Status200OK, w => JaegerResponses.WriteTraces(w, traces, missing));
    });

    private static Task GetTraceAsync(HttpContext context) => RunV1(context, async (_, ct) =>
    {
        var id = JaegerQueryParser.ParseGetTrace(RouteValue(context, "traceID"), context.Request.Query);
        var trace = await Reader(context).GetTraceAsync(id, ct);
        if (trace is null)
        {
            return (StatusCodes.Status404NotFound, w => JaegerResponses.WriteError(w, StatusCodes.Status404NotFound, "trace not found"));
        }

        return (StatusCodes.Status200OK, w => JaegerResponses.WriteTraces(w, [trace], []));
    });

    private static Task GetDependenciesAsync(HttpContext context) => RunV1(context, async (now, ct) =>
    {
        var (start, end) = JaegerQueryParser.ParseDependencies(context.Request.Query, now);
        var links = await Reader(context).GetDependenciesAsync(start, end, ct);
        var service = context.Request.Query["service"].ToString();
        IReadOnlyList<DependencyLink> result = links;
        if (service.Length > 0)
        {
            result = links.Where(l => l.Parent == service || l.Child == service).ToList();
        }

        return (StatusCodes.Status200OK, w => JaegerResponses.WriteDependencies(w, MergeDuplicates(result)));
    });

    /// <summary>Span-derived RED metrics for Jaeger UI's Monitor tab, computed from stored spans on each request.</summary>
    private static Task GetMetricsAsync(HttpContext context, JaegerMetricKind kind) => RunV1(context, async (now, ct) =>
    {
        var request = JaegerMetrics.Parse(kind, context.Request.Query, now);
        var series = await Reader(context).GetSpanMetricsAsync(request.ToStoreQuery(), ct);
        return (StatusCodes.Status200OK, w => JaegerMetrics.Write(w, request, series));
    });

    private static Task GetMinStepAsync(HttpContext context) => RunV1(context, (_, _) =>
        Task.FromResult<(int, Action<Utf8JsonWriter>)>((StatusCodes.Status200OK, JaegerMetrics.WriteMinStep)));

    private static Task GetServicesV3Async(HttpContext context) => RunV3(context, async ct =>
    {
        var services = await Reader(context).GetServicesAsync(ct);
        return (StatusCodes.Status200OK, w => ApiV3Responses.WriteServices(w, services));
    });

    private static Task GetOperationsV3Async(HttpContext context) => RunV3(context, async ct =>
    {
        var (service, kind) = ParseOperationsQuery(context.Request.Query, "service", "span_kind");
        var operations = await Reader(context).GetOperationsAsync(service, kind, ct);
        return (StatusCodes.Status200OK, w => ApiV3Responses.WriteOperations(w, operations));
    });

    private static Task FindTracesV3Async(HttpContext context) => RunV3(context, async ct =>
    {
        var query = ApiV3QueryParser.ParseFindTraces(context.Request.Query);
        var ids = await Reader(context).FindTraceIdsAsync(query, ct);
        var traces = await Reader(context).GetTracesAsync(ids, ct);

        // Jaeger's gateway answers an empty search with 404 "No traces found"; clients rely on that.
        if (traces.Count == 0)
        {
            return (StatusCodes.Status404NotFound, w => ApiV3Responses.WriteError(w, StatusCodes.Status404NotFound, "No traces found"));
        }

        var data = TracesDataBuilder.Build(traces);
        return (StatusCodes.Status200OK, w => ApiV3Responses.WriteTraces(w, data));
    });

    private static Task GetTraceV3Async(HttpContext context) => RunV3(context, async ct =>
    {
        var id = ApiV3QueryParser.ParseGetTrace(RouteValue(context, "trace_id"), context.Request.Query);
        var trace = await Reader(context).GetTraceAsync(id, ct);
        if (trace is null)
        {
            return (StatusCodes.Status404NotFound, w => ApiV3Responses.WriteError(w, StatusCodes.Status404NotFound, "trace not found"));
        }

        var data = TracesDataBuilder.Build([trace]);
        return (StatusCodes.Status200OK, w => ApiV3Responses.WriteTraces(w, data));
    });

    internal static (string Service, OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind? Kind) ParseOperationsQuery(
        IQueryCollection query, string serviceParameter, string kindParameter)
    {
        var service = query[serviceParameter].ToString();
        if (service.Length == 0)
        {
            throw new QueryParameterException($"parameter '{serviceParameter}' is required");
        }

        var kindText = query[kindParameter].ToString();
        if (!SpanKinds.TryParse(kindText, out var kind))
        {
            throw new QueryParameterException(
                $"unable to parse param '{kindParameter}': '{kindText}' is not one of server, client, producer, consumer, internal");
        }

        return (service, kind);
    }

    /// <summary>Jaeger sums links that share a parent and child (a store may report them per time bucket).</summary>
    private static List<DependencyLink> MergeDuplicates(IReadOnlyList<DependencyLink> links)
    {
        var merged = new Dictionary<(string, string), long>();
        var order = new List<(string, string)>();
        foreach (var link in links)
        {
            var key = (link.Parent, link.Child);
            if (merged.TryGetValue(key, out var count))
            {
                merged[key] = count + link.CallCount;
            }
            else
            {
                merged[key] = link.CallCount;
                order.Add(key);
            }
        }

        return order.ConvertAll(k => new DependencyLink(k.Item1, k.Item2, merged[k]));
    }

    private static string RouteValue(HttpContext context, string name)
    {
        var value = context.Request.RouteValues[name]?.ToString() ?? string.Empty;
        // Routing decodes everything except "/", which stays %2F inside a segment; Jaeger unescapes it.
        // Only that escape is undone: everything else is already decoded, and decoding twice would corrupt a '%'.
        return value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }

    private delegate Task<(int Status, Action<Utf8JsonWriter> Write)> V1Handler(long nowUnixNano, CancellationToken cancellationToken);

    private delegate Task<(int Status, Action<Utf8JsonWriter> Write)> V3Handler(CancellationToken cancellationToken);

    private static Task RunV1(HttpContext context, V1Handler handler) =>
        RunAsync(context, ct => handler(NowUnixNano(context), ct), JaegerResponses.WriteError);

    private static Task RunV3(HttpContext context, V3Handler handler) =>
        RunAsync(context, handler, ApiV3Responses.WriteError);

    /// <summary>Resolved only once the parameters parsed, so a bad request is answered without touching storage.</summary>
    private static ISpanReader Reader(HttpContext context) => context.RequestServices.GetRequiredService<ISpanReader>();

    /// <summary>
    /// Runs a handler and writes its JSON. Client mistakes become 400s in the API's error shape; store failures
    /// become logged 500s in the same shape, so clients always get JSON they can show.
    /// </summary>
    private static async Task RunAsync(
        HttpContext context,
        V3Handler handler,
        Action<Utf8JsonWriter, int, string> writeError)
    {
        var ct = context.RequestAborted;
        int status;
        Action<Utf8JsonWriter> write;
        try
        {
            (status, write) = await handler(ct);
        }
        catch (QueryParameterException e)
        {
            status = StatusCodes.Status400BadRequest;
            var message = e.Message;
            write = w => writeError(w, StatusCodes.Status400BadRequest, message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
            return;
        }
        catch (Exception e)
        {
            LogFailure(context, e);
            status = StatusCodes.Status500InternalServerError;
            write = w => writeError(w, StatusCodes.Status500InternalServerError, "internal error while reading traces");
        }

        await WriteJsonAsync(context, status, write, writeError);
    }

    private static async Task WriteJsonAsync(
        HttpContext context, int status, Action<Utf8JsonWriter> write, Action<Utf8JsonWriter, int, string> writeError)
    {
        // The whole document is built in memory before anything is sent, so a failure while rendering
        // (the OTLP/JSON writer, a malformed stored span) can still turn into a proper 500.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            using var writer = new Utf8JsonWriter(buffer, JaegerTraceWriter.JsonOptions);
            write(writer);
        }
        catch (Exception e)
        {
            LogFailure(context, e);
            status = StatusCodes.Status500InternalServerError;
            buffer.ResetWrittenCount();
            using var writer = new Utf8JsonWriter(buffer, JaegerTraceWriter.JsonOptions);
            writeError(writer, status, "internal error while rendering traces");
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void LogFailure(HttpContext context, Exception e)
    {
        var logger = context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(QueryApiEndpoints).FullName!);
        logger?.LogError(e, "Query API request {Path} failed", context.Request.Path);
    }

    private static long NowUnixNano(HttpContext context)
    {
        var clock = context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        return (clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    }
}
