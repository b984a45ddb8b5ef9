using Almanac.Core.Ingest;

namespace Almanac.Server.Hosting;

/// <summary>Opens the store and replays the write-ahead log at start; on shutdown drains everything acknowledged into the store.</summary>
internal sealed class PipelineHostedService(IngestPipeline pipeline) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => pipeline.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => pipeline.StopAsync();
}
