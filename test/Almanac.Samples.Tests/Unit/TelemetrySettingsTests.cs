using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry;
using Story.Telemetry;

namespace Almanac.Samples.Tests.Unit;

public sealed class TelemetrySettingsTests
{
    [Theory]
    [InlineData(null, Exporters.Otlp)]
    [InlineData("", Exporters.Otlp)]
    [InlineData("otlp", Exporters.Otlp)]
    [InlineData("console", Exporters.Console)]
    [InlineData(" Console ", Exporters.Console)]
    [InlineData("none", Exporters.None)]
    [InlineData("otlp,console", Exporters.Otlp | Exporters.Console)]
    public void Exporters_AreParsed(string? value, Exporters expected)
    {
        var warnings = new List<string>();
        Assert.Equal(expected, TelemetrySettings.ParseExporters("OTEL_TRACES_EXPORTER", value, warnings));
        Assert.Empty(warnings);
    }

    [Fact]
    public void UnknownExporter_IsIgnoredWithAWarning()
    {
        var warnings = new List<string>();
        Assert.Equal(Exporters.Console, TelemetrySettings.ParseExporters("OTEL_LOGS_EXPORTER", "zipkin,console", warnings));
        Assert.Contains("zipkin", Assert.Single(warnings));
    }

    [Fact]
    public void Settings_ReadEachSignalsVariable()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_TRACES_EXPORTER"] = "console",
            ["OTEL_METRICS_EXPORTER"] = "none",
            ["OTEL_PROPAGATORS"] = "b3",
        }).Build();

        var settings = TelemetrySettings.From(configuration);

        Assert.Equal(Exporters.Console, settings.Traces);
        Assert.Equal(Exporters.None, settings.Metrics);
        Assert.Equal(Exporters.Otlp, settings.Logs);
        Assert.Equal(["b3"], InjectedHeaderNames(settings.Propagator));
    }

    [Theory]
    [InlineData(null, new[] { "traceparent" })]
    [InlineData("tracecontext,baggage", new[] { "traceparent" })]
    [InlineData("tracecontext", new[] { "traceparent" })]
    [InlineData("b3multi", new[] { "X-B3-Sampled", "X-B3-SpanId", "X-B3-TraceId" })]
    [InlineData("b3", new[] { "b3" })]
    [InlineData("tracecontext, b3multi", new[] { "traceparent", "X-B3-Sampled", "X-B3-SpanId", "X-B3-TraceId" })]
    [InlineData("none", new string[0])]
    public void Propagators_InjectTheirHeaders(string? value, string[] expected)
    {
        var warnings = new List<string>();
        var propagator = TelemetrySettings.ParsePropagators(value, warnings);
        Assert.IsType<CompositeTextMapPropagator>(propagator);
        Assert.Equal(expected.Order(StringComparer.OrdinalIgnoreCase), InjectedHeaderNames(propagator));
        Assert.Empty(warnings);
    }

    [Fact]
    public void Propagators_B3Multi_DoesNotReadTraceparent()
    {
        var propagator = TelemetrySettings.ParsePropagators("b3multi", new List<string>());
        var headers = new Dictionary<string, string> { ["traceparent"] = "00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-01" };
        var context = propagator.Extract(default, headers, (h, name) => h.TryGetValue(name, out var v) ? [v] : null);
        Assert.False(context.ActivityContext.IsValid());
    }

    [Fact]
    public void Propagators_TraceContextThenB3_ReadsWhicheverIsThere()
    {
        var propagator = TelemetrySettings.ParsePropagators("tracecontext,b3multi", new List<string>());
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["X-B3-TraceId"] = "463ac35c9f6413ad48485a3953bb6124",
            ["X-B3-SpanId"] = "a2fb4a1d1a96d312",
            ["X-B3-Sampled"] = "1",
        };
        var context = propagator.Extract(default, headers, (h, name) => h.TryGetValue(name, out var v) ? [v] : null);
        Assert.Equal("463ac35c9f6413ad48485a3953bb6124", context.ActivityContext.TraceId.ToHexString());
    }

    [Fact]
    public void UnknownPropagator_IsIgnoredWithAWarning()
    {
        var warnings = new List<string>();
        var propagator = TelemetrySettings.ParsePropagators("xray,b3multi", warnings);
        Assert.Contains("xray", Assert.Single(warnings));
        Assert.Contains("X-B3-TraceId", InjectedHeaderNames(propagator));
    }

    [Theory]
    [InlineData("500", 500)]
    [InlineData(null, null)]
    [InlineData("0", null)]
    [InlineData("soon", null)]
    public void MetricExportInterval_IsRead(string? value, int? expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_METRIC_EXPORT_INTERVAL"] = value }).Build();
        Assert.Equal(expected, StoryTelemetry.MetricExportInterval(configuration));
    }

    private static string[] InjectedHeaderNames(TextMapPropagator propagator)
    {
        var context = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        var headers = new Dictionary<string, string>();
        propagator.Inject(new PropagationContext(context, default), headers, (h, name, value) => h[name] = value);
        return headers.Keys.Order(StringComparer.OrdinalIgnoreCase).ToArray();
    }
}
