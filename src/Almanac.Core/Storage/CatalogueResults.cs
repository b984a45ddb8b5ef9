namespace Almanac.Core.Storage;

/// <summary>How many traces have a span of <see cref="Service"/> starting in a time window.</summary>
public sealed record ServiceTraces(string Service, long TraceCount);

/// <summary>A value an attribute key had, as the text attribute filters match, and on how many spans.</summary>
public sealed record AttributeValueStat(string Value, long SpanCount);
