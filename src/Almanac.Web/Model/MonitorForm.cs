using System.Globalization;
using System.Text.Encodings.Web;
using Almanac.Core.Model;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Model;

/// <summary>
/// The /monitor page's query, all in the URL so a view is a link: <c>service</c>, <c>spanKind</c> (comma-separated
/// kinds, or <c>all</c>), <c>lookback</c>, <c>step</c> (or <c>auto</c>) and the operations table's <c>sort</c>.
/// </summary>
public sealed record MonitorForm
{
    /// <summary>Entry spans by default: requests a service served and messages it consumed, as the issue asks.</summary>
    public const string DefaultKinds = "server,consumer";

    public const string DefaultLookback = "1h";

    /// <summary>About this many samples per chart when the step is automatic.</summary>
    private const int AutoPoints = 60;

    public static readonly IReadOnlyList<(string Value, string Label)> KindChoices =
    [
        ("server,consumer", "Server + consumer"), ("server", "Server"), ("consumer", "Consumer"), ("client", "Client"),
        ("producer", "Producer"), ("internal", "Internal"), ("all", "All kinds"),
    ];

    public static readonly IReadOnlyList<(string Value, string Label, TimeSpan Span)> Lookbacks =
    [
        ("5m", "Last 5 minutes", TimeSpan.FromMinutes(5)), ("15m", "Last 15 minutes", TimeSpan.FromMinutes(15)),
        ("30m", "Last 30 minutes", TimeSpan.FromMinutes(30)), ("1h", "Last hour", TimeSpan.FromHours(1)),
        ("2h", "Last 2 hours", TimeSpan.FromHours(2)), ("6h", "Last 6 hours", TimeSpan.FromHours(6)),
        ("12h", "Last 12 hours", TimeSpan.FromHours(12)), ("1d", "Last day", TimeSpan.FromDays(1)),
        ("2d", "Last 2 days", TimeSpan.FromDays(2)), ("7d", "Last 7 days", TimeSpan.FromDays(7)),
    ];

    public static readonly IReadOnlyList<(string Value, string Label, TimeSpan Span)> Steps =
    [
        ("5s", "5 seconds", TimeSpan.FromSeconds(5)), ("10s", "10 seconds", TimeSpan.FromSeconds(10)),
        ("30s", "30 seconds", TimeSpan.FromSeconds(30)), ("1m", "1 minute", TimeSpan.FromMinutes(1)),
        ("5m", "5 minutes", TimeSpan.FromMinutes(5)), ("15m", "15 minutes", TimeSpan.FromMinutes(15)),
        ("1h", "1 hour", TimeSpan.FromHours(1)), ("6h", "6 hours", TimeSpan.FromHours(6)),
    ];

    public static readonly IReadOnlyList<(string Value, string Label)> Sorts =
    [
        ("name", "Name"), ("rate", "Rate"), ("errors", "Error %"), ("p50", "P50"), ("p95", "P95"), ("p99", "P99"),
    ];

    public string? Service { get; init; }

    public string? SpanKind { get; init; }

    public string? Lookback { get; init; }

    public string? Step { get; init; }

    public string? Sort { get; init; }

    public string EffectiveKinds => string.IsNullOrEmpty(SpanKind) ? DefaultKinds : SpanKind;

    public string EffectiveLookback => string.IsNullOrEmpty(Lookback) ? DefaultLookback : Lookback;

    public string EffectiveStep => string.IsNullOrEmpty(Step) ? "auto" : Step;

    public string EffectiveSort => Sorts.Any(s => s.Value == Sort) ? Sort! : "rate";

    public static MonitorForm FromQueryString(string queryString)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(queryString);
        string? Get(string key) => parsed.TryGetValue(key, out var v) && v.Count > 0 && !string.IsNullOrEmpty(v[0]) ? v[0] : null;
        // Repeated spanKind (as Jaeger's API takes them) joins into the comma form.
        var kinds = parsed.TryGetValue("spanKind", out var k) ? string.Join(',', k.Where(x => !string.IsNullOrEmpty(x))) : null;
        return new MonitorForm
        {
            Service = Get("service"),
            SpanKind = string.IsNullOrEmpty(kinds) ? null : kinds,
            Lookback = Get("lookback"),
            Step = Get("step"),
            Sort = Get("sort"),
        };
    }

    public string ToUrl()
    {
        var parts = new List<string>();
        void Add(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add(key + "=" + UrlEncoder.Default.Encode(value));
            }
        }

        Add("service", Service);
        Add("spanKind", SpanKind);
        Add("lookback", Lookback);
        Add("step", Step);
        Add("sort", Sort);
        return parts.Count == 0 ? "/monitor" : "/monitor?" + string.Join('&', parts);
    }

    /// <summary>The span kinds the form selects; empty means every kind. False (with a message) for an unknown kind.</summary>
    public bool TryKinds(out IReadOnlyList<Span.Types.SpanKind> kinds, out string? error)
    {
        kinds = [];
        error = null;
        if (EffectiveKinds == "all")
        {
            return true;
        }

        var list = new List<Span.Types.SpanKind>();
        foreach (var name in EffectiveKinds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!SpanKindNames.TryParse(name, out var kind))
            {
                error = $"Unknown span kind \"{name}\": use server, consumer, client, producer, internal, unspecified or all.";
                return false;
            }

            list.Add(kind);
        }

        kinds = list;
        return true;
    }

    /// <summary>Lookback and step as time spans; the automatic step gives about 60 samples.</summary>
    public bool TryWindow(out TimeSpan lookback, out TimeSpan step, out string? error)
    {
        error = null;
        step = default;
        var match = Lookbacks.FirstOrDefault(l => l.Value == EffectiveLookback);
        lookback = match.Span;
        if (match.Value is null)
        {
            error = $"Unknown lookback \"{EffectiveLookback}\": pick one of {string.Join(", ", Lookbacks.Select(l => l.Value))}.";
            return false;
        }

        if (EffectiveStep == "auto")
        {
            var wanted = lookback / AutoPoints;
            var chosen = Steps.FirstOrDefault(s => s.Span >= wanted);
            step = chosen.Value is null ? Steps[^1].Span : chosen.Span;
            return true;
        }

        var stepMatch = Steps.FirstOrDefault(s => s.Value == EffectiveStep);
        if (stepMatch.Value is null)
        {
            error = $"Unknown step \"{EffectiveStep}\": pick one of auto, {string.Join(", ", Steps.Select(s => s.Value))}.";
            return false;
        }

        step = stepMatch.Span;
        if (step > lookback)
        {
            error = $"A step of {stepMatch.Label} is longer than the lookback ({match.Label.ToLowerInvariant()}); pick a smaller step.";
            return false;
        }

        if (lookback / step + 1 > SpanMetricsQuery.MaxPoints)
        {
            error = $"A step of {stepMatch.Label} over {match.Label.ToLowerInvariant()} gives more than {SpanMetricsQuery.MaxPoints} points; pick a larger step.";
            return false;
        }

        return true;
    }

    /// <summary>Shown for a kind selection in the page's text.</summary>
    public string KindLabel => KindChoices.FirstOrDefault(k => k.Value == EffectiveKinds).Label ?? EffectiveKinds;

    internal static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
