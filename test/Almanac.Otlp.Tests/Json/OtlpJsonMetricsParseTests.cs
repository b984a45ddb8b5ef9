using System.Text;
using Almanac.Otlp.Json;
using Almanac.Otlp.Tests.Fixtures;
using OpenTelemetry.Proto.Metrics.V1;

namespace Almanac.Otlp.Tests.Json;

public sealed class OtlpJsonMetricsParseTests
{
    [Fact]
    public void ParseMetricsRequest_SpecExample_EveryPointTypeAndFieldLands()
    {
        var request = OtlpJson.ParseMetricsRequest(FixtureFiles.Read("otlp-spec-examples", "metrics.json"));

        var resourceMetrics = Assert.Single(request.ResourceMetrics);
        Assert.Equal("my.service", resourceMetrics.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue);
        var scopeMetrics = Assert.Single(resourceMetrics.ScopeMetrics);
        Assert.Equal("my.library", scopeMetrics.Scope.Name);
        Assert.Equal("some scope attribute", Assert.Single(scopeMetrics.Scope.Attributes).Value.StringValue);
        var metrics = scopeMetrics.Metrics.ToDictionary(m => m.Name);
        const ulong Time = 1544712660300000000;

        var counter = metrics["my.counter"];
        Assert.Equal(("1", "I am a Counter"), (counter.Unit, counter.Description));
        Assert.Equal(AggregationTemporality.Delta, counter.Sum.AggregationTemporality);
        Assert.True(counter.Sum.IsMonotonic);
        var counterPoint = Assert.Single(counter.Sum.DataPoints);
        Assert.Equal(5, counterPoint.AsDouble);
        Assert.Equal((Time, Time), (counterPoint.StartTimeUnixNano, counterPoint.TimeUnixNano));
        Assert.Equal("my.counter.attr", Assert.Single(counterPoint.Attributes).Key);

        var gaugePoint = Assert.Single(metrics["my.gauge"].Gauge.DataPoints);
        Assert.Equal(10, gaugePoint.AsDouble);
        Assert.Equal("some value", Assert.Single(gaugePoint.Attributes).Value.StringValue);

        var histogram = metrics["my.histogram"].Histogram;
        Assert.Equal(AggregationTemporality.Delta, histogram.AggregationTemporality);
        var h = Assert.Single(histogram.DataPoints);
        Assert.Equal(2UL, h.Count);
        Assert.Equal(2, h.Sum);
        Assert.Equal([1UL, 1UL], h.BucketCounts);
        Assert.Equal([1.0], h.ExplicitBounds);
        Assert.Equal((0.0, 2.0), (h.Min, h.Max));
        Assert.True(h.HasMin && h.HasMax && h.HasSum);

        var e = Assert.Single(metrics["my.exponential.histogram"].ExponentialHistogram.DataPoints);
        Assert.Equal((3UL, 10.0, 0, 1UL), (e.Count, e.Sum, e.Scale, e.ZeroCount));
        Assert.Equal(1, e.Positive.Offset);
        Assert.Equal([0UL, 2UL], e.Positive.BucketCounts);
        Assert.Equal((0.0, 5.0, 0.0), (e.Min, e.Max, e.ZeroThreshold));
        Assert.Equal("my.exponential.histogram.attr", Assert.Single(e.Attributes).Key);
    }

    [Fact]
    public void ParseMetricsRequest_ExemplarsAndSummary_Land()
    {
        const string Json = """
            {"resourceMetrics":[{"scopeMetrics":[{"metrics":[
              {"name":"c","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,"dataPoints":[
                {"asInt":"7","timeUnixNano":"2","exemplars":[{"timeUnixNano":"1","asDouble":7.5,
                  "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
                  "filteredAttributes":[{"key":"user","value":{"stringValue":"ada"}}]}]}]}},
              {"name":"s","summary":{"dataPoints":[{"count":"4","sum":10,"quantileValues":[{"quantile":0.5,"value":2},{"quantile":1,"value":4}]}]}}
            ]}]}]}
            """;

        var metrics = OtlpJson.ParseMetricsRequest(Encoding.UTF8.GetBytes(Json)).ResourceMetrics[0].ScopeMetrics[0].Metrics;

        var point = metrics[0].Sum.DataPoints.Single();
        Assert.Equal(AggregationTemporality.Cumulative, metrics[0].Sum.AggregationTemporality);
        Assert.Equal(7, point.AsInt);
        var exemplar = Assert.Single(point.Exemplars);
        Assert.Equal("5b8efff798038103d269b633813fc60c", Convert.ToHexStringLower(exemplar.TraceId.Span));
        Assert.Equal("eee19b7ec3c1b174", Convert.ToHexStringLower(exemplar.SpanId.Span));
        Assert.Equal(7.5, exemplar.AsDouble);
        Assert.Equal("ada", Assert.Single(exemplar.FilteredAttributes).Value.StringValue);
        var summary = metrics[1].Summary.DataPoints.Single();
        Assert.Equal((4UL, 10.0), (summary.Count, summary.Sum));
        Assert.Equal([(0.5, 2.0), (1.0, 4.0)], summary.QuantileValues.Select(q => (q.Quantile, q.Value)));
    }
}
