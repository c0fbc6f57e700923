using System.Globalization;
using ScottPlot;
using ScottPlot.Plottables;
using Verified.Host.Plotting;
using Verified.Simulation.Experiments;

namespace Verified.Host.Runs;

/// <summary>
/// The figures of a <c>verified run</c> invocation, in the project's <see cref="FigureStyle"/> (PNG and SVG): test
/// accuracy against rounds (the papers' first figure), final accuracy against uploaded bytes on a log axis (their
/// trade-off figure), and the training loss. Over several seeds a curve is the mean with a ± one standard deviation
/// band.
/// </summary>
internal static class RunPlots
{
    /// <summary>Writes the figures that the report's runs support into its directory; returns the files written.</summary>
    public static IReadOnlyList<string> Write(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var written = new List<string>();
        if (report.Rows.Count == 0)
        {
            return written;
        }
        written.AddRange(FigureStyle.Save(Accuracy(report.Rows, SeedNote(report)), Path.Combine(report.Directory, "accuracy.png")));
        written.AddRange(FigureStyle.Save(Loss(report.Rows, SeedNote(report)), Path.Combine(report.Directory, "loss.png")));
        if (report.Plan.Name == "fig-tradeoff" || report.Summaries.Select(s => s.Spec.Label).Distinct().Count() > 2)
        {
            written.AddRange(FigureStyle.Save(Tradeoff(report.Aggregate(), SeedNote(report)), Path.Combine(report.Directory, "tradeoff.png")));
        }
        return written;
    }

    /// <summary>
    /// One figure of a single run's <paramref name="rows"/> as PNG bytes (the service draws them from its store):
    /// <c>accuracy</c> or <c>loss</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a figure.</exception>
    public static byte[] Png(string name, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) => FigureStyle.Png(Figure(name, rows));

    /// <summary>The same figure as <see cref="Png"/>, as an SVG document.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a figure.</exception>
    public static string Svg(string name, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) => FigureStyle.Svg(Figure(name, rows));

    private static Plot Figure(string name, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return name switch
        {
            "accuracy" => Accuracy(rows, ""),
            "loss" => Loss(rows, ""),
            _ => throw new ArgumentException($"'{name}' is not a figure: use accuracy or loss.", nameof(name)),
        };
    }

    /// <summary>Test accuracy after each evaluated round: mean over seeds with a ± sd band, one series per label.</summary>
    private static Plot Accuracy(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, string seedNote)
    {
        Plot plot = FigureStyle.Create("Test accuracy against rounds" + seedNote, "round", "test accuracy");
        int index = 0;
        foreach (string label in Labels(rows))
        {
            SeedCurve curve = SeedCurve.Of(rows.Where(r => r.Metrics.Label == label && r.Metrics.TestAccuracy is not null), r => r.Metrics.TestAccuracy!.Value);
            if (curve.Rounds.Length > 0)
            {
                Draw(plot, index, label, curve, markers: curve.Rounds.Length <= 60);
            }
            index++;
        }
        FigureStyle.UseIntegerTicks(plot.Axes.Bottom);
        return plot;
    }

    /// <summary>Training loss per round smoothed by a trailing 20-round mean: mean over seeds with a ± sd band.</summary>
    private static Plot Loss(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, string seedNote)
    {
        const int window = 20;
        Plot plot = FigureStyle.Create(
            string.Create(CultureInfo.InvariantCulture, $"Training loss (trailing {window}-round mean){seedNote}"), "round", "training loss");
        int index = 0;
        foreach (string label in Labels(rows))
        {
            // Smooth each seed's curve first, then take mean and sd across seeds at each round.
            var smoothed = new List<(ExperimentSpec Spec, int Round, double Loss)>();
            foreach (var seed in rows.Where(r => r.Metrics.Label == label).GroupBy(r => r.Spec.Seed))
            {
                var ordered = seed.OrderBy(r => r.Metrics.Round).ToArray();
                double sum = 0;
                for (int i = 0; i < ordered.Length; i++)
                {
                    sum += ordered[i].Metrics.TrainingLoss - (i >= window ? ordered[i - window].Metrics.TrainingLoss : 0);
                    smoothed.Add((ordered[i].Spec, ordered[i].Metrics.Round, sum / Math.Min(i + 1, window)));
                }
            }
            SeedCurve curve = SeedCurve.Of(smoothed.Select(s => (s.Spec.Seed, s.Round, s.Loss)));
            if (curve.Rounds.Length > 0)
            {
                Draw(plot, index, label, curve, markers: false);
            }
            index++;
        }
        FigureStyle.UseIntegerTicks(plot.Axes.Bottom);
        return plot;
    }

    private static void Draw(Plot plot, int index, string label, SeedCurve curve, bool markers)
    {
        if (curve.Seeds > 1)
        {
            FigureStyle.AddBand(plot, index, curve.Rounds, [.. curve.Mean.Zip(curve.Deviation, (m, d) => m - d)], [.. curve.Mean.Zip(curve.Deviation, (m, d) => m + d)]);
        }
        FigureStyle.AddSeries(plot, index, label, curve.Rounds, curve.Mean, markers);
    }

    /// <summary>
    /// Writes accuracy, loss and, with more than two labels, the trade-off figure (PNG and SVG) for rows merged from
    /// several invocations (<c>verified plot</c>); <paramref name="aggregate"/> gives the trade-off's points.
    /// </summary>
    public static IReadOnlyList<string> Write(
        string directory, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, IReadOnlyList<LabelAggregate> aggregate)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(aggregate);
        int seeds = rows.Select(r => r.Spec.Seed).Distinct().Count();
        string note = seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $" (mean ± sd of {seeds} seeds)") : "";
        var written = new List<string>();
        written.AddRange(FigureStyle.Save(Accuracy(rows, note), Path.Combine(directory, "accuracy.png")));
        written.AddRange(FigureStyle.Save(Loss(rows, note), Path.Combine(directory, "loss.png")));
        if (aggregate.Count > 2)
        {
            written.AddRange(FigureStyle.Save(Tradeoff(aggregate, note), Path.Combine(directory, "tradeoff.png")));
        }
        return written;
    }

    /// <summary>
    /// Final accuracy (mean ± sd over seeds) against total uploaded MB on a log axis, one series per scheme over its
    /// bit widths: full precision uploads 8–30× the bytes of a quantizer, and a linear axis squeezed every quantizer
    /// into a sliver of the width.
    /// </summary>
    private static Plot Tradeoff(IEnumerable<LabelAggregate> aggregate, string seedNote)
    {
        Plot plot = FigureStyle.Create(
            "Final test accuracy against uploaded bytes" + seedNote,
            "total uploaded MB, all clients and rounds (log scale)",
            "final test accuracy");
        int index = 0;
        foreach (var scheme in aggregate.GroupBy(a => a.Scheme))
        {
            LabelAggregate[] points = [.. scheme.Where(p => p.BytesMean > 0).OrderBy(a => a.BytesMean)];
            if (points.Length == 0)
            {
                index++;
                continue;
            }
            double[] megabytes = [.. points.Select(p => FigureStyle.Log10(p.BytesMean / 1e6))];
            double[] accuracy = [.. points.Select(p => p.AccuracyMean)];
            Scatter line = FigureStyle.AddSeries(plot, index, scheme.Key, megabytes, accuracy);
            if (points.Any(p => p.AccuracyStandardDeviation is not null))
            {
                var bars = plot.Add.ErrorBar(megabytes, accuracy, [.. points.Select(p => p.AccuracyStandardDeviation ?? 0)]);
                bars.Color = line.Color;
            }
            foreach ((LabelAggregate point, double x) in points.Zip(megabytes))
            {
                var text = plot.Add.Text(point.Scheme == "fp" ? "fp" : point.Bits.ToString(CultureInfo.InvariantCulture) + " b", x, point.AccuracyMean);
                text.LabelFontSize = 11;
                text.LabelOffsetX = 6;
            }
            index++;
        }
        FigureStyle.UseLogScale(plot.Axes.Bottom);
        return plot;
    }

    private static IEnumerable<string> Labels(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) => rows.Select(r => r.Metrics.Label).Distinct();

    private static string SeedNote(RunReport report)
    {
        int seeds = report.Summaries.Select(s => s.Spec.Seed).Distinct().Count();
        return seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $" (mean ± sd of {seeds} seeds)") : "";
    }
}

/// <summary>A per-round mean and sample standard deviation over seeds (0 where one seed has the round).</summary>
internal sealed record SeedCurve(double[] Rounds, double[] Mean, double[] Deviation, int Seeds)
{
    public static SeedCurve Of(IEnumerable<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, Func<(ExperimentSpec Spec, RoundMetrics Metrics), double> value) =>
        Of(rows.Select(r => (r.Spec.Seed, r.Metrics.Round, value(r))));

    public static SeedCurve Of<TSeed>(IEnumerable<(TSeed Seed, int Round, double Value)> points)
    {
        var list = points.ToList();
        var byRound = list.GroupBy(p => p.Round).OrderBy(g => g.Key).ToArray();
        return new SeedCurve(
            [.. byRound.Select(g => (double)g.Key)],
            [.. byRound.Select(g => Statistics.Mean(g.Select(p => p.Value)))],
            [.. byRound.Select(g => Statistics.StandardDeviation(g.Select(p => p.Value)) ?? 0)],
            list.Select(p => p.Seed).Distinct().Count());
    }
}
