namespace Almanac.Otlp.Tests.Fixtures;

/// <summary>Fixture files are copied next to the test assembly, so tests do not depend on the working directory.</summary>
internal static class FixtureFiles
{
    public static byte[] Read(params string[] relativePath) =>
        File.ReadAllBytes(Path.Combine([AppContext.BaseDirectory, "Fixtures", .. relativePath]));
}
