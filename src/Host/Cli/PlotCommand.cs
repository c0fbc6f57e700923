using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified plot</c>: the figures and the mean ± sd table of <c>verified run</c>, drawn from one or more
/// <c>metrics.csv</c> files, so that seeds run in separate processes (or on separate machines) make one figure.
/// </summary>
internal static class PlotCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var metrics = new Argument<FileInfo[]>("metrics") { Description = "metrics.csv files (or run directories holding one), earliest first.", Arity = ArgumentArity.OneOrMore };
        var outDirectory = new Option<DirectoryInfo>("--out") { Description = "Where to write the figures (accuracy, loss, tradeoff; PNG and SVG), tables.md (both tables as Markdown) and evaluations.csv (every evaluated round: the figures' data).", Required = true };
        var baselines = new Option<string[]>("--baseline")
        {
            Description = "Compare every label with this one, paired by seed: the mean difference of final accuracy and its standard error (sd of the differences / √pairs). Repeatable; default fp.",
            DefaultValueFactory = _ => ["fp"],
            AllowMultipleArgumentsPerToken = true,
        };
        var markdown = new Option<bool>("--markdown") { Description = "Print the table as Markdown (for docs/results.md)." };
        var command = new Command("plot", "Draw the figures of several 'verified run' outputs together (e.g. seeds run in separate processes).")
        {
            metrics, outDirectory, baselines, markdown,
        };
        command.SetAction(parse =>
        {
            try
            {
                var rows = new List<(ExperimentSpec Spec, RoundMetrics Metrics)>();
                var seen = new HashSet<(string Label, long Seed, int Round)>();
                foreach (FileInfo file in parse.GetValue(metrics)!)
                {
                    string path = Directory.Exists(file.FullName) ? Path.Combine(file.FullName, "metrics.csv") : file.FullName;
                    if (!File.Exists(path))
                    {
                        throw new FileNotFoundException($"metrics '{path}' does not exist: give metrics.csv files, or run directories that hold one.", path);
                    }
                    foreach (var row in Read(path, warning => error.WriteLine($"verified plot: {warning}")))
                    {
                        // A (label, seed, round) counts once: the first file that has it wins (runs are deterministic,
                        // so a later copy can only repeat it).
                        if (seen.Add((row.Metrics.Label, row.Spec.Seed, row.Metrics.Round)))
                        {
                            rows.Add(row);
                        }
                    }
                }
                ImmutableArray<LabelAggregate> aggregate = Aggregate(rows);
                string directory = Directory.CreateDirectory(parse.GetValue(outDirectory)!.FullName).FullName;
                foreach (string written in RunPlots.Write(directory, rows, aggregate))
                {
                    output.WriteLine($"wrote {written}");
                }
                string[] compared = [.. parse.GetValue(baselines)!.Distinct(StringComparer.Ordinal)];
                string[] absent = [.. compared.Where(b => !aggregate.Any(a => a.Label == b))];
                if (absent.Length > 0)
                {
                    error.WriteLine($"verified plot: no finished run is labelled {string.Join(", ", absent)}, so nothing is compared with it (labels: {string.Join(", ", aggregate.Select(a => a.Label))}).");
                }
                IReadOnlyDictionary<(string Label, long Seed), double> finals = FinalAccuracies(rows);
                string[] present = [.. compared.Where(b => !absent.Contains(b))];
                // The mechanism counts the runs the accuracy table counts: those that finished.
                ImmutableArray<LabelMechanism> mechanisms = LabelMechanism.Of([.. rows.Where(r => finals.ContainsKey((r.Metrics.Label, r.Spec.Seed)))], aggregate.Select(a => a.Label));
                WriteTable(output, aggregate, present, finals, parse.GetValue(markdown));
                if (mechanisms.Length > 0)
                {
                    output.WriteLine();
                    LabelMechanism.Write(output, mechanisms, parse.GetValue(markdown));
                }
                // Both tables as Markdown beside the figures, so that a committed results folder holds its numbers.
                string tables = Path.Combine(directory, "tables.md");
                using (var writer = new StreamWriter(tables))
                {
                    writer.WriteLine("Final test accuracy (last evaluated round of each finished run), uploaded bytes, and paired differences by seed:");
                    writer.WriteLine();
                    WriteTable(writer, aggregate, present, finals, markdown: true);
                    if (mechanisms.Length > 0)
                    {
                        writer.WriteLine();
                        writer.WriteLine("Codec audit, mean over the audited rounds of the finished runs (every seed):");
                        writer.WriteLine();
                        LabelMechanism.Write(writer, mechanisms, markdown: true);
                    }
                }
                output.WriteLine($"wrote {tables}");
                output.WriteLine($"wrote {WriteEvaluations(Path.Combine(directory, "evaluations.csv"), rows)}");
                return 0;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
            {
                error.WriteLine($"verified plot: {exception.Message}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
        });
        return command;
    }

    /// <summary>
    /// The table: per label, seeds, final accuracy mean ± sd, uploaded MB, and per baseline the paired difference
    /// (label − baseline, over the seeds both finished) with its standard error.
    /// </summary>
    internal static void WriteTable(
        TextWriter output, IReadOnlyList<LabelAggregate> aggregate, IReadOnlyList<string> baselines,
        IReadOnlyDictionary<(string Label, long Seed), double> finals, bool markdown)
    {
        static string Points(double accuracy) => (100 * accuracy).ToString("+0.00;−0.00;0.00", CultureInfo.InvariantCulture);
        string Versus(string label, string baseline)
        {
            if (label == baseline)
            {
                return "";
            }
            PairedDifference? paired = Paired(finals, label, baseline);
            return paired switch
            {
                null => "–",
                { StandardError: { } se } => string.Create(CultureInfo.InvariantCulture, $"{Points(paired.Mean)} ± {100 * se:0.00} ({paired.Pairs})"),
                _ => string.Create(CultureInfo.InvariantCulture, $"{Points(paired.Mean)} ({paired.Pairs})"),
            };
        }
        string[] header = ["label", "seeds", "final accuracy (mean ± sd)", "uploaded MB", .. baselines.Select(b => $"vs {b}, points (paired ± se, pairs)")];
        List<string[]> lines =
        [
            .. aggregate.Select(a => (string[])
            [
                a.Label,
                a.Seeds.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{a.AccuracyMean:0.0000} ± {(a.AccuracyStandardDeviation is { } sd ? sd.ToString("0.0000", CultureInfo.InvariantCulture) : "–")}"),
                (a.BytesMean / 1e6).ToString("0.00", CultureInfo.InvariantCulture),
                .. baselines.Select(b => Versus(a.Label, b)),
            ]),
        ];
        TextTable.Write(output, header, lines, markdown);
    }

    /// <summary>
    /// The rows with a test evaluation (label, seed, round, bytes so far, accuracy, loss), in label, seed and round order:
    /// what the accuracy and trade-off figures draw, small enough to commit beside them where metrics.csv (every round,
    /// every audit column) is not. Returns the path.
    /// </summary>
    internal static string WriteEvaluations(string path, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("label,seed,round,total_bytes,test_accuracy,test_loss");
        foreach (var (spec, metrics) in rows.Where(r => r.Metrics.TestAccuracy is not null)
                     .OrderBy(r => r.Metrics.Label, StringComparer.Ordinal).ThenBy(r => r.Spec.Seed).ThenBy(r => r.Metrics.Round))
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{metrics.Label},{spec.Seed},{metrics.Round},{metrics.TotalBytes},{metrics.TestAccuracy!.Value:R},{(metrics.TestLoss is { } loss ? loss.ToString("R", CultureInfo.InvariantCulture) : "")}"));
        }
        return path;
    }

    /// <summary>Each (label, seed)'s final test accuracy: that of its last row, when that row has one (see <see cref="Aggregate"/>).</summary>
    internal static IReadOnlyDictionary<(string Label, long Seed), double> FinalAccuracies(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) =>
        rows.GroupBy(r => (r.Metrics.Label, r.Spec.Seed))
            .Select(g => g.MaxBy(r => r.Metrics.Round))
            .Where(last => last.Metrics.TestAccuracy is not null)
            .ToDictionary(last => (last.Metrics.Label, last.Spec.Seed), last => last.Metrics.TestAccuracy!.Value);

    /// <summary>
    /// <paramref name="label"/>'s final accuracy minus <paramref name="baseline"/>'s, paired by seed (the seed fixes the
    /// data partition, the initial θ and the minibatches, so a paired difference removes what the two share); null when
    /// they share no seed. The standard error is the sample sd of the differences over √pairs (null for one pair).
    /// </summary>
    internal static PairedDifference? Paired(IReadOnlyDictionary<(string Label, long Seed), double> finals, string label, string baseline)
    {
        double[] differences =
        [
            .. finals.Where(f => f.Key.Label == label && finals.ContainsKey((baseline, f.Key.Seed)))
                .OrderBy(f => f.Key.Seed)
                .Select(f => f.Value - finals[(baseline, f.Key.Seed)]),
        ];
        return differences.Length == 0
            ? null
            : new PairedDifference(differences.Length, Statistics.Mean(differences), Statistics.StandardDeviation(differences) / Math.Sqrt(differences.Length));
    }

    /// <summary>
    /// Final accuracy and bytes per label over seeds. A (label, seed) counts when its last row (its highest round)
    /// carries a test accuracy: <c>verified run</c> always evaluates after a run's last round, and an interrupted run
    /// ends on a round without one unless it stopped right after an evaluation.
    /// </summary>
    internal static ImmutableArray<LabelAggregate> Aggregate(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) =>
    [
        .. rows
            .GroupBy(r => (r.Metrics.Label, r.Spec.Seed))
            .Select(g => g.MaxBy(r => r.Metrics.Round))
            .Where(last => last.Metrics.TestAccuracy is not null)
            .GroupBy(last => last.Metrics.Label)
            .Select(g => new LabelAggregate(
                g.Key,
                g.First().Spec.Scheme,
                g.First().Spec.Bits,
                g.Count(),
                Statistics.Mean(g.Select(r => r.Metrics.TestAccuracy!.Value)),
                Statistics.StandardDeviation(g.Select(r => r.Metrics.TestAccuracy!.Value)),
                Statistics.Mean(g.Select(r => (double)r.Metrics.TotalBytes)),
                0,
                0)),
    ];

    /// <summary>
    /// The columns added after the first metrics.csv format: a file without them (written by an earlier version) is
    /// still read, with those figures NaN.
    /// </summary>
    private static readonly ImmutableArray<string> LaterColumns = ["averaged_bias_squared", "averaged_variance"];

    /// <summary>Reads a metrics.csv written by <c>verified run</c> (its header must be <see cref="RunReport.Columns"/>,
    /// or those of an earlier version: the same without <see cref="LaterColumns"/>).</summary>
    /// <exception cref="FormatException">The header or a line is not what <c>verified run</c> writes; the message names the line.</exception>
    /// <remarks>A malformed last line is what a writer killed mid-line leaves: it is skipped with a warning.</remarks>
    internal static IEnumerable<(ExperimentSpec Spec, RoundMetrics Metrics)> Read(string path, Action<string> warn)
    {
        using var reader = new StreamReader(path);
        string? header = reader.ReadLine();
        string earlierHeader = string.Join(',', RunReport.Columns.Where(c => !LaterColumns.Contains(c)));
        if (header != RunReport.CsvHeader && header != earlierHeader)
        {
            throw new FormatException($"{path}: the first line is not the header 'verified run' writes ({RunReport.CsvHeader[..40]}…).");
        }
        string[] names = header.Split(',');
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            index[names[i]] = i;
        }
        var rows = new List<(ExperimentSpec, RoundMetrics)>();
        int number = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }
            string[] cells = line.Split(',');
            if (cells.Length != names.Length && reader.Peek() < 0)
            {
                warn(string.Create(CultureInfo.InvariantCulture, $"{path}, line {number} (the last) has {cells.Length} of {names.Length} cells: skipped as the tail of an interrupted write."));
                break;
            }
            if (cells.Length != names.Length)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path}, line {number}: {cells.Length} cells, expected {names.Length}."));
            }
            try
            {
                rows.Add(Parse(cells, index));
            }
            catch (FormatException exception)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path}, line {number}: {exception.Message}"), exception);
            }
        }
        return rows;
    }

    /// <summary>One metrics.csv line's cells as a row (the spec holds only scheme, bits and seed); <paramref name="index"/> maps column names to cells.</summary>
    /// <exception cref="FormatException">A number does not parse.</exception>
    internal static (ExperimentSpec Spec, RoundMetrics Metrics) Parse(string[] c, Dictionary<string, int> index)
    {
        double Real(string column) => index.TryGetValue(column, out int i) && c[i].Length > 0
            ? double.Parse(c[i], NumberStyles.Float, CultureInfo.InvariantCulture)
            : double.NaN;
        double? Optional(string column) => c[index[column]].Length == 0 ? null : Real(column);
        long Whole(string column) => long.Parse(c[index[column]], NumberStyles.Integer, CultureInfo.InvariantCulture);
        var spec = new ExperimentSpec { Scheme = c[index["scheme"]], Bits = (int)Whole("bits"), Seed = Whole("seed") };
        var uploads = new UploadStatistics(
            0, Real("model_scale"), Real("alpha"), Real("predicted_rounding_variance"), Real("predicted_truncation_mse"),
            Real("predicted_truncation_rate"), Real("measured_mse"), Real("measured_rounding_variance"), Real("expected_rounding_variance"),
            Real("measured_truncation_rate"), Real("measured_truncation_mse"))
        {
            AveragedBiasSquared = Real("averaged_bias_squared"),
            AveragedVariance = Real("averaged_variance"),
        };
        var metrics = new RoundMetrics(
            c[index["label"]], (int)Whole("round"), Real("training_loss"), Whole("upload_bytes"), Whole("total_bytes"),
            Optional("test_accuracy"), Optional("test_loss"), uploads, Real("elapsed_seconds"));
        return (spec, metrics);
    }
}

/// <summary>A paired difference of final accuracy: how many seeds pair, the mean difference and its standard error (null for one pair).</summary>
internal sealed record PairedDifference(int Pairs, double Mean, double? StandardError);
