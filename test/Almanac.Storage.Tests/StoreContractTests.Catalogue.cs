using Almanac.Core.Model;
using Almanac.Core.Storage;
using OpenTelemetry.Proto.Trace.V1;
using static Almanac.Testing.TestData;

namespace Almanac.Storage.Tests;

/// <summary>The search form's catalogue: exact trace counts per service and an attribute key's values.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task GetServiceTraceCounts_CountsDistinctTracesWithASpanOfTheServiceInTheWindow()
    {
        var store = await OpenAsync();
        var shared = NewTraceId();
        var spans = new List<SpanData>
        {
            // One trace over two services, three web spans: one trace for each service.
            Data(CreateSpan(shared, startUnixNano: T(100)), "web"),
            Data(CreateSpan(shared, startUnixNano: T(110)), "web"),
            Data(CreateSpan(shared, startUnixNano: T(120)), "web"),
            Data(CreateSpan(shared, startUnixNano: T(130)), "db"),
            // Only outside the window: not counted.
            Data(CreateSpan(NewTraceId(), startUnixNano: T(0)), "old"),
            Data(CreateSpan(NewTraceId(), startUnixNano: T(300)), "web"),
        };
        for (var i = 0; i < 1_200; i++)
        {
            // More traces than the old capped count (1000) could tell apart.
            spans.Add(Data(CreateSpan(NewTraceId(), startUnixNano: T(150 + (i % 50))), "busy"));
        }

        await store.WriteAsync(new TelemetryBatch(spans, 1));

        var counts = await store.GetServiceTraceCountsAsync(T(100), T(200));

        Assert.Equal([new ServiceTraces("busy", 1_200), new ServiceTraces("db", 1), new ServiceTraces("web", 1)], counts);
        foreach (var c in counts)
        {
            // Exactly what the service's search over the same window finds.
            var found = await store.FindTraceIdsAsync(new TraceQuery { ServiceName = c.Service, StartTimeMinUnixNano = T(100), StartTimeMaxUnixNano = T(200), Limit = 5_000 });
            Assert.Equal(c.TraceCount, found.Count);
        }

        Assert.Empty(await store.GetServiceTraceCountsAsync(T(1_000), T(2_000)));
    }

    [Fact]
    public async Task GetAttributeValues_SpanEventAndResourceValuesPerSpan_MostFrequentFirst()
    {
        var store = await OpenAsync();
        SpanData Route(string service, string route, long atMs, string host = "h1") =>
            ToSpanData(CreateSpan(NewTraceId(), startUnixNano: T(atMs), attributes: [Attr("http.route", route), Attr("http.response.status_code", 200L)]),
                CreateResource(service, Attr("host.name", host)));
        await Write(store, 1,
            Route("web", "/a", 100), Route("web", "/b", 110), Route("web", "/b", 120, "h2"), Route("web", "/b", 130, "h2"),
            Route("api", "/c", 140), Route("api", "/c", 150),
            Route("web", "/old", 0),
            Data(CreateSpan(NewTraceId(), startUnixNano: T(160), events: [new Span.Types.Event { Name = "e", Attributes = { Attr("http.route", "/event") } }]), "web"));

        Assert.Equal(
            [new AttributeValueStat("/b", 3), new AttributeValueStat("/c", 2), new AttributeValueStat("/a", 1), new AttributeValueStat("/event", 1)],
            await store.GetAttributeValuesAsync("http.route", null, T(100), T(200), 10));
        Assert.Equal([new AttributeValueStat("/b", 3), new AttributeValueStat("/a", 1)], await store.GetAttributeValuesAsync("http.route", "web", T(100), T(200), 2));

        // Values in the text form filters match (an int as digits); resource attributes count once per span.
        Assert.Equal([new AttributeValueStat("200", 6)], await store.GetAttributeValuesAsync("http.response.status_code", null, T(100), T(200), 10));
        Assert.Equal([new AttributeValueStat("h1", 2), new AttributeValueStat("h2", 1)], await store.GetAttributeValuesAsync("host.name", "web", T(100), T(125), 10));
        Assert.Equal([new AttributeValueStat("web", 5)], await store.GetAttributeValuesAsync("service.name", "web", T(100), T(200), 10));
        Assert.Empty(await store.GetAttributeValuesAsync("no.such.key", null, T(0), T(1_000), 10));
        Assert.Empty(await store.GetAttributeValuesAsync("http.route", null, T(0), T(1_000), 0));
    }
}
