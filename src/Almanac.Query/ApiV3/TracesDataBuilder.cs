using Almanac.Core.Model;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Query.ApiV3;

/// <summary>
/// Rebuilds OTLP <see cref="TracesData"/> from stored spans: spans go back under their resource (+ schema url) and
/// scope (+ schema url), so api_v3 clients see the batches the way the SDK sent them.
/// </summary>
internal static class TracesDataBuilder
{
    public static TracesData Build(IEnumerable<TraceData> traces)
    {
        var data = new TracesData();
        var resources = new Dictionary<ResourceKey, (ResourceSpans Spans, Dictionary<ScopeKey, ScopeSpans> Scopes)>();
        foreach (var trace in traces)
        {
            var spans = trace.Spans.ToArray();
            Array.Sort(spans, static (a, b) =>
            {
                var c = a.StartTimeUnixNano.CompareTo(b.StartTimeUnixNano);
                return c != 0 ? c : a.SpanId.Value.CompareTo(b.SpanId.Value);
            });

            foreach (var span in spans)
            {
                var resourceKey = new ResourceKey(span.Resource, span.ResourceSchemaUrl);
                if (!resources.TryGetValue(resourceKey, out var resource))
                {
                    resource = (new ResourceSpans { Resource = span.Resource, SchemaUrl = span.ResourceSchemaUrl }, []);
                    resources.Add(resourceKey, resource);
                    data.ResourceSpans.Add(resource.Spans);
                }

                var scopeKey = new ScopeKey(span.Scope, span.ScopeSchemaUrl);
                if (!resource.Scopes.TryGetValue(scopeKey, out var scope))
                {
                    scope = new ScopeSpans { Scope = span.Scope, SchemaUrl = span.ScopeSchemaUrl };
                    resource.Scopes.Add(scopeKey, scope);
                    resource.Spans.ScopeSpans.Add(scope);
                }

                // Protobuf messages have no parent pointer, so the stored Span can be shared rather than cloned.
                scope.Spans.Add(span.Span);
            }
        }

        return data;
    }

    // Protobuf messages compare by value: equal resources read back as separate instances still group together.
    private readonly record struct ResourceKey(Resource Resource, string SchemaUrl);

    private readonly record struct ScopeKey(InstrumentationScope Scope, string SchemaUrl);
}
