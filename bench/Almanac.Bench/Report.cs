using System.Globalization;
using System.Text;

namespace Almanac.Bench;

/// <summary>Writes bench/results/&lt;date&gt;-&lt;commit&gt;.md and its plots (ScottPlot PNGs in a folder of the same name).</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(RunRecord run, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var stem = $"{run.StartedUtc:yyyy-MM-dd}-{run.Commit}";
        for (var n = 2; File.Exists(Path.Combine(outDir, stem + ".md")); n++)
        {
            stem = $"{run.StartedUtc:yyyy-MM-dd}-{run.Commit}-run{n}";
        }

        var plotDir = Path.Combine(outDir, stem);
        Directory.CreateDirectory(plotDir);
        var plots = Plots.Write(run, plotDir);

        var md = new StringBuilder();
        var o = run.Options;
        var isAlmanac = o.Endpoint is null;
        md.AppendLine(Inv, $"# Benchmark run, {run.StartedUtc:yyyy-MM-dd HH:mm} UTC, commit {run.Commit}");
        md.AppendLine();
        md.AppendLine(Inv, $"Machine: {run.Machine.Cpu}, {run.Machine.Cores} cores, {run.Machine.Memory} RAM, {run.Machine.Os}, {run.Machine.DotNet}. ");
        md.AppendLine(Inv, $"Before the run the machine was {run.BusyBeforeStart:P0} busy over 5 s (after waiting {run.SettleWaited.TotalSeconds:0} s for it to go quiet). "
            + $"Load average when the run started: {run.Machine.LoadAverage}; when it ended: {MachineInfo.LoadAvg()}. Release builds.");
        md.AppendLine();
        if (run.BusyBeforeStart > QuietMachine.QuietBusy)
        {
            // Said up front, so nobody quotes a figure from a run that shared its cores with other work. What the
            // cores did just before is the test: the load average still shows a build that ended a minute ago.
            md.AppendLine(Inv, $"**The machine was busy** ({run.BusyBeforeStart:P0} of its {run.Machine.Cores} cores in the 5 s before the run): other processes");
            md.AppendLine("competed with the target, the sink and the generator for the CPU, so every figure is pessimistic and noisy. The same-run");
            md.AppendLine("ratio to the null sink is the more robust figure; re-run on a quiet machine before quoting anything.");
            md.AppendLine();
        }

        md.AppendLine(Inv, $"Command: `bench/run.sh {Command(o)}` — OTLP {o.Protocol}, {o.Exporters} exporters, realistic 512-span requests (almanac-load, {o.Templates} templates), loopback.");
        md.AppendLine();

        md.AppendLine("## Ingest at full speed, same run");
        md.AppendLine();
        md.AppendLine("| target | spans/s acknowledged | MB/s | export latency p50 / p99 | throttled | failed | target CPU | CPU per span | load generator CPU | machine busy (I/O wait) | target |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        if (run.Sink is { } sink)
        {
            md.AppendLine(IngestRow(sink, "—"));
        }

        if (run.Target is { } t)
        {
            md.AppendLine(IngestRow(t, isAlmanac ? "≥ 500,000 spans/s" : "—"));
        }

        if (run.Sink is { } s && run.Target is { } a && s.Summary.SpansPerSecond > 0)
        {
            md.AppendLine();
            md.AppendLine(Inv, $"**{a.Label} reached {100 * a.Summary.SpansPerSecond / s.Summary.SpansPerSecond:F1}% of the null sink's rate** in the same run{(isAlmanac ? " (target ≥ 20%)" : string.Empty)}.");
        }

        md.AppendLine();
        var memory = new List<(string, string, string)>();
        if (run.IdleRssFresh is { } idle)
        {
            memory.Add(("idle RSS after start", Mb(idle), "≤ 200 MB"));
        }

        if (run.PeakRss is { } peak)
        {
            memory.Add(("peak RSS (VmHWM) over start, fills and the sustained run", Mb(peak), "≤ 1 GB"));
        }

        if (run.Target?.PeakRss is { } peakSustained && isAlmanac)
        {
            memory.Add(("VmHWM at the end of the sustained run", Mb(peakSustained), "≤ 1 GB"));
        }

        if (run.RssAfterQueries is { } afterQueries)
        {
            memory.Add(("RSS right after the fills and the searches", Mb(afterQueries), "—"));
        }

        if (run.IdleRssAfterLoad is { } idleAfter)
        {
            memory.Add(("RSS idle again (45 s after the last search)", Mb(idleAfter), "≤ 200 MB"));
        }

        if (run.TargetRss is { } rss)
        {
            memory.Add(("RSS at the end of the run", Mb(rss), "—"));
        }

        if (memory.Count > 0)
        {
            md.AppendLine("| memory | value | target |");
            md.AppendLine("| --- | --- | --- |");
            foreach (var (label, value, target) in memory)
            {
                md.AppendLine(Inv, $"| {label} | {value} | {target} |");
            }

            md.AppendLine();
        }

        foreach (var f in run.Fills)
        {
            md.AppendLine(Inv, $"Fill: {f.Summary.SpansAccepted:N0} spans in {f.Summary.ElapsedSeconds:F0} s ({f.Summary.SpansPerSecond:N0} spans/s, {f.Summary.Throttled:N0} throttled answers, {f.Summary.SpansFailed:N0} spans failed).  ");
        }

        if (run.Fills.Count > 0)
        {
            md.AppendLine();
        }

        if (isAlmanac)
        {
            md.AppendLine("## Storage");
            md.AppendLine();
            md.AppendLine("| measure | value | target |");
            md.AppendLine("| --- | --- | --- |");
            md.AppendLine(Inv, $"| spans stored | {run.SpansStored:N0} | 10,000,000 |");
            if (run.CatchUp is { } catchUp)
            {
                md.AppendLine(Inv, $"| store caught up with the last acknowledged export after | {catchUp.TotalSeconds:F1} s | — |");
            }

            if (run.BytesLive is { } live && run.SpansStored > 0)
            {
                md.AppendLine(Inv, $"| data directory once settled (running) | {live / 1e6:N1} MB, {(double)live / run.SpansStored:F1} bytes/span | ≤ 40 bytes/span |");
            }

            if (run.BytesAfterShutdown is { } after && run.SpansStored > 0)
            {
                md.AppendLine(Inv, $"| data directory after a clean shutdown | {after / 1e6:N1} MB, {(double)after / run.SpansStored:F1} bytes/span | ≤ 40 bytes/span |");
            }

            if (run.StoreBytesAfterShutdown is { } store && run.SpansStored > 0)
            {
                md.AppendLine(Inv, $"| of which the store (DuckDB files, without Almanac's write-ahead log) | {store / 1e6:N1} MB, **{(double)store / run.SpansStored:F1} bytes/span** | ≤ 40 bytes/span |");
            }

            if (run.DataFiles.Count > 0)
            {
                var files = string.Join(", ", run.DataFiles.Select(f => string.Create(Inv, $"`{f.Name}` {f.Bytes / 1e6:N1} MB")));
                md.AppendLine(Inv, $"| data directory's contents after the shutdown | {files} | — |");
            }

            if (run.StartToReady is { } ready)
            {
                md.AppendLine(Inv, $"| start to ready, empty | {ready.TotalSeconds:F1} s | — |");
            }

            if (run.Shutdown is { } shutdown)
            {
                md.AppendLine(Inv, $"| clean shutdown | {shutdown.TotalSeconds:F1} s | — |");
            }

            if (run.RestartToReady is { } restart)
            {
                md.AppendLine(Inv, $"| restart to ready with the data | {restart.TotalSeconds:F1} s | — |");
            }

            md.AppendLine();
            md.AppendLine("## Trace by id (`GET /api/traces/{id}`, sequential, warm)");
            md.AppendLine();
            md.AppendLine("| spans stored | lookup | n | p50 | p99 | max | target |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
            foreach (var level in run.ByIdLevels)
            {
                foreach (var l in new[] { level.Found, level.NotFound })
                {
                    md.AppendLine(Inv, $"| {level.Spans:N0} | {l.Label} | {l.Ms.Count} | {Ms(l.Percentile(50))} | {Ms(l.Percentile(99))} | {Ms(l.Ms.Max())} | p99 ≤ 10 ms at 10M; not-found fastest |");
                }
            }

            md.AppendLine();
            md.AppendLine(Inv, $"## Search (`GET /api/traces`, limit 20, {run.SpansStored:N0} spans stored, each query run {o.SearchRepeats} times)");
            md.AppendLine();
            md.AppendLine("| search | returned | p50 | p99 | max | target |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- |");
            foreach (var l in run.Searches)
            {
                var target = l.Label.StartsWith("attribute", StringComparison.Ordinal) ? "p99 ≤ 100 ms at 10M" : "—";
                md.AppendLine(Inv, $"| {l.Label} | {l.Detail} | {Ms(l.Percentile(50))} | {Ms(l.Percentile(99))} | {Ms(l.Ms.Max())} | {target} |");
            }

            md.AppendLine();
            md.AppendLine("All the load generator's spans are minutes old, so the 1-hour and 2-day lookbacks cover the same data.");
            md.AppendLine(Inv, $"Percentiles are nearest-rank over the runs (with {o.SearchRepeats} runs, p99 is the slowest{(o.SearchRepeats >= 100 ? " but one" : string.Empty)}).");
            md.AppendLine();
            md.AppendLine("## Web UI: open a big trace in headless Chromium");
            md.AppendLine();
            if (run.Ui.Count == 0)
            {
                md.AppendLine("Skipped (no sizes asked for, or no /usr/bin/chromium).");
            }
            else
            {
                md.AppendLine("From navigation to the timeline's rows rendered (`data-ready`), a fresh browser context each time.");
                md.AppendLine();
                md.AppendLine("| trace | opens | median | slowest | note |");
                md.AppendLine("| --- | --- | --- | --- | --- |");
                foreach (var l in run.Ui)
                {
                    md.AppendLine(Inv, $"| {l.Label} | {l.Ms.Count} | {l.Percentile(50) / 1000:F2} s | {l.Ms.Max() / 1000:F2} s | {l.Detail} |");
                }
            }

            md.AppendLine();
        }

        md.AppendLine("## Plots");
        md.AppendLine();
        foreach (var (title, file) in plots)
        {
            md.AppendLine(Inv, $"![{title}]({stem}/{file})");
            md.AppendLine();
        }

        md.AppendLine("Targets are the benchmark issue's, for a 2-core machine; they are measured here, never asserted in tests.");
        var path = Path.Combine(outDir, stem + ".md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    private static string IngestRow(IngestResult r, string target)
    {
        var s = r.Summary;
        var cpu = r.CpuSeconds is { } c ? $"{c / s.ElapsedSeconds:F2} cores" : "—";
        var perSpan = r.CpuMicrosPerSpan is { } us ? $"{us:F1} µs" : "—";
        var generator = s.ElapsedSeconds > 0 ? $"{r.GeneratorCpuSeconds / s.ElapsedSeconds:F2} cores" : "—";
        return string.Create(Inv, $"| {r.Label} | **{s.SpansPerSecond:N0}** ({s.SpansAccepted:N0} in {s.ElapsedSeconds:F0} s) | {s.WireMegabytesPerSecond:F1} | {s.Latency.P50:F1} / {s.Latency.P99:F1} ms | {s.Throttled:N0} | {s.SpansFailed:N0} spans | {cpu} | {perSpan} | {generator} | {100 * r.MachineBusy:F0}% ({100 * r.MachineIowait:F0}%) | {target} |");
    }

    private static string Command(BenchOptions o)
    {
        var parts = new List<string> { $"--duration {o.Duration.TotalSeconds:F0}s" };
        if (o.Endpoint is null)
        {
            parts.Add($"--spans {o.Spans}");
        }

        if (o.FirstLevel != 1_000_000)
        {
            parts.Add($"--first-level {o.FirstLevel}");
        }

        if (o.Endpoint is { } e)
        {
            parts.Add($"--endpoint {e}");
        }

        if (o.Protocol != "grpc")
        {
            parts.Add($"--protocol {o.Protocol}");
        }

        if (o.Exporters != 4)
        {
            parts.Add($"--exporters {o.Exporters}");
        }

        if (o.Templates != 128)
        {
            parts.Add($"--templates {o.Templates}");
        }

        if (!o.UiSpans.SequenceEqual([10_000, 100_000]))
        {
            parts.Add($"--ui-spans {string.Join(',', o.UiSpans)}");
        }

        return string.Join(' ', parts);
    }

    private static string Mb(long bytes) => string.Create(Inv, $"{bytes / 1048576.0:N0} MB");

    private static string Ms(double ms) => double.IsNaN(ms) ? "—" : string.Create(Inv, $"{ms:F2} ms");
}

/// <summary>The PNGs: throughput over time, the target's CPU and memory over time, latency distributions.</summary>
internal static class Plots
{
    public static IReadOnlyList<(string Title, string File)> Write(RunRecord run, string dir)
    {
        var written = new List<(string, string)>();

        if (run.Sink is not null || run.Target is not null)
        {
            var plot = new ScottPlot.Plot();
            foreach (var r in new[] { run.Sink, run.Target })
            {
                if (r is null || r.Samples.Count == 0)
                {
                    continue;
                }

                var line = plot.Add.Scatter(r.Samples.Select(s => s.Second).ToArray(), r.Samples.Select(s => (double)s.Spans).ToArray());
                line.LegendText = r.Label;
            }

            plot.Title("Spans acknowledged per second, same run");
            plot.XLabel("seconds");
            plot.YLabel("spans/s");
            FromZero(plot);
            plot.ShowLegend();
            plot.SavePng(Path.Combine(dir, "throughput.png"), 1000, 500);
            written.Add(("Throughput over time", "throughput.png"));
        }

        // The whole Almanac timeline: fills and the sustained run one after the other, one line per measure, the
        // phases marked by vertical lines.
        var name = run.Options.Endpoint is null ? "Almanac" : run.Options.Endpoint.ToString();
        var phases = run.Fills.Take(1).Concat(run.Target is null ? [] : [run.Target]).Concat(run.Fills.Skip(1)).ToList();
        if (phases.Any(p => p.Samples.Any(s => s.Rss > 0)))
        {
            var xs = new List<double>();
            var spans = new List<double>();
            var rss = new List<double>();
            var cpu = new List<double>();
            var marks = new List<(double X, string Label)>();
            var offset = 0.0;
            foreach (var p in phases)
            {
                marks.Add((offset, p.Label == "fill" ? "fill" : "sustained"));
                foreach (var sample in p.Samples)
                {
                    xs.Add(sample.Second + offset);
                    spans.Add(sample.Spans);
                    rss.Add(sample.Rss / 1048576.0);
                    cpu.Add(sample.CpuCores * 100);
                }

                offset += p.Samples.Count == 0 ? 0 : p.Samples[^1].Second;
            }

            var rate = new ScottPlot.Plot();
            rate.Add.Scatter(xs.ToArray(), spans.ToArray()).LegendText = "spans/s acknowledged";
            Marks(rate, marks);
            rate.Title($"{name}: spans acknowledged per second over the whole run");
            rate.XLabel("seconds");
            rate.YLabel("spans/s");
            FromZero(rate);
            rate.ShowLegend();
            rate.SavePng(Path.Combine(dir, "ingest-timeline.png"), 1000, 500);
            written.Add(($"{name} ingest over the whole run", "ingest-timeline.png"));

            var mem = new ScottPlot.Plot();
            mem.Add.Scatter(xs.ToArray(), rss.ToArray()).LegendText = "RSS (MB)";
            mem.Add.Scatter(xs.ToArray(), cpu.ToArray()).LegendText = "CPU (% of one core)";
            Marks(mem, marks);
            mem.Title($"{name}: resident memory and CPU while ingesting");
            mem.XLabel("seconds");
            mem.YLabel("MB / % of a core");
            FromZero(mem);
            mem.ShowLegend();
            mem.SavePng(Path.Combine(dir, "memory-cpu.png"), 1000, 500);
            written.Add(($"{name} memory and CPU", "memory-cpu.png"));
        }

        var byId = run.ByIdLevels.SelectMany(l => new[] { (l.Spans, l.Found), (l.Spans, l.NotFound) }).ToList();
        if (byId.Count > 0)
        {
            var plot = new ScottPlot.Plot();
            foreach (var (spans, l) in byId)
            {
                Percentiles(plot, l, $"{l.Label}, {spans:N0} spans");
            }

            plot.Legend.Alignment = ScottPlot.Alignment.UpperLeft;
            plot.Title("Trace by id: latency distribution");
            plot.XLabel("percentile");
            plot.YLabel("ms");
            plot.ShowLegend();
            plot.SavePng(Path.Combine(dir, "trace-by-id.png"), 1000, 500);
            written.Add(("Trace-by-id latency distribution", "trace-by-id.png"));
        }

        if (run.Searches.Count > 0)
        {
            var plot = new ScottPlot.Plot();
            foreach (var l in run.Searches)
            {
                Percentiles(plot, l, l.Label);
            }

            plot.Legend.Alignment = ScottPlot.Alignment.UpperLeft;
            plot.Title($"Search: latency distribution, {run.SpansStored:N0} spans stored");
            plot.XLabel("percentile");
            plot.YLabel("ms");
            plot.ShowLegend();
            plot.SavePng(Path.Combine(dir, "search.png"), 1000, 500);
            written.Add(("Search latency distribution", "search.png"));
        }

        return written;
    }

    private static void Marks(ScottPlot.Plot plot, List<(double X, string Label)> marks)
    {
        foreach (var (x, label) in marks)
        {
            var line = plot.Add.VerticalLine(x);
            line.Text = label;
            line.LinePattern = ScottPlot.LinePattern.Dashed;
            line.Color = ScottPlot.Colors.Gray;
        }
    }

    /// <summary>Rates and memory read best from zero: a flat line at the top of a zoomed axis looks like a swing.</summary>
    private static void FromZero(ScottPlot.Plot plot)
    {
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        plot.Axes.SetLimitsY(0, Math.Max(1, limits.Top * 1.05));
    }

    private static void Percentiles(ScottPlot.Plot plot, Latencies l, string label)
    {
        var sorted = l.Ms.Order().ToArray();
        if (sorted.Length == 0)
        {
            return;
        }

        var xs = Enumerable.Range(1, sorted.Length).Select(i => 100.0 * i / sorted.Length).ToArray();
        var line = plot.Add.Scatter(xs, sorted);
        line.MarkerSize = 0;
        line.LegendText = label;
    }
}
