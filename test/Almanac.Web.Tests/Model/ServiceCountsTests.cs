using Almanac.Testing;
using Almanac.Web.Model;

namespace Almanac.Web.Tests.Model;

public class ServiceCountsTests
{
    [Fact]
    public async Task Counts_traces_per_service_and_labels_them()
    {
        var reader = new InMemorySpanReader();
        for (var i = 0; i < 3; i++)
        {
            reader.Add(TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), TestData.NewSpanId()), TestData.CreateResource("web")));
        }

        reader.Add(TestData.ToSpanData(TestData.CreateSpan(TestData.NewTraceId(), TestData.NewSpanId()), TestData.CreateResource("db")));
        var counts = await ServiceCounts.CountAsync(reader, 0, long.MaxValue);
        Assert.Equal([new ServiceTraceCount("db", 1, false), new ServiceTraceCount("web", 3, false)], counts);
        Assert.Equal("db  (1 trace)", ServiceCounts.Label(counts[0]));
        Assert.Equal("web  (3 traces)", ServiceCounts.Label(counts[1]));
        Assert.Equal("big  (1000+ traces)", ServiceCounts.Label(new ServiceTraceCount("big", 1000, true)));
    }
}
