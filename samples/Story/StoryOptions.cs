using System.Globalization;

namespace Story;

/// <summary>Command-line options of the story driver.</summary>
public sealed record StoryOptions
{
    public int DicePort { get; init; } = 8000;

    public int ResponderPort { get; init; } = 8001;

    public int OtlpGrpcPort { get; init; } = 4317;

    public int OtlpHttpPort { get; init; } = 4318;

    public int UiPort { get; init; } = 16686;

    public string DataDir { get; init; } = "./almanac-data";

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Rolls before stopping by itself; null rolls until Ctrl-C.</summary>
    public int? Count { get; init; }

    public string? Propagators { get; init; }

    public bool Verbose { get; init; }

    public const string Help = """
        Usage: dotnet run --project samples/Story [-- options]

        Starts Almanac, the responder and the dice service, calls GET /rolldice every 2 s (like
        `watch -n 2 curl localhost:8000/rolldice`), prints each roll with its trace, and stops
        everything on Ctrl-C.

          --interval <seconds>      pause between rolls (default 2)
          --count <n>               stop after n rolls (default: until Ctrl-C)
          --propagators <list>      OTEL_PROPAGATORS for both services, e.g. b3multi (default tracecontext,baggage)
          --data-dir <path>         Almanac's data directory (default ./almanac-data)
          --dice-port <port>        default 8000
          --responder-port <port>   default 8001
          --otlp-grpc-port <port>   default 4317
          --otlp-http-port <port>   default 4318
          --ui-port <port>          default 16686
          --verbose                 show the three processes' own output
          --help                    this text
        """;

    /// <summary>Parses the arguments; null with <paramref name="error"/> set when they are wrong, or for --help.</summary>
    public static StoryOptions? Parse(string[] args, out string? error)
    {
        error = null;
        var options = new StoryOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                error = "";
                return null;
            }

            if (name == "--verbose")
            {
                options = options with { Verbose = true };
                continue;
            }

            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value";
                return null;
            }

            var value = args[++i];
            switch (name)
            {
                case "--interval" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && s <= 3600:
                    options = options with { Interval = TimeSpan.FromSeconds(s) };
                    break;
                case "--count" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0:
                    options = options with { Count = n };
                    break;
                case "--propagators":
                    options = options with { Propagators = value };
                    break;
                case "--data-dir" when value.Length > 0:
                    options = options with { DataDir = value };
                    break;
                case "--dice-port" when Port(value) is { } p:
                    options = options with { DicePort = p };
                    break;
                case "--responder-port" when Port(value) is { } p:
                    options = options with { ResponderPort = p };
                    break;
                case "--otlp-grpc-port" when Port(value) is { } p:
                    options = options with { OtlpGrpcPort = p };
                    break;
                case "--otlp-http-port" when Port(value) is { } p:
                    options = options with { OtlpHttpPort = p };
                    break;
                case "--ui-port" when Port(value) is { } p:
                    options = options with { UiPort = p };
                    break;
                case "--interval" or "--count" or "--data-dir" or "--dice-port" or "--responder-port" or "--otlp-grpc-port" or "--otlp-http-port" or "--ui-port":
                    error = $"{name}: invalid value '{value}'";
                    return null;
                default:
                    error = $"unknown option {name} (see --help)";
                    return null;
            }
        }

        return options;
    }

    private static int? Port(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536 ? p : null;
}
