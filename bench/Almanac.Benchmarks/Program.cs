using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// In-process: the per-benchmark project BenchmarkDotNet would generate inherits this repository's build settings
// (warnings as errors, central package versions) and costs a build per run on a 2-core machine.
// The short job (3 warm-ups, 3 iterations) by default, since the machine is shared; `--full` for BenchmarkDotNet's
// default job. Every other argument is BenchmarkDotNet's own (`--filter '*Search*'`, `--list flat`, ...).
var full = args.Contains("--full");
var job = (full ? Job.Default : Job.ShortRun).WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance.AddJob(job.AsDefault());
BenchmarkSwitcher.FromAssembly(typeof(Almanac.Benchmarks.OtlpDecode).Assembly).Run(args.Where(a => a != "--full").ToArray(), config);
