using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;
using Verified.Benchmarks;

// dotnet run -c Release -- SUITE [--cases C,C,…] [--d D,D] [--paths P,P] [BenchmarkDotNet options]
//   matrix     CodecBenchmarks + MemoryCopyBenchmarks + TorchBaselineBenchmarks in one session (one joined table):
//              encode, decode, decode-accumulate of every case × d × path, the copy and the TorchSharp quantizer
//   targets    the same with --cases tnq-3,tuq-3 (issue 3's targets)
//   codec      CodecBenchmarks only;  baselines  MemoryCopyBenchmarks + TorchBaselineBenchmarks only
//   fit        LomaxFitBenchmarks: the fast Lomax fit, the Laplace/Lomax choice and the Laplace MLE at d = 2^20
//   segments   SegmentBenchmarks: fit + design of every CNN tensor of one upload, segmented vs whole encode/decode
//   parallel   ParallelCodecBenchmarks: encode and decode-accumulate on 1..cores threads (default --cases tnq-3 --d 2^22)
//   --cases    tnq-B, tuq-B, tbq-B (B = 1,2,3,4,8), qsgd-B, nuqsgd-B (B = 2,3,4,8), sign, fp   (default: all 25)
//   --d        4194304 or 2^22, … (default: 2^16,2^22);  --paths scalar,v128,v256,v512 (default: scalar and the best)
// The selection travels in environment variables so BenchmarkDotNet's child processes see the same one. Jobs are
// per class: ShortRun out of process for the codec and the copy, ShortRun in process for TorchSharp.
string suite = args.Length > 0 ? args[0] : string.Empty;
var rest = new List<string>();
for (int i = 1; i < args.Length; i++)
{
    string? variable = args[i] switch
    {
        "--cases" => BenchSelection.CasesVariable,
        "--d" => BenchSelection.DimensionsVariable,
        "--paths" => BenchSelection.PathsVariable,
        _ => null,
    };
    if (variable is not null && i + 1 < args.Length)
    {
        Environment.SetEnvironmentVariable(variable, args[++i]);
    }
    else
    {
        rest.Add(args[i]);
    }
}
Type[]? types = suite switch
{
    "matrix" => [typeof(CodecBenchmarks), typeof(MemoryCopyBenchmarks), typeof(TorchBaselineBenchmarks)],
    "targets" => [typeof(CodecBenchmarks), typeof(MemoryCopyBenchmarks), typeof(TorchBaselineBenchmarks)],
    "codec" => [typeof(CodecBenchmarks)],
    "baselines" => [typeof(MemoryCopyBenchmarks), typeof(TorchBaselineBenchmarks)],
    "fit" => [typeof(LomaxFitBenchmarks)],
    "segments" => [typeof(SegmentBenchmarks)],
    "parallel" => [typeof(ParallelCodecBenchmarks), typeof(MemoryCopyBenchmarks)],
    _ => null,
};
if (types is null)
{
    Console.Error.WriteLine("usage: Verified.Benchmarks matrix|targets|codec|baselines|fit|segments|parallel [--cases C,…] [--d D,…] [--paths P,…] [BenchmarkDotNet options]");
    return 2;
}
if (suite == "targets" && Environment.GetEnvironmentVariable(BenchSelection.CasesVariable) is null or "")
{
    Environment.SetEnvironmentVariable(BenchSelection.CasesVariable, "tnq-3,tuq-3");
}
if (suite == "parallel")
{
    if (Environment.GetEnvironmentVariable(BenchSelection.CasesVariable) is null or "")
    {
        Environment.SetEnvironmentVariable(BenchSelection.CasesVariable, "tnq-3");
    }
    if (Environment.GetEnvironmentVariable(BenchSelection.DimensionsVariable) is null or "")
    {
        Environment.SetEnvironmentVariable(BenchSelection.DimensionsVariable, "2^22");
    }
}
// Validate the selection here rather than in a child process's GlobalSetup.
_ = BenchSelection.Cases.Select(BenchSelection.Spec).ToArray();
_ = BenchSelection.Dimensions.ToArray();
if (!rest.Contains("--filter") && !rest.Contains("-f"))
{
    // BenchmarkDotNet asks interactively which benchmark to run when given arguments but no filter.
    rest.AddRange(["--filter", "*"]);
}
IConfig config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(new CoordinatesPerSecondColumn())
    .WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
BenchmarkRunner.Run(types, config, [.. rest]);
return 0;
