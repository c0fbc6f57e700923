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
        var outDirectory = new Option<DirectoryInfo>("--out") { Description = "Where to write accuracy.png, loss.png and tradeoff.png.", Required = true };
        var command = new Command("plot", "Draw the figures of several 'verified run' outputs together (e.g. seeds run in separate processes).")
        {
            metrics, outDirectory,
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
                output.WriteLine("label      seeds  final accuracy (mean ± sd)   uploaded MB");
                foreach (LabelAggregate a in aggregate)
                {
                    string sd = a.AccuracyStandardDeviation is { } s ? s.ToString("0.0000", CultureInfo.InvariantCulture) : "–";
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a.Label,-10} {a.Seeds,5}  {a.AccuracyMean:0.0000} ± {sd,-16} {a.BytesMean / 1e6,11:0.00}"));
                }
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
