using System.Globalization;

namespace Almanac.Storage.DuckDb;

/// <summary>
/// A statement's positional parameters as its SQL is built: <see cref="Add"/> keeps the value and returns the
/// placeholder (<c>$1</c>, <c>$2</c>, …) to write where it goes. Values are always bound, never spliced into the text.
/// </summary>
internal sealed class SqlParameters
{
    private readonly List<object> _values = [];

    /// <summary>How many values so far: the number of the last placeholder handed out.</summary>
    public int Count => _values.Count;

    public string Add(object value)
    {
        _values.Add(value);
        return "$" + _values.Count.ToString(CultureInfo.InvariantCulture);
    }

    public object[] ToArray() => [.. _values];
}
