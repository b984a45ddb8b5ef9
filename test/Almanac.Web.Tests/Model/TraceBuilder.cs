using Almanac.Core.Model;
using Almanac.Testing;
using OpenTelemetry.Proto.Trace.V1;

namespace Almanac.Web.Tests.Model;

/// <summary>Builds small traces with times in milliseconds from a base, for tree and critical-path tests.</summary>
public sealed class TraceBuilder
{
    public const long Ms = 1_000_000;

    private readonly List<SpanData> _spans = [];

    public TraceId TraceId { get; } = TestData.NewTraceId();

    public long Base { get; } = TestData.BaseTimeUnixNano;

    public SpanId Span(string name, long startMs, long endMs, SpanId? parent = null, string service = "svc", bool error = false,
        Span.Types.SpanKind kind = OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Server)
    {
        var id = TestData.NewSpanId();
        var span = TestData.CreateSpan(TraceId, id, parent, name, kind, Base + (startMs * Ms), (endMs - startMs) * Ms,
            error ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset);
        _spans.Add(TestData.ToSpanData(span, TestData.CreateResource(service)));
        return id;
    }

    public TraceData Build() => new(TraceId, _spans);

    public IReadOnlyList<SpanData> Spans => _spans;
}
