namespace Almanac.Core.Storage;

/// <summary>Reads stored metrics. Every backend answers these the same way; the contract test suite holds them to it.</summary>
public interface IMetricReader
{
}
