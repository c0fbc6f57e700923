using System.Globalization;
using ScottPlot;
using Verified.Simulation.Experiments;

namespace Verified.Host.Runs;

/// <summary>
/// The PNG figures of a <c>verified run</c> invocation (ScottPlot): test accuracy against rounds (the papers' first
/// figure), final accuracy against uploaded bytes (their trade-off figure), and the training loss.
/// </summary>
internal static class RunPlots
{
    private const int Width = 960;
    private const int Height = 600;

    /// <summary>Writes the figures that the report's runs support into its directory; returns the files written.</summary>
    public static IReadOnlyList<string> Write(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var written = new List<string>();
        if (report.Rows.Count == 0)
        {
            return written;
        }
        written.Add(Save(Accuracy(report.Rows, SeedNote(report)), report, "accuracy.png"));
        written.Add(Save(Loss(report.Rows, SeedNote(report)), report, "loss.png"));
        if (report.Plan.Name == "fig-tradeoff" || report.Summaries.Select(s => s.Spec.Label).Distinct().Count() > 2)
        {
            written.Add(Tradeoff(report));
        }
        return written;
    }

    /// <summary>
    /// One figure of a single run's <paramref name="rows"/> as PNG bytes (the service draws them from its store):
    /// <c>accuracy</c> or <c>loss</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a figure.</exception>
    public static byte[] Png(string name, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Plot plot = name switch
        {
            "accuracy" => Accuracy(rows, ""),
            "loss" => Loss(rows, ""),
            _ => throw new ArgumentException($"'{name}' is not a figure: use accuracy or loss.", nameof(name)),
        };
        using Image image = plot.GetImage(Width, Height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    /// <summary>Test accuracy after each evaluated round, mean over seeds, one line per label.</summary>
    private static Plot Accuracy(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, string seedNote)
    {
        var plot = new Plot();
        foreach (var label in Labels(rows))
        {
            var points = rows
                .Where(r => r.Metrics.Label == label && r.Metrics.TestAccuracy is not null)
                .GroupBy(r => r.Metrics.Round)
                .OrderBy(g => g.Key)
                .Select(g => (Round: (double)g.Key, Accuracy: g.Average(r => r.Metrics.TestAccuracy!.Value)))
                .ToArray();
            if (points.Length == 0)
            {
                continue;
            }
            var line = plot.Add.Scatter(points.Select(p => p.Round).ToArray(), points.Select(p => p.Accuracy).ToArray());
            line.LegendText = label;
            line.MarkerSize = 6;
        }
        plot.Title("Test accuracy against rounds" + seedNote);
        plot.XLabel("round");
        plot.YLabel("test accuracy");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>Training loss per round, mean over seeds, smoothed by a trailing 20-round mean.</summary>
    private static Plot Loss(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, string seedNote)
    {
        const int window = 20;
        var plot = new Plot();
        foreach (var label in Labels(rows))
        {
            double[] losses = [.. rows
                .Where(r => r.Metrics.Label == label)
                .GroupBy(r => r.Metrics.Round)
                .OrderBy(g => g.Key)
                .Select(g => g.Average(r => r.Metrics.TrainingLoss))];
            if (losses.Length == 0)
            {
                continue;
            }
            double[] rounds = [.. Enumerable.Range(1, losses.Length).Select(r => (double)r)];
            double[] smoothed = new double[losses.Length];
            double sum = 0;
            for (int i = 0; i < losses.Length; i++)
            {
                sum += losses[i] - (i >= window ? losses[i - window] : 0);
                smoothed[i] = sum / Math.Min(i + 1, window);
            }
            var line = plot.Add.ScatterLine(rounds, smoothed);
            line.LegendText = label;
        }
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"Training loss (trailing {window}-round mean){seedNote}"));
        plot.XLabel("round");
        plot.YLabel("training loss");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>
    /// Writes accuracy.png, loss.png and, with more than two labels, tradeoff.png for rows merged from several
    /// invocations (<c>verified plot</c>); <paramref name="aggregate"/> gives the trade-off's points.
    /// </summary>
    public static IReadOnlyList<string> Write(
        string directory, IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, IReadOnlyList<LabelAggregate> aggregate)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(aggregate);
        int seeds = rows.Select(r => r.Spec.Seed).Distinct().Count();
        string note = seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $" (mean of {seeds} seeds)") : "";
        var written = new List<string>();
        void Write(Plot plot, string name)
        {
            string path = Path.Combine(directory, name);
            plot.SavePng(path, Width, Height);
            written.Add(path);
        }
        Write(Accuracy(rows, note), "accuracy.png");
        Write(Loss(rows, note), "loss.png");
        if (aggregate.Count > 2)
        {
            Write(Tradeoff(aggregate, note), "tradeoff.png");
        }
        return written;
    }

    private static string Tradeoff(RunReport report) =>
        Save(Tradeoff(report.Aggregate(), SeedNote(report)), report, "tradeoff.png");

    /// <summary>Final accuracy (mean ± sd over seeds) against total uploaded MB, one line per scheme over its bit widths.</summary>
    private static Plot Tradeoff(IEnumerable<LabelAggregate> aggregate, string seedNote)
    {
        var plot = new Plot();
        foreach (var scheme in aggregate.GroupBy(a => a.Scheme))
        {
            LabelAggregate[] points = [.. scheme.OrderBy(a => a.BytesMean)];
            double[] megabytes = [.. points.Select(p => p.BytesMean / 1e6)];
            double[] accuracy = [.. points.Select(p => p.AccuracyMean)];
            var line = plot.Add.Scatter(megabytes, accuracy);
            line.LegendText = scheme.Key;
            line.MarkerSize = 7;
            if (points.Any(p => p.AccuracyStandardDeviation is not null))
            {
                var bars = plot.Add.ErrorBar(megabytes, accuracy, [.. points.Select(p => p.AccuracyStandardDeviation ?? 0)]);
                bars.Color = line.Color;
            }
            foreach (LabelAggregate point in points)
            {
                var text = plot.Add.Text(point.Scheme == "fp" ? "fp" : point.Bits.ToString(CultureInfo.InvariantCulture) + " b", point.BytesMean / 1e6, point.AccuracyMean);
                text.LabelFontSize = 11;
            }
        }
        plot.Title("Final test accuracy against uploaded bytes" + seedNote);
        plot.XLabel("total uploaded MB (all clients, all rounds; real payload bytes)");
        plot.YLabel("final test accuracy");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static IEnumerable<string> Labels(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows) => rows.Select(r => r.Metrics.Label).Distinct();

    private static string SeedNote(RunReport report)
    {
        int seeds = report.Summaries.Select(s => s.Spec.Seed).Distinct().Count();
        return seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $" (mean of {seeds} seeds)") : "";
    }

    private static string Save(Plot plot, RunReport report, string name)
    {
        string path = Path.Combine(report.Directory, name);
        plot.SavePng(path, Width, Height);
        return path;
    }
}
