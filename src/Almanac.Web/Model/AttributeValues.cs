using Almanac.Core.Storage;

namespace Almanac.Web.Model;

/// <summary>A value an attribute key had in recent traces, and on how many spans.</summary>
public sealed record AttributeValueCount(string Value, int Count);

/// <summary>
/// Values for the search form's attribute autocomplete: the key's values (on spans, events and resources) on every
/// span of the last <see cref="Window"/>, optionally of one service, most frequent first — counted by the store over
/// all of them, not sampled from a few traces.
/// </summary>
public static class AttributeValues
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(1);
    public const int MaxValues = 30;
    public const int MaxValueLength = 200;

    /// <summary>Asked of the store: more than shown, since values a search line cannot hold are dropped here.</summary>
    private const int Fetched = 200;

    public static async Task<IReadOnlyList<AttributeValueCount>> RecentAsync(ISpanReader reader, string? service, string key, long nowUnixNano,
        CancellationToken cancellationToken = default)
    {
        // No upper bound: spans from clocks a little ahead of this one are recent too.
        var values = await reader.GetAttributeValuesAsync(key, string.IsNullOrEmpty(service) ? null : service,
            nowUnixNano - Window.Ticks * 100, long.MaxValue, Fetched, cancellationToken);

        // A search line is key=value to the end of the line, trimmed: values spanning lines or with outer spaces cannot be searched for.
        return [.. values
            .Where(v => v.Value.Length is > 0 and <= MaxValueLength && v.Value == v.Value.Trim() && !v.Value.Contains('\n') && !v.Value.Contains('\r'))
            .Take(MaxValues)
            .Select(v => new AttributeValueCount(v.Value, (int)Math.Min(v.SpanCount, int.MaxValue)))];
    }
}
