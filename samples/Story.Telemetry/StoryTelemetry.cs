using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Story.Telemetry;

/// <summary>
/// The one OpenTelemetry set-up both sample services share — the C# counterpart of the talk's <c>setupOTelSDK</c>:
/// a tracer, a meter and a logger provider with exporters chosen by the standard <c>OTEL_*</c> variables, and the
/// propagators of <c>OTEL_PROPAGATORS</c>. The providers belong to the host, so stopping the host (Ctrl-C, SIGTERM)
/// shuts them down, and shutting down flushes every batch still waiting to be exported.
/// </summary>
public static class StoryTelemetry
{
    /// <summary>Paths answered for readiness checks; they are not traced.</summary>
    public const string HealthPath = "/healthz";

    public static TelemetrySettings AddStoryTelemetry(this WebApplicationBuilder builder, string serviceName, string serviceVersion, string instrumentationName)
    {
        var configuration = builder.Configuration;
        var settings = TelemetrySettings.From(configuration);
        foreach (var warning in settings.Warnings)
        {
            Console.Error.WriteLine("warning: " + warning);
        }

        // ASP.NET Core and HttpClient instrumentation use the SDK's default propagator for incoming and outgoing
        // requests. The runtime has its own (W3C) propagator too; silence its output so that with b3 only B3 is sent.
        Sdk.SetDefaultTextMapPropagator(settings.Propagator);
        DistributedContextPropagator.Current = DistributedContextPropagator.CreateNoOutputPropagator();

        // Plain console logs carry the trace and span ids as well, so they can be matched with traces by eye.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.IncludeScopes = true;
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        // The framework's per-request chatter hides the story's own lines; Logging__LogLevel__... brings it back.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);

        var otel = builder.Services.AddOpenTelemetry()
            // Our name and version first, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, which win.
            .ConfigureResource(r => r.Clear()
                .AddService(serviceName, serviceVersion: serviceVersion)
                .AddTelemetrySdk()
                .AddEnvironmentVariableDetector());

        otel.WithTracing(tracing =>
        {
            tracing.AddSource(instrumentationName)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments(HealthPath))
                .AddHttpClientInstrumentation();
            if (settings.Traces.HasFlag(Exporters.Otlp))
            {
                tracing.AddOtlpExporter();
            }

            if (settings.Traces.HasFlag(Exporters.Console))
            {
                tracing.AddConsoleExporter();
            }
        });

        if (settings.Metrics != Exporters.None)
        {
            var interval = MetricExportInterval(configuration);
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(instrumentationName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (settings.Metrics.HasFlag(Exporters.Otlp))
                {
                    metrics.AddOtlpExporter((_, reader) =>
                    {
                        if (interval is { } ms)
                        {
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = ms;
                        }
                    });
                }

                if (settings.Metrics.HasFlag(Exporters.Console))
                {
                    metrics.AddConsoleExporter((_, reader) =>
                    {
                        if (interval is { } ms)
                        {
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = ms;
                        }
                    });
                }
            });
        }

        if (settings.Logs != Exporters.None)
        {
            otel.WithLogging(
                logging =>
                {
                    if (settings.Logs.HasFlag(Exporters.Otlp))
                    {
                        logging.AddOtlpExporter();
                    }

                    if (settings.Logs.HasFlag(Exporters.Console))
                    {
                        logging.AddConsoleExporter();
                    }
                },
                options =>
                {
                    options.IncludeFormattedMessage = true;
                    options.IncludeScopes = true;
                });
        }

        return settings;
    }

    /// <summary>Adds <c>GET /healthz</c> (untraced) for readiness checks.</summary>
    public static void MapHealth(this WebApplication app) => app.MapGet(HealthPath, () => Results.Text("ok\n"));

    /// <summary>
    /// W3C Trace Context Level 2's <c>traceresponse</c> header for the current request, so a caller (the story
    /// driver, the tests, curl -i) learns which trace its request became.
    /// </summary>
    public static void AddTraceResponseHeader(this HttpResponse response)
    {
        if (Activity.Current is { } activity)
        {
            response.Headers["traceresponse"] = $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-{(activity.Recorded ? "01" : "00")}";
        }
    }

    /// <summary><c>OTEL_METRIC_EXPORT_INTERVAL</c> in milliseconds, when set and valid.</summary>
    public static int? MetricExportInterval(IConfiguration configuration) =>
        int.TryParse(configuration["OTEL_METRIC_EXPORT_INTERVAL"], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? ms : null;
}
