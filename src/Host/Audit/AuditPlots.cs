using System.Globalization;
using ScottPlot;
using Verified.Codec.Audit;
using Verified.Theory;

namespace Verified.Host.Audit;

/// <summary>
/// The PNG figures of <c>verified audit</c> (ScottPlot, in the style of <c>RunPlots</c>): the histogram with both fitted
/// densities and the chosen design's levels, the QQ plot, measured against predicted error, the error/bits trade-off,
/// and for a run the drift of the tail, the thresholds and the error ratios over rounds.
/// </summary>
internal static class AuditPlots
{
    private const int Width = 960;
    private const int Height = 600;

    public static IReadOnlyList<string> Write(AuditReport report)
    {
        (AuditInput input, GradientAuditResult r) = report.Detailed;
        float[] gradient = GradientCapture.Read(input.Path);
        var written = new List<string>
        {
            Histogram(report, r, gradient),
            Quantiles(report, r),
            Errors(report, r),
            Tradeoff(report, r),
        };
        if (report.IsRun)
        {
            written.Add(DriftTail(report));
            written.Add(DriftAlpha(report));
            written.Add(DriftRatio(report));
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

    /// <summary>log10 of the empirical density of g with both fitted densities; the marked design's levels and ±α.</summary>
    private static string Histogram(AuditReport report, GradientAuditResult r, float[] gradient)
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
        var plot = new Plot();
        var data = plot.Add.Scatter(centres.ToArray(), density.ToArray());
        data.LegendText = "gradient (histogram)";
        data.LineWidth = 0;
        data.MarkerSize = 4;
        double[] xs = [.. Enumerable.Range(0, 400).Select(i => -extent + (2 * extent * (i + 0.5) / 400))];
        double floor = density.Count > 0 ? density.Min() - 1 : -10;
        foreach (ModelFitReport m in r.Fit.Models)
        {
            double[] ys = [.. xs.Select(x => Math.Max(floor, Math.Log10(m.Distribution.Pdf(x))))];
            var line = plot.Add.ScatterLine(xs, ys);
            line.LineWidth = 2;
            line.LegendText = m.Kind == "laplace"
                ? string.Create(CultureInfo.InvariantCulture, $"Laplace γ̂ = {m.Scale:G3}")
                : string.Create(CultureInfo.InvariantCulture, $"Lomax σ̂ = {m.Scale:G3}, ρ̂ = {m.Shape:G3}");
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
                alpha.Color = Colors.Red;
                alpha.LineWidth = 2;
                alpha.LinePattern = LinePattern.Dashed;
                if (sign > 0)
                {
                    alpha.LegendText = string.Create(CultureInfo.InvariantCulture, $"±α = {marked.Design.Alpha:G3}");
                }
            }
        }
        return Save(plot, report, "histogram.png", string.Create(CultureInfo.InvariantCulture, $"Gradient density (d = {r.Dimension}), fits chosen: {r.Fit.Chosen}"), "g", "log10 density");
    }

    /// <summary>QQ plot of |g| on log-log axes for both fits, with the identity.</summary>
    private static string Quantiles(AuditReport report, GradientAuditResult r)
    {
        var plot = new Plot();
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
            var points = plot.Add.Scatter(x, y);
            points.LegendText = string.Create(CultureInfo.InvariantCulture, $"{m.Kind} (KS {m.KsDistance:G3})");
            points.MarkerSize = 5;
        }
        if (double.IsFinite(low))
        {
            var identity = plot.Add.Line(low, low, high, high);
            identity.Color = Colors.Black;
            identity.LinePattern = LinePattern.Dashed;
            identity.LegendText = "sample = model";
        }
        return Save(plot, report, "qq.png", "QQ plot of |g| (tail probabilities ½ … 2/d, log spaced)", "log10 model quantile", "log10 sample quantile", Alignment.UpperLeft);
    }

    /// <summary>Measured MSE (markers, with the codec band) and predicted MSE (lines) against bits, per scheme; log10.</summary>
    private static string Errors(AuditReport report, GradientAuditResult r)
    {
        var plot = new Plot();
        foreach (var scheme in r.Schemes.GroupBy(s => s.Spec.Name))
        {
            SchemeAudit[] points = [.. scheme.OrderBy(s => s.Spec.BitsPerCoordinate)];
            double[] bits = [.. points.Select(s => (double)s.Spec.BitsPerCoordinate)];
            AuditFigure[] mse = [.. points.Select(s => s.Figure(AuditFigure.MeanSquaredError)!)];
            var predicted = plot.Add.ScatterLine(bits, [.. mse.Select(f => Math.Log10(f.Predicted))]);
            predicted.LinePattern = LinePattern.Dashed;
            predicted.LegendText = $"{scheme.Key} predicted";
            var measured = plot.Add.Scatter(bits, [.. mse.Select(f => Math.Log10(f.Measured))]);
            measured.Color = predicted.Color;
            measured.LineWidth = 0;
            measured.MarkerSize = 9;
            measured.LegendText = $"{scheme.Key} measured";
            foreach ((SchemeAudit s, AuditFigure f) in points.Zip(mse))
            {
                if (f.Flagged)
                {
                    var text = plot.Add.Text(f.Cause, s.Spec.BitsPerCoordinate, Math.Log10(f.Measured));
                    text.LabelFontSize = 10;
                }
            }
        }
        return Save(plot, report, "errors.png", "MSE per coordinate: measured (markers) vs predicted by the design (dashed)", "bits per coordinate (scheme's b)", "log10 (1/d)‖ĝ − g‖²");
    }

    /// <summary>Relative error against real bits per coordinate (headers included), one line per scheme.</summary>
    private static string Tradeoff(AuditReport report, GradientAuditResult r)
    {
        var plot = new Plot();
        foreach (var scheme in r.Schemes.GroupBy(s => s.Spec.Name))
        {
            SchemeAudit[] points = [.. scheme.OrderBy(s => s.BitsPerCoordinate)];
            double[] bits = [.. points.Select(s => s.BitsPerCoordinate)];
            double[] error = [.. points.Select(s => Math.Log10(s.Figure(AuditFigure.MeanSquaredError)!.Measured / r.MeanSquare))];
            var line = plot.Add.Scatter(bits, error);
            line.LegendText = scheme.Key;
            line.MarkerSize = 8;
        }
        return Save(plot, report, "tradeoff.png", "Error against bits: measured MSE / mean square of g", "bits per coordinate on the wire (payload bytes × 8 / d)", "log10 relative MSE");
    }

    private static string DriftTail(AuditReport report)
    {
        var plot = new Plot();
        foreach (var run in report.Audits.GroupBy(a => a.Input.Label))
        {
            var rows = run.OrderBy(a => a.Input.Round).ToArray();
            double[] rounds = [.. rows.Select(a => (double)(a.Input.Round ?? 0))];
            var lomax = plot.Add.Scatter(rounds, [.. rows.Select(a => a.Result.Fit.Models[1].Shape ?? double.NaN)]);
            lomax.LegendText = $"{run.Key}: Lomax ρ̂";
            var hill = plot.Add.Scatter(rounds, [.. rows.Select(a => a.Result.Fit.Hill.TailIndex + 1)]);
            hill.LegendText = $"{run.Key}: Hill ξ̂ + 1";
            hill.LinePattern = LinePattern.Dashed;
        }
        var three = plot.Add.HorizontalLine(3);
        three.Color = Colors.Red;
        three.LinePattern = LinePattern.Dotted;
        three.LegendText = "ρ = 3 (infinite variance below)";
        return Save(plot, report, "drift-tail.png", "Tail of the gradient over training", "round", "power-law exponent ρ");
    }

    private static string DriftAlpha(AuditReport report)
    {
        var plot = new Plot();
        foreach (var run in report.Audits.GroupBy(a => a.Input.Label))
        {
            var rows = run.OrderBy(a => a.Input.Round).ToArray();
            double[] rounds = [.. rows.Select(a => (double)(a.Input.Round ?? 0))];
            var gamma = plot.Add.Scatter(rounds, [.. rows.Select(a => Math.Log10(a.Result.Fit.Models[0].Scale))]);
            gamma.LegendText = $"{run.Key}: γ̂";
            gamma.LinePattern = LinePattern.Dashed;
            foreach (string label in rows[0].Result.Schemes.Where(s => s.Spec is TruncatedSpec).Select(s => s.Label))
            {
                var alpha = plot.Add.Scatter(rounds, [.. rows.Select(a => Math.Log10(a.Result.Schemes.First(s => s.Label == label).Design.Alpha))]);
                alpha.LegendText = $"{run.Key}: α {label}";
            }
        }
        return Save(plot, report, "drift-alpha.png", "Fitted scale and truncation thresholds over training", "round", "log10 value");
    }

    private static string DriftRatio(AuditReport report)
    {
        var plot = new Plot();
        foreach (var run in report.Audits.GroupBy(a => a.Input.Label))
        {
            var rows = run.OrderBy(a => a.Input.Round).ToArray();
            double[] rounds = [.. rows.Select(a => (double)(a.Input.Round ?? 0))];
            foreach (string label in rows[0].Result.Schemes.Select(s => s.Label))
            {
                var ratio = plot.Add.Scatter(rounds, [.. rows.Select(a => a.Result.Schemes.First(s => s.Label == label).Figure(AuditFigure.MeanSquaredError)!.Ratio)]);
                ratio.LegendText = report.Audits.Select(a => a.Input.Label).Distinct().Count() > 1 ? $"{run.Key}: {label}" : label;
            }
        }
        var one = plot.Add.HorizontalLine(1);
        one.Color = Colors.Black;
        one.LinePattern = LinePattern.Dashed;
        return Save(plot, report, "drift-ratio.png", "MSE measured / predicted over training", "round", "ratio");
    }

    /// <summary>Titles the plot, labels its axes, places the legend and writes it as report.Directory/name.</summary>
    private static string Save(Plot plot, AuditReport report, string name, string title, string xLabel, string yLabel, Alignment legend = Alignment.UpperRight)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
        string path = Path.Combine(report.Directory, name);
        plot.SavePng(path, Width, Height);
        return path;
    }
}
