using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Load.Templates;

public enum Shape
{
    Realistic,
    Small,
}

public sealed record ShapeOptions(Shape Shape = Shape.Realistic, int Services = 8, int Depth = 4, int Fanout = 3, double ErrorRate = 0.05);

/// <summary>
/// Builds export requests of a given span count with sentinel ids and times (see <see cref="Sentinels"/>).
/// Realistic: a service mesh of HTTP server/client, database and messaging spans, 8–12 attributes each, some
/// high-cardinality (user ids, URL paths with ids, client addresses), ~5% errors with exception events, realistic
/// resources. Small: telemetrygen-like two-span traces ("lets-go" → "okey-dokey-0") with minimal attributes.
/// A request holds whole traces except that the last one may be cut short; spans are generated parents first, so
/// every parent id in a request refers to a span in it.
/// </summary>
public static class TemplateBuilder
{
    private const long Ms = 1_000_000;

    private static readonly string[] ServiceNames =
    [
        "frontend", "checkout", "cart", "payment", "product-catalog", "inventory", "shipping", "user-profile",
        "recommendation", "ad", "email", "currency", "fraud-detection", "accounting", "quote", "search",
    ];

    private static readonly string[] Routes = ["/api/users/{id}", "/api/orders/{id}", "/api/products/{id}", "/api/cart/{id}/items", "/api/checkout/{id}"];

    private static readonly string[] Tables = ["users", "orders", "order_items", "products", "carts", "payments", "shipments"];

    private static readonly string[] Topics = ["orders.created", "payments.completed", "inventory.reserved", "emails.outbound"];

    private static readonly (string Type, string Message)[] Exceptions =
    [
        ("System.TimeoutException", "The operation has timed out after 5000 ms"),
        ("Npgsql.PostgresException", "40001: could not serialize access due to concurrent update"),
        ("System.Net.Http.HttpRequestException", "Connection refused (inventory:8080)"),
        ("System.InvalidOperationException", "Sequence contains no matching element"),
    ];

    public static string ServiceName(int index) =>
        index < ServiceNames.Length ? ServiceNames[index] : $"{ServiceNames[index % ServiceNames.Length]}-{index / ServiceNames.Length}";

    /// <summary>A request of exactly <paramref name="spanCount"/> spans.</summary>
    internal static (ExportTraceServiceRequest Request, Sentinels Sentinels) Build(ShapeOptions options, int spanCount, int seed)
    {
        var random = new Random(seed);
        var sentinels = new Sentinels();
        var spans = new List<(int Service, Span Span)>(spanCount);
        while (spans.Count < spanCount)
        {
            var traceId = sentinels.TraceId();
            var start = -random.NextInt64(1_000 * Ms, 2_000 * Ms) - (options.Depth * 500 * Ms);
            var context = new TraceContext(options, random, sentinels, traceId, spans, spanCount);
            if (options.Shape == Shape.Small)
            {
                context.Small(start);
            }
            else
            {
                context.Server(service: 0, parent: null, start, level: 1, route: Routes[random.Next(Routes.Length)]);
            }
        }

        var request = new ExportTraceServiceRequest();
        foreach (var group in spans.GroupBy(s => s.Service).OrderBy(g => g.Key))
        {
            var scope = new ScopeSpans
            {
                Scope = new InstrumentationScope { Name = options.Shape == Shape.Small ? "telemetrygen" : "OpenTelemetry.Instrumentation.AspNetCore", Version = "1.12.0" },
            };
            scope.Spans.AddRange(group.Select(s => s.Span));
            var resourceSpans = new ResourceSpans { Resource = Resource(options, group.Key), SchemaUrl = "https://opentelemetry.io/schemas/1.26.0" };
            resourceSpans.ScopeSpans.Add(scope);
            request.ResourceSpans.Add(resourceSpans);
        }

        return (request, sentinels);
    }

    private static Resource Resource(ShapeOptions options, int service)
    {
        var resource = new Resource();
        if (options.Shape == Shape.Small)
        {
            resource.Attributes.Add(Kv("service.name", "telemetrygen"));
            return resource;
        }

        var name = ServiceName(service);
        resource.Attributes.Add(Kv("service.name", name));
        resource.Attributes.Add(Kv("service.namespace", "shop"));
        resource.Attributes.Add(Kv("service.version", $"1.{service % 7}.{(service * 3) % 10}"));
        resource.Attributes.Add(Kv("service.instance.id", $"{name}-7d9f8c6b5-{service:x4}q"));
        resource.Attributes.Add(Kv("deployment.environment.name", "production"));
        resource.Attributes.Add(Kv("host.name", $"ip-10-0-{service % 4}-{17 + service}.ec2.internal"));
        resource.Attributes.Add(Kv("host.arch", "amd64"));
        resource.Attributes.Add(Kv("os.type", "linux"));
        resource.Attributes.Add(Kv("k8s.namespace.name", "shop"));
        resource.Attributes.Add(Kv("k8s.deployment.name", name));
        resource.Attributes.Add(Kv("k8s.pod.name", $"{name}-7d9f8c6b5-{service:x4}q"));
        resource.Attributes.Add(Kv("k8s.node.name", $"node-{service % 3}"));
        resource.Attributes.Add(Kv("telemetry.sdk.name", "opentelemetry"));
        resource.Attributes.Add(Kv("telemetry.sdk.language", "dotnet"));
        resource.Attributes.Add(Kv("telemetry.sdk.version", "1.12.0"));
        return resource;
    }

    internal static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    internal static KeyValue Kv(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    private sealed class TraceContext(ShapeOptions options, Random random, Sentinels sentinels, byte[] traceId, List<(int, Span)> spans, int limit)
    {
        private long _lastStart;
        private long _lastEnd;

        private bool Full => spans.Count >= limit;

        public void Small(long start)
        {
            var parent = NewSpan(0, null, "lets-go", Span.Types.SpanKind.Client, start, 123 * 1000);
            parent.Attributes.Add(Kv("net.peer.ip", "1.2.3.4"));
            parent.Attributes.Add(Kv("peer.service", "telemetrygen-server"));
            if (Full)
            {
                return;
            }

            var child = NewSpan(0, parent, "okey-dokey-0", Span.Types.SpanKind.Server, start, 123 * 1000);
            child.Attributes.Add(Kv("net.peer.ip", "1.2.3.4"));
            child.Attributes.Add(Kv("peer.service", "telemetrygen-client"));
        }

        /// <summary>An HTTP server span of <paramref name="service"/> and, below it, its work.</summary>
        public void Server(int service, Span? parent, long start, int level, string route)
        {
            if (Full)
            {
                return;
            }

            var id = random.Next(1, 5_000_000);
            var path = route.Replace("{id}", id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            var method = route.Contains("checkout", StringComparison.Ordinal) || route.Contains("items", StringComparison.Ordinal) ? "POST" : "GET";
            var duration = random.NextInt64(5 * Ms, 400 * Ms);
            var span = NewSpan(service, parent, $"{method} {route}", Span.Types.SpanKind.Server, start, duration);
            var error = MaybeError(span);
            span.Attributes.Add(Kv("http.request.method", method));
            span.Attributes.Add(Kv("http.route", route));
            span.Attributes.Add(Kv("url.path", path));
            span.Attributes.Add(Kv("url.scheme", "http"));
            span.Attributes.Add(Kv("http.response.status_code", error ? 500 : 200));
            span.Attributes.Add(Kv("server.address", ServiceName(service)));
            span.Attributes.Add(Kv("server.port", 8080));
            span.Attributes.Add(Kv("client.address", $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}"));
            span.Attributes.Add(Kv("network.protocol.version", "1.1"));
            span.Attributes.Add(Kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"));
            span.Attributes.Add(Kv("enduser.id", $"user-{random.Next(1, 2_000_000)}"));
            Children(service, span, start, duration, level);
        }

        private void Children(int service, Span parent, long start, long duration, int level)
        {
            if (level >= options.Depth)
            {
                return;
            }

            // The first child of every span continues the deepest branch, so each complete trace reaches the depth.
            var count = random.Next(1, options.Fanout + 1);
            for (var c = 0; c < count && !Full; c++)
            {
                var childStart = start + (duration * c / (count + 1)) + random.NextInt64(100_000, 1 * Ms);
                var deep = c == 0;
                var remaining = options.Depth - level;
                var pick = random.Next(4);
                if (remaining >= 2 && options.Services > 1 && (deep || pick < 2))
                {
                    Client(service, parent, childStart, level + 1);
                }
                else if (pick == 2 || (deep && remaining == 1))
                {
                    Database(service, parent, childStart, level + 1);
                }
                else if (pick == 3)
                {
                    Messaging(service, parent, childStart, level + 1);
                }
                else
                {
                    Internal(service, parent, childStart, level + 1);
                }
            }
        }

        private void Client(int service, Span parent, long start, int level)
        {
            var target = 1 + random.Next(options.Services - 1);
            if (target == service)
            {
                target = (target % (options.Services - 1)) + 1;
            }

            var route = Routes[random.Next(Routes.Length)];
            var id = random.Next(1, 5_000_000);
            var path = route.Replace("{id}", id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            var duration = random.NextInt64(3 * Ms, 300 * Ms);
            var span = NewSpan(service, parent, "GET", Span.Types.SpanKind.Client, start, duration);
            var error = MaybeError(span);
            span.Attributes.Add(Kv("http.request.method", "GET"));
            span.Attributes.Add(Kv("url.full", $"http://{ServiceName(target)}:8080{path}"));
            span.Attributes.Add(Kv("url.path", path));
            span.Attributes.Add(Kv("server.address", ServiceName(target)));
            span.Attributes.Add(Kv("server.port", 8080));
            span.Attributes.Add(Kv("http.response.status_code", error ? 503 : 200));
            span.Attributes.Add(Kv("network.protocol.version", "1.1"));
            span.Attributes.Add(Kv("network.peer.address", $"10.1.{random.Next(256)}.{random.Next(1, 255)}"));
            span.Attributes.Add(Kv("peer.service", ServiceName(target)));
            span.Attributes.Add(Kv("http.request.resend_count", 0));
            Server(target, span, start + (Ms / 2), level + 1, route);
        }

        private void Database(int service, Span parent, long start, int level)
        {
            _ = level;
            if (Full)
            {
                return;
            }

            var table = Tables[random.Next(Tables.Length)];
            var select = random.Next(3) != 0;
            var operation = select ? "SELECT" : "UPDATE";
            var statement = select
                ? $"SELECT id, status, created_at, updated_at, total_cents FROM {table} WHERE customer_id = $1 AND status = ANY($2) ORDER BY created_at DESC LIMIT 50"
                : $"UPDATE {table} SET status = $1, updated_at = now() WHERE id = $2 RETURNING id";
            var span = NewSpan(service, parent, $"{operation} shop.{table}", Span.Types.SpanKind.Client, start, random.NextInt64(Ms / 2, 40 * Ms));
            MaybeError(span);
            span.Attributes.Add(Kv("db.system", "postgresql"));
            span.Attributes.Add(Kv("db.system.name", "postgresql"));
            span.Attributes.Add(Kv("db.namespace", "shop"));
            span.Attributes.Add(Kv("db.operation.name", operation));
            span.Attributes.Add(Kv("db.collection.name", table));
            span.Attributes.Add(Kv("db.statement", statement));
            span.Attributes.Add(Kv("db.query.text", statement));
            span.Attributes.Add(Kv("server.address", "postgres-primary.shop.svc.cluster.local"));
            span.Attributes.Add(Kv("server.port", 5432));
            span.Attributes.Add(Kv("db.response.returned_rows", random.Next(0, 50)));
        }

        private void Messaging(int service, Span parent, long start, int level)
        {
            _ = level;
            if (Full)
            {
                return;
            }

            var topic = Topics[random.Next(Topics.Length)];
            var span = NewSpan(service, parent, $"publish {topic}", Span.Types.SpanKind.Producer, start, random.NextInt64(Ms / 2, 15 * Ms));
            MaybeError(span);
            span.Attributes.Add(Kv("messaging.system", "kafka"));
            span.Attributes.Add(Kv("messaging.operation.type", "publish"));
            span.Attributes.Add(Kv("messaging.operation.name", "send"));
            span.Attributes.Add(Kv("messaging.destination.name", topic));
            span.Attributes.Add(Kv("messaging.destination.partition.id", random.Next(12).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            span.Attributes.Add(Kv("messaging.message.id", $"{random.NextInt64():x16}"));
            span.Attributes.Add(Kv("messaging.kafka.message.key", $"order-{random.Next(1, 10_000_000)}"));
            span.Attributes.Add(Kv("messaging.message.body.size", random.Next(200, 4000)));
            span.Attributes.Add(Kv("server.address", "kafka-0.kafka.shop.svc.cluster.local"));
            span.Attributes.Add(Kv("server.port", 9092));
        }

        private void Internal(int service, Span parent, long start, int level)
        {
            if (Full)
            {
                return;
            }

            var duration = random.NextInt64(Ms / 10, 20 * Ms);
            var span = NewSpan(service, parent, random.Next(2) == 0 ? "ValidateRequest" : "RenderResponse", Span.Types.SpanKind.Internal, start, duration);
            MaybeError(span);
            span.Attributes.Add(Kv("code.function.name", span.Name));
            span.Attributes.Add(Kv("code.namespace", $"Shop.{ServiceName(service).Replace("-", string.Empty, StringComparison.Ordinal)}.Handlers"));
            span.Attributes.Add(Kv("code.file.path", $"/src/{ServiceName(service)}/Handlers.cs"));
            span.Attributes.Add(Kv("code.line.number", random.Next(20, 900)));
            span.Attributes.Add(Kv("thread.id", random.Next(1, 64)));
            span.Attributes.Add(Kv("thread.name", ".NET ThreadPool Worker"));
            span.Attributes.Add(Kv("app.request.items", random.Next(1, 30)));
            span.Attributes.Add(Kv("app.user.id", $"user-{random.Next(1, 2_000_000)}"));
            span.Attributes.Add(Kv("app.cache.hit", random.Next(2) == 0 ? "true" : "false"));
            Children(service, span, start, duration, level);
        }

        private bool MaybeError(Span span)
        {
            if (random.NextDouble() >= options.ErrorRate)
            {
                return false;
            }

            var (type, message) = Exceptions[random.Next(Exceptions.Length)];
            span.Status = new Status { Code = Status.Types.StatusCode.Error, Message = message };
            var exception = new Span.Types.Event
            {
                Name = "exception",
                TimeUnixNano = sentinels.Time(_lastStart + ((_lastEnd - _lastStart) * 3 / 4)),
            };
            exception.Attributes.Add(Kv("exception.type", type));
            exception.Attributes.Add(Kv("exception.message", message));
            exception.Attributes.Add(Kv(
                "exception.stacktrace",
                $"{type}: {message}\n   at Shop.Data.Repository.QueryAsync(String sql, Object args) in /src/Shop.Data/Repository.cs:line 118\n" +
                "   at Shop.Handlers.OrderHandler.HandleAsync(HttpContext context) in /src/Shop/Handlers/OrderHandler.cs:line 57\n" +
                "   at Microsoft.AspNetCore.Routing.EndpointMiddleware.Invoke(HttpContext httpContext)"));
            span.Events.Add(exception);
            span.Attributes.Add(Kv("error.type", type));
            return true;
        }

        private Span NewSpan(int service, Span? parent, string name, Span.Types.SpanKind kind, long start, long duration)
        {
            // Times are relative to the moment of sending: keep every span in the past and ending after it starts.
            start = Math.Min(start, -2 * Ms);
            _lastStart = start;
            _lastEnd = Math.Max(start + 1000, Math.Min(start + duration, -1));
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(sentinels.SpanId()),
                Name = name,
                Kind = kind,
                StartTimeUnixNano = sentinels.Time(start),
                EndTimeUnixNano = sentinels.Time(_lastEnd),
                Flags = 0x101,
            };
            if (parent is not null)
            {
                span.ParentSpanId = parent.SpanId;
            }

            spans.Add((service, span));
            return span;
        }
    }
}
