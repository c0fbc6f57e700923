using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
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
        "measured_truncation_mse", "elapsed_seconds",
    ];

    private readonly StreamWriter _csv;
    private readonly List<RunSummary> _summaries = [];
    private readonly List<RunFailure> _failures = [];
    private readonly List<(ExperimentSpec Spec, RoundMetrics Metrics)> _rows = [];

    /// <summary>Creates the directory if needed and starts <c>metrics.csv</c> (replacing an old one).</summary>
    /// <exception cref="IOException">The directory cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory cannot be written.</exception>
    public RunReport(string directory, ExperimentPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
        Plan = plan;
        _csv = new StreamWriter(MetricsPath, append: false, new UTF8Encoding(false)) { NewLine = "\n" };
        _csv.WriteLine(CsvHeader);
    }

    /// <summary>The output directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>What was planned.</summary>
    public ExperimentPlan Plan { get; }

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
        _csv.WriteLine(CsvLine(spec, metrics));
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
            metrics.Label, spec.Scheme, Number(spec.EffectiveBits), Number(spec.Seed), Number(metrics.Round), Number(metrics.TrainingLoss),
            Number(metrics.UploadBytes), Number(metrics.TotalBytes), Number(metrics.TestAccuracy), Number(metrics.TestLoss),
            Number(u.ModelScale), Number(u.Alpha), Number(u.PredictedMse), Number(u.MeasuredMse), Number(u.PredictedRoundingVariance),
            Number(u.MeasuredRoundingVariance), Number(u.ExpectedRoundingVariance), Number(u.PredictedTruncationRate),
            Number(u.MeasuredTruncationRate), Number(u.PredictedTruncationMse), Number(u.MeasuredTruncationMse), Number(metrics.ElapsedSeconds),
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

    private void WriteSummary(bool interrupted)
    {
        var options = new JsonWriterOptions { Indented = true };
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, options))
        {
            json.WriteStartObject();
            json.WriteString("plan", Plan.Name);
            json.WriteBoolean("interrupted", interrupted);
            json.WriteNumber("plannedRuns", Plan.Runs.Length);
            json.WriteNumber("finishedRuns", _summaries.Count);
            json.WriteStartArray("seeds");
            foreach (long seed in Plan.Runs.Select(r => r.Seed).Distinct())
            {
                json.WriteNumberValue(seed);
            }
            json.WriteEndArray();
            json.WriteStartArray("runs");
            foreach (RunSummary summary in _summaries)
            {
                WriteRun(json, summary);
            }
            json.WriteEndArray();
            json.WriteStartArray("failedRuns");
            foreach (RunFailure failure in _failures)
            {
                json.WriteStartObject();
                json.WriteString("label", failure.Spec.Label);
                json.WriteNumber("seed", failure.Spec.Seed);
                json.WriteNumber("roundsCompleted", failure.RoundsCompleted);
                json.WriteString("error", failure.Message);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("aggregate");
            foreach (LabelAggregate aggregate in Aggregate())
            {
                json.WriteStartObject();
                json.WriteString("label", aggregate.Label);
                json.WriteString("scheme", aggregate.Scheme);
                json.WriteNumber("bits", aggregate.Bits);
                json.WriteNumber("seeds", aggregate.Seeds);
                json.WriteNumber("finalAccuracyMean", aggregate.AccuracyMean);
                json.WriteFiniteOrNull("finalAccuracySd", aggregate.AccuracyStandardDeviation);
                json.WriteNumber("totalBytesMean", aggregate.BytesMean);
                json.WriteNumber("bitsPerCoordinate", aggregate.BitsPerCoordinate);
                json.WriteNumber("roundsPerSecondMean", aggregate.RoundsPerSecond);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        // Written beside and moved over, so a reader never sees half a file.
        string temporary = SummaryPath + ".tmp";
        File.WriteAllBytes(temporary, stream.ToArray());
        File.Move(temporary, SummaryPath, overwrite: true);
    }

    private static void WriteRun(Utf8JsonWriter json, RunSummary summary)
    {
        ExperimentSpec spec = summary.Spec;
        json.WriteStartObject();
        json.WriteString("label", spec.Label);
        json.WriteStartObject("config");
        json.WriteString("scheme", spec.Scheme);
        json.WriteNumber("bits", spec.EffectiveBits);
        json.WriteNumber("clients", spec.Clients);
        json.WriteNumber("rounds", spec.Rounds);
        json.WriteString("model", spec.Model);
        json.WriteNumber("batchSize", spec.BatchSize);
        json.WriteNumber("learningRate", spec.LearningRate);
        json.WriteNumber("momentum", spec.Momentum);
        json.WriteNumber("weightDecay", spec.WeightDecay);
        json.WriteString("split", spec.Split);
        json.WriteNumber("seed", spec.Seed);
        json.WriteString("noise", spec.Noise);
        json.WriteNumber("noiseScale", spec.NoiseScale);
        json.WriteNumber("evaluateEvery", spec.EvaluateEvery);
        json.WriteNumber("auditEvery", spec.AuditEvery);
        json.WriteNumber("workers", spec.Workers);
        json.WriteNumber("threads", spec.Threads);
        json.WriteEndObject();
        json.WriteNumber("dimension", summary.Dimension);
        json.WriteNumber("roundsCompleted", summary.Rounds);
        json.WriteFiniteOrNull("finalAccuracy", summary.FinalAccuracy);
        json.WriteFiniteOrNull("finalLoss", summary.FinalLoss);
        json.WriteNumber("totalBytes", summary.TotalBytes);
        json.WriteNumber("float32Bytes", summary.Float32Bytes);
        json.WriteNumber("compressionRatio", summary.CompressionRatio);
        json.WriteNumber("bitsPerCoordinate", summary.BitsPerCoordinate);
        RunTimings t = summary.Timings;
        json.WriteNumber("wallSeconds", t.Wall.TotalSeconds);
        json.WriteNumber("roundsPerSecond", t.RoundsPerSecond);
        json.WriteStartObject("timeSeconds");
        json.WriteNumber("forwardBackward", t.ForwardBackward.TotalSeconds);
        json.WriteNumber("flatten", t.Flatten.TotalSeconds);
        json.WriteNumber("design", t.Design.TotalSeconds);
        json.WriteNumber("encode", t.Encode.TotalSeconds);
        json.WriteNumber("decode", t.Decode.TotalSeconds);
        json.WriteNumber("audit", t.Audit.TotalSeconds);
        json.WriteNumber("step", t.Step.TotalSeconds);
        json.WriteNumber("evaluate", t.Evaluate.TotalSeconds);
        json.WriteNumber("codecShareOfTraining", t.Training > TimeSpan.Zero ? t.Codec / t.Training : 0);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Invariant, round-trippable; empty for missing or non-finite values (CSV readers take empty as NA).</summary>
    private static string Number(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}

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
