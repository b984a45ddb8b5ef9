using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using Story.Telemetry;
using B3Propagator = Story.Telemetry.B3Propagator;

namespace Almanac.Samples.Tests.Unit;

public sealed class B3PropagatorTests
{
    private const string TraceId = "463ac35c9f6413ad48485a3953bb6124";
    private const string SpanId = "a2fb4a1d1a96d312";

    private static readonly ActivityContext Sampled = new(
        ActivityTraceId.CreateFromString(TraceId), ActivitySpanId.CreateFromString(SpanId), ActivityTraceFlags.Recorded);

    private static Dictionary<string, string> Headers(params (string Key, string Value)[] pairs)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in pairs)
        {
            headers[key] = value;
        }

        return headers;
    }

    private static ActivityContext Extract(TextMapPropagator propagator, Dictionary<string, string> headers) =>
        propagator.Extract(default, headers, (h, name) => h.TryGetValue(name, out var v) ? [v] : null).ActivityContext;

    private static Dictionary<string, string> Inject(TextMapPropagator propagator, ActivityContext context)
    {
        var headers = Headers();
        propagator.Inject(new PropagationContext(context, default), headers, (h, name, value) => h[name] = value);
        return headers;
    }

    [Fact]
    public void MultiHeader_Inject_WritesTraceSpanAndSampled_ButNoParent()
    {
        var headers = Inject(new B3Propagator(), Sampled);

        Assert.Equal(3, headers.Count);
        Assert.Equal(TraceId, headers["X-B3-TraceId"]);
        Assert.Equal(SpanId, headers["X-B3-SpanId"]);
        Assert.Equal("1", headers["X-B3-Sampled"]);
    }

    [Fact]
    public void MultiHeader_Inject_NotSampled_WritesZero()
    {
        var headers = Inject(new B3Propagator(), new ActivityContext(Sampled.TraceId, Sampled.SpanId, ActivityTraceFlags.None));
        Assert.Equal("0", headers["X-B3-Sampled"]);
    }

    [Theory]
    [InlineData(true, "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1")]
    [InlineData(false, "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-0")]
    public void SingleHeader_Inject_WritesOneHeader(bool sampled, string expected)
    {
        var context = new ActivityContext(Sampled.TraceId, Sampled.SpanId, sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None);
        var headers = Inject(new B3Propagator(singleHeader: true), context);
        Assert.Equal(expected, Assert.Single(headers, h => h.Key == "b3").Value);
        Assert.Single(headers);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Inject_InvalidContext_WritesNothing(bool single)
    {
        Assert.Empty(Inject(new B3Propagator(single), default));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTrip_KeepsIdsAndSampling(bool single)
    {
        foreach (var flags in new[] { ActivityTraceFlags.Recorded, ActivityTraceFlags.None })
        {
            var original = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags);
            var propagator = new B3Propagator(single);
            var extracted = Extract(propagator, Inject(propagator, original));

            Assert.Equal(original.TraceId, extracted.TraceId);
            Assert.Equal(original.SpanId, extracted.SpanId);
            Assert.Equal(flags, extracted.TraceFlags);
            Assert.True(extracted.IsRemote);
        }
    }

    [Fact]
    public void MultiHeader_Extract_128BitTraceId()
    {
        var context = Extract(new B3Propagator(), Headers(("X-B3-TraceId", TraceId), ("X-B3-SpanId", SpanId), ("X-B3-Sampled", "1")));

        Assert.Equal(TraceId, context.TraceId.ToHexString());
        Assert.Equal(SpanId, context.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
        Assert.True(context.IsRemote);
    }

    [Fact]
    public void MultiHeader_Extract_64BitTraceId_IsLeftPaddedWithZeros()
    {
        var context = Extract(new B3Propagator(), Headers(("x-b3-traceid", "48485a3953bb6124"), ("x-b3-spanid", SpanId), ("x-b3-sampled", "1")));
        Assert.Equal("000000000000000048485a3953bb6124", context.TraceId.ToHexString());
    }

    [Theory]
    [InlineData("1", null, ActivityTraceFlags.Recorded)]
    [InlineData("true", null, ActivityTraceFlags.Recorded)]
    [InlineData("0", null, ActivityTraceFlags.None)]
    [InlineData(null, null, ActivityTraceFlags.None)] // deferred: not sampled, as in the other SDKs
    [InlineData(null, "1", ActivityTraceFlags.Recorded)] // debug implies sampled
    [InlineData("0", "1", ActivityTraceFlags.Recorded)]
    public void MultiHeader_Extract_SamplingState(string? sampled, string? flags, ActivityTraceFlags expected)
    {
        var headers = Headers(("X-B3-TraceId", TraceId), ("X-B3-SpanId", SpanId), ("X-B3-ParentSpanId", "0020000000000001"));
        if (sampled is not null)
        {
            headers["X-B3-Sampled"] = sampled;
        }

        if (flags is not null)
        {
            headers["X-B3-Flags"] = flags;
        }

        var context = Extract(new B3Propagator(), headers);
        Assert.Equal(SpanId, context.SpanId.ToHexString());
        Assert.Equal(expected, context.TraceFlags);
    }

    [Theory]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1", TraceId, ActivityTraceFlags.Recorded)]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-d", TraceId, ActivityTraceFlags.Recorded)]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-0", TraceId, ActivityTraceFlags.None)]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312", TraceId, ActivityTraceFlags.None)]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1-05e3ac9a4f6e3b90", TraceId, ActivityTraceFlags.Recorded)]
    [InlineData("48485a3953bb6124-a2fb4a1d1a96d312-1", "000000000000000048485a3953bb6124", ActivityTraceFlags.Recorded)]
    public void SingleHeader_Extract(string b3, string expectedTraceId, ActivityTraceFlags expectedFlags)
    {
        foreach (var propagator in new[] { new B3Propagator(singleHeader: true), new B3Propagator(singleHeader: false) })
        {
            var context = Extract(propagator, Headers(("b3", b3)));
            Assert.Equal(expectedTraceId, context.TraceId.ToHexString());
            Assert.Equal(SpanId, context.SpanId.ToHexString());
            Assert.Equal(expectedFlags, context.TraceFlags);
        }
    }

    [Theory]
    [InlineData("0")] // sampling state only: no ids to continue
    [InlineData("1")]
    [InlineData("d")]
    [InlineData("463ac35c9f6413ad48485a3953bb6124")]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-x")]
    [InlineData("463ac35c9f6413ad48485a3953bb612-a2fb4a1d1a96d312-1")] // 31 hex
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d31-1")] // 15 hex
    [InlineData("463ac35c9f6413ad48485a3953bb612g-a2fb4a1d1a96d312-1")]
    [InlineData("00000000000000000000000000000000-a2fb4a1d1a96d312-1")]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-0000000000000000-1")]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1-zz")]
    [InlineData("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1-05e3ac9a4f6e3b90-extra")]
    public void SingleHeader_Extract_Invalid_GivesNoContext(string b3)
    {
        Assert.False(Extract(new B3Propagator(singleHeader: true), Headers(("b3", b3))).IsValid());
    }

    [Theory]
    [InlineData("463ac35c9f6413ad48485a3953bb612", SpanId)]
    [InlineData("463ac35c9f6413ad48485a3953bb6124ff", SpanId)]
    [InlineData("0000000000000000", SpanId)]
    [InlineData(TraceId, "a2fb4a1d1a96d31")]
    [InlineData(TraceId, "not-hex-at-all!!")]
    [InlineData(TraceId, "")]
    public void MultiHeader_Extract_Invalid_GivesNoContext(string traceId, string spanId)
    {
        Assert.False(Extract(new B3Propagator(), Headers(("X-B3-TraceId", traceId), ("X-B3-SpanId", spanId), ("X-B3-Sampled", "1"))).IsValid());
    }

    [Fact]
    public void Extract_SingleHeaderWinsOverMulti()
    {
        var headers = Headers(
            ("b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1"),
            ("X-B3-TraceId", "11111111111111111111111111111111"),
            ("X-B3-SpanId", "2222222222222222"));
        Assert.Equal(TraceId, Extract(new B3Propagator(), headers).TraceId.ToHexString());
    }

    [Fact]
    public void Extract_UppercaseHex_IsAccepted()
    {
        var context = Extract(new B3Propagator(), Headers(("X-B3-TraceId", TraceId.ToUpperInvariant()), ("X-B3-SpanId", SpanId.ToUpperInvariant())));
        Assert.Equal(TraceId, context.TraceId.ToHexString());
    }

    [Fact]
    public void Extract_KeepsContextAnEarlierPropagatorFound()
    {
        var earlier = new PropagationContext(Sampled, default);
        var headers = Headers(("X-B3-TraceId", "11111111111111111111111111111111"), ("X-B3-SpanId", "2222222222222222"));
        var result = new B3Propagator().Extract(earlier, headers, (h, name) => h.TryGetValue(name, out var v) ? [v] : null);
        Assert.Equal(Sampled, result.ActivityContext);
    }

    [Fact]
    public void Extract_NoHeaders_GivesNoContext()
    {
        Assert.False(Extract(new B3Propagator(), Headers()).IsValid());
    }

    [Fact]
    public void Fields_NameEveryHeader()
    {
        Assert.Equal(
            new[] { "b3", "x-b3-flags", "x-b3-parentspanid", "x-b3-sampled", "x-b3-spanid", "x-b3-traceid" },
            new B3Propagator().Fields.Select(f => f.ToLowerInvariant()).Order());
    }

    [Fact]
    public void Extract_KeepsBaggage()
    {
        var baggage = Baggage.Create(new Dictionary<string, string> { ["player"] = "ada" });
        var result = new B3Propagator().Extract(
            new PropagationContext(default, baggage),
            Headers(("b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1")),
            (h, name) => h.TryGetValue(name, out var v) ? [v] : null);
        Assert.Equal("ada", result.Baggage.GetBaggage("player"));
    }
}
