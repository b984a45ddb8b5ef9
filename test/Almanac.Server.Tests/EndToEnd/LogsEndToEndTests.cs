using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Almanac.Core.Ingest;
using Almanac.Otlp.Json;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using LogRecord = OpenTelemetry.Proto.Logs.V1.LogRecord;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>OTLP logs into a running Almanac (the .NET SDK's ILogger exporter, hand-built requests) and back out of /api/logs.</summary>
public sealed class LogsEndToEndTests
{
    private static byte[] Fixture(params string[] path) => File.ReadAllBytes(Path.Combine([AppContext.BaseDirectory, "Fixtures", .. path]));

    /// <summary>Polls /api/logs until it returns at least <paramref name="min"/> records.</summary>
    private static async Task<JsonElement[]> WaitForLogsAsync(QueryClient query, string pathAndQuery, int min = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var (status, body) = await query.GetAsync(pathAndQuery);
            Assert.Equal(HttpStatusCode.OK, status);
            var logs = body!.RootElement.GetProperty("logs").EnumerateArray().Select(e => e.Clone()).ToArray();
            if (logs.Length >= min)
            {
                return logs;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{pathAndQuery}: {logs.Length} record(s), expected {min}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>One /api/logs record as the OTLP request it would have come in, so the OTLP/JSON reader checks every field.</summary>
    private static LogRecordParts Parse(JsonElement entry)
    {
        var request = new JsonObject
        {
            ["resourceLogs"] = new JsonArray(new JsonObject
            {
                ["resource"] = JsonNode.Parse(entry.GetProperty("resource").GetRawText()),
                ["schemaUrl"] = entry.GetProperty("resourceSchemaUrl").GetString(),
                ["scopeLogs"] = new JsonArray(new JsonObject
                {
                    ["scope"] = JsonNode.Parse(entry.GetProperty("scope").GetRawText()),
                    ["schemaUrl"] = entry.GetProperty("scopeSchemaUrl").GetString(),
                    ["logRecords"] = new JsonArray(JsonNode.Parse(entry.GetProperty("logRecord").GetRawText())),
                }),
            }),
        };
        var parsed = OtlpJson.ParseLogsRequest(Encoding.UTF8.GetBytes(request.ToJsonString()));
        var resourceLogs = parsed.ResourceLogs[0];
        return new LogRecordParts(resourceLogs.Resource, resourceLogs.ScopeLogs[0].Scope, resourceLogs.ScopeLogs[0].LogRecords[0]);
    }

    private sealed record LogRecordParts(OpenTelemetry.Proto.Resource.V1.Resource Resource, InstrumentationScope Scope, LogRecord Record);

    private static AnyValue Attribute(LogRecord record, string key) => record.Attributes.Single(a => a.Key == key).Value;

    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task OtelSdkLogger_InsideActivity_ReadBackWithTypesAndTraceContext(OtlpExportProtocol protocol)
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        var service = $"logs-{protocol}".ToLowerInvariant();
        var sourceName = $"Almanac.E2E.Logs.{protocol}";
        string traceId, spanId;

        var endpoint = protocol == OtlpExportProtocol.Grpc ? almanac.GrpcEndpoint : new Uri(almanac.HttpEndpoint, "/v1/logs");
        using (var tracerProvider = Sdk.CreateTracerProviderBuilder().AddSource(sourceName).Build())
        using (var loggerFactory = LoggerFactory.Create(builder => builder.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(service));
            o.AddOtlpExporter((exporter, processor) =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = endpoint;
                processor.ExportProcessorType = ExportProcessorType.Simple;
            });
        })))
        {
            var logger = loggerFactory.CreateLogger("Dice.Roller");
            using var source = new ActivitySource(sourceName);
            using (var activity = source.StartActivity("rolling dice")!)
            {
                traceId = activity.TraceId.ToHexString();
                spanId = activity.SpanId.ToHexString();
#pragma warning disable CA1848, CA2254 // the test is about what a plain ILogger call sends
                logger.LogWarning("Player {Player} rolled {Roll} (ratio {Ratio}, cached {Cached})", "ada", 6, 0.5, true);
#pragma warning restore CA1848, CA2254
            }

            logger.LogInformation("outside any activity");
        }

        using var query = new QueryClient(almanac.UiEndpoint);
        var logs = await WaitForLogsAsync(query, $"/api/logs?service={service}", min: 2);

        // Newest first: the record logged after the activity comes first.
        Assert.Equal(2, logs.Length);
        var outside = Parse(logs[0]).Record;
        Assert.True(outside.TraceId.IsEmpty);
        Assert.False(logs[0].GetProperty("logRecord").TryGetProperty("traceId", out _));

        var inside = Parse(logs[1]);
        var record = inside.Record;
        Assert.Equal(service, logs[1].GetProperty("service").GetString());
        Assert.Equal(SeverityNumber.Warn, record.SeverityNumber);
        Assert.Equal("Warning", record.SeverityText);
        Assert.Equal("Player {Player} rolled {Roll} (ratio {Ratio}, cached {Cached})", record.Body.StringValue);
        Assert.Equal(new AnyValue { StringValue = "ada" }, Attribute(record, "Player"));
        Assert.Equal(new AnyValue { IntValue = 6 }, Attribute(record, "Roll"));
        Assert.Equal(new AnyValue { DoubleValue = 0.5 }, Attribute(record, "Ratio"));
        Assert.Equal(new AnyValue { BoolValue = true }, Attribute(record, "Cached"));
        Assert.Equal(traceId, Convert.ToHexStringLower(record.TraceId.Span));
        Assert.Equal(spanId, Convert.ToHexStringLower(record.SpanId.Span));
        Assert.Equal("Dice.Roller", inside.Scope.Name);
        Assert.Contains(inside.Resource.Attributes, a => a.Key == "service.name" && a.Value.StringValue == service);

        // The same record by trace id, by span id, by text (any case), by an int attribute's text and by severity.
        foreach (var search in new[]
        {
            $"/api/logs?traceId={traceId}", $"/api/logs?spanId={spanId}", $"/api/logs?service={service}&q=PLAYER%20%7BPlayer%7D",
            $"/api/logs?service={service}&tags=Roll%3D6", $"/api/logs?service={service}&severity=warn",
            $"/api/logs?service={service}&q=rolled%20%5C%7BRoll%5C%7D%20%5C(&regex=1",
        })
        {
            var (status, body) = await query.GetAsync(search);
            Assert.Equal(HttpStatusCode.OK, status);
            var found = Assert.Single(body!.RootElement.GetProperty("logs").EnumerateArray());
            Assert.Equal(logs[1].GetProperty("id").GetString(), found.GetProperty("id").GetString());
        }
    }

    [Theory]
    [InlineData("logs.json")]
    [InlineData("events.json")]
    public async Task SpecExample_PostedAsJson_ComesBackExactlyAndSurvivesRestart(string fixture)
    {
        // The examples are from 2018: a long retention keeps them.
        await using var almanac = await AlmanacProcess.StartAsync(null, "--retention", "20000d");
        var body = Fixture("otlp-spec-examples", fixture);
        using (var http = new HttpClient { BaseAddress = almanac.HttpEndpoint })
        using (var response = await http.PostAsync(new Uri("/v1/logs", UriKind.Relative), OtlpRequests.Content(body, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var sent = LogsRequestFlattener.Flatten(OtlpJson.ParseLogsRequest(body)).Logs.Single();
        using var query = new QueryClient(almanac.UiEndpoint);
        var received = Parse((await WaitForLogsAsync(query, "/api/logs?lookback=all")).Single());
        Assert.Equal(sent.Record, received.Record);
        Assert.Equal(sent.Resource, received.Resource);
        Assert.Equal(sent.Scope, received.Scope);

        await almanac.RestartAsync();

        // A new client: the restart may have had to move to other ports (see AlmanacProcess.StartProcessAsync).
        using var queryAfter = new QueryClient(almanac.UiEndpoint);
        var afterRestart = Parse((await WaitForLogsAsync(queryAfter, "/api/logs?lookback=all")).Single());
        Assert.Equal(sent.Record, afterRestart.Record);
    }

    [Fact]
    public async Task KillMinus9_AfterAcknowledgedLogExports_EveryRecordSurvivesOnce()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        const int Exports = 20, PerExport = 50;
        for (var e = 0; e < Exports; e++)
        {
            var scopeLogs = new ScopeLogs { Scope = new InstrumentationScope { Name = "kill" } };
            for (var i = 0; i < PerExport; i++)
            {
                scopeLogs.LogRecords.Add(new LogRecord { TimeUnixNano = now + (ulong)((e * PerExport) + i), Body = new AnyValue { StringValue = $"record {e}/{i}" } });
            }

            var resourceLogs = new ResourceLogs { Resource = Almanac.Testing.TestData.CreateResource("kill-logs") };
            resourceLogs.ScopeLogs.Add(scopeLogs);
            var request = new ExportLogsServiceRequest();
            request.ResourceLogs.Add(resourceLogs);
            using var response = await http.PostAsync(new Uri("/v1/logs", UriKind.Relative), OtlpRequests.Protobuf(request));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // No waiting for the store: what was acknowledged is in the write-ahead log and must be replayed.
        await almanac.KillAndRestartAsync();

        using var query = new QueryClient(almanac.UiEndpoint);
        var logs = await WaitForLogsAsync(query, "/api/logs?service=kill-logs&limit=1000", min: Exports * PerExport);
        Assert.Equal(Exports * PerExport, logs.Length);
        Assert.Equal(Exports * PerExport, logs.Select(l => l.GetProperty("logRecord").GetProperty("body").GetProperty("stringValue").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task BadInput_Gets4xxAndHarmsNothingStored()
    {
        await using var almanac = await AlmanacProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = almanac.HttpEndpoint };
        using var query = new QueryClient(almanac.UiEndpoint);
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

        ExportLogsServiceRequest Request(params LogRecord[] records)
        {
            var scopeLogs = new ScopeLogs { Scope = new InstrumentationScope { Name = "bad-input" } };
            scopeLogs.LogRecords.Add(records);
            var resourceLogs = new ResourceLogs { Resource = Almanac.Testing.TestData.CreateResource("canary") };
            resourceLogs.ScopeLogs.Add(scopeLogs);
            var request = new ExportLogsServiceRequest();
            request.ResourceLogs.Add(resourceLogs);
            return request;
        }

        async Task<(HttpStatusCode, string)> Post(HttpContent content)
        {
            using var response = await http.PostAsync(new Uri("/v1/logs", UriKind.Relative), content);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var canary = new LogRecord { TimeUnixNano = now, Body = new AnyValue { StringValue = "canary <b>bold</b>" }, SeverityNumber = SeverityNumber.Info };
        Assert.Equal(HttpStatusCode.OK, (await Post(OtlpRequests.Protobuf(Request(canary)))).Item1);
        var stored = (await WaitForLogsAsync(query, "/api/logs?service=canary")).Single();

        // Malformed bodies: not protobuf, JSON of the wrong shape, bad hex.
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(OtlpRequests.Content([0xff, 0xff, 0xff], "application/x-protobuf"))).Item1);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(OtlpRequests.Content("{\"resourceLogs\": 5}"u8.ToArray(), "application/json"))).Item1);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(OtlpRequests.Content(
            """{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}"""u8.ToArray(), "application/json"))).Item1);

        // A record with a 3-byte trace id is rejected through partial success; its valid neighbour is kept.
        var badId = new LogRecord { TimeUnixNano = now, Body = new AnyValue { StringValue = "bad id" }, TraceId = ByteString.CopyFrom(1, 2, 3) };
        var good = new LogRecord { TimeUnixNano = now + 1, Body = new AnyValue { StringValue = "good neighbour" } };
        var (status, response) = await Post(OtlpRequests.Content(Encoding.UTF8.GetBytes(OtlpJsonRequest(Request(badId, good))), "application/json"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\"rejectedLogRecords\":\"1\"", response.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        await WaitForLogsAsync(query, "/api/logs?service=canary&q=good%20neighbour");

        // Bad queries: a 400 with a message, never a 500.
        foreach (var bad in new[]
        {
            "/api/logs?q=(unclosed&regex=1", "/api/logs?severity=loud", "/api/logs?before=yesterday", "/api/logs?traceId=xyz",
            "/api/logs?limit=0", "/api/logs?lookback=forever", "/api/logs?spanId=12",
        })
        {
            var (badStatus, badBody) = await query.GetAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, badStatus);
            Assert.False(string.IsNullOrEmpty(badBody!.RootElement.GetProperty("error").GetString()), bad);
        }

        using (var page = await query.Http.GetAsync(new Uri("/logs?q=(unclosed&regex=1", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
            Assert.Contains("Not a valid regular expression", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The page shows the canary's body as text, never as markup.
        using (var page = await query.Http.GetAsync(new Uri("/logs?service=canary", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var html = await page.Content.ReadAsStringAsync();
            Assert.Contains("canary &lt;b&gt;bold&lt;/b&gt;", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
        }

        var after = await WaitForLogsAsync(query, "/api/logs?service=canary", min: 2);
        Assert.Contains(after, e => e.GetProperty("id").GetString() == stored.GetProperty("id").GetString());
        Assert.DoesNotContain(after, e => e.GetProperty("logRecord").GetProperty("body").GetProperty("stringValue").GetString() == "bad id");
    }

    /// <summary>OTLP/JSON of a request (hex ids), as an SDK sending http/json would write it.</summary>
    private static string OtlpJsonRequest(ExportLogsServiceRequest request)
    {
        var records = new JsonArray();
        foreach (var record in request.ResourceLogs[0].ScopeLogs[0].LogRecords)
        {
            var json = new JsonObject
            {
                ["timeUnixNano"] = record.TimeUnixNano.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["body"] = new JsonObject { ["stringValue"] = record.Body.StringValue },
            };
            if (!record.TraceId.IsEmpty)
            {
                json["traceId"] = Convert.ToHexStringLower(record.TraceId.Span);
            }

            records.Add(json);
        }

        return new JsonObject
        {
            ["resourceLogs"] = new JsonArray(new JsonObject
            {
                ["resource"] = new JsonObject
                {
                    ["attributes"] = new JsonArray(new JsonObject { ["key"] = "service.name", ["value"] = new JsonObject { ["stringValue"] = "canary" } }),
                },
                ["scopeLogs"] = new JsonArray(new JsonObject { ["logRecords"] = records }),
            }),
        }.ToJsonString();
    }
}
