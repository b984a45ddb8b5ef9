using System.Text;

namespace Almanac.Otlp.Json;

/// <summary>
/// The field path of the value being parsed, kept as a cheap stack so an error can name the exact field
/// ("resourceSpans[0].scopeSpans[0].spans[3].startTimeUnixNano") without building strings on the happy path.
/// </summary>
internal sealed class JsonPathTracker
{
    private string[] _names = new string[32];
    private int[] _indices = new int[32];
    private int _count;

    public void Push(string name)
    {
        if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _indices, _count * 2);
        }

        _names[_count] = name;
        _indices[_count] = -1;
        _count++;
    }

    public void SetIndex(int index) => _indices[_count - 1] = index;

    public void Pop() => _count--;

    public override string ToString()
    {
        if (_count == 0)
        {
            return "request body";
        }

        var builder = new StringBuilder();
        for (var i = 0; i < _count; i++)
        {
            if (i > 0)
            {
                builder.Append('.');
            }

            builder.Append(_names[i]);
            if (_indices[i] >= 0)
            {
                builder.Append('[').Append(_indices[i]).Append(']');
            }
        }

        return builder.ToString();
    }
}
