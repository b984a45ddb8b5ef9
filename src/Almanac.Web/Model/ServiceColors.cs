namespace Almanac.Web.Model;

/// <summary>
/// A stable colour per service name: the same service gets the same colour on every page and every load,
/// derived from a hash of the name (not from the order services appear in).
/// </summary>
public static class ServiceColors
{
    private static readonly string[] Palette =
    [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
        "#17becf", "#bcbd22", "#1f77b4", "#8c6d31", "#637939", "#7b4173", "#3182bd", "#e6550d",
        "#31a354", "#756bb1", "#d6616b", "#0b8f8f",
    ];

    public static string For(string serviceName)
    {
        // FNV-1a: stable across processes, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in serviceName)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return Palette[hash % (uint)Palette.Length];
    }
}
