using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Verified.Simulation.Experiments;

namespace Verified.Host.Runs;

/// <summary>
/// The files of one <c>verified run</c> invocation in its output directory: <c>metrics.csv</c> (one row per round and
/// run, appended as rounds finish, so an interrupted invocation keeps what it measured) and <c>summary.json</c>
/// (rewritten after each run).
/// </summary>
internal sealed class RunReport : IDisposable
{
    /// <summary>The CSV columns, in order.</summary>
    public static readonly ImmutableArray<string> Columns =
    [
        "label", "scheme", "bits", "seed", "round", "training_loss", "upload_bytes", "total_bytes", "test_accuracy", "test_loss",
        "model_scale", "alpha", "predicted_mse", "measured_mse", "predicted_rounding_variance", "measured_rounding_variance",
        "expected_rounding_variance", "predicted_truncation_rate", "measured_truncation_rate", "predicted_truncation_mse",
        "measured_truncation_mse", "averaged_bias_squared", "averaged_variance", "elapsed_seconds",
    ];

    private readonly StreamWriter _csv;
    private readonly List<RunSummary> _summaries = [];
    private readonly List<RunFailure> _failures = [];
    private readonly List<(ExperimentSpec Spec, RoundMetrics Metrics)> _rows = [];

    /// <summary>Creates the directory if needed and starts <c>metrics.csv</c> (replacing an old one).</summary>
    /// <param name="directory">The output directory.</param>
    /// <param name="plan">What runs.</param>
    /// <param name="provenance">Where the runs come from; every write of summary.json carries it, ending at that write.</param>
    /// <exception cref="IOException">The directory cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory cannot be written.</exception>
    public RunReport(string directory, ExperimentPlan plan, Provenance provenance)
        : this(directory, plan, provenance, keepBytes: null)
    {
    }

    private RunReport(string directory, ExperimentPlan plan, Provenance provenance, long? keepBytes)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(provenance);
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
        Plan = plan;
        Provenance = provenance;
        // FileShare.ReadWrite: on Linux .NET turns a writer that does not share writing into an exclusive flock, and then
        // another .NET process (a test, a dashboard) cannot open the file to read the rows written so far.
        var stream = new FileStream(MetricsPath, keepBytes is null ? FileMode.Create : FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        if (keepBytes is { } keep)
        {
            // A resume: the rows after the checkpoint (and a torn last row) go; the new rows follow the kept ones.
            stream.SetLength(keep);
            stream.Seek(0, SeekOrigin.End);
        }
        _csv = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        if (keepBytes is null)
        {
            WriteRow(CsvHeader);
        }
    }

    /// <summary>
    /// Reopens the report of an interrupted invocation for <c>verified run --resume</c>: <c>metrics.csv</c> is cut to
    /// its first <paramref name="keepBytes"/> bytes (the header and the <paramref name="rows"/> kept, whole lines) and
    /// continues from there; the runs that had finished or failed count as before.
    /// </summary>
    /// <exception cref="IOException">metrics.csv cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">metrics.csv cannot be written.</exception>
    public static RunReport Reopen(
        string directory, ExperimentPlan plan, Provenance provenance, long keepBytes,
        IEnumerable<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, IEnumerable<RunSummary> finished, IEnumerable<RunFailure> failed, RunOptionsJson? options)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(finished);
        ArgumentNullException.ThrowIfNull(failed);
        var report = new RunReport(directory, plan, provenance, keepBytes) { Options = options };
        report._rows.AddRange(rows);
        report._summaries.AddRange(finished);
        report._failures.AddRange(failed);
        return report;
    }

    /// <summary>The options that repeat this invocation (run.json's), written into summary.json as <c>options</c>; null: none.</summary>
    public RunOptionsJson? Options { get; init; }

    /// <summary>
    /// Pushes the rows written so far to the disk, not only to the operating system: called before a checkpoint is
    /// written, so that after a power loss a checkpoint is never ahead of the rows it resumes after.
    /// </summary>
    public void FlushToDisk()
    {
        _csv.Flush();
        ((FileStream)_csv.BaseStream).Flush(flushToDisk: true);
    }

    /// <summary>The output directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>What was planned.</summary>
    public ExperimentPlan Plan { get; }

    /// <summary>Where the runs come from (its end time is set at each write of summary.json).</summary>
    public Provenance Provenance { get; }

    /// <summary>Path of <c>metrics.csv</c>.</summary>
    public string MetricsPath => Path.Combine(Directory, "metrics.csv");

    /// <summary>Path of <c>summary.json</c>.</summary>
    public string SummaryPath => Path.Combine(Directory, "summary.json");

    /// <summary>Every row so far.</summary>
    public IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> Rows => _rows;

    /// <summary>The runs finished so far.</summary>
    public IReadOnlyList<RunSummary> Summaries => _summaries;

    /// <summary>Appends one round's row.</summary>
    public void Add(ExperimentSpec spec, RoundMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(metrics);
        _rows.Add((spec, metrics));
        WriteRow(CsvLine(spec, metrics));
    }

    /// <summary>
    /// Writes one whole line and flushes it, so it reaches the file in one write: a process killed at any moment (a
    /// second Ctrl+C, kill -9) leaves whole rows only. The buffer is empty before each row, and a row (about 400 bytes)
    /// is far below the writer's 4 KiB buffer, which a buffered writer would otherwise split across two writes.
    /// </summary>
    private void WriteRow(string line)
    {
        _csv.Write(line + "\n");
        _csv.Flush();
    }

    /// <summary>The CSV header line (<see cref="Columns"/>).</summary>
    public static string CsvHeader => string.Join(',', Columns);

    /// <summary>One round's CSV line (no line break): invariant culture, round-trippable numbers, empty for NaN.</summary>
    public static string CsvLine(ExperimentSpec spec, RoundMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(metrics);
        var u = metrics.Uploads;
        return string.Join(',', [
            metrics.Label, spec.Scheme, Cell(spec.EffectiveBits), Cell(spec.Seed), Cell(metrics.Round), Cell(metrics.TrainingLoss),
            Cell(metrics.UploadBytes), Cell(metrics.TotalBytes), Cell(metrics.TestAccuracy), Cell(metrics.TestLoss),
            Cell(u.ModelScale), Cell(u.Alpha), Cell(u.PredictedMse), Cell(u.MeasuredMse), Cell(u.PredictedRoundingVariance),
            Cell(u.MeasuredRoundingVariance), Cell(u.ExpectedRoundingVariance), Cell(u.PredictedTruncationRate),
            Cell(u.MeasuredTruncationRate), Cell(u.PredictedTruncationMse), Cell(u.MeasuredTruncationMse), Cell(u.AveragedBiasSquared), Cell(u.AveragedVariance), Cell(metrics.ElapsedSeconds),
        ]);
    }

    /// <summary>Records a finished (or interrupted) run and rewrites <c>summary.json</c>.</summary>
    public void Complete(RunSummary summary, bool interrupted = false)
    {
        ArgumentNullException.ThrowIfNull(summary);
        _summaries.Add(summary);
        _csv.Flush();
        WriteSummary(interrupted);
    }

    /// <summary>Runs that stopped with an error (training diverged), in the order they failed.</summary>
    public IReadOnlyList<RunFailure> Failures => _failures;

    /// <summary>
    /// Records a run that stopped with an error (a NaN gradient: training diverged) and rewrites <c>summary.json</c>.
    /// Its rows stay in metrics.csv; it gets no summary and no aggregate, and <c>failedRuns</c> lists it.
    /// </summary>
    public void Fail(ExperimentSpec spec, string message)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(message);
        int rounds = _rows.Count(r => r.Spec == spec);
        _failures.Add(new RunFailure(spec, rounds, message));
        _csv.Flush();
        WriteSummary(interrupted: false);
    }

    /// <summary>Mean ± sd of the final accuracy and bytes per label, over the runs that finished all their rounds.</summary>
    public ImmutableArray<LabelAggregate> Aggregate() =>
    [
        .. _summaries
            // Only runs that finished: an interrupted run's last accuracy is from an earlier round.
            .Where(s => s.FinalAccuracy is not null && s.Rounds == s.Spec.Rounds)
            .GroupBy(s => s.Spec.Label)
            .Select(g => new LabelAggregate(
                g.Key,
                g.First().Spec.Scheme,
                g.First().Spec.EffectiveBits,
                g.Count(),
                Statistics.Mean(g.Select(s => s.FinalAccuracy!.Value)),
                Statistics.StandardDeviation(g.Select(s => s.FinalAccuracy!.Value)),
                Statistics.Mean(g.Select(s => (double)s.TotalBytes)),
                Statistics.Mean(g.Select(s => s.BitsPerCoordinate)),
                Statistics.Mean(g.Select(s => s.Timings.RoundsPerSecond)))),
    ];

    /// <inheritdoc />
    public void Dispose() => _csv.Dispose();

    // Written beside and moved over (HostJson.WriteFile), so a reader never sees half a file.
    private void WriteSummary(bool interrupted) =>
        HostJson.WriteFile(SummaryPath, new SummaryJson(
            Plan.Name,
            interrupted,
            Plan.Runs.Length,
            _summaries.Count,
            [.. Plan.Runs.Select(r => r.Seed).Distinct()],
            [.. _summaries.Select(RunJson)],
            [.. _failures.Select(f => new FailedRunJson(f.Spec.Label, f.Spec.Seed, f.RoundsCompleted, f.Message))],
            [.. Aggregate().Select(a => new AggregateJson(
                a.Label, a.Scheme, a.Bits, a.Seeds, a.AccuracyMean, a.AccuracyStandardDeviation, a.BytesMean, a.BitsPerCoordinate, a.RoundsPerSecond))],
            // Rewritten after each run: the end time says when this summary was written, so it is the invocation's end
            // once finishedRuns = plannedRuns (or interrupted is true).
            Provenance.EndingAt(DateTimeOffset.UtcNow))
        {
            Options = Options,
        },
            HostJson.Context.SummaryJson);

    private static SummaryRunJson RunJson(RunSummary summary)
    {
        ExperimentSpec spec = summary.Spec;
        RunTimings t = summary.Timings;
        return new SummaryRunJson(
            spec.Label,
            new RunConfigJson(
                spec.Scheme, spec.EffectiveBits, spec.Clients, spec.Rounds, spec.Model, spec.BatchSize, spec.LearningRate, spec.Momentum,
                spec.WeightDecay, spec.Split, spec.Seed, spec.Noise, spec.NoiseScale, spec.EvaluateEvery, spec.AuditEvery, spec.Workers, spec.Threads,
                spec.ErrorFeedback, spec.Threshold, spec.Fit, spec.Segments, spec.Dataset),
            summary.Dimension,
            summary.Rounds,
            summary.FinalAccuracy,
            summary.FinalLoss,
            summary.TotalBytes,
            summary.Float32Bytes,
            summary.CompressionRatio,
            summary.BitsPerCoordinate,
            t.Wall.TotalSeconds,
            t.RoundsPerSecond,
            summary.FitFallbacks,
            new TimeSecondsJson(
                t.ForwardBackward.TotalSeconds,
                t.Flatten.TotalSeconds,
                t.Design.TotalSeconds,
                t.Encode.TotalSeconds,
                t.Decode.TotalSeconds,
                t.Audit.TotalSeconds,
                t.Step.TotalSeconds,
                t.Evaluate.TotalSeconds,
                t.Training > TimeSpan.Zero ? t.Codec / t.Training : 0));
    }

    /// <summary>
    /// A CSV cell: invariant, round-trippable; empty for missing or non-finite values (CSV readers take empty as NA).
    /// Data, like the JSON, not a table for people: <see cref="TableNumber"/> rounds, this must not.
    /// </summary>
    private static string Cell(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Cell(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary><c>summary.json</c>: the plan, every finished and failed run, the per-label aggregate and the provenance.</summary>
/// <remarks><c>Seeds</c>: the plan's distinct seeds.</remarks>
internal sealed record SummaryJson(
    string Plan, bool Interrupted, int PlannedRuns, int FinishedRuns, long[] Seeds, SummaryRunJson[] Runs, FailedRunJson[] FailedRuns, AggregateJson[] Aggregate,
    Provenance Provenance)
{
    /// <summary>The options that repeat the invocation (<c>verified run --config summary.json</c>); not written by the service.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public RunOptionsJson? Options { get; init; }
}

/// <summary>One finished (or interrupted) run of <see cref="SummaryJson"/>.</summary>
/// <remarks><c>FitFallbacks</c>: uploads whose Lomax fit gave ρ̂ ≤ 3 and were designed for the Laplace fit (0 with fit = laplace).</remarks>
internal sealed record SummaryRunJson(
    string Label,
    RunConfigJson Config,
    int Dimension,
    int RoundsCompleted,
    double? FinalAccuracy,
    double? FinalLoss,
    long TotalBytes,
    long Float32Bytes,
    double CompressionRatio,
    double BitsPerCoordinate,
    double WallSeconds,
    double RoundsPerSecond,
    long FitFallbacks,
    TimeSecondsJson TimeSeconds);

/// <summary>The spec of a run in <see cref="SummaryRunJson"/>; <paramref name="Bits"/> is the effective width.</summary>
internal sealed record RunConfigJson(
    string Scheme,
    int Bits,
    int Clients,
    int Rounds,
    string Model,
    int BatchSize,
    double LearningRate,
    double Momentum,
    double WeightDecay,
    string Split,
    long Seed,
    string Noise,
    double NoiseScale,
    int EvaluateEvery,
    int AuditEvery,
    int Workers,
    int Threads,
    bool ErrorFeedback,
    string Threshold,
    string Fit,
    string Segments,
    string Dataset);

/// <summary>Where a run's time went, in seconds, and the codec's share of the training time.</summary>
internal sealed record TimeSecondsJson(
    double ForwardBackward, double Flatten, double Design, double Encode, double Decode, double Audit, double Step, double Evaluate, double CodecShareOfTraining);

/// <summary>A run of <see cref="SummaryJson"/> that stopped with an error.</summary>
internal sealed record FailedRunJson(string Label, long Seed, int RoundsCompleted, string Error);

/// <summary>A label's line of <see cref="SummaryJson"/>'s aggregate (<see cref="LabelAggregate"/>).</summary>
/// <remarks><c>FinalAccuracySd</c>: null for a single seed.</remarks>
internal sealed record AggregateJson(
    string Label,
    string Scheme,
    int Bits,
    int Seeds,
    double FinalAccuracyMean,
    double? FinalAccuracySd,
    double TotalBytesMean,
    double BitsPerCoordinate,
    double RoundsPerSecondMean);

/// <summary>One label's final figures over seeds.</summary>
internal sealed record LabelAggregate(
    string Label, string Scheme, int Bits, int Seeds, double AccuracyMean, double? AccuracyStandardDeviation, double BytesMean, double BitsPerCoordinate, double RoundsPerSecond);

/// <summary>Sample statistics.</summary>
internal static class Statistics
{
    public static double Mean(IEnumerable<double> values)
    {
        double sum = 0;
        int n = 0;
        foreach (double v in values)
        {
            sum += v;
            n++;
        }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>The sample standard deviation (n − 1); null for fewer than two values.</summary>
    public static double? StandardDeviation(IEnumerable<double> values)
    {
        double[] v = [.. values];
        if (v.Length < 2)
        {
            return null;
        }
        double mean = Mean(v);
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
    }
}

/// <summary>A run that stopped with an error.</summary>
/// <param name="Spec">The run.</param>
/// <param name="RoundsCompleted">Rounds it finished (and wrote to metrics.csv) before the error.</param>
/// <param name="Message">The error, e.g. the NaN gradient's round, client and coordinate.</param>
internal sealed record RunFailure(ExperimentSpec Spec, int RoundsCompleted, string Message);
