using Almanac.Core.Storage;

namespace Almanac.Web.Model;

/// <summary>A value an attribute key had in recent traces, and on how many spans.</summary>
public sealed record AttributeValueCount(string Value, int Count);

/// <summary>
/// Values for the search form's attribute autocomplete, from recent data: the key's values (on spans and their
/// resources) in the newest <see cref="Traces"/> traces of the last day, optionally of one service, most frequent first.
/// </summary>
public static class AttributeValues
{
    public const int Traces = 20;
    public const int MaxValues = 30;
    public const int MaxValueLength = 200;

    public static async Task<IReadOnlyList<AttributeValueCount>> RecentAsync(ISpanReader reader, string? service, string key, long nowUnixNano,
        CancellationToken cancellationToken = default)
    {
        var ids = await reader.FindTraceIdsAsync(new TraceQuery
        {
            ServiceName = string.IsNullOrEmpty(service) ? null : service,
            StartTimeMinUnixNano = nowUnixNano - (24 * 3_600_000_000_000L),
            Limit = Traces,
        }, cancellationToken);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var trace = await reader.GetTraceAsync(id, cancellationToken);
            foreach (var span in trace?.Spans ?? [])
            {
                if (!string.IsNullOrEmpty(service) && span.ServiceName != service)
                {
                    continue;
                }

                foreach (var kv in span.Span.Attributes.Concat(span.Resource.Attributes))
                {
                    if (kv.Key != key)
                    {
                        continue;
                    }

                    // A search line is key=value to the end of the line, trimmed: values spanning lines or with outer spaces cannot be searched for.
                    var text = AttributeFormatting.Text(kv.Value);
                    if (text.Length is > 0 and <= MaxValueLength && text == text.Trim() && !text.Contains('\n') && !text.Contains('\r'))
                    {
                        counts[text] = counts.GetValueOrDefault(text) + 1;
                    }
                }
            }
        }

        return [.. counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(MaxValues).Select(c => new AttributeValueCount(c.Key, c.Value))];
    }
}
