using System.Globalization;
using ScottPlot;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;

namespace Verified.Host.Plotting;

/// <summary>
/// The one plotting style of every figure the project draws (runs, results, audit, SDE): series that never look alike,
/// legends beside the data, log axes with decade labels, integer round ticks, titles in words, and every figure
/// written as PNG and SVG.
/// </summary>
/// <remarks>
/// <para>Series i gets colour i mod 9 of Paul Tol's colour-blind-safe "muted" palette, marker i mod 7 and, from the
/// tenth series on, a line pattern per group of nine. 9 and 7 are coprime, so the first 63 series all differ in
/// (colour, marker), more than the largest preset draws (24 labels in fig-tradeoff); colour alone never identifies a
/// series, which keeps figures readable in grey-scale print too.</para>
/// <para>ScottPlot 5 has no logarithmic axis type: a log axis is drawn by plotting log10 of the values on a linear axis
/// whose ticks sit on whole decades, are labelled with the value (0.01, 1e-05) and carry log-spaced minor ticks
/// (<see cref="UseLogScale"/>); the reader sees an ordinary log axis, and the data are transformed by
/// <see cref="Log10"/>.</para>
/// </remarks>
internal static class FigureStyle
{
    /// <summary>Pixel size of every PNG (and the SVG's canvas).</summary>
    public const int Width = 1100;

    /// <summary>Pixel height of every figure.</summary>
    public const int Height = 620;

    /// <summary>Paul Tol's "muted" qualitative palette (colour-blind safe; https://personal.sron.nl/~pault/).</summary>
    public static IReadOnlyList<Color> Palette { get; } =
    [
        Color.FromHex("#332288"),
        Color.FromHex("#CC6677"),
        Color.FromHex("#117733"),
        Color.FromHex("#DDCC77"),
        Color.FromHex("#88CCEE"),
        Color.FromHex("#882255"),
        Color.FromHex("#44AA99"),
        Color.FromHex("#999933"),
        Color.FromHex("#AA4499"),
    ];

    /// <summary>Markers, filled and open so that overlapping points stay distinguishable.</summary>
    public static IReadOnlyList<MarkerShape> Markers { get; } =
    [
        MarkerShape.FilledCircle,
        MarkerShape.FilledSquare,
        MarkerShape.FilledTriangleUp,
        MarkerShape.FilledDiamond,
        MarkerShape.OpenCircle,
        MarkerShape.OpenSquare,
        MarkerShape.FilledTriangleDown,
    ];

    /// <summary>Line patterns per group of <see cref="Palette"/>.Count series.</summary>
    public static IReadOnlyList<LinePattern> Patterns { get; } = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];

    /// <summary>The look of series <paramref name="index"/> of a figure (remarks of <see cref="FigureStyle"/>).</summary>
    public static SeriesStyle Series(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new SeriesStyle(
            Palette[index % Palette.Count],
            Markers[index % Markers.Count],
            Patterns[(index / Palette.Count) % Patterns.Count]);
    }

    /// <summary>A new figure with its title (in words) and axis labels, the legend to the right of the data.</summary>
    public static Plot Create(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title, size: 16);
        plot.XLabel(xLabel, size: 14);
        plot.YLabel(yLabel, size: 14);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>A series of points joined by lines in style <paramref name="index"/>.</summary>
    public static Scatter AddSeries(Plot plot, int index, string label, double[] xs, double[] ys, bool markers = true)
    {
        ArgumentNullException.ThrowIfNull(plot);
        Scatter scatter = plot.Add.Scatter(xs, ys);
        Apply(scatter, Series(index), markers);
        scatter.LegendText = label;
        return scatter;
    }

    /// <summary>Points only (no joining line), in style <paramref name="index"/>.</summary>
    public static Scatter AddPoints(Plot plot, int index, string label, double[] xs, double[] ys)
    {
        Scatter scatter = AddSeries(plot, index, label, xs, ys);
        scatter.LineWidth = 0;
        return scatter;
    }

    /// <summary>A mean ± sd band under a series, in its colour, translucent, without a legend entry of its own.</summary>
    public static FillY AddBand(Plot plot, int index, double[] xs, double[] lower, double[] upper)
    {
        ArgumentNullException.ThrowIfNull(plot);
        FillY band = plot.Add.FillY(xs, lower, upper);
        band.FillColor = Series(index).Color.WithAlpha(0.18);
        band.LineWidth = 0;
        return band;
    }

    /// <summary>Applies a series style: colour of line and marker, marker shape, line pattern.</summary>
    public static void Apply(Scatter scatter, SeriesStyle style, bool markers = true)
    {
        ArgumentNullException.ThrowIfNull(scatter);
        scatter.Color = style.Color;
        scatter.MarkerShape = markers ? style.Marker : MarkerShape.None;
        scatter.MarkerSize = markers ? 7 : 0;
        scatter.LinePattern = style.Pattern;
        scatter.LineWidth = 2;
    }

    /// <summary>Ticks on whole numbers only (rounds, agents, bits): no tick at 9.5.</summary>
    public static void UseIntegerTicks(IAxis axis)
    {
        ArgumentNullException.ThrowIfNull(axis);
        axis.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
    }

    /// <summary>Draws <paramref name="axis"/> as a log axis over data already passed through <see cref="Log10"/>.</summary>
    public static void UseLogScale(IAxis axis)
    {
        ArgumentNullException.ThrowIfNull(axis);
        axis.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = DecadeLabel,
        };
    }

    /// <summary>log10 of a positive value; NaN for zero, negative or non-finite ones (dropped by <see cref="Finite"/>).</summary>
    public static double Log10(double value) => value > 0 && double.IsFinite(value) ? Math.Log10(value) : double.NaN;

    /// <summary>The points whose coordinates are both finite (a log axis cannot show zero or a NaN).</summary>
    public static (double[] Xs, double[] Ys) Finite(IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        ArgumentNullException.ThrowIfNull(xs);
        ArgumentNullException.ThrowIfNull(ys);
        var keptX = new List<double>();
        var keptY = new List<double>();
        for (int i = 0; i < Math.Min(xs.Count, ys.Count); i++)
        {
            if (double.IsFinite(xs[i]) && double.IsFinite(ys[i]))
            {
                keptX.Add(xs[i]);
                keptY.Add(ys[i]);
            }
        }
        return ([.. keptX], [.. keptY]);
    }

    /// <summary>The label of a whole decade 10^k: the plain number for k in −3..4, else 1e−5 notation.</summary>
    public static string DecadeLabel(double exponent)
    {
        int k = (int)Math.Round(exponent);
        return k is >= -3 and <= 4
            ? Math.Pow(10, k).ToString("0.###", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"1e{k}");
    }

    /// <summary>Writes <paramref name="pngPath"/> and the SVG beside it (same name, .svg); returns both paths.</summary>
    public static IReadOnlyList<string> Save(Plot plot, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(plot);
        string svgPath = Path.ChangeExtension(pngPath, ".svg");
        plot.SavePng(pngPath, Width, Height);
        plot.SaveSvg(svgPath, Width, Height);
        return [pngPath, svgPath];
    }

    /// <summary>The figure as PNG bytes (the service serves them from its store).</summary>
    public static byte[] Png(Plot plot)
    {
        ArgumentNullException.ThrowIfNull(plot);
        using Image image = plot.GetImage(Width, Height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    /// <summary>The figure as an SVG document.</summary>
    public static string Svg(Plot plot)
    {
        ArgumentNullException.ThrowIfNull(plot);
        return plot.GetSvgXml(Width, Height);
    }
}

/// <summary>How one series of a figure looks.</summary>
internal readonly record struct SeriesStyle(Color Color, MarkerShape Marker, LinePattern Pattern);
