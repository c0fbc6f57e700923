using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;

namespace PropertyTests;

/// <summary>
/// Designs at unit scale (docs/theory.md, "Designs at unit scale"): Laplace and Lomax at a fixed shape are scale
/// families, so a design for scale σ is the unit design with α, the levels and β times σ and the errors times σ².
/// Pure laws: new inputs on every run.
/// </summary>
public sealed class DesignScalingProperties
{
    private static readonly Gen<TruncatedSpec> s_scalableSpecs =
        Gen.Choose(1, 8).SelectMany(
            _ => Gen.Choose(0, 5),
            TruncatedSpec (bits, kind) => kind switch
            {
                0 => new TruncatedUniform(bits),
                1 => new TruncatedUniform(bits, Threshold.Relaxed),
                2 => new TruncatedNonUniform(bits),
                3 => new TruncatedNonUniform(bits, Threshold.Averaged(8)),
                4 => new TruncatedUniform(bits, Threshold.Averaged(3)),
                _ => new TruncatedBiScaled(Math.Min(bits, 5)),
            });

    private static readonly Gen<GradientModel> s_scaleFamilies = Gen.OneOf(
        TheoryArbitraries.Scales.Select(GradientModel (scale) => new Laplace(scale)),
        TheoryArbitraries.Scales.SelectMany(_ => TheoryArbitraries.Shapes, GradientModel (scale, shape) => new Lomax(scale, shape)));

    [Property(MaxTest = 40)]
    public Property TheRescaledUnitDesign_IsTheDirectDesign() =>
        Prop.ForAll(s_scalableSpecs.ToArbitrary(), s_scaleFamilies.ToArbitrary(), (spec, model) =>
        {
            QuantizerDesign direct = Quantizers.Design(spec, model);
            QuantizerDesign scaled = DesignScaling.Rescale(Quantizers.Design(spec, DesignScaling.UnitScale(model)), model);
            // Where α has no closed form (TUQSGD's averaged threshold on Lomax, TBQSGD's split) it is a numeric
            // minimiser, found to about 1e-8 of α: the two designs agree to that search's tolerance, not to the ulp. A
            // wrong scaling (σ for σ², a missed β) is off by O(1).
            const double tolerance = 1e-6;
            bool levels = direct.Levels.Length == scaled.Levels.Length
                && direct.Levels.Zip(scaled.Levels).All(p => Math.Abs(p.First - p.Second) <= tolerance * direct.Alpha);
            return (Close.Relative(scaled.Alpha, direct.Alpha, tolerance)
                    && levels
                    && Close.Relative(scaled.RoundingVariance, direct.RoundingVariance, 10 * tolerance)
                    && Close.Relative(scaled.TruncationMse, direct.TruncationMse, 10 * tolerance)
                    && Close.Relative(scaled.HighResolutionError, direct.HighResolutionError, 10 * tolerance)
                    && direct.Split?.InnerCells == scaled.Split?.InnerCells
                    && Close.Relative(scaled.Split?.Beta ?? 1, direct.Split?.Beta ?? 1, tolerance)
                    && Equals(scaled.Model, model))
                .Label($"{spec} on {model}: α {scaled.Alpha:R} vs {direct.Alpha:R}, M {scaled.TruncationMse:R} vs {direct.TruncationMse:R}, split {scaled.Split} vs {direct.Split}");
        });

    [Property(MaxTest = 200)]
    public Property SnappedShapes_AreOnTheGrid_Nearest_AboveThree_AndFixed() =>
        Prop.ForAll(Gen.Choose(3001, 2_000_000).Select(x => x / 1000.0).ToArbitrary(), shape =>
        {
            double snapped = DesignScaling.SnapShape(shape);
            double steps = Math.Log(snapped) / DesignScaling.ShapeGridStep;
            bool onGrid = Math.Abs(steps - Math.Round(steps)) < 1e-6;
            // Nearest grid point, or the next one up when the nearest is not above 3.
            bool nearest = Math.Abs(Math.Log(snapped / shape)) <= (DesignScaling.ShapeGridStep / 2) + 1e-12
                || (Math.Exp((Math.Round(steps) - 1) * DesignScaling.ShapeGridStep) <= 3 && snapped / shape < 1.0101);
            return (onGrid && nearest && snapped > 3 && DesignScaling.SnapShape(snapped) == snapped)
                .Label($"ρ {shape:R} → {snapped:R} ({steps:R} steps)");
        });

    [Fact]
    public void Rescale_RefusesWhatIsNotAScaleFamilyOrNotScaleFree()
    {
        QuantizerDesign unit = Quantizers.Design(new TruncatedNonUniform(3), new Laplace(1));
        Assert.Throws<ArgumentException>(() => DesignScaling.Rescale(unit, new Lomax(2, 5)));
        Assert.Throws<ArgumentException>(() => DesignScaling.Rescale(Quantizers.Design(new TruncatedNonUniform(3), new Laplace(2)), new Laplace(4)));
        Assert.Throws<ArgumentException>(() => DesignScaling.Rescale(
            Quantizers.Design(new TruncatedNonUniform(3, Threshold.Fixed(0.5)), new Laplace(1)), new Laplace(4)));
        Assert.False(DesignScaling.IsScaleEquivariant(new Qsgd(3)));
        Assert.False(DesignScaling.IsScaleFamily(new Gaussian(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DesignScaling.SnapShape(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => DesignScaling.SnapShape(double.PositiveInfinity));
    }
}
