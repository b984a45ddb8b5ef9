using System.Diagnostics;
using Responder;
using Story.Telemetry;

var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://localhost:8001");
}

builder.AddStoryTelemetry("responder", "0.1.0", "Responder");
var app = builder.Build();
app.MapHealth();

app.MapGet("/", async (HttpRequest request, ILogger<SleepRequest> logger, CancellationToken cancellation) =>
{
    if (!SleepParameter.TryParse(request.Query["sleep"], out var sleep, out var error))
    {
        logger.LogWarning("Rejected request: {Error}", error);
        return Results.Text(error + "\n", statusCode: StatusCodes.Status400BadRequest);
    }

    Activity.Current?.SetTag("responder.sleep_ms", sleep);
    logger.LogInformation("Sleeping {SleepMilliseconds} ms", sleep);
    await Pause.AtLeastAsync(sleep, cancellation);
    return Results.Text($"slept {sleep} ms\n");
});

app.Run();

/// <summary>Logger category for the one endpoint.</summary>
internal sealed class SleepRequest;
