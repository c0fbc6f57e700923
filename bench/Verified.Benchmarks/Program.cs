using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Verified.Benchmarks;

// dotnet run -c Release -- targets|matrix|baselines [BenchmarkDotNet options]
//   targets    TNQ/TUQ b = 3 on the scalar and the best path, d = 2^16 and 2^22 (the targets)
//   matrix     every scheme and b ∈ {1, 2, 3, 4, 8} on the best path
//   baselines  a memory copy and TorchSharp tensor-op TNQSGD/QSGD
// The codec runs out of process (a clean process: the memory diagnoser sees only the benchmark). The TorchSharp
// baselines run in process, because libLibTorchSharp.so is patched for Debian 12 in this project's output folder only
// (TorchSharpOnDebian12.targets). Short runs keep the whole matrix within minutes on 2 cores.
string suite = args.Length > 0 ? args[0] : string.Empty;
string[] rest = args.Length > 0 ? args[1..] : [];
IConfig Config(Job job) => DefaultConfig.Instance
    .AddJob(job)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(new CoordinatesPerSecondColumn())
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
switch (suite)
{
    case "targets":
        BenchmarkRunner.Run<CodecTargetBenchmarks>(Config(Job.ShortRun), rest);
        return 0;
    case "matrix":
        BenchmarkRunner.Run<CodecMatrixBenchmarks>(Config(Job.ShortRun), rest);
        return 0;
    case "baselines":
        BenchmarkRunner.Run<BaselineBenchmarks>(Config(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance)), rest);
        return 0;
    default:
        Console.Error.WriteLine("usage: Verified.Benchmarks targets|matrix|baselines [BenchmarkDotNet options]");
        return 2;
}
