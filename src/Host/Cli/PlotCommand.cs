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

    /// <summary>Reads a metrics.csv written by <c>verified run</c> (its header must be <see cref="RunReport.Columns"/>).</summary>
    /// <exception cref="FormatException">The header or a line is not what <c>verified run</c> writes; the message names the line.</exception>
    /// <remarks>A malformed last line is what a writer killed mid-line leaves: it is skipped with a warning.</remarks>
    internal static IEnumerable<(ExperimentSpec Spec, RoundMetrics Metrics)> Read(string path, Action<string> warn)
    {
        using var reader = new StreamReader(path);
        string? header = reader.ReadLine();
        if (header != RunReport.CsvHeader)
        {
            throw new FormatException($"{path}: the first line is not the header 'verified run' writes ({RunReport.CsvHeader[..40]}…).");
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
            if (cells.Length != RunReport.Columns.Length && reader.Peek() < 0)
            {
                warn(string.Create(CultureInfo.InvariantCulture, $"{path}, line {number} (the last) has {cells.Length} of {RunReport.Columns.Length} cells: skipped as the tail of an interrupted write."));
                break;
            }
            if (cells.Length != RunReport.Columns.Length)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path}, line {number}: {cells.Length} cells, expected {RunReport.Columns.Length}."));
            }
            try
            {
                rows.Add(Parse(cells));
            }
            catch (FormatException exception)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path}, line {number}: {exception.Message}"), exception);
            }
        }
        return rows;
    }

    private static (ExperimentSpec, RoundMetrics) Parse(string[] c)
    {
        double Real(int i) => c[i].Length == 0 ? double.NaN : double.Parse(c[i], NumberStyles.Float, CultureInfo.InvariantCulture);
        double? Optional(int i) => c[i].Length == 0 ? null : Real(i);
        long Whole(int i) => long.Parse(c[i], NumberStyles.Integer, CultureInfo.InvariantCulture);
        // Columns: see RunReport.Columns.
        var spec = new ExperimentSpec { Scheme = c[1], Bits = (int)Whole(2), Seed = Whole(3) };
        var uploads = new UploadStatistics(0, Real(10), Real(11), Real(14), Real(19), Real(17), Real(13), Real(15), Real(16), Real(18), Real(20));
        var metrics = new RoundMetrics(c[0], (int)Whole(4), Real(5), Whole(6), Whole(7), Optional(8), Optional(9), uploads, Real(21));
        return (spec, metrics);
    }
}
