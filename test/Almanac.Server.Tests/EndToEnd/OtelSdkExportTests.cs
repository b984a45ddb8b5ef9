using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using static Almanac.Server.Tests.EndToEnd.JaegerJson;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>The OpenTelemetry .NET SDK's own OTLP exporter, pointed at a running Almanac, as a user would.</summary>
public sealed class OtelSdkExportTests
{
    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task OtlpExporter_SendsTrace_ReadableThroughJaegerApiWithTypesKept(OtlpExportProtocol protocol)
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var service = $"e2e-{protocol}".ToLowerInvariant();
        var sourceName = $"Almanac.E2E.{protocol}";
        string traceId;

        using (var tracerProvider = Sdk.CreateTracerProviderBuilder()
            .AddSource(sourceName)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(service, serviceVersion: "0.1.0"))
            .AddOtlpExporter(o =>
            {
                o.Protocol = protocol;
                o.Endpoint = protocol == OtlpExportProtocol.Grpc ? almanac.GrpcEndpoint : new Uri(almanac.HttpEndpoint, "/v1/traces");
                o.ExportProcessorType = ExportProcessorType.Simple;
            })
            .Build())
        {
            using var source = new ActivitySource(sourceName, "1.2.3");
            using (var serverActivity = source.StartActivity("GET /rolldice", ActivityKind.Server)!)
            {
                traceId = serverActivity.TraceId.ToHexString();
                using var rolling = source.StartActivity("rolling dice")!;
                rolling.SetTag("roll.value", 4);
                rolling.SetTag("cached", true);
                rolling.SetTag("ratio", 0.25);
                rolling.SetTag("player", "ada");
                rolling.AddEvent(new ActivityEvent("simulating a call to slow api", tags: new ActivityTagsCollection { ["attempt"] = 1 }));
                rolling.SetStatus(ActivityStatusCode.Error, "slow api timed out");
            }

            Assert.True(tracerProvider.ForceFlush(10_000));
        }

        using var query = new QueryClient(almanac.UiEndpoint);
        var trace = await query.WaitForTraceAsync(traceId, minSpans: 2);

        Assert.Equal(traceId, trace.GetProperty("traceID").GetString());
        var root = Span(trace, "GET /rolldice");
        var child = Span(trace, "rolling dice");
        Assert.Equal(service, ServiceOf(trace, root));
        Assert.Equal("server", Tag(root, "span.kind").GetProperty("value").GetString());

        var reference = Assert.Single(child.GetProperty("references").EnumerateArray());
        Assert.Equal("CHILD_OF", reference.GetProperty("refType").GetString());
        Assert.Equal(root.GetProperty("spanID").GetString(), reference.GetProperty("spanID").GetString());

        var roll = Tag(child, "roll.value");
        Assert.Equal("int64", roll.GetProperty("type").GetString());
        Assert.Equal(4, roll.GetProperty("value").GetInt64());
        Assert.Equal("bool", Tag(child, "cached").GetProperty("type").GetString());
        Assert.True(Tag(child, "cached").GetProperty("value").GetBoolean());
        Assert.Equal("float64", Tag(child, "ratio").GetProperty("type").GetString());
        Assert.Equal(0.25, Tag(child, "ratio").GetProperty("value").GetDouble());
        Assert.Equal("ada", Tag(child, "player").GetProperty("value").GetString());
        Assert.True(Tag(child, "error").GetProperty("value").GetBoolean());
        Assert.Equal("ERROR", Tag(child, "otel.status_code").GetProperty("value").GetString());
        Assert.Equal("slow api timed out", Tag(child, "otel.status_description").GetProperty("value").GetString());
        Assert.Equal(sourceName, Tag(child, "otel.scope.name").GetProperty("value").GetString());
        Assert.Equal("1.2.3", Tag(child, "otel.scope.version").GetProperty("value").GetString());

        var log = Assert.Single(child.GetProperty("logs").EnumerateArray());
        Assert.Contains(log.GetProperty("fields").EnumerateArray(), f => f.GetProperty("value").ToString() == "simulating a call to slow api");

        // Search finds it too, by service and by an int attribute written as text.
        var (_, search) = await query.GetAsync($"/api/traces?service={service}&tags=%7B%22roll.value%22%3A%224%22%7D&lookback=1h");
        Assert.Equal(traceId, Assert.Single(search!.RootElement.GetProperty("data").EnumerateArray()).GetProperty("traceID").GetString());
        var (_, services) = await query.GetAsync("/api/services");
        Assert.Contains(service, services!.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }
}
