using System.Collections.Immutable;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ScottPlot;
using Verified.Host.Plotting;
using Verified.Sde;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified sde</c>: runs an experiment of the SDE paper's quadratic test bed (src/Sde) and prints its
/// parameters, tables and one verdict per claim; writes the series as CSV and PNG. Exit 0 when every claim passes,
/// 1 when one fails, 2 for invalid options.
/// </summary>
internal static class SdeCommand
{
    public const string DefaultOut = "runs/sde";

    /// <param name="output">Tables, verdicts or JSON.</param>
    /// <param name="error">Findings and option errors.</param>
    /// <param name="experiments">The experiments offered; <see cref="SdeExperiments.All"/> unless a test substitutes its own.</param>
    /// <param name="interruption">Cancelled by SIGINT/SIGTERM: finish the experiment that is running, write the
    /// reports of those that finished, and exit 130 (or 143).</param>
    public static Command Create(TextWriter output, TextWriter error, IReadOnlyList<ISdeExperiment>? experiments = null, CancellationToken interruption = default)
    {
        experiments ??= SdeExperiments.All;
        ImmutableDictionary<string, ISdeExperiment> byName = experiments.ToImmutableDictionary(e => e.Name, StringComparer.Ordinal);
        string names = string.Join(", ", experiments.Select(e => e.Name).Append("all"));
        var experiment = new Option<string>("--experiment") { Description = $"Which experiment: {names}.", DefaultValueFactory = _ => "all" };
        var outDirectory = new Option<string>("--out") { Description = $"Directory for the CSV and PNG files (default {DefaultOut}/<experiment>).", };
        var json = new Option<bool>("--json") { Description = "Print the report(s) as JSON on stdout instead of tables." };
        var seed = new Option<string>("--seed") { Description = "Seed of every draw: an integer from 0 to 2^64 − 1 (default 1).", DefaultValueFactory = _ => "1" };
        var quick = new Option<bool>("--quick") { Description = "Reduced steps and replicas (tolerances stay valid, the precision drops)." };
        var command = new Command("sde", "Check the SDE paper's loss floors and scaling rules, and the truncated-quantization paper's Theorem 1, on a quadratic test bed (discrete runs, through the codec, and Euler–Maruyama).")
        {
            experiment, outDirectory, json, seed, quick,
        };
        command.SetAction(parse =>
        {
            string name = parse.GetValue(experiment)!;
            if (name != "all" && !byName.ContainsKey(name))
            {
                string? closest = byName.Keys.Append("all").Where(n => Verified.Theory.Schemes.EditDistance(name, n) <= (name.Length <= 4 ? 1 : 2)).MinBy(n => Verified.Theory.Schemes.EditDistance(name, n));
                error.WriteLine($"verified sde: --experiment '{name}' is not known: use one of {names}." + (closest is null ? "" : $" Did you mean {closest}?"));
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            if (!ulong.TryParse(parse.GetValue(seed), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seedValue))
            {
                error.WriteLine($"verified sde: --seed '{parse.GetValue(seed)}' is out of range: it must be an integer from 0 to 18446744073709551615.");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            ISdeExperiment[] selected = name == "all" ? [.. experiments] : [byName[name]];
            var options = new SdeExperimentOptions(seedValue, parse.GetValue(quick));
            bool asJson = parse.GetValue(json);
            string? outOption = parse.GetValue(outDirectory);
            var results = new List<(SdeReport Report, string Directory, IReadOnlyList<string> Files, TimeSpan Elapsed)>();
            bool interrupted = false;
            foreach (ISdeExperiment e in selected)
            {
                if (interruption.IsCancellationRequested)
                {
                    interrupted = true;
                    break;
                }
                var clock = Stopwatch.StartNew();
                SdeReport report = e.Run(options);
                TimeSpan elapsed = clock.Elapsed;
                string directory = Path.GetFullPath(outOption is null
                    ? Path.Combine(DefaultOut, e.Name)
                    : selected.Length > 1 ? Path.Combine(outOption, e.Name) : outOption);
                IReadOnlyList<string> files;
                try
                {
                    files = SdeOutput.Write(report, directory);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    error.WriteLine($"verified sde: --out '{directory}' cannot be written: {exception.Message}");
                    return VerifiedCli.InvalidArgumentsExitCode;
                }
                results.Add((report, directory, files, elapsed));
                if (!asJson)
                {
                    SdeOutput.WriteText(output, report, elapsed);
                    output.WriteLine($"  wrote {files.Count} file(s) to {directory}");
                    output.WriteLine();
                }
            }
            if (asJson)
            {
                SdeOutput.WriteJson(output, results.Select(r => (r.Report, r.Directory, r.Files, r.Elapsed)).ToList(), options);
            }
            else if (results.Count > 1)
            {
                foreach (var r in results)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{r.Report.Experiment,-12} {(r.Report.Passed ? "PASS" : "FAIL")}  {r.Report.Claims.Count(c => c.Passed)}/{r.Report.Claims.Length} claims  {r.Elapsed.TotalSeconds:0.0} s"));
                }
            }
            bool passed = results.All(r => r.Report.Passed);
            if (!passed)
            {
                foreach (var r in results)
                {
                    foreach (SdeClaim c in r.Report.Claims.Where(c => !c.Passed))
                    {
                        error.WriteLine($"verified sde: finding: {r.Report.Experiment}: claim '{c.Name}' failed: measured {TableNumber.Format(c.Measured, 5)}, predicted {TableNumber.Format(c.Predicted, 5)}, tolerance {TableNumber.Format(c.Tolerance, 5)}.");
                    }
                }
            }
            if (interrupted)
            {
                error.WriteLine($"verified sde: interrupted after {results.Count} of {selected.Length} experiment(s); their reports are written.");
                return TerminationSignals.InterruptExitCode;
            }
            return passed ? 0 : 1;
        });
        return command;
    }
}

/// <summary>Text, JSON, CSV, PNG and SVG renderings of an <see cref="SdeReport"/>.</summary>
internal static class SdeOutput
{
    public static void WriteText(TextWriter output, SdeReport report, TimeSpan elapsed)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified sde --experiment {report.Experiment}: {report.Description} ({elapsed.TotalSeconds:0.0} s)"));
        foreach (var p in report.Parameters)
        {
            output.WriteLine($"  {p.Key,-24} {p.Value}");
        }
        foreach (SdeTable table in report.Tables)
        {
            output.WriteLine();
            output.WriteLine(table.Title);
            int[] widths = [.. table.Columns.Select((c, i) => Math.Max(c.Length, table.Rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max()))];
            output.WriteLine("  " + string.Join("  ", table.Columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            foreach (var row in table.Rows)
            {
                output.WriteLine("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            }
        }
        output.WriteLine();
        output.WriteLine("Claims (measured vs predicted, tolerance):");
        foreach (SdeClaim c in report.Claims)
        {
            string relation = c.Comparison switch
            {
                SdeComparison.Exceeds => $"measured {TableNumber.Format(c.Measured, 5)}, predicted {TableNumber.Format(c.Predicted, 5)}; passes when > {TableNumber.Format(c.Tolerance, 5)}",
                SdeComparison.AtMost => $"measured {TableNumber.Format(c.Measured, 5)}, predicted {TableNumber.Format(c.Predicted, 5)}; passes when ≤ {TableNumber.Format(c.Tolerance, 5)}",
                _ => $"measured {TableNumber.Format(c.Measured, 5)}, predicted {TableNumber.Format(c.Predicted, 5)}, tolerance ±{TableNumber.Format(c.Tolerance, 5)}",
            };
            output.WriteLine($"  {(c.Passed ? "PASS" : "FAIL")}  {c.Name}: {relation}");
            output.WriteLine($"        {c.Note}");
        }
        output.WriteLine(report.Passed
            ? $"  {report.Experiment}: all {report.Claims.Length} claims pass"
            : $"  {report.Experiment}: {report.Claims.Count(c => !c.Passed)} of {report.Claims.Length} claims FAIL");
    }

    public static void WriteJson(TextWriter output, IReadOnlyList<(SdeReport Report, string Directory, IReadOnlyList<string> Files, TimeSpan Elapsed)> results, SdeExperimentOptions options) =>
        HostJson.WriteLine(output, new SdeJson(
            options.Seed,
            options.Quick,
            results.All(r => r.Report.Passed),
            [.. results.Select(r => new SdeExperimentJson(
                r.Report.Experiment,
                r.Report.Description,
                r.Report.Passed,
                Math.Round(r.Elapsed.TotalSeconds, 2),
                r.Directory,
                [.. r.Files],
                Parameters(r.Report.Parameters),
                [.. r.Report.Tables.Select(t => new SdeTableJson(t.Title, [.. t.Columns], [.. t.Rows.Select(row => row.ToArray())]))],
                [.. r.Report.Claims.Select(c => new SdeClaimJson(
                    c.Name,
                    c.Measured,
                    c.Predicted,
                    double.IsPositiveInfinity(c.Predicted) ? "infinite" : TableNumber.Format(c.Predicted, 5),
                    c.Tolerance,
                    c.Comparison switch
                    {
                        SdeComparison.AtMost => "measured <= tolerance",
                        SdeComparison.Exceeds => "measured > tolerance",
                        _ => "|measured - predicted| <= tolerance",
                    },
                    c.Passed,
                    c.Note))]))]),
            HostJson.Context.SdeJson);

    /// <summary>The parameters as one JSON object, in the report's order (a dictionary filled once keeps it).</summary>
    private static Dictionary<string, string> Parameters(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in parameters)
        {
            // A repeated name keeps its last value, as a JSON reader of the old hand-written object did.
            result[key] = value;
        }
        return result;
    }

    /// <summary>Writes <c>&lt;series&gt;.csv</c>, <c>.png</c> and <c>.svg</c> for each series; returns the paths.</summary>
    public static IReadOnlyList<string> Write(SdeReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (SdeSeries s in report.Series)
        {
            string csv = Path.Combine(directory, s.Name + ".csv");
            using (var writer = new StreamWriter(csv, append: false, new UTF8Encoding(false)))
            {
                writer.WriteLine("line,x,y,error");
                foreach (SdeLine line in s.Lines)
                {
                    for (int i = 0; i < line.X.Length; i++)
                    {
                        double e = line.Error.IsDefaultOrEmpty ? 0 : line.Error[i];
                        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\"{line.Label.Replace("\"", "\"\"", StringComparison.Ordinal)}\",{line.X[i]:R},{line.Y[i]:R},{e:R}"));
                    }
                }
            }
            written.Add(csv);
            written.AddRange(FigureStyle.Save(Draw(s), Path.Combine(directory, s.Name + ".png")));
        }
        return written;
    }

    /// <summary>The series in the project's <see cref="FigureStyle"/>: its title in words, log axes where it asks for them.</summary>
    private static Plot Draw(SdeSeries s)
    {
        Plot plot = FigureStyle.Create(s.Title, s.LogX ? $"{s.XLabel} (log scale)" : s.XLabel, s.LogY ? $"{s.YLabel} (log scale)" : s.YLabel);
        int index = 0;
        foreach (SdeLine line in s.Lines)
        {
            var points = line.X.Zip(line.Y)
                .Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second) && (!s.LogX || p.First > 0) && (!s.LogY || p.Second > 0))
                .Select(p => (X: s.LogX ? Math.Log10(p.First) : p.First, Y: s.LogY ? Math.Log10(p.Second) : p.Second))
                .ToArray();
            if (points.Length > 0)
            {
                FigureStyle.AddSeries(plot, index, line.Label, [.. points.Select(p => p.X)], [.. points.Select(p => p.Y)], markers: points.Length <= 40);
            }
            index++;
        }
        if (s.LogX)
        {
            FigureStyle.UseLogScale(plot.Axes.Bottom);
        }
        if (s.LogY)
        {
            FigureStyle.UseLogScale(plot.Axes.Left);
        }
        return plot;
    }
}

/// <summary>What <c>verified sde --json</c> prints: the options and one entry per experiment run.</summary>
internal sealed record SdeJson(ulong Seed, bool Quick, bool Passed, SdeExperimentJson[] Experiments);

/// <summary>One experiment of <see cref="SdeJson"/>; its tables keep the text cells the table output shows.</summary>
/// <remarks><c>Seconds</c>: wall time, rounded to 0.01 s.</remarks>
internal sealed record SdeExperimentJson(
    string Name,
    string Description,
    bool Passed,
    double Seconds,
    string OutputDirectory,
    string[] Files,
    Dictionary<string, string> Parameters,
    SdeTableJson[] Tables,
    SdeClaimJson[] Claims);

/// <summary>A table of <see cref="SdeExperimentJson"/>.</summary>
internal sealed record SdeTableJson(string Title, string[] Columns, string[][] Rows);

/// <summary>A claim of <see cref="SdeExperimentJson"/>; a non-finite figure is null and <paramref name="PredictedText"/> says ∞ as "infinite".</summary>
internal sealed record SdeClaimJson(
    string Name, double Measured, double Predicted, string PredictedText, double Tolerance, string Comparison, bool Passed, string Note);
