using System.Diagnostics;

namespace Story.Telemetry;

/// <summary>Sleeps that last at least as long as asked: timers may fire a millisecond early, and the story's
/// durations ("the responder took ≥ 500×roll ms") are promises.</summary>
public static class Pause
{
    public static async Task AtLeastAsync(int milliseconds, CancellationToken cancellation)
    {
        var watch = Stopwatch.StartNew();
        var wanted = TimeSpan.FromMilliseconds(milliseconds);
        await Task.Delay(wanted, cancellation);
        while (watch.Elapsed < wanted)
        {
            await Task.Delay(1, cancellation);
        }
    }
}
