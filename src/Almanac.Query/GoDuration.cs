namespace Almanac.Query;

/// <summary>
/// Go's <c>time.ParseDuration</c> syntax ("1.5h", "1m30s", "100ms", "500us", "500µs", "42ns"), which Jaeger's
/// minDuration/maxDuration and api_v3's duration parameters use, so clients written against Jaeger work unchanged.
/// </summary>
internal static class GoDuration
{
    private const long Nanosecond = 1;
    private const long Microsecond = 1_000;
    private const long Millisecond = 1_000_000;
    private const long Second = 1_000_000_000;
    private const long Minute = 60 * Second;
    private const long Hour = 60 * Minute;

    /// <summary>Parses into nanoseconds; false on bad syntax, an unknown unit or overflow.</summary>
    public static bool TryParse(string? text, out long nanos)
    {
        nanos = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var s = text.AsSpan();
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s is "0")
        {
            return true;
        }

        if (s.IsEmpty)
        {
            return false;
        }

        ulong total = 0;
        while (!s.IsEmpty)
        {
            // Integer part.
            var i = 0;
            ulong whole = 0;
            var overflow = false;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                if (whole > (ulong.MaxValue - 9) / 10)
                {
                    overflow = true;
                }

                whole = whole * 10 + (ulong)(s[i] - '0');
                i++;
            }

            var hadWhole = i > 0;
            s = s[i..];

            // Fraction: digits past what a long can scale are ignored, as Go does.
            ulong fraction = 0;
            double scale = 1;
            var hadFraction = false;
            if (!s.IsEmpty && s[0] == '.')
            {
                s = s[1..];
                i = 0;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    if (fraction <= (long.MaxValue - 9) / 10)
                    {
                        fraction = fraction * 10 + (ulong)(s[i] - '0');
                        scale *= 10;
                    }

                    i++;
                }

                hadFraction = i > 0;
                s = s[i..];
            }

            if (overflow || (!hadWhole && !hadFraction))
            {
                return false;
            }

            i = 0;
            while (i < s.Length && s[i] != '.' && !char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            long unit = s[..i] switch
            {
                "ns" => Nanosecond,
                "us" or "\u00b5s" or "\u03bcs" => Microsecond,
                "ms" => Millisecond,
                "s" => Second,
                "m" => Minute,
                "h" => Hour,
                _ => 0,
            };
            if (unit == 0)
            {
                return false;
            }

            s = s[i..];
            if (whole > (ulong)long.MaxValue / (ulong)unit)
            {
                return false;
            }

            var value = whole * (ulong)unit;
            if (fraction > 0)
            {
                value += (ulong)(fraction * (unit / scale));
            }

            total += value;
            if (value > (ulong)long.MaxValue || total > (ulong)long.MaxValue + (negative ? 1UL : 0UL))
            {
                return false;
            }
        }

        nanos = negative ? unchecked(-(long)total) : (long)total;
        return true;
    }
}
