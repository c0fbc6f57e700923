using System.Globalization;
using ScottPlot;
using Verified.Host.Plotting;
using Verified.Codec.Audit;
using Verified.Theory;

namespace Verified.Host.Audit;

/// <summary>
/// The figures of <c>verified audit</c> in the project's <see cref="FigureStyle"/> (PNG and SVG): the histogram with
/// both fitted densities and the chosen design's levels, the QQ plot, measured against predicted error, the error/bits
/// trade-off, and for a run the drift of the tail, the thresholds and the error ratios over rounds. Densities, quantiles,
/// errors, scales and thresholds span decades and are drawn on log axes.
/// </summary>
internal static class AuditPlots
{
    public static IReadOnlyList<string> Write(AuditReport report)
    {
        (AuditInput input, GradientAuditResult r) = report.Detailed;
        float[] gradient = GradientCapture.Read(input.Path);
        var written = new List<string>();
        written.AddRange(Histogram(report, r, gradient));
        written.AddRange(Quantiles(report, r));
        written.AddRange(Errors(report, r));
        written.AddRange(Tradeoff(report, r));
        if (report.IsRun)
        {
            written.AddRange(DriftTail(report));
            written.AddRange(DriftAlpha(report));
            written.AddRange(DriftRatio(report));
        }
        return written;
    }

    /// <summary>The scheme whose levels the histogram marks: TNQSGD at the middle bit width, else the first truncated one.</summary>
    private static SchemeAudit? Marked(GradientAuditResult r)
    {
        SchemeAudit[] truncated = [.. r.Schemes.Where(s => s.Spec is TruncatedSpec)];
        SchemeAudit[] tnq = [.. truncated.Where(s => s.Spec is TruncatedNonUniform)];
        return tnq.Length > 0 ? tnq[tnq.Length / 2] : truncated.FirstOrDefault();
    }

    /// <summary>The empirical density of g (log axis) with both fitted densities; the marked design's levels and ±α.</summary>
    private static IReadOnlyList<string> Histogram(AuditReport report, GradientAuditResult r, float[] gradient)
    {
        SchemeAudit? marked = Marked(r);
        double[] sorted = GoodnessOfFit.SortedMagnitudes(gradient);
        double extent = Math.Max(sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(0.9999 * sorted.Length))], 1.15 * (marked?.Design.Alpha ?? 0));
        const int bins = 201;
        double width = 2 * extent / bins;
        var counts = new long[bins];
        foreach (float g in gradient)
        {
            int bin = (int)Math.Floor((g + extent) / width);
            if (bin >= 0 && bin < bins)
            {
                counts[bin]++;
            }
        }
        var centres = new List<double>();
        var density = new List<double>();
        for (int b = 0; b < bins; b++)
        {
            if (counts[b] > 0)
            {
                centres.Add(-extent + ((b + 0.5) * width));
                density.Add(Math.Log10(counts[b] / (gradient.Length * width)));
            }
        }
        Plot plot = FigureStyle.Create(
            string.Create(CultureInfo.InvariantCulture, $"Gradient density (d = {r.Dimension}) with the fitted models; fit chosen: {r.Fit.Chosen}"),
            "gradient coordinate g", "density (log scale)");
        var data = FigureStyle.AddPoints(plot, 0, "gradient (histogram)", centres.ToArray(), density.ToArray());
        data.MarkerSize = 4;
        int index = 1;
        double[] xs = [.. Enumerable.Range(0, 400).Select(i => -extent + (2 * extent * (i + 0.5) / 400))];
        double floor = density.Count > 0 ? density.Min() - 1 : -10;
        foreach (ModelFitReport m in r.Fit.Models)
        {
            double[] ys = [.. xs.Select(x => Math.Max(floor, Math.Log10(m.Distribution.Pdf(x))))];
            FigureStyle.AddSeries(plot, index++, m.Kind == "laplace"
                ? string.Create(CultureInfo.InvariantCulture, $"Laplace γ̂ = {m.Scale:G3}")
                : string.Create(CultureInfo.InvariantCulture, $"Lomax σ̂ = {m.Scale:G3}, ρ̂ = {m.Shape:G3}"), xs, ys, markers: false);
        }
        if (marked is not null)
        {
            bool first = true;
            foreach (double level in marked.Levels)
            {
                var line = plot.Add.VerticalLine(level);
                line.Color = Colors.Gray.WithAlpha(0.6);
                line.LineWidth = 1;
                if (first)
                {
                    line.LegendText = $"{marked.Label} levels";
                    first = false;
                }
            }
            foreach (double sign in new[] { -1.0, 1.0 })
            {
                var alpha = plot.Add.VerticalLine(sign * marked.Design.Alpha);
                alpha.Color = FigureStyle.Series(index).Color;
                alpha.LineWidth = 2;
                alpha.LinePattern = LinePattern.Dashed;
                if (sign > 0)
                {
                    alpha.LegendText = string.Create(CultureInfo.InvariantCulture, $"±α = {marked.Design.Alpha:G3}");
                }
            }
        }
        FigureStyle.UseLogScale(plot.Axes.Left);
        return Save(plot, report, "histogram.png");
    }

    /// <summary>QQ plot of |g| on log-log axes for both fits, with the identity.</summary>
    private static IReadOnlyList<string> Quantiles(AuditReport report, GradientAuditResult r)
    {
        Plot plot = FigureStyle.Create("Quantiles of |g| against each fitted model (tail probabilities ½ … 2/d)", "model quantile (log scale)", "sample quantile (log scale)");
        int index = 0;
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (ModelFitReport m in r.Fit.Models)
        {
            QuantilePair[] pairs = [.. m.QuantilePairs.Where(p => p.Model > 0 && p.Sample > 0)];
            double[] x = [.. pairs.Select(p => Math.Log10(p.Model))];
            double[] y = [.. pairs.Select(p => Math.Log10(p.Sample))];
            if (x.Length == 0)
            {
                continue;
            }
            low = Math.Min(low, Math.Min(x.Min(), y.Min()));
            high = Math.Max(high, Math.Max(x.Max(), y.Max()));
            var points = FigureStyle.AddPoints(plot, index++, string.Create(CultureInfo.InvariantCulture, $"{m.Kind} (KS {m.KsDistance:G3})"), x, y);
            points.MarkerSize = 5;
        }
        if (double.IsFinite(low))
        {
            var identity = plot.Add.Line(low, low, high, high);
            identity.Color = Colors.Black;
            identity.LinePattern = LinePattern.Dashed;
            identity.LegendText = "sample = model";
        }
        FigureStyle.UseLogScale(plot.Axes.Bottom);
        FigureStyle.UseLogScale(plot.Axes.Left);
        return Save(plot, report, "qq.png");
    }

    /// <summary>Measured MSE (markers) and predicted MSE (dashed, same colour) against bits, per scheme; log axis.</summary>
    private static IReadOnlyList<string> Errors(AuditReport report, GradientAuditResult r)
    {
        Plot plot = FigureStyle.Create("Error per coordinate: measured (markers) against the design's prediction (dashed)", "bits per coordinate (the scheme's b)", "MSE (1/d)‖ĝ − g‖² (log scale)");
        int index = 0;
        foreach (var scheme in r.Schemes.GroupBy(s => s.Spec.Name))
        {
            SchemeAudit[] points = [.. scheme.OrderBy(s => s.Spec.BitsPerCoordinate)];
            double[] bits = [.. points.Select(s => (double)s.Spec.BitsPerCoordinate)];
            AuditFigure[] mse = [.. points.Select(s => s.Figure(AuditFigure.MeanSquaredError)!)];
            var predicted = FigureStyle.AddSeries(plot, index, $"{scheme.Key} predicted", bits, [.. mse.Select(f => FigureStyle.Log10(f.Predicted))], markers: false);
            predicted.LinePattern = LinePattern.Dashed;
            var measured = FigureStyle.AddPoints(plot, index, $"{scheme.Key} measured", bits, [.. mse.Select(f => FigureStyle.Log10(f.Measured))]);
            measured.MarkerSize = 9;
            index++;
            foreach ((SchemeAudit s, AuditFigure f) in points.Zip(mse))
            {
                if (f.Flagged)
                {
                    var text = plot.Add.Text(f.Cause, s.Spec.BitsPerCoordinate, FigureStyle.Log10(f.Measured));
                    text.LabelFontSize = 10;
                }
            }
        }
        FigureStyle.UseIntegerTicks(plot.Axes.Bottom);
        FigureStyle.UseLogScale(plot.Axes.Left);
        return Save(plot, report, "errors.png");
    }

    /// <summary>Relative error against real bits per coordinate (headers included), one line per scheme.</summary>
    private static IReadOnlyList<string> Tradeoff(AuditReport report, GradientAuditResult r)
    {
        Plot plot = FigureStyle.Create("Error against bits: measured MSE relative to the mean square of g", "bits per coordinate on the wire (payload bytes × 8 / d)", "relative MSE (log scale)");
        int index = 0;
        foreach (var scheme in r.Schemes.GroupBy(s => s.Spec.Name))
        {
            SchemeAudit[] points = [.. scheme.OrderBy(s => s.BitsPerCoordinate)];
            double[] bits = [.. points.Select(s => s.BitsPerCoordinate)];
            double[] error = [.. points.Select(s => FigureStyle.Log10(s.Figure(AuditFigure.MeanSquaredError)!.Measured / r.MeanSquare))];
            FigureStyle.AddSeries(plot, index++, scheme.Key, bits, error);
        }
        FigureStyle.UseLogScale(plot.Axes.Left);
        return Save(plot, report, "tradeoff.png");
    }

    private static IReadOnlyList<string> DriftTail(AuditReport report)
    {
        Plot plot = FigureStyle.Create("Tail of the gradient over training: fitted power-law exponent", "round", "power-law exponent ρ");
        int index = 0;
        foreach (var run in report.Audits.GroupBy(a => a.Input.Label))
        {
            var rows = run.OrderBy(a => a.Input.Round).ToArray();
            double[] rounds = [.. rows.Select(a => (double)(a.Input.Round ?? 0))];
            FigureStyle.AddSeries(plot, index++, $"{run.Key}: Lomax ρ̂", rounds, [.. rows.Select(a => a.Result.Fit.Models[1].Shape ?? double.NaN)]);
            FigureStyle.AddSeries(plot, index++, $"{run.Key}: Hill ξ̂ + 1", rounds, [.. rows.Select(a => a.Result.Fit.Hill.TailIndex + 1)]);
        }
        var three = plot.Add.HorizontalLine(3);
        three.Color = Colors.Black;
        three.LinePattern = LinePattern.Dotted;
        three.LegendText = "ρ = 3 (infinite variance below)";
        FigureStyle.UseIntegerTicks(plot.Axes.Bottom);
        return Save(plot, report, "drift-tail.png");
    }

    private static IReadOnlyList<string> DriftAlpha(AuditReport report)
    {
        Plot plot = FigureStyle.Create("Fitted scale and truncation thresholds over training", "round", "value (log scale)");
        int index = 0;
        foreach (var run in report.Audits.GroupBy(a => a.Input.Label))
        {
            var rows = run.OrderBy(a => a.Input.Round).ToArray();
            double[] rounds = [.. rows.Select(a => (double)(a.Input.Round ?? 0))];
            FigureStyle.AddSeries(plot, index++, $"{run.Key}: Laplace scale γ̂", rounds, [.. rows.Select(a => FigureStyle.Log10(a.Result.Fit.Models[0].Scale))]);
            foreach (string label in rows[0].Result.Schemes.Where(s => s.Spec is TruncatedSpec).Select(s => s.Label))
            {
                FigureStyle.AddSeries(plot, index++, $"{run.Key}: α of {label}", rounds, [.. rows.Select(a => FigureStyle.Log10(a.Result.Schemes.First(s => s.Label == label).Design.Alpha))]);
            }
        }
        FigureStyle.UseIntegerTicks(plot.Axes.Bottom);
        FigureStyle.UseLogScale(plot.Axes.Left);
        return Save(plot, report, "drift-alpha.png");
    }

    private static IReadOnlyList<string> DriftRatio(AuditReport report)
    {
        Plot plot = FigureStyle.Create("Measured error relative to the design's prediction over training", "round", "MSE measured / predicted");
        int index = 0;
        foreach (var run in report.Audits.GroupBy(a => a.Input.Label))
        {
            var rows = run.OrderBy(a => a.Input.Round).ToArray();
            double[] rounds = [.. rows.Select(a => (double)(a.Input.Round ?? 0))];
            foreach (string label in rows[0].Result.Schemes.Select(s => s.Label))
            {
                string legend = report.Audits.Select(a => a.Input.Label).Distinct().Count() > 1 ? $"{run.Key}: {label}" : label;
                FigureStyle.AddSeries(plot, index++, legend, rounds, [.. rows.Select(a => a.Result.Schemes.First(s => s.Label == label).Figure(AuditFigure.MeanSquaredError)!.Ratio)]);
            }
        }
        var one = plot.Add.HorizontalLine(1);
        one.Color = Colors.Black;
        one.LinePattern = LinePattern.Dashed;
        one.LegendText = "measured = predicted";
        FigureStyle.UseIntegerTicks(plot.Axes.Bottom);
        return Save(plot, report, "drift-ratio.png");
    }

    /// <summary>Writes the figure as report.Directory/name and the SVG beside it.</summary>
    private static IReadOnlyList<string> Save(Plot plot, AuditReport report, string name) =>
        FigureStyle.Save(plot, Path.Combine(report.Directory, name));
}
