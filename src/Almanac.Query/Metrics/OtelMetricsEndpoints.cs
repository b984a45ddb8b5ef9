using System.Text.Json;
using Almanac.Core.Metrics;
using Almanac.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Almanac.Query.Metrics;

/// <summary>
/// Almanac's own JSON API for OTLP metrics: the metric list and one metric's series. Not under <c>/api/metrics</c>,
/// which Jaeger's Monitor tab owns (calls, errors, latencies). Needs <see cref="IMetricReader"/> in DI.
/// </summary>
public static class OtelMetricsEndpoints
{
    private const long Ms = 1_000_000;

    public static IEndpointRouteBuilder MapOtelMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/otel-metrics", ListAsync);
        app.MapGet("/api/otel-metrics/series", SeriesAsync);
        return app;
    }

    private static Task ListAsync(HttpContext context) => RunAsync(context, async ct =>
    {
        var service = context.Request.Query["service"].ToString();
        var reader = Reader(context);
        var services = await reader.GetMetricServicesAsync(ct);
        var metrics = await reader.GetMetricsAsync(service.Length == 0 ? null : service, ct);
        return (StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("services");
            foreach (var s in services)
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
            w.WriteStartArray("metrics");
            foreach (var m in metrics)
            {
                WriteMetric(w, m);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    });

    private static Task SeriesAsync(HttpContext context) => RunAsync(context, async ct =>
    {
        var clock = context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        var now = (clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        var query = MetricChartQuery.Parse(context.Request.Query, now);
        var chart = await query.RunAsync(Reader(context), ct);
        if (chart is null)
        {
            return (StatusCodes.Status404NotFound, w => WriteError(w, StatusCodes.Status404NotFound, "metric not found for this service"));
        }

        return (StatusCodes.Status200OK, w => WriteChart(w, chart));
    });

    /// <summary>The chart as JSON; the web page's script reads exactly this.</summary>
    public static void WriteChart(Utf8JsonWriter w, MetricChart chart)
    {
        w.WriteStartObject();
        w.WritePropertyName("metric");
        WriteMetric(w, chart.Metric);
        w.WriteString("kind", chart.Result.Kind);
        w.WriteNumber("start", chart.Query.StartUnixNano / Ms);
        w.WriteNumber("end", chart.Query.EndUnixNano / Ms);
        w.WriteNumber("step", chart.Query.StepNanos / Ms);
        w.WriteStartArray("groupBy");
        foreach (var key in chart.Query.GroupBy)
        {
            w.WriteStringValue(key);
        }

        w.WriteEndArray();
        w.WriteNumber("pointsRead", chart.PointsRead);
        w.WriteBoolean("truncated", chart.Result.Truncated || chart.PointsTruncated);
        w.WriteStartArray("groups");
        foreach (var group in chart.Result.Groups)
        {
            w.WriteStartObject();
            w.WriteStartObject("labels");
            foreach (var (key, value) in group.Labels)
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            w.WriteStartArray("lines");
            foreach (var line in group.Lines)
            {
                w.WriteStartObject();
                w.WriteString("name", line.Name);
                w.WriteStartArray("points");
                foreach (var p in line.Points)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(p.TimeUnixNano / Ms);
                    WriteNumber(w, p.Value);
                    w.WriteEndArray();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (group.Increase is { } increase)
            {
                w.WritePropertyName("increase");
                WriteNumber(w, increase);
            }

            w.WriteStartArray("exemplars");
            foreach (var e in group.Exemplars)
            {
                w.WriteStartObject();
                w.WriteNumber("time", e.TimeUnixNano / Ms);
                w.WritePropertyName("value");
                WriteNumber(w, e.Value);
                w.WriteString("traceId", e.TraceId);
                w.WriteString("spanId", e.SpanId);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteMetric(Utf8JsonWriter w, MetricInfo m)
    {
        w.WriteStartObject();
        w.WriteString("service", m.ServiceName);
        w.WriteString("name", m.Name);
        w.WriteString("type", MetricChartQuery.TypeName(m.Type));
        w.WriteString("unit", m.Unit);
        w.WriteString("description", m.Description);
        w.WriteString("temporality", m.Temporality switch
        {
            MetricTemporality.Delta => "delta",
            MetricTemporality.Cumulative => "cumulative",
            _ => "unspecified",
        });
        w.WriteBoolean("monotonic", m.IsMonotonic);
        w.WriteNumber("lastSeen", m.LastSeenUnixNano / Ms);
        w.WriteEndObject();
    }

    /// <summary>JSON has no NaN or infinity; such values (a NaN gauge, an empty bucket's percentile) become null.</summary>
    private static void WriteNumber(Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumberValue(value);
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void WriteError(Utf8JsonWriter w, int status, string message)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteNumber("httpCode", status);
        w.WriteString("message", message);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static IMetricReader Reader(HttpContext context) => context.RequestServices.GetRequiredService<IMetricReader>();

    private static async Task RunAsync(HttpContext context, Func<CancellationToken, Task<(int Status, Action<Utf8JsonWriter> Write)>> handler)
    {
        var ct = context.RequestAborted;
        int status;
        Action<Utf8JsonWriter> write;
        try
        {
            (status, write) = await handler(ct);
        }
        catch (MetricQueryException e)
        {
            status = StatusCodes.Status400BadRequest;
            write = w => WriteError(w, StatusCodes.Status400BadRequest, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(OtelMetricsEndpoints).FullName!)
                .LogError(e, "Metrics API request {Path} failed", context.Request.Path);
            status = StatusCodes.Status500InternalServerError;
            write = w => WriteError(w, StatusCodes.Status500InternalServerError, "internal error while reading metrics");
        }

        // Built in memory first so a failure while writing can still become a proper error response.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(16 * 1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, ct);
    }
}
