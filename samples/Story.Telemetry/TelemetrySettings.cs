using Microsoft.Extensions.Configuration;
using OpenTelemetry.Context.Propagation;

namespace Story.Telemetry;

/// <summary>Where each signal goes, per <c>OTEL_TRACES_EXPORTER</c>, <c>OTEL_METRICS_EXPORTER</c>, <c>OTEL_LOGS_EXPORTER</c>.</summary>
[Flags]
public enum Exporters
{
    None = 0,
    Otlp = 1,
    Console = 2,
}

/// <summary>
/// The OpenTelemetry environment variables the SDK itself does not act on: exporter selection and propagators.
/// (Endpoint, protocol, headers, batch and metric-reader settings, service name and resource attributes are
/// read by the SDK from the same configuration.)
/// </summary>
public sealed record TelemetrySettings(Exporters Traces, Exporters Metrics, Exporters Logs, TextMapPropagator Propagator, IReadOnlyList<string> Warnings)
{
    public static TelemetrySettings From(IConfiguration configuration)
    {
        var warnings = new List<string>();
        return new TelemetrySettings(
            ParseExporters("OTEL_TRACES_EXPORTER", configuration["OTEL_TRACES_EXPORTER"], warnings),
            ParseExporters("OTEL_METRICS_EXPORTER", configuration["OTEL_METRICS_EXPORTER"], warnings),
            ParseExporters("OTEL_LOGS_EXPORTER", configuration["OTEL_LOGS_EXPORTER"], warnings),
            ParsePropagators(configuration["OTEL_PROPAGATORS"], warnings),
            warnings);
    }

    /// <summary>Comma-separated <c>otlp</c>, <c>console</c> or <c>none</c>; empty means <c>otlp</c>, the specification's
    /// default. Unknown names are skipped with a warning (the specification says not to fail).</summary>
    public static Exporters ParseExporters(string variable, string? value, ICollection<string> warnings)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Exporters.Otlp;
        }

        var result = Exporters.None;
        foreach (var name in Split(value))
        {
            switch (name)
            {
                case "otlp":
                    result |= Exporters.Otlp;
                    break;
                case "console":
                    result |= Exporters.Console;
                    break;
                case "none":
                    break;
                default:
                    warnings.Add($"{variable}: unknown exporter '{name}' ignored (known: otlp, console, none)");
                    break;
            }
        }

        return result;
    }

    /// <summary>Comma-separated <c>tracecontext</c>, <c>baggage</c>, <c>b3</c>, <c>b3multi</c> or <c>none</c>; empty means
    /// <c>tracecontext,baggage</c>. The result is always a composite so that instrumentation injects with it.</summary>
    public static TextMapPropagator ParsePropagators(string? value, ICollection<string> warnings)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            value = "tracecontext,baggage";
        }

        var propagators = new List<TextMapPropagator>();
        var seen = new HashSet<string>();
        foreach (var name in Split(value))
        {
            if (!seen.Add(name))
            {
                continue;
            }

            switch (name)
            {
                case "tracecontext":
                    propagators.Add(new TraceContextPropagator());
                    break;
                case "baggage":
                    propagators.Add(new BaggagePropagator());
                    break;
                case "b3":
                    propagators.Add(new B3Propagator(singleHeader: true));
                    break;
                case "b3multi":
                    propagators.Add(new B3Propagator(singleHeader: false));
                    break;
                case "none":
                    break;
                default:
                    warnings.Add($"OTEL_PROPAGATORS: unknown propagator '{name}' ignored (known: tracecontext, baggage, b3, b3multi, none)");
                    break;
            }
        }

        return new CompositeTextMapPropagator(propagators);
    }

    private static IEnumerable<string> Split(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => n.ToLowerInvariant());
}
