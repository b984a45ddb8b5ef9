using System.Globalization;

namespace Almanac.Web.Model;

/// <summary>
/// Service colours. <see cref="For"/> is a service's preferred colour, from a hash of its name (not from the order
/// services appear in), so a service tends to keep its colour from trace to trace. <see cref="ForTrace"/> assigns the
/// services of one trace colours that never collide: each, in the trace's sorted service list, takes its preferred
/// palette entry or the next free one (from the ten most distinct entries while the trace has at most ten services);
/// past the palette's size, evenly spread extra hues. The same service list gives
/// the same colours on every page that shows the trace (search result, trace page, span details, minimap).
/// </summary>
public static class ServiceColors
{
    // The first ten are far apart (Tableau 10): traces with up to ten services only use those, so neighbours never
    // look alike. The next ten are for bigger traces.
    private static readonly string[] Palette =
    [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#17becf", "#bcbd22",
        "#bab0ac", "#393b79", "#6b6ecf", "#8c6d31", "#a55194", "#2ca02c", "#e6550d", "#637939", "#7b4173", "#0b8f8f",
    ];

    private const int Primary = 10;

    /// <summary>A service's preferred colour (what it gets in any trace of up to ten services, unless taken).</summary>
    public static string For(string serviceName) => Palette[Slot(serviceName, Primary)];

    /// <summary>Distinct colours for the services of one trace (any order, duplicates allowed), by service name.</summary>
    public static IReadOnlyDictionary<string, string> ForTrace(IEnumerable<string> services)
    {
        var sorted = services.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var colors = new Dictionary<string, string>(StringComparer.Ordinal);
        var size = sorted.Count <= Primary ? Primary : Palette.Length;
        var taken = new bool[size];
        var extra = 0;
        foreach (var service in sorted)
        {
            if (colors.Count >= size)
            {
                colors[service] = ExtraHue(extra++);
                continue;
            }

            var slot = Slot(service, size);
            while (taken[slot])
            {
                slot = (slot + 1) % size;
            }

            taken[slot] = true;
            colors[service] = Palette[slot];
        }

        return colors;
    }

    private static int Slot(string serviceName, int size)
    {
        // FNV-1a: stable across processes, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in serviceName)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)size);
    }

    /// <summary>The n-th colour beyond the palette: hues a golden angle apart, mid saturation and lightness.</summary>
    private static string ExtraHue(int n)
    {
        var hue = (n * 137.508) % 360;
        var (r, g, b) = HslToRgb(hue, 0.55, 0.5);
        return string.Create(CultureInfo.InvariantCulture, $"#{r:x2}{g:x2}{b:x2}");
    }

    private static (int R, int G, int B) HslToRgb(double h, double s, double l)
    {
        var c = (1 - Math.Abs((2 * l) - 1)) * s;
        var x = c * (1 - Math.Abs((h / 60 % 2) - 1));
        var m = l - (c / 2);
        var (r, g, b) = h switch
        {
            < 60 => (c, x, 0.0),
            < 120 => (x, c, 0.0),
            < 180 => (0.0, c, x),
            < 240 => (0.0, x, c),
            < 300 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return ((int)Math.Round((r + m) * 255), (int)Math.Round((g + m) * 255), (int)Math.Round((b + m) * 255));
    }
}
