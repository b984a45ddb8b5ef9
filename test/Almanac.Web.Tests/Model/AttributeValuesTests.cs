using Almanac.Testing;
using Almanac.Web.Model;

namespace Almanac.Web.Tests.Model;

public class AttributeValuesTests
{
    [Fact]
    public async Task Values_of_a_key_in_recent_traces_most_frequent_first_and_only_searchable_ones()
    {
        var reader = new InMemorySpanReader();
        void Add(string service, params string[] routes)
        {
            var traceId = TestData.NewTraceId();
            foreach (var route in routes)
            {
                reader.Add(TestData.ToSpanData(TestData.CreateSpan(traceId, TestData.NewSpanId(), name: "GET", attributes: [TestData.Attr("http.route", route)]),
                    TestData.CreateResource(service)));
            }
        }

        Add("web", "/a", "/b", "/a");
        Add("web", "/b", "/b", "two\nlines", " padded ");
        Add("other", "/c");

        var values = await AttributeValues.RecentAsync(reader, "web", "http.route", TestData.BaseTimeUnixNano);
        Assert.Equal([new AttributeValueCount("/b", 3), new AttributeValueCount("/a", 2)], values);

        var all = await AttributeValues.RecentAsync(reader, null, "http.route", TestData.BaseTimeUnixNano);
        Assert.Contains(new AttributeValueCount("/c", 1), all);
        Assert.Contains(new AttributeValueCount("web", 7), await AttributeValues.RecentAsync(reader, "web", "service.name", TestData.BaseTimeUnixNano));
        Assert.Empty(await AttributeValues.RecentAsync(reader, "web", "no.such.key", TestData.BaseTimeUnixNano));
    }
}
