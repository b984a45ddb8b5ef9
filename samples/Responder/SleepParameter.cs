using System.Globalization;

namespace Responder;

/// <summary>Validates the <c>sleep</c> query parameter: whole milliseconds from 0 to <see cref="MaxMilliseconds"/>.</summary>
public static class SleepParameter
{
    /// <summary>A minute: anything longer is a mistake, not a slow API.</summary>
    public const int MaxMilliseconds = 60_000;

    public static bool TryParse(IReadOnlyList<string?> values, out int milliseconds, out string error)
    {
        milliseconds = 0;
        error = "";
        if (values.Count == 0 || (values.Count == 1 && string.IsNullOrEmpty(values[0])))
        {
            error = "missing sleep: use GET /?sleep=<milliseconds>, e.g. /?sleep=500";
            return false;
        }

        if (values.Count > 1)
        {
            error = "sleep given more than once: give it once, e.g. /?sleep=500";
            return false;
        }

        var text = values[0]!;
        var negative = text[0] == '-';
        var digits = negative ? text.AsSpan(1) : text.AsSpan();
        if (digits.IsEmpty || !digits.ContainsOnlyAsciiDigits())
        {
            error = $"sleep must be a whole number of milliseconds, got '{Truncate(text)}'";
            return false;
        }

        if (negative)
        {
            error = $"sleep must not be negative, got {Truncate(text)}";
            return false;
        }

        var value = digits.TrimStart('0').Length > 5 ? long.MaxValue : long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        if (value > MaxMilliseconds)
        {
            error = $"sleep must be at most {MaxMilliseconds} ms, got {Truncate(text)}";
            return false;
        }

        milliseconds = (int)value;
        return true;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

internal static class SpanDigits
{
    public static bool ContainsOnlyAsciiDigits(this ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange('0', '9');
}
