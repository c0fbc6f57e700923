using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory.Sde;
using Random = System.Random;

namespace PropertyTests;

/// <summary>Spec §6 item 22 and §4.3: sign means under Gaussian and Student-t noise, and κ_ν.</summary>
public sealed class SdeSignDriftProperties
{
    private static readonly Gen<double> s_gradients = Gen.Choose(-100_000, 100_000).Select(x => x / 1000.0);
    private static readonly Gen<double> s_scales = Gen.Choose(1, 100_000).Select(x => x / 1000.0);

    /// <summary>ν from 0.05 to 100, and +∞.</summary>
    private static readonly Gen<double> s_degrees = Gen.Frequency(
        (9, Gen.Choose(50, 100_000).Select(x => x / 1000.0)), (1, Gen.Constant(double.PositiveInfinity)));

    public static TheoryData<double, double> SpecSignMeans => new()
    {
        // ν, E[sign(0.5 + T)] — spec §6 item 22 (ν = ∞: Erf(0.5/√2))
        { double.PositiveInfinity, 0.382925 },
        { 1, 0.295167 },
        { 2, 0.333333 },
        { 3, 0.348552 },
    };

    [Theory]
    [MemberData(nameof(SpecSignMeans))]
    public void SignMean_ReproducesSpecValue(double nu, double expected)
    {
        Assert.Equal(expected, SignDrift.StudentT(0.5, 1, nu), 6);
        if (double.IsPositiveInfinity(nu))
        {
            Assert.Equal(expected, SignDrift.Gaussian(0.5, 1), 6);
        }
    }

    [Theory]
    [MemberData(nameof(SpecSignMeans))]
    public void SignMean_MonteCarlo_IsWithinFiveStandardErrors(double nu, double expected)
    {
        // 2·10⁵ draws: SE = √((1 − m²)/n) ≈ 0.0021, far below the gap between the spec's values.
        const int draws = 200_000;
        var noise = NoiseModel.StudentT(1, nu);
        var random = new Random(20261123);
        double sum = 0;
        for (int i = 0; i < draws; i++)
        {
            sum += Math.Sign(0.5 + noise.Sample(random));
        }
        double mean = sum / draws;
        double se = Math.Sqrt((1 - (expected * expected)) / draws);
        Assert.True(Math.Abs(mean - expected) <= 5 * se, $"ν = {nu}: Monte Carlo {mean:F6} vs {expected:F6}, 5 SE = {5 * se:F6}");
    }

    [Property(MaxTest = 30, Replay = PinnedSeed.Replay)]
    public Property SignMean_MonteCarlo_MatchesClosedForm() =>
        Prop.ForAll(
            s_gradients.SelectMany(_ => s_scales, (g, s) => (g, s)).SelectMany(_ => s_degrees, (p, nu) => (p.g, p.s, nu))
                .SelectMany(_ => Gen.Choose(0, int.MaxValue), (p, seed) => (p.g, p.s, p.nu, seed)).ToArbitrary(),
            input =>
            {
                const int draws = 20_000;
                var noise = NoiseModel.StudentT(input.s, input.nu);
                var random = new Random(input.seed);
                double sum = 0;
                for (int i = 0; i < draws; i++)
                {
                    sum += Math.Sign(input.g + noise.Sample(random));
                }
                double m = noise.SignMean(input.g);
                double se = Math.Sqrt(Math.Max(1 - (m * m), 0) / draws);
                double mean = sum / draws;
                return (Math.Abs(mean - m) <= (5 * se) + (2.0 / draws))
                    .Label($"g = {input.g}, σ = {input.s}, ν = {input.nu}: MC {mean:F5} vs {m:F5}");
            });

    [Property(MaxTest = 500)]
    public Property SignMean_IsBoundedOddAndMonotone() =>
        Prop.ForAll(
            s_gradients.SelectMany(_ => s_scales, (g, s) => (g, s)).SelectMany(_ => s_degrees, (p, nu) => (p.g, p.s, nu)).ToArbitrary(),
            input =>
            {
                double m = SignDrift.StudentT(input.g, input.s, input.nu);
                double mirrored = SignDrift.StudentT(-input.g, input.s, input.nu);
                double larger = SignDrift.StudentT(input.g + 0.01, input.s, input.nu);
                return (Math.Abs(m) <= 1).Label($"|m| = {Math.Abs(m)} ≤ 1")
                    .And((m == -mirrored).Label("m(−g) = −m(g)"))
                    .And((larger >= m).Label("nondecreasing in g"))
                    .And((Math.Sign(m) == Math.Sign(input.g) || m == 0).Label("sign(m) = sign(g)"));
            });

    [Property(MaxTest = 300)]
    public Property StudentT_MatchesClosedFormsAtOneAndTwo() =>
        Prop.ForAll(
            s_gradients.SelectMany(_ => s_scales, (g, s) => g / s).ToArbitrary(),
            x =>
                Close.Absolute(SignDrift.StudentT(x, 1, 1), 2 / Math.PI * Math.Atan(x), 1e-12).Label("Cauchy: (2/π)·atan x")
                .And(Close.Absolute(SignDrift.StudentT(x, 1, 2), x / Math.Sqrt(2 + (x * x)), 1e-12).Label("ν = 2: x/√(2 + x²)")));

    [Property(MaxTest = 200)]
    public Property LinearRegime_SlopeIsKappaOverSigma() =>
        Prop.ForAll(
            s_scales.SelectMany(_ => s_degrees, (s, nu) => (s, nu)).ToArbitrary(),
            input =>
            {
                double g = 1e-5 * input.s;
                double m = SignDrift.StudentT(g, input.s, input.nu);
                return Close.Relative(m, SignDrift.Kappa(input.nu) * g / input.s, 1e-6).Label($"m = {m:E6}");
            });

    [Property(MaxTest = 200)]
    public Property Kappa_IncreasesToTheGaussianValue() =>
        Prop.ForAll(
            s_degrees.Where(nu => !double.IsPositiveInfinity(nu)).ToArbitrary(),
            nu => (SignDrift.Kappa(nu) < SignDrift.Kappa(nu * 1.5)).Label("increasing")
                .And((SignDrift.Kappa(nu) < SignDrift.GaussianKappa).Label("below √(2/π)")));

    public static TheoryData<double, double> SpecKappas => new()
    {
        // spec §4.3
        { 1, 0.636620 }, { 2, 0.707107 }, { 3, 0.735105 }, { 5, 0.759213 }, { 10, 0.778217 }, { double.PositiveInfinity, 0.797885 },
    };

    [Theory]
    [MemberData(nameof(SpecKappas))]
    public void Kappa_ReproducesSpecValues(double nu, double expected) =>
        Assert.Equal(expected, SignDrift.Kappa(nu), 6);

    [Fact]
    public void Kappa_SeriesJoinsTheGammaFormAndTheLimit()
    {
        double threshold = SignDrift.KappaSeriesThreshold;
        Assert.Equal(SignDrift.Kappa(threshold), SignDrift.Kappa(threshold * (1 + 1e-12)), 12);
        // mpmath at 40 digits, on both sides of the junction at ν = 300.
        Assert.True(Close.Absolute(SignDrift.Kappa(300), 0.7972199351987674, 2e-13));
        Assert.True(Close.Absolute(SignDrift.Kappa(299.999), 0.7972199329842725, 2e-13));
        Assert.True(Close.Absolute(SignDrift.Kappa(1000), 0.7976851146277163, 2e-13));
        Assert.Equal(SignDrift.GaussianKappa, SignDrift.Kappa(1e15), 14);
        Assert.Equal(1 / Math.Sqrt(2), SignDrift.Kappa(2), 14);
        Assert.Equal(2 / Math.PI, SignDrift.Kappa(1), 14);
    }

    [Fact]
    public void StudentTVariance_IsInfiniteUpToTwo()
    {
        Assert.Equal(double.PositiveInfinity, SignDrift.StudentTVariance(1, 2));
        Assert.Equal(double.PositiveInfinity, SignDrift.StudentTVariance(1, 1));
        Assert.Equal(2 * 9.0, SignDrift.StudentTVariance(3, 4), 12);
        Assert.Equal(9.0, SignDrift.StudentTVariance(3, double.PositiveInfinity));
    }

    [Fact]
    public void ZeroNoise_GivesTheSign()
    {
        Assert.Equal(1, SignDrift.Gaussian(0.3, 0));
        Assert.Equal(-1, SignDrift.StudentT(-0.3, 0, 1.5));
        Assert.Equal(0, SignDrift.StudentT(0, 1, 1.5));
    }
}
