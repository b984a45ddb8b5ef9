using System.Net;

namespace Almanac.Server.Configuration;

/// <summary>Everything a user can set, after validation. Built by <see cref="OptionsLoader"/>.</summary>
internal sealed record AlmanacOptions
{
    public string DataDir { get; init; } = "./almanac-data";

    public int OtlpGrpcPort { get; init; } = 4317;

    public int OtlpHttpPort { get; init; } = 4318;

    public int UiPort { get; init; } = 16686;

    public IPAddress Bind { get; init; } = IPAddress.Loopback;

    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    public string Storage { get; init; } = "embedded";

    public int MaxRequestBytes { get; init; } = 16 * 1024 * 1024;

    public long MaxPendingBytes { get; init; } = 64L * 1024 * 1024;

    public TimeSpan MaxPendingWait { get; init; } = TimeSpan.FromSeconds(2);

    public string FullDataDir => Path.GetFullPath(DataDir);
}
