using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Random = System.Random;
using Verified.Theory;
using Verified.Theory.Numerics;

namespace PropertyTests;

/// <summary>Every closed-form integral of every model against quadrature of its density; quantiles; fits; Lambert W.</summary>
public sealed class ModelProperties
{
    [Property(MaxTest = 60)]
    public Property ClosedFormIntegrals_EqualQuadratureOfTheDensity()
    {
        Gen<(GradientModel Model, double X)> inputs = TheoryArbitraries.Models.SelectMany(
            _ => Gen.Choose(1, 20_000), (m, x) => (m, m.Scale * x / 1000.0));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            GradientModel model = input.Model;
            double x = input.X;
            double scale = model.Scale;
            double start = model.SupportStart;
            double tail = 2 * Quadrature.Integrate(model.Pdf, x, double.PositiveInfinity, scale, start);
            // F(x) = P(−x < g ≤ x) + P(g ≤ −x) = (1 − P(|g| > x)) + P(|g| > x)/2 for a symmetric density.
            double cdf = Quadrature.Integrate(model.Pdf, -x, x, scale, start) + (0.5 * tail);
            double truncation = 2 * Quadrature.Integrate(g => (g - x) * (g - x) * model.Pdf(g), x, double.PositiveInfinity, scale, start);
            double halfCubeRoot = Quadrature.Integrate(g => Math.Cbrt(model.Pdf(g)), 0, x, scale, start);
            double second = 2 * Quadrature.Integrate(g => g * g * model.Pdf(g), 0, double.PositiveInfinity, scale, start);
            double meanAbsolute = 2 * Quadrature.Integrate(g => g * model.Pdf(g), 0, double.PositiveInfinity, scale, start);
            const double tolerance = 1e-7;
            bool Near(double closed, double numeric) =>
                Math.Abs(closed - numeric) <= tolerance * Math.Max(Math.Abs(numeric), 1e-200) || Math.Abs(closed - numeric) < 1e-280;
            return Near(model.TailMass(x), tail).Label($"P(|g| > x): {model.TailMass(x):R} vs {tail:R}")
                .And(Near(model.Cdf(x), cdf).Label($"F(x): {model.Cdf(x):R} vs {cdf:R}"))
                .And(Near(model.TruncationMse(x), truncation).Label($"M(x): {model.TruncationMse(x):R} vs {truncation:R}"))
                .And(Near(model.HalfCubeRootMass(x), halfCubeRoot).Label($"∫₀ˣ p^(1/3): {model.HalfCubeRootMass(x):R} vs {halfCubeRoot:R}"))
                .And(Near(model.SecondMoment, second).Label($"E[g²]: {model.SecondMoment:R} vs {second:R}"))
                .And(Near(model.MeanAbsolute, meanAbsolute).Label($"E|g|: {model.MeanAbsolute:R} vs {meanAbsolute:R}"))
                .And(Close.Absolute(Quadrature.Integrate(model.Pdf, double.NegativeInfinity, double.PositiveInfinity, scale, start), 1, 1e-9)
                    .Label("∫p = 1"));
        });
    }

    [Property(MaxTest = 200)]
    public Property Quantile_InvertsTheDistributionFunction()
    {
        Gen<(GradientModel Model, double P)> inputs = TheoryArbitraries.Models.SelectMany(
            _ => Gen.Choose(1, 999_999), (m, p) => (m, p / 1_000_000.0));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            double x = input.Model.Quantile(input.P);
            return Close.Absolute(input.Model.Cdf(x), input.P, 1e-10).Label($"F(F⁻¹({input.P})) = {input.Model.Cdf(x):R}")
                .And(Close.Relative(input.Model.Quantile(1 - input.P), -x, 1e-9).Label("odd about 1/2"));
        });
    }

    [Property(MaxTest = 20, Replay = PinnedSeed.Replay)]
    public Property LaplaceFit_RecoversTheScale_WithinFiveStandardErrors()
    {
        Gen<(double Scale, int Seed)> inputs = TheoryArbitraries.Scales.SelectMany(_ => Gen.Choose(0, int.MaxValue), (g, s) => (g, s));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            const int n = 50_000;
            float[] sample = Sample(new Laplace(input.Scale), n, input.Seed);
            double estimate = ModelFit.Laplace(sample).Scale;
            // γ̂ = mean |g| with |g| ~ Exponential(γ): standard error γ/√n (float rounding is far below it).
            return (Math.Abs(estimate - input.Scale) <= 5 * input.Scale / Math.Sqrt(n)).Label($"γ̂ = {estimate:R}, γ = {input.Scale:R}");
        });
    }

    [Fact]
    public void LaplaceAndGaussianFits_EqualTheirScalarDefinitions_ForEveryLengthUpTo300()
    {
        // The fits sum in eight vector lanes; the sums must still be Σ|g| and Σg² to double precision, for every tail
        // length the lanes leave, and a non-finite coordinate must still be named wherever it sits.
        var random = new Random(20261123);
        for (int length = 1; length <= 300; length++)
        {
            float[] gradient = [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 3))))];
            double absolute = 0, square = 0;
            foreach (float g in gradient)
            {
                absolute += Math.Abs((double)g);
                square += (double)g * g;
            }
            Assert.Equal(absolute / length, ModelFit.Laplace(gradient).Scale, absolute / length * 1e-13);
            Assert.Equal(Math.Sqrt(square / length), ModelFit.Gaussian(gradient).Scale, Math.Sqrt(square / length) * 1e-13);

            int bad = random.Next(length);
            gradient[bad] = random.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
            Assert.Contains($"Coordinate {bad} ", Assert.Throws<ArgumentException>(() => ModelFit.Laplace(gradient)).Message, StringComparison.Ordinal);
            Assert.Contains($"Coordinate {bad} ", Assert.Throws<ArgumentException>(() => ModelFit.Gaussian(gradient)).Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(4.0, 11)]
    [InlineData(6.0, 12)]
    [InlineData(10.0, 13)]
    public void LomaxFit_RecoversTheShape(double shape, int seed)
    {
        float[] sample = Sample(new Lomax(2.0, shape), 200_000, seed);
        LomaxEstimate estimate = ModelFit.LomaxParameters(sample);
        // MLE of the tail index a = ρ − 1 has asymptotic standard deviation ≈ a·√((a + 1)²/(a²·n))·c; 3% is > 5 SE here.
        Assert.InRange(estimate.Shape, shape * 0.97, shape * 1.03);
        Assert.InRange(estimate.Scale, 2.0 * 0.9, 2.0 * 1.1);
        Assert.True(estimate.LogLikelihood > double.NegativeInfinity);
        Lomax model = ModelFit.Lomax(sample);
        Assert.Equal(estimate.Shape, model.Shape);
    }

    [Fact]
    public void LomaxFit_RefusesTailsTooHeavyForADesign()
    {
        // Quantiles of a Lomax with tail index 1 (ρ = 2, Cauchy-like), signs alternating: no finite variance.
        var sample = new float[4_000];
        for (int i = 0; i < sample.Length; i++)
        {
            double u = (i + 0.5) / sample.Length;
            sample[i] = (float)((i % 2 == 0 ? 1 : -1) * ((1 / (1 - u)) - 1));
        }
        var error = Assert.Throws<ArgumentException>(() => ModelFit.Lomax(sample));
        Assert.Contains("≤ 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HillEstimator_RecoversParetoTailIndex()
    {
        float[] sample = Sample(new ParetoTail(1, 5), 100_000, 7);
        double index = ModelFit.HillTailIndex(sample, 5_000);
        // Hill's ξ̂ has standard error ξ/√k = 4/√5000 ≈ 0.057.
        Assert.InRange(index, 4 - (5 * 0.057), 4 + (5 * 0.057));
        ParetoTail tail = ModelFit.ParetoTail(sample, 5_000);
        Assert.InRange(tail.Shape, 5 - (5 * 0.057), 5 + (5 * 0.057));
    }

    [Fact]
    public void Fits_RejectEmptyZeroAndNonFiniteGradients()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ModelFit.Laplace([])).Message, StringComparison.Ordinal);
        Assert.Contains("all zero", Assert.Throws<ArgumentException>(() => ModelFit.Laplace(new float[8])).Message, StringComparison.Ordinal);
        var nan = Assert.Throws<ArgumentException>(() => ModelFit.Gaussian([1f, 2f, float.NaN, 3f]));
        Assert.Contains("Coordinate 2", nan.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 300)]
    public Property LambertW_SolvesWTimesExpW()
    {
        Gen<double> inputs = Gen.Choose(-6000, 12000).Select(e => Math.Pow(10, e / 1000.0));
        return Prop.ForAll(inputs.ToArbitrary(), x =>
        {
            double w = LambertW.Principal(x);
            return Close.Relative(w * Math.Exp(w), x, 1e-13).Label($"W({x:R}) = {w:R}");
        });
    }

    [Fact]
    public void Precise_Log1PAndExpM1_KeepDigitsNearZero()
    {
        Assert.Equal(1e-17, Precise.Log1P(1e-17));
        Assert.Equal(1e-17, Precise.ExpM1(1e-17));
        Assert.Equal(Math.Log(3), Precise.Log1P(2), 15);
        Assert.Equal(Math.E - 1, Precise.ExpM1(1), 15);
    }

    internal static float[] Sample(GradientModel model, int count, int seed)
    {
        var random = new Random(seed);
        var sample = new float[count];
        for (int i = 0; i < count; i++)
        {
            sample[i] = (float)model.Quantile(1 - random.NextDouble());
        }
        return sample;
    }
}
