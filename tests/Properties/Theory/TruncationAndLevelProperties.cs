using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;
using Verified.Theory.Numerics;

namespace PropertyTests;

/// <summary>Spec §6 items 1–5: truncation laws and the levels of the truncated schemes.</summary>
public sealed class TruncationAndLevelProperties
{
    [Property(MaxTest = 500)]
    public Property Truncation_IsClampOddIdempotentAndBounded()
    {
        Gen<(double G, double Alpha)> inputs = Gen.Choose(-100_000, 100_000).SelectMany(
            _ => Gen.Choose(1, 50_000), (g, a) => (g / 1000.0, a / 1000.0));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            (double g, double alpha) = input;
            double t = Rounding.Truncate(g, alpha);
            return (t == Math.Clamp(g, -alpha, alpha)).Label("clamp")
                .And((Rounding.Truncate(t, alpha) == t).Label("idempotent"))
                .And((Rounding.Truncate(-g, alpha) == -t).Label("odd"))
                .And((Math.Abs(t) <= alpha).Label("|T(g)| ≤ α"))
                .And((Math.Abs(g) > alpha || t == g).Label("identity on [−α, α]"));
        });
    }

    [Property(MaxTest = 60)]
    public Property Levels_SpanMinusAlphaToAlpha_IncreaseAndAreSymmetric() =>
        Prop.ForAll(TheoryArbitraries.TruncatedDesigns(maximumBits: 6), input =>
        {
            QuantizerDesign design = Quantizers.Design(input.Spec, input.Model);
            var levels = design.Levels;
            int s = input.Spec.Intervals;
            bool increasing = true;
            bool symmetric = true;
            for (int k = 1; k <= s; k++)
            {
                increasing &= levels[k] > levels[k - 1];
                symmetric &= levels[s - k] == -levels[k];
            }
            return (levels.Length == s + 1).Label($"s + 1 = {s + 1} levels, got {levels.Length}")
                .And((levels[0] == -design.Alpha && levels[s] == design.Alpha).Label("l_0 = −α, l_s = α"))
                .And(increasing.Label("strictly increasing"))
                .And(symmetric.Label("l_{s−k} = −l_k"));
        });

    [Property(MaxTest = 40)]
    public Property LaplaceDensity_IntegratesToEachLevelIndex()
    {
        Gen<(int Bits, double Scale)> inputs = TheoryArbitraries.TruncatedBits.SelectMany(_ => TheoryArbitraries.Scales, (b, g) => (b, g));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            (int bits, double gamma) = input;
            QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(bits), new Laplace(gamma));
            int s = design.Intervals;
            double worst = 0;
            for (int k = 0; k <= s; k++)
            {
                double mass = Quadrature.Integrate(g => LaplaceTnq.Density(g, s, gamma), -design.Alpha, design.Levels[k], gamma);
                worst = Math.Max(worst, Math.Abs(mass - k));
            }
            double atZero = LaplaceTnq.Density(0, s, gamma) * gamma;
            return (worst < 1e-6).Label($"max |∫λ_s − k| = {worst:E3}")
                .And(Close.Relative(atZero, (2 * s + 3 * Math.Sqrt(6)) / 12, 1e-14).Label("γ·λ_s(0) = (2s + 3√6)/12"));
        });
    }

    [Property(MaxTest = 40)]
    public Property LomaxDensity_IntegratesToEachLevelIndex()
    {
        Gen<(int Bits, double Scale, double Shape)> inputs = TheoryArbitraries.TruncatedBits.SelectMany(
            _ => TheoryArbitraries.Scales.SelectMany(_ => TheoryArbitraries.Shapes, (g, r) => (g, r)),
            (b, p) => (b, p.g, p.r));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            (int bits, double sigma, double rho) = input;
            QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(bits), new Lomax(sigma, rho));
            int s = design.Intervals;
            double worst = 0;
            for (int k = 0; k <= s; k++)
            {
                double mass = Quadrature.Integrate(g => LomaxTnq.Density(g, s, sigma, rho), -design.Alpha, design.Levels[k], sigma);
                worst = Math.Max(worst, Math.Abs(mass - k));
            }
            return (worst < 1e-6).Label($"max |∫λ_s − k| = {worst:E3}");
        });
    }

    [Property(MaxTest = 25)]
    public Property ClosedFormLevels_EqualNumericInversion()
    {
        Gen<(int Bits, GradientModel Model)> inputs = TheoryArbitraries.TruncatedBits.SelectMany(
            _ => Gen.OneOf(
                TheoryArbitraries.Scales.Select(GradientModel (g) => new Laplace(g)),
                TheoryArbitraries.Scales.SelectMany(_ => TheoryArbitraries.Shapes, GradientModel (g, r) => new Lomax(g, r))),
            (b, m) => (b, m));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            QuantizerDesign closed = Quantizers.Design(new TruncatedNonUniform(input.Bits), input.Model);
            // Same α on both sides, so only the level construction is compared: Λ^{−1} by bisection on quadrature.
            QuantizerDesign numeric = Quantizers.DesignNumerically(
                new TruncatedNonUniform(input.Bits, Threshold.Fixed(closed.Alpha)), input.Model);
            double worst = 0;
            for (int k = 0; k < closed.Levels.Length; k++)
            {
                worst = Math.Max(worst, Math.Abs(closed.Levels[k] - numeric.Levels[k]) / closed.Alpha);
            }
            // Relative to α, the design's range: for tails near ρ = 3, α is 10⁴–10⁵ scales out and Λ grows so slowly
            // there that the quadrature's 1e-13 in Λ becomes ~1e-11 in the level; closed forms are exact.
            return (worst < 1e-9).Label($"max |closed − numeric|/α = {worst:E3} (α/scale = {closed.Alpha / input.Model.Scale:E3})");
        });
    }

    [Property(MaxTest = 60)]
    public Property Levels_AreLinearInScale()
    {
        Gen<(TruncatedSpec Spec, GradientModel Model, double Factor)> inputs = TheoryArbitraries.TruncatedSpecs(5).SelectMany(
            _ => TheoryArbitraries.Models.SelectMany(_ => Gen.Choose(1, 1000), (m, c) => (m, c / 10.0)),
            (spec, p) => (spec, p.m, p.Item2));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            QuantizerDesign unit = Quantizers.Design(input.Spec, input.Model);
            QuantizerDesign scaled = Quantizers.Design(input.Spec, input.Model with { Scale = input.Model.Scale * input.Factor });
            double worst = 0;
            for (int k = 0; k < unit.Levels.Length; k++)
            {
                worst = Math.Max(worst, Math.Abs(scaled.Levels[k] - input.Factor * unit.Levels[k]) / (input.Factor * unit.Alpha));
            }
            // Numeric optima are found to ~1e-7 relative (golden section); closed forms are exact.
            return (worst < 1e-6).Label($"max |l_k(cγ) − c·l_k(γ)|/(cα) = {worst:E3}");
        });
    }

    [Property(MaxTest = 60)]
    public Property CellWidths_GrowAwayFromZero_ForDecreasingDensities()
    {
        Gen<(int Bits, GradientModel Model)> inputs = Gen.Choose(2, 8).SelectMany(_ => TheoryArbitraries.DecreasingModels, (b, m) => (b, m));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            var nonUniform = Quantizers.Design(new TruncatedNonUniform(input.Bits), input.Model).Levels;
            var uniform = Quantizers.Design(new TruncatedUniform(input.Bits), input.Model).Levels;
            int s = nonUniform.Length - 1;
            bool growing = true;
            bool equal = true;
            double width = uniform[1] - uniform[0];
            // Upper half: cells from the centre outwards.
            for (int k = (s / 2) + 2; k <= s; k++)
            {
                growing &= nonUniform[k] - nonUniform[k - 1] > (nonUniform[k - 1] - nonUniform[k - 2]) * (1 - 1e-12);
            }
            for (int k = 1; k <= s; k++)
            {
                equal &= Close.Relative(uniform[k] - uniform[k - 1], width, 1e-9);
            }
            return growing.Label("TNQ widths increase with |g|").And(equal.Label("TUQ widths equal"));
        });
    }
}
