using System.Collections.Immutable;
using System.Xml.Linq;
using Verified.Host.Plotting;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace IntegrationTests;

/// <summary>The one plotting style: series that never look alike, log axes labelled with values, both formats.</summary>
public sealed class FigureStyleTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-figures-");

    public void Dispose() => _directory.Delete(recursive: true);

    /// <summary>The largest preset draws 24 series in one figure; the style keeps (colour, marker) distinct for 63.</summary>
    [Fact]
    public void NoTwoSeriesOfAFigure_ShareColourAndMarker_UpToSixtyThree()
    {
        const int count = 63;
        var seen = new HashSet<(ScottPlot.Color, ScottPlot.MarkerShape)>();
        for (int i = 0; i < count; i++)
        {
            SeriesStyle style = FigureStyle.Series(i);
            Assert.True(seen.Add((style.Color, style.Marker)), $"series {i} repeats an earlier series' colour and marker");
        }
        // Beyond 63 the pair repeats, but the line pattern then differs.
        Assert.Equal(FigureStyle.Series(0).Color, FigureStyle.Series(63).Color);
        Assert.Equal(FigureStyle.Series(0).Marker, FigureStyle.Series(63).Marker);
        Assert.NotEqual(FigureStyle.Series(0).Pattern, FigureStyle.Series(63).Pattern);
    }

    [Theory]
    [InlineData(0.0, "1")]
    [InlineData(-2.0, "0.01")]
    [InlineData(-3.0, "0.001")]
    [InlineData(4.0, "10000")]
    [InlineData(-5.0, "1e-5")]
    [InlineData(6.0, "1e6")]
    [InlineData(1.9999999, "100")]
    public void ALogAxis_LabelsItsDecadesWithTheirValues(double exponent, string label) =>
        Assert.Equal(label, FigureStyle.DecadeLabel(exponent));

    [Fact]
    public void Log10_OfNothingPositive_IsDropped_NotDrawnAsAnInfinity()
    {
        Assert.True(double.IsNaN(FigureStyle.Log10(0)));
        Assert.True(double.IsNaN(FigureStyle.Log10(-1)));
        Assert.True(double.IsNaN(FigureStyle.Log10(double.PositiveInfinity)));
        (double[] xs, double[] ys) = FigureStyle.Finite([1, double.NaN, 3], [4, 5, double.NaN]);
        Assert.Equal([1.0], xs);
        Assert.Equal([4.0], ys);
    }

    /// <summary>
    /// Three schemes over two seeds: the accuracy figure draws a band per label, the trade-off figure puts bytes on a log
    /// axis (its label says so and its ticks are decades), and every figure has its SVG.
    /// </summary>
    [Fact]
    public void RunFigures_OverSeeds_HaveBands_ALogBytesAxis_AndAnSvgEach()
    {
        var rows = new List<(ExperimentSpec Spec, RoundMetrics Metrics)>();
        foreach ((string label, int bits, long bytesPerRound) in new[] { ("fp", 32, 4_000_000L), ("tnq-3", 3, 400_000L), ("qsgd-3", 3, 380_000L) })
        {
            foreach (long seed in new long[] { 1, 2 })
            {
                var spec = new ExperimentSpec { Seed = seed };
                for (int round = 1; round <= 12; round++)
                {
                    double? accuracy = round % 4 == 0 ? 0.5 + (0.03 * round) + (0.01 * seed) : null;
                    var uploads = new UploadStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                    rows.Add((spec, new RoundMetrics(label, round, 1.0 / round, bytesPerRound, bytesPerRound * round, accuracy, accuracy is null ? null : 0.5, uploads, round)));
                }
            }
        }
        ImmutableArray<LabelAggregate> aggregate =
        [
            new("fp", "fp", 32, 2, 0.88, 0.01, 48e6, 32, 5),
            new("tnq-3", "tnq", 3, 2, 0.87, 0.01, 4.8e6, 3, 5),
            new("qsgd-3", "qsgd", 3, 2, 0.86, 0.01, 4.5e6, 3, 5),
        ];

        IReadOnlyList<string> written = RunPlots.Write(_directory.FullName, rows, aggregate);

        Assert.Equal(6, written.Count);
        foreach (string png in written.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
        {
            FigureAssert.PngAndSvg(png);
        }
        string accuracySvg = File.ReadAllText(Path.Combine(_directory.FullName, "accuracy.svg"));
        Assert.Contains("mean ± sd of 2 seeds", accuracySvg, StringComparison.Ordinal);
        string tradeoff = File.ReadAllText(Path.Combine(_directory.FullName, "tradeoff.svg"));
        Assert.Contains("(log scale)", tradeoff, StringComparison.Ordinal);
        XNamespace svg = "http://www.w3.org/2000/svg";
        string[] texts = [.. XDocument.Parse(tradeoff).Descendants(svg + "text").Select(t => t.Value.Trim())];
        // 4.5–48 MB spans one decade boundary: 10 MB is a labelled tick, and no tick reads "log10".
        Assert.Contains("10", texts);
        Assert.DoesNotContain(texts, t => t.Contains("log10", StringComparison.Ordinal));
    }
}
