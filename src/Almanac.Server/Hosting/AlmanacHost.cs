using System.Net;
using System.Reflection;
using Almanac.Core.Ingest;
using Almanac.Core.Storage;
using Almanac.Query;
using Almanac.Query.Metrics;
using Almanac.Server.Configuration;
using Almanac.Server.Receivers;
using Almanac.Storage.DuckDb;
using Almanac.Web;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Almanac.Server.Hosting;

/// <summary>Builds and runs the one Almanac process: three listeners, each port with its own routes.</summary>
internal static class AlmanacHost
{
    public static string Version { get; } =
        typeof(AlmanacHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);

        AlmanacOptions options;
        try
        {
            options = OptionsLoader.Load(args, builder.Configuration, Environment.GetEnvironmentVariable);
        }
        catch (OptionsLoader.OptionsException ex)
        {
            await Console.Error.WriteLineAsync($"almanac: {ex.Message}");
            return 2;
        }

        WebApplication app;
        try
        {
            app = Build(builder, options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"almanac: cannot use data directory '{options.FullDataDir}': {ex.Message}");
            return 1;
        }

        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (IOException ex) when (ex.InnerException is System.Net.Sockets.SocketException || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync($"almanac: cannot listen: {ex.Message} Is another Almanac or Jaeger running? Choose other ports with --otlp-grpc-port, --otlp-http-port, --ui-port.");
            return 1;
        }
        catch (InvalidDataException ex)
        {
            // The store refuses a database written in another storage layout; its message says what to do.
            await Console.Error.WriteLineAsync($"almanac: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (IsDatabaseLocked(ex))
        {
            await Console.Error.WriteLineAsync($"almanac: the data directory '{options.FullDataDir}' is in use by another process ({ex.Message}). Stop it or choose another --data-dir.");
            return 1;
        }
    }

    internal static WebApplication Build(WebApplicationBuilder builder, AlmanacOptions options)
    {
        Directory.CreateDirectory(options.FullDataDir);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // gRPC without TLS needs HTTP/2 with prior knowledge, so that port speaks HTTP/2 only.
            kestrel.Listen(options.Bind, options.OtlpGrpcPort, l => l.Protocols = HttpProtocols.Http2);
            // Without TLS there is no ALPN to negotiate HTTP/2, so the HTTP ports speak HTTP/1.1.
            kestrel.Listen(options.Bind, options.OtlpHttpPort, l => l.Protocols = HttpProtocols.Http1);
            kestrel.Listen(options.Bind, options.UiPort, l => l.Protocols = HttpProtocols.Http1);
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
        });

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ITelemetryStore>(sp => new DuckDbStore(
            Path.Combine(options.FullDataDir, "almanac.duckdb"), sp.GetRequiredService<ILogger<DuckDbStore>>()));
        builder.Services.AddSingleton<ISpanReader>(sp => sp.GetRequiredService<ITelemetryStore>());
        builder.Services.AddSingleton<ILogReader>(sp => sp.GetRequiredService<ITelemetryStore>());
        builder.Services.AddSingleton<IMetricReader>(sp => sp.GetRequiredService<ITelemetryStore>());
        builder.Services.AddSingleton(new IngestOptions
        {
            WalDirectory = Path.Combine(options.FullDataDir, "wal"),
            MaxPendingBytes = options.MaxPendingBytes,
            MaxAdmissionWait = options.MaxPendingWait,
        });
        builder.Services.AddSingleton<IngestPipeline>();
        builder.Services.AddSingleton<IngestAdmission>();
        builder.Services.AddHostedService<PipelineHostedService>();
        builder.Services.AddHostedService<RetentionService>();
        builder.Services.AddSingleton<QueryActivity>();
        builder.Services.AddHostedService<IdleMemoryService>(); // after the pipeline's: stops before it
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxRequestBytes;
            o.EnableDetailedErrors = false;
        });
        builder.Services.AddRouting();
        builder.Services.AddAlmanacWeb();

        var app = builder.Build();

        // Each port serves only its own protocol: OTLP/gRPC, OTLP/HTTP, or UI + query API. Routing by the local
        // port (not the Host header) keeps that true behind port mappings and proxies.
        app.MapWhen(c => c.Connection.LocalPort == options.OtlpGrpcPort, grpc =>
        {
            grpc.UseRouting();
            grpc.UseEndpoints(e =>
            {
                e.MapGrpcService<OtlpGrpcTraceReceiver>();
                e.MapGrpcService<OtlpGrpcLogsReceiver>();
                e.MapGrpcService<OtlpGrpcMetricsReceiver>();
            });
        });
        app.MapWhen(c => c.Connection.LocalPort == options.OtlpHttpPort, http =>
        {
            http.UseRouting();
            http.UseEndpoints(e =>
            {
                e.MapOtlpHttp();
                MapHealth(e);
            });
        });
        app.MapWhen(c => c.Connection.LocalPort == options.UiPort, ui =>
        {
            var queries = ui.ApplicationServices.GetRequiredService<QueryActivity>();
            ui.Use((context, next) =>
            {
                queries.Saw(context.Request.Path);
                return next(context);
            });
            ui.UseWebSockets(); // the web UI's interactive components talk over a SignalR web socket
            ui.UseRouting();
            ui.UseAntiforgery();
            ui.UseEndpoints(e =>
            {
                MapHealth(e);
                e.MapJaegerQueryApi();
                e.MapOtelMetricsApi(); // /api/otel-metrics: Jaeger's Monitor tab owns /api/metrics/*
                e.MapAlmanacWeb(); // web UI: / → /search, /search, /trace/{id}, /assets/...
            });
        });

        app.Lifetime.ApplicationStarted.Register(() => PrintBanner(options));
        return app;
    }

    private static void MapHealth(IEndpointRouteBuilder e)
    {
        e.MapGet("/healthz", () => Results.Text("ok"));
        e.MapGet("/readyz", (IngestPipeline pipeline) => pipeline.IsReady
            ? Results.Text("ready")
            : Results.Text("starting", statusCode: StatusCodes.Status503ServiceUnavailable));
    }

    private static void PrintBanner(AlmanacOptions options)
    {
        var host = options.Bind.Equals(IPAddress.Any) || options.Bind.Equals(IPAddress.IPv6Any) ? "localhost"
            : options.Bind.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{options.Bind}]" : options.Bind.ToString();
        var all = host == "localhost" ? $" (listening on all interfaces: {options.Bind})" : string.Empty;
        Console.Out.WriteLine($"""
            Almanac {Version} is running{all}
              OTLP/gRPC   http://{host}:{options.OtlpGrpcPort}
              OTLP/HTTP   http://{host}:{options.OtlpHttpPort}   (POST /v1/traces, /v1/logs, /v1/metrics; protobuf or JSON)
              UI + API    http://{host}:{options.UiPort}   (Jaeger API /api/..., api_v3 /api/v3/...)
              data        {options.FullDataDir}   (retention {OptionsLoader.FormatDuration(options.Retention)})
            Press Ctrl+C to stop.
            """);
    }

    private static bool IsDatabaseLocked(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e.Message.Contains("Could not set lock", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("Conflicting lock", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
