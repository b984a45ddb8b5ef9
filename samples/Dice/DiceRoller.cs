using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Story.Telemetry;

namespace Dice;

/// <summary>Rolls the die: the talk's <c>rolldice</c> and <c>simulateSlowAPI</c>, instrumented.</summary>
public sealed class DiceRoller(HttpClient slowApi, ILogger<DiceRoller> logger)
{
    public const string InstrumentationName = "Dice";

    private static readonly ActivitySource Source = new(InstrumentationName, "0.1.0");
    private static readonly Meter Meter = new(InstrumentationName, "0.1.0");
    private static readonly Counter<long> Rolls = Meter.CreateCounter<long>("dice.rolls", unit: "{roll}", description: "Dice rolled, by value");

    public async Task<int> RollAsync(CancellationToken cancellation)
    {
        using var activity = Source.StartActivity("rolling dice");
        var roll = Random.Shared.Next(1, 7);
        activity?.SetTag("roll.value", roll);

        // Stands for other work this request does, i.e. a DB query.
        await Pause.AtLeastAsync(roll * 100, cancellation);

        activity?.AddEvent(new ActivityEvent("simulating a call to slow api"));
        logger.LogInformation("Rolled {RollValue}; simulating a call to slow api", roll);
        await SimulateSlowApiAsync(500 * roll, cancellation);

        Rolls.Add(1, new KeyValuePair<string, object?>("roll.value", roll));
        return roll;
    }

    /// <summary>Calls the slow API; a failure or time-out is recorded and logged, never thrown: the roll is still served.</summary>
    private async Task SimulateSlowApiAsync(int sleepMilliseconds, CancellationToken cancellation)
    {
        using var activity = Source.StartActivity("simulatedSlowApiSpan");
        var uri = new Uri("?sleep=" + sleepMilliseconds.ToString(CultureInfo.InvariantCulture), UriKind.Relative);
        try
        {
            using var response = await slowApi.GetAsync(uri, cancellation);
            response.EnsureSuccessStatusCode();
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellation.IsCancellationRequested))
        {
            var reason = e is TaskCanceledException ? $"timed out after {slowApi.Timeout.TotalMilliseconds:0} ms" : e.Message;
            activity?.SetStatus(ActivityStatusCode.Error, "slow api call failed: " + reason);
            activity?.AddException(e);
            logger.LogError(e, "Failed to make call to simulate slow api at {SlowApiUrl}: {Reason}", slowApi.BaseAddress, reason);
        }
    }
}
