using Almanac.Core.Model;

namespace Almanac.Core.Storage;

/// <summary>Reads stored log records. Every backend answers these the same way; the contract test suite holds them to it.</summary>
public interface ILogReader
{
    /// <summary>
    /// Matching records, newest first (by <see cref="LogRecordData.TimestampUnixNano"/>, ties in a fixed order), at
    /// most <see cref="LogQuery.Limit"/>, older than <see cref="LogQuery.Before"/> when given.
    /// </summary>
    /// <exception cref="ArgumentException">The query's regular expression or cursor is not valid.</exception>
    Task<LogPage> FindLogsAsync(LogQuery query, CancellationToken cancellationToken = default);

    /// <summary>A trace's log records (those carrying its trace id), oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LogRecordData>> GetTraceLogsAsync(TraceId traceId, int limit = LogQuery.MaxLimit, CancellationToken cancellationToken = default);

    /// <summary>Names of services that reported log records, sorted ordinally.</summary>
    Task<IReadOnlyList<string>> GetLogServicesAsync(CancellationToken cancellationToken = default);
}

/// <summary>One stored record and its <see cref="Id"/>: an opaque, stable token that orders it among all records.</summary>
public sealed record LogEntry(string Id, LogRecordData Log);

/// <summary>A page of a log search; <see cref="NextBefore"/> continues with older records when the page was full.</summary>
public sealed record LogPage(IReadOnlyList<LogEntry> Entries, string? NextBefore);
