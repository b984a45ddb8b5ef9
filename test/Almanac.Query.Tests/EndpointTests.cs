using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Almanac.Query.Tests;

/// <summary>
/// The query API on a real Kestrel server with no store registered: every request here must be answered before
/// storage is touched (bad parameters), or shows how a storage failure is reported (no store → JSON 500).
/// Endpoint tests with data run against the real store elsewhere.
/// </summary>
public sealed class QueryServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(TimeProvider.System);
        _app = builder.Build();
        _app.MapJaegerQueryApi();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Client = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

public sealed class EndpointTests : IClassFixture<QueryServerFixture>
{
    private readonly HttpClient _client;

    public EndpointTests(QueryServerFixture fixture) => _client = fixture.Client;

    private async Task<(HttpStatusCode Status, string? ContentType, JsonElement Body)> GetAsync(string url)
    {
        using var response = await _client.GetAsync(new Uri(url, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, doc.RootElement.Clone());
    }

    [Theory]
    [InlineData("/api/traces?service=api&limit=banana")]
    [InlineData("/api/traces?service=api&tags=%7Bbroken")]
    [InlineData("/api/traces?service=api&minDuration=xyz")]
    [InlineData("/api/traces?service=api&start=2000&end=1000")]
    [InlineData("/api/traces?traceID=not-hex")]
    [InlineData("/api/traces?limit=20")]
    [InlineData("/api/traces/not-hex")]
    [InlineData("/api/traces/4bf92f3577b34da6a3ce929d0e0e47361")]
    [InlineData("/api/operations")]
    [InlineData("/api/operations?service=api&spanKind=sideways")]
    [InlineData("/api/dependencies?endTs=soon")]
    public async Task JaegerV1_BadParameter_Returns400InJaegerErrorShape(string url)
    {
        var (status, contentType, body) = await GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("data").ValueKind);
        Assert.Equal(0, body.GetProperty("total").GetInt32());
        Assert.Equal(0, body.GetProperty("limit").GetInt32());
        Assert.Equal(0, body.GetProperty("offset").GetInt32());
        var error = Assert.Single(body.GetProperty("errors").EnumerateArray());
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("msg").GetString()));
    }

    [Theory]
    [InlineData("/api/v3/traces")]
    [InlineData("/api/v3/traces?query.start_time_min=2025-11-20T11:00:00Z&query.start_time_max=noon")]
    [InlineData("/api/v3/traces?query.start_time_min=2025-11-20T11:00:00Z&query.start_time_max=2025-11-20T12:00:00Z&query.duration_min=x")]
    [InlineData("/api/v3/traces/zzz")]
    [InlineData("/api/v3/traces/abc?start_time=noon")]
    [InlineData("/api/v3/traces/abc?raw_traces=perhaps")]
    [InlineData("/api/v3/operations")]
    [InlineData("/api/v3/operations?service=api&span_kind=sideways")]
    public async Task ApiV3_BadParameter_Returns400InGatewayErrorShape(string url)
    {
        var (status, contentType, body) = await GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/json", contentType);
        var error = body.GetProperty("error");
        Assert.Equal(400, error.GetProperty("httpCode").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task JaegerV1_StorageUnavailable_Returns500InJaegerErrorShape()
    {
        // No ISpanReader is registered, so reaching storage fails: the client still gets Jaeger's JSON error.
        var (status, contentType, body) = await GetAsync("/api/services");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal(500, body.GetProperty("errors")[0].GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task ApiV3_StorageUnavailable_Returns500InGatewayErrorShape()
    {
        var (status, _, body) = await GetAsync("/api/v3/services");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal(500, body.GetProperty("error").GetProperty("httpCode").GetInt32());
    }
}
