using Almanac.Core.Ingest;
using Almanac.Load.Templates;
using Almanac.Otlp;

namespace Almanac.Load.Tests;

/// <summary>
/// The requests almanac-load sends — the benchmark's traffic, SDK-shaped — take Almanac's raw-bytes receive path:
/// the scanner must see in them exactly the spans the decoded object path sees.
/// </summary>
public class ScannerAgreementTests
{
    [Theory]
    [InlineData(Shape.Realistic, 512)]
    [InlineData(Shape.Small, 512)]
    [InlineData(Shape.Realistic, 7)]
    public void Scan_PatchedLoadRequests_SameSpansAsParseAndFlatten(Shape shape, int batch)
    {
        var load = new TraceLoad(new TraceLoadOptions { Protocol = Protocol.HttpProtobuf, Shape = new ShapeOptions(shape), Batch = batch, Spans = batch * 8L });
        Assert.NotEmpty(load.Templates);
        var random = new Random(5);
        var scratch = new byte[load.Templates.Max(t => t.ScratchSize)];
        foreach (var template in load.Templates)
        {
            var body = (byte[])template.Bytes.Clone();
            template.Patch(body, (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000, random, scratch);

            var scan = OtlpTraceScanner.Scan(body);
            var flat = TraceRequestFlattener.Flatten(OtlpProtobuf.ParseTraceRequest(body));

            Assert.Equal(new TraceScan(flat.Spans.Count, 0, null, body.Length), scan);
            Assert.Equal(template.SpanCount, scan.Spans);
        }
    }
}
