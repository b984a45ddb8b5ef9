using System.Buffers;
using System.Text.Json;

namespace Almanac.Query.Tests;

internal static class JsonTestHelpers
{
    /// <summary>Runs a writer action and parses what it wrote, so tests assert on structure, not on text.</summary>
    public static JsonDocument Render(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    public static JsonElement Tag(JsonElement tags, string key)
    {
        foreach (var tag in tags.EnumerateArray())
        {
            if (tag.GetProperty("key").GetString() == key)
            {
                return tag;
            }
        }

        throw new Xunit.Sdk.XunitException($"no tag '{key}' in {tags}");
    }

    public static bool HasTag(JsonElement tags, string key) =>
        tags.EnumerateArray().Any(t => t.GetProperty("key").GetString() == key);
}
