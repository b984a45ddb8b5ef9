using System.Globalization;
using Dice;
using Story.Telemetry;

var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://localhost:8000");
}

builder.AddStoryTelemetry("dice", "0.1.0", DiceRoller.InstrumentationName);

var slowApiUrl = new Uri(builder.Configuration["SLOW_API_URL"] is { Length: > 0 } url ? url : "http://localhost:8001/");
var timeout = int.TryParse(builder.Configuration["SLOW_API_TIMEOUT_MS"], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0
    ? TimeSpan.FromMilliseconds(ms)
    : TimeSpan.FromSeconds(10);
builder.Services.AddHttpClient<DiceRoller>(client =>
{
    client.BaseAddress = slowApiUrl;
    client.Timeout = timeout;
});

var app = builder.Build();
app.MapHealth();

app.MapGet("/rolldice", async (HttpResponse response, DiceRoller roller, CancellationToken cancellation) =>
{
    response.AddTraceResponseHeader();
    var roll = await roller.RollAsync(cancellation);
    return Results.Text(roll.ToString(CultureInfo.InvariantCulture) + "\n");
});

app.Run();
