using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Verified.Benchmarks;

// In-process: the TorchSharp native library is patched in this project's output folder only (TorchSharpOnDebian12.targets),
// and an in-process run uses exactly that folder. Short runs keep the whole matrix within a coffee break on 2 cores.
IConfig config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(new CoordinatesPerSecondColumn())
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(CodecBenchmarkBase).Assembly).Run(args, config);
