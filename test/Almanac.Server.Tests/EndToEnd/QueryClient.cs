using System.Net;
using System.Text.Json;

namespace Almanac.Server.Tests.EndToEnd;

/// <summary>Reads Almanac's query API the way Jaeger UI does, with polling for "queryable within a second".</summary>
public sealed class QueryClient(Uri uiEndpoint) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = uiEndpoint, Timeout = TimeSpan.FromSeconds(30) };

    public HttpClient Http => _http;

    public async Task<(HttpStatusCode Status, JsonDocument? Body)> GetAsync(string pathAndQuery)
    {
        using var response = await _http.GetAsync(new Uri(pathAndQuery, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        JsonDocument? doc = null;
        if (text.Length > 0 && (text[0] == '{' || text[0] == '['))
        {
            doc = JsonDocument.Parse(text);
        }

        return (response.StatusCode, doc);
    }

    /// <summary>Polls GET /api/traces/{id} until the trace has at least <paramref name="minSpans"/> spans.</summary>
    public async Task<JsonElement> WaitForTraceAsync(string traceId, int minSpans = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var (status, body) = await GetAsync($"/api/traces/{traceId}");
            if (status == HttpStatusCode.OK && body is not null)
            {
                var trace = body.RootElement.GetProperty("data")[0];
                if (trace.GetProperty("spans").GetArrayLength() >= minSpans)
                {
                    return trace.Clone();
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"trace {traceId} with {minSpans} span(s) not found; last status {status}");
            }

            await Task.Delay(100);
        }
    }

    public void Dispose() => _http.Dispose();
}

public static class JaegerJson
{
    public static JsonElement Span(JsonElement trace, string operationName) =>
        trace.GetProperty("spans").EnumerateArray().Single(s => s.GetProperty("operationName").GetString() == operationName);

    public static JsonElement Tag(JsonElement span, string key) =>
        span.GetProperty("tags").EnumerateArray().Single(t => t.GetProperty("key").GetString() == key);

    public static string ServiceOf(JsonElement trace, JsonElement span) =>
        trace.GetProperty("processes").GetProperty(span.GetProperty("processID").GetString()!).GetProperty("serviceName").GetString()!;
}
