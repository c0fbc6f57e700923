using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;
using Random = System.Random;

namespace PropertyTests;

/// <summary>The audit's goodness-of-fit statistics: exact cases, their null behaviour, their power, and the likelihoods.</summary>
public sealed class GoodnessOfFitProperties
{
    private static readonly Gen<GradientModel> s_fittedFamilies = Gen.OneOf(
        TheoryArbitraries.Scales.Select(GradientModel (scale) => new Laplace(scale)),
        TheoryArbitraries.Scales.Select(GradientModel (scale) => new Gaussian(scale)),
        TheoryArbitraries.Scales.SelectMany(_ => TheoryArbitraries.Shapes, GradientModel (scale, shape) => new Lomax(scale, shape)));

    [Property(MaxTest = 40)]
    public Property KsDistance_OfTheModelsPlottingPositions_IsExactlyOneOverTwoN() =>
        Prop.ForAll(s_fittedFamilies.SelectMany(_ => Gen.Choose(1, 3000), (m, n) => (m, n)).ToArbitrary(), input =>
        {
            (GradientModel model, int n) = input;
            // x_(i) = G⁻¹((i − ½)/n): every step of G_n straddles G by exactly 1/(2n), the smallest D any sample can have.
            double[] sample = [.. Enumerable.Range(1, n).Select(i => model.TailQuantile(1 - ((i - 0.5) / n)))];
            double distance = GoodnessOfFit.KolmogorovSmirnovDistance(model, sample);
            return Close.Absolute(distance, 0.5 / n, 1e-9).Label($"D = {distance:R}, 1/(2n) = {0.5 / n:R}");
        });

    [Property(MaxTest = 25, Replay = PinnedSeed.Replay)]
    public Property KsDistance_OfASampleFromItsOwnModel_StaysBelowTheCriticalValue() =>
        Prop.ForAll(s_fittedFamilies.SelectMany(_ => Gen.Choose(0, int.MaxValue), (m, seed) => (m, seed)).ToArbitrary(), input =>
        {
            float[] sample = Draw(input.m, 4000, input.seed);
            double distance = GoodnessOfFit.KolmogorovSmirnovDistance(input.m, GoodnessOfFit.SortedMagnitudes(sample));
            // Level 10⁻⁴ (c ≈ 2.22/√n): with 25 cases a false failure has probability about 0.25%.
            double critical = GoodnessOfFit.KolmogorovSmirnovCriticalValue(sample.Length, 1e-4);
            return (distance < critical).Label($"{input.m}: D = {distance:G4} ≥ {critical:G4}");
        });

    [Fact]
    public void KsDistance_SeparatesAHeavyTailFromALaplaceOfTheSameMeanMagnitude()
    {
        var lomax = new Lomax(1, 3.5);
        float[] sample = Draw(lomax, 20_000, 3);
        double[] sorted = GoodnessOfFit.SortedMagnitudes(sample);
        double wrong = GoodnessOfFit.KolmogorovSmirnovDistance(ModelFit.Laplace(sample), sorted);
        double right = GoodnessOfFit.KolmogorovSmirnovDistance(lomax, sorted);
        Assert.True(wrong > 3 * GoodnessOfFit.KolmogorovSmirnovCriticalValue(sorted.Length), $"D = {wrong}");
        Assert.True(right < GoodnessOfFit.KolmogorovSmirnovCriticalValue(sorted.Length), $"D = {right}");
    }

    [Fact]
    public void KsCriticalValue_IsKolmogorovsAsymptoticFormula()
    {
        Assert.Equal(1.3581015157, GoodnessOfFit.KolmogorovSmirnovCriticalValue(1), 9);
        Assert.Equal(1.6276236115 / 100, GoodnessOfFit.KolmogorovSmirnovCriticalValue(10_000, 0.01), 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => GoodnessOfFit.KolmogorovSmirnovCriticalValue(0));
    }

    [Fact]
    public void KsDistance_RefusesAnUnsortedSample() =>
        Assert.Throws<ArgumentException>(() => GoodnessOfFit.KolmogorovSmirnovDistance(new Laplace(1), [1.0, 0.5]));

    [Property(MaxTest = 30)]
    public Property QuantilePairs_AreAscendingInBoth_AndMatchTheModelOnItsPlottingPositions() =>
        Prop.ForAll(s_fittedFamilies.ToArbitrary(), model =>
        {
            const int n = 5000;
            double[] sample = [.. Enumerable.Range(1, n).Select(i => model.TailQuantile(1 - ((i - 0.5) / n)))];
            var pairs = GoodnessOfFit.QuantilePairs(model, sample, 40);
            bool ascending = pairs.Zip(pairs.Skip(1), (a, b) => a.Model <= b.Model && a.Sample <= b.Sample && a.TailProbability > b.TailProbability).All(x => x);
            // The empirical (1 − q)-quantile of plotting positions is G⁻¹ at a probability within 1/n of 1 − q.
            bool near = pairs.All(p =>
                p.Sample >= model.TailQuantile(Math.Min(1, p.TailProbability + (1.0 / n))) - 1e-12
                && p.Sample <= model.TailQuantile(Math.Max(1e-300, p.TailProbability - (1.0 / n))) + 1e-12);
            return ascending.Label("ascending").And(near.Label("within one plotting step"));
        });

    [Property(MaxTest = 30)]
    public Property LogLikelihood_ClosedForms_EqualTheSumOfLogDensities() =>
        Prop.ForAll(s_fittedFamilies.SelectMany(_ => Gen.Choose(0, int.MaxValue), (m, seed) => (m, seed)).ToArbitrary(), input =>
        {
            float[] sample = Draw(input.m, 500, input.seed);
            double closed = GoodnessOfFit.LogLikelihood(input.m, sample);
            double direct = sample.Sum(g => Math.Log(input.m.Pdf(g)));
            return Close.Relative(closed, direct, 1e-9).Label($"{closed:R} vs {direct:R}");
        });

    [Fact]
    public void LomaxLogLikelihood_AcceptsShapesWithoutADesign_AndTheDistributionMatchesTheModel()
    {
        float[] sample = Draw(new Lomax(2, 3.2), 300, 9);
        // ρ = 2.5 has no Lomax record (ρ > 3), but it is a density: check it against direct summation.
        double direct = sample.Sum(g => Math.Log(1.5 / (2 * 2) * Math.Pow(1 + (Math.Abs(g) / 2.0), -2.5)));
        Assert.Equal(direct, GoodnessOfFit.LomaxLogLikelihood(2, 2.5, sample), 8);
        var distribution = MagnitudeDistribution.Lomax(2, 4.5);
        var model = new Lomax(2, 4.5);
        foreach (double x in new[] { 0, 0.1, 1, 10, 1000 })
        {
            Assert.Equal(model.TailMass(x), distribution.TailMass(x), 14);
            Assert.Equal(model.Pdf(x), distribution.Pdf(x), 14);
        }
        Assert.Equal(model.TailQuantile(0.01), distribution.TailQuantile(0.01), 12);
    }

    [Fact]
    public void Bic_IsParametersTimesLogNMinusTwiceTheLogLikelihood()
    {
        Assert.Equal((2 * Math.Log(1000)) + 20, GoodnessOfFit.BayesianInformationCriterion(-10, 2, 1000), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => GoodnessOfFit.BayesianInformationCriterion(0, 1, 0));
    }

    internal static float[] Draw(GradientModel model, int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int j = 0; j < length; j++)
        {
            values[j] = (float)model.Quantile(1 - random.NextDouble() * (1 - 1e-12) - 1e-13);
        }
        return values;
    }
}
