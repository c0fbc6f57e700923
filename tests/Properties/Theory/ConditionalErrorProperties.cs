using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;
using Random = System.Random;

namespace PropertyTests;

/// <summary>
/// The audit's "expected given g" figures and their Monte-Carlo bands: the sums equal their definitions, and simulated
/// roundings (Theory's reference <see cref="Rounding.Quantize"/>) land within 5 of the stated standard errors.
/// </summary>
public sealed class ConditionalErrorProperties
{
    private static readonly Gen<(TruncatedSpec Spec, int Seed)> s_cases =
        TheoryArbitraries.TruncatedSpecs(5).SelectMany(_ => Gen.Choose(0, int.MaxValue), (spec, seed) => (spec, seed));

    [Property(MaxTest = 30)]
    public Property Figures_EqualTheirDefinitions() =>
        Prop.ForAll(s_cases.ToArbitrary(), input =>
        {
            (double[] levels, float[] g) = Setup(input.Spec, input.Seed, 3000);
            ConditionalError given = ConditionalError.Of(levels, g);
            double alpha = levels[^1];
            double variance = g.Average(x => Rounding.Variance(levels, Math.Clamp((double)x, -alpha, alpha)));
            double rate = g.Count(x => Math.Abs((double)x) > alpha) / (double)g.Length;
            double truncation = g.Average(x => Math.Pow(Math.Max(0, Math.Abs((double)x) - alpha), 2));
            return Close.Relative(given.RoundingVariance, variance, 1e-12).Label("V_g")
                .And((given.TruncationRate == rate).Label("rate"))
                .And(Close.Absolute(given.TruncationMse, truncation, 1e-12 * truncation + 1e-300).Label("T_g"))
                .And(Close.Relative(given.MeanSquaredError, variance + truncation, 1e-12).Label("V_g + T_g"));
        });

    [Property(MaxTest = 12, Replay = PinnedSeed.Replay)]
    public Property SimulatedRoundings_AgreeWithTheExactMeansAndStandardErrors() =>
        Prop.ForAll(s_cases.ToArbitrary(), input =>
        {
            const int draws = 30;
            (double[] levels, float[] g) = Setup(input.Spec, input.Seed, 4000);
            ConditionalError given = ConditionalError.Of(levels, g);
            var random = new Random(input.Seed ^ 0x2A);
            var sum = new double[g.Length];
            var rounding = new double[draws];
            for (int r = 0; r < draws; r++)
            {
                double squares = 0;
                for (int j = 0; j < g.Length; j++)
                {
                    double c = Math.Clamp((double)g[j], levels[0], levels[^1]);
                    double q = Rounding.Quantize(levels, g[j], random.NextDouble());
                    squares += (q - c) * (q - c);
                    sum[j] += q;
                }
                rounding[r] = squares / g.Length;
            }
            double bias = g.Select((x, j) => Math.Pow((sum[j] / draws) - x, 2)).Average();
            double meanRounding = AuditBand.Mean(rounding);
            double roundingSe = given.RoundingVarianceStandardDeviation / Math.Sqrt(draws);
            double biasSd = given.SquaredBiasStandardDeviation(draws);
            // The sample standard error of 30 draws estimates the exact one within a few tens of percent.
            double sampleSe = AuditBand.StandardError(rounding);
            return AuditBand.Contains(meanRounding, given.RoundingVariance, roundingSe).Label($"V: {meanRounding:G6} vs {given.RoundingVariance:G6} ± {roundingSe:G3}")
                .And(AuditBand.Contains(bias, given.ExpectedSquaredBiasEstimate(draws), biasSd).Label($"bias: {bias:G6} vs {given.ExpectedSquaredBiasEstimate(draws):G6} ± {biasSd:G3}"))
                .And((sampleSe > 0.4 * roundingSe && sampleSe < 1.8 * roundingSe).Label($"SE: sample {sampleSe:G3}, exact {roundingSe:G3}"));
        });

    [Fact]
    public void AVectorOnTheLevels_HasNoRoundingNoise()
    {
        double[] levels = [-2, -0.5, 0.5, 2];
        ConditionalError given = ConditionalError.Of(levels, [-2f, 0.5f, 2f, -0.5f, 3f]);
        Assert.Equal(0, given.RoundingVariance);
        Assert.Equal(0, given.RoundingVarianceStandardDeviation);
        Assert.Equal(0.2, given.TruncationRate, 15);
        Assert.Equal(1.0 / 5, given.TruncationMse, 15);
        Assert.Equal(0.2, given.ExpectedSquaredBiasEstimate(7), 15);
    }

    [Fact]
    public void OneCoordinateAtACellMidpoint_HasTheTwoPointMoments()
    {
        // x = 0 in [−1, 1]: ε = ±1 with p = ½, so v = 1, μ4 = 1, Var[ε²] = 0 and Var[ε̄²] = (1 − 3)/R³ + 2/R².
        ConditionalError given = ConditionalError.Of([-1.0, 1.0], [0f]);
        Assert.Equal(1, given.RoundingVariance);
        Assert.Equal(0, given.RoundingVarianceStandardDeviation);
        Assert.Equal(Math.Sqrt((-2.0 / 8) + (2.0 / 4)), given.SquaredBiasStandardDeviation(2), 15);
    }

    [Fact]
    public void LevelsFor_NormScaledSchemes_ScaleByTheNorm_AndDropTheDuplicateZero()
    {
        float[] g = [3f, -4f];
        var design = Quantizers.Design(new Qsgd(3), new Laplace(1), 2);
        var levels = ConditionalError.LevelsFor(design, g);
        Assert.Equal([-5, -3.333333333333, -1.666666666667, 0, 1.666666666667, 3.333333333333, 5], levels.Select(l => Math.Round(l, 12)));
    }

    [Fact]
    public void Bands_UseTheSampleStandardError()
    {
        double[] values = [1, 2, 3, 4];
        Assert.Equal(2.5, AuditBand.Mean(values));
        Assert.Equal(Math.Sqrt(5.0 / 3 / 4), AuditBand.StandardError(values), 15);
        Assert.True(AuditBand.Contains(1.0, 1.4, 0.1, z: 5));
        Assert.False(AuditBand.Contains(1.0, 1.6, 0.1, z: 5));
        Assert.True(AuditBand.Contains(1.0, 1.6, 0.1, z: 5, tolerance: 0.15));
        Assert.True(double.IsNaN(AuditBand.StandardError([1.0])));
    }

    [Fact]
    public void FitBand_OfATrueLaplaceModel_IsOfOrderOneOverRootD_AndShrinksWithD()
    {
        var model = new Laplace(0.01);
        QuantizerSpec[] specs = [new TruncatedNonUniform(3), new Qsgd(3)];
        var small = FitBand.Bootstrap(model, s => ModelFit.Laplace(s), specs, 10_000, 12, 10_000, 5);
        var large = FitBand.Bootstrap(model, s => ModelFit.Laplace(s), specs, 1_000_000, 12, 10_000, 5);
        Assert.InRange(small[0].RoundingVariance, 0.1 / Math.Sqrt(10_000), 10 / Math.Sqrt(10_000));
        Assert.Equal(small[0].RoundingVariance / 10, large[0].RoundingVariance, 12);
        Assert.True(double.IsNaN(small[1].TruncationRate), "QSGD does not truncate");
        Assert.False(double.IsNaN(small[1].RoundingVariance));
    }

    private static (double[] Levels, float[] Gradient) Setup(TruncatedSpec spec, int seed, int length)
    {
        var model = new Laplace(0.01);
        double[] levels = [.. Quantizers.Design(spec, model).Levels];
        var random = new Random(seed);
        float[] g = new float[length];
        for (int j = 0; j < length; j++)
        {
            g[j] = (float)model.Quantile(1 - random.NextDouble() * (1 - 1e-12) - 1e-13);
        }
        return (levels, g);
    }
}
