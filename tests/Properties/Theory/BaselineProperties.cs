using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Random = System.Random;
using Verified.Theory;

namespace PropertyTests;

/// <summary>Spec §6 items 19–20: QSGD and NUQSGD on whole vectors, and their designs' published bounds.</summary>
public sealed class BaselineProperties
{
    private static readonly Gen<NormScaledSpec> s_specs = Gen.Choose(2, 8).SelectMany(
        _ => Gen.Elements(true, false), NormScaledSpec (bits, uniform) => uniform ? new Qsgd(bits) : new Nuqsgd(bits));

    private static readonly Gen<double[]> s_vectors = Gen.Choose(1, 200).SelectMany(
        length => Gen.ArrayOf(Gen.Choose(-1_000_000, 1_000_000).Select(x => x / 1000.0), length), (_, v) => v);

    [Property(MaxTest = 300)]
    public Property ExactVariance_IsWithinThePublishedBound() =>
        Prop.ForAll(s_specs.SelectMany(_ => s_vectors, (spec, v) => (spec, v)).ToArbitrary(), input =>
        {
            double norm = NormScaled.Norm(input.v);
            double exact = NormScaled.ExactVariance(input.spec, input.v);
            double bound = NormScaled.VarianceBoundFactor(input.spec, input.v.Length) * norm * norm;
            return (exact <= bound * (1 + 1e-12) + 1e-300).Label($"{exact:E4} ≤ {bound:E4}");
        });

    [Property(MaxTest = 40, Replay = PinnedSeed.Replay)]
    public Property Quantizer_IsUnbiased_PreservesSigns_AndMatchesExactVariance()
    {
        Gen<(NormScaledSpec Spec, double[] Vector, int Seed)> inputs = s_specs.SelectMany(
            _ => s_vectors.SelectMany(_ => Gen.Choose(0, int.MaxValue), (v, seed) => (v, seed)), (spec, p) => (spec, p.v, p.seed));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            double[] v = input.Vector;
            var magnitudes = NormScaled.Magnitudes(input.Spec).AsSpan().ToArray();
            double norm = NormScaled.Norm(v);
            var random = new Random(input.Seed);
            const int draws = 4000;
            var sums = new double[v.Length];
            var squaredErrors = new double[draws];
            bool signsKept = true;
            for (int i = 0; i < draws; i++)
            {
                double squaredError = 0;
                for (int j = 0; j < v.Length; j++)
                {
                    // Q_s(v)_j = ‖v‖·sgn(v_j)·ξ_j, ξ_j the stochastic rounding of |v_j|/‖v‖ onto the magnitudes.
                    double r = norm == 0 ? 0 : Math.Min(Math.Abs(v[j]) / norm, 1);
                    double q = Math.Sign(v[j]) * norm * Rounding.Quantize(magnitudes, r, random.NextDouble());
                    signsKept &= q == 0 || Math.Sign(q) == Math.Sign(v[j]);
                    sums[j] += q;
                    squaredError += (q - v[j]) * (q - v[j]);
                }
                squaredErrors[i] = squaredError;
            }
            // Per coordinate the error lies within one cell (≤ ‖v‖), so the mean's standard error is ≤ ‖v‖/√n.
            double worstBias = 0;
            for (int j = 0; j < v.Length; j++)
            {
                worstBias = Math.Max(worstBias, Math.Abs((sums[j] / draws) - v[j]));
            }
            double exact = NormScaled.ExactVariance(input.Spec, v);
            double measured = squaredErrors.Average();
            double meanTolerance = 5 * norm * Math.Sqrt(Math.Log(2 * v.Length + 2)) / Math.Sqrt(draws) + 1e-12;
            // 5 standard errors of the mean squared error, from the draws' sample standard deviation.
            double standardError = Math.Sqrt(squaredErrors.Sum(e => (e - measured) * (e - measured)) / (draws - 1) / draws);
            // Plus what roundings no draw made could be worth: a coordinate close to a level rounds away from it so
            // rarely (probability ≪ 1/draws) that the sample may hold none, and then its share of the variance is
            // missing from both the mean and the spread. Each such rounding moves the mean by at most Δ_j²/draws, Δ_j
            // its cell's width; 5 of them per coordinate is a floor far below the band for every other vector.
            double cellsSquared = 0;
            for (int j = 0; j < v.Length && norm > 0; j++)
            {
                double r = Math.Min(Math.Abs(v[j]) / norm, 1);
                int k = Rounding.UpperIndex(magnitudes, r);
                double cell = (magnitudes[k] - magnitudes[k - 1]) * norm;
                cellsSquared += cell * cell;
            }
            double varianceTolerance = (5 * standardError) + (5 * cellsSquared / draws) + (1e-12 * norm * norm);
            return (worstBias <= meanTolerance).Label($"max |E[Q] − v| {worstBias:E3} ≤ {meanTolerance:E3}")
                .And(signsKept.Label("signs preserved"))
                .And((Math.Abs(measured - exact) <= varianceTolerance).Label($"E‖Q − v‖² {measured:E4} ± {standardError:E2} vs exact {exact:E4} (tolerance {varianceTolerance:E2})"));
        });
    }

    [Property(MaxTest = 30)]
    public Property ZeroVector_QuantizesToZero() =>
        Prop.ForAll(s_specs.ToArbitrary(), spec =>
            NormScaled.ExactVariance(spec, new double[17]) == 0);

    [Property(MaxTest = 30)]
    public Property Design_ExactVariance_IsWithinItsBound()
    {
        Gen<(NormScaledSpec Spec, GradientModel Model, int Dimension)> inputs = s_specs.SelectMany(
            _ => TheoryArbitraries.Models.SelectMany(_ => Gen.Choose(1, 1_000_000), (m, d) => (m, d)), (spec, p) => (spec, p.m, p.d));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            QuantizerDesign design = Quantizers.Design(input.Spec, input.Model, input.Dimension);
            return (design.RoundingVariance <= design.RoundingVarianceBound * (1 + 1e-9)).Label($"{design.RoundingVariance:E4} ≤ {design.RoundingVarianceBound:E4}")
                .And((design.LevelUnit == LevelUnit.Norm && design.Levels[0] == -1 && design.Levels[^1] == 1).Label("levels ±1 in units of ‖v‖"));
        });
    }
}
