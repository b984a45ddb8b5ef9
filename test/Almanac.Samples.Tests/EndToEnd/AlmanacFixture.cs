using Almanac.Server.Tests.EndToEnd;

namespace Almanac.Samples.Tests.EndToEnd;

/// <summary>One real Almanac shared by a test class; each test uses its own service names.</summary>
public sealed class AlmanacFixture : IAsyncLifetime
{
    private AlmanacProcess? _almanac;

    public AlmanacProcess Almanac => _almanac ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _almanac = await AlmanacProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_almanac is not null)
        {
            await _almanac.DisposeAsync();
        }
    }

    /// <summary>The OTEL_* environment of a sample exporting traces to this Almanac, quickly.</summary>
    public Dictionary<string, string> TelemetryEnvironment(string protocol = "grpc", string? propagators = null, string? serviceName = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = (protocol == "grpc" ? Almanac.GrpcEndpoint : Almanac.HttpEndpoint).ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            // Metrics are stored and checked (DiceMetricsTests); logs go to its OTLP port and are refused, silently.
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        };
        if (propagators is not null)
        {
            environment["OTEL_PROPAGATORS"] = propagators;
        }

        if (serviceName is not null)
        {
            environment["OTEL_SERVICE_NAME"] = serviceName;
        }

        return environment;
    }
}
