using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>The integrals of a gradient model that a design needs, from closed forms or from quadrature.</summary>
/// <remarks>Two implementations make the two design paths: closed forms (fast, used by default) and quadrature of
/// the density alone (the generic path of spec §1.5, used as the oracle in tests and for any new model).</remarks>
internal abstract class DensityIntegrals(GradientModel model)
{
    public GradientModel Model { get; } = model;

    /// <summary>P(a &lt; g ≤ b).</summary>
    public abstract double Mass(double lower, double upper);

    /// <summary>P(|g| &gt; x).</summary>
    public abstract double TailMass(double x);

    /// <summary>M(α) = 2∫_α^∞ (g − α)² p.</summary>
    public abstract double TruncationMse(double alpha);

    /// <summary>∫_0^x p^{1/3}.</summary>
    public abstract double HalfCubeRootMass(double x);

    /// <summary>E[g²] and E|g|.</summary>
    public abstract double SecondMoment { get; }

    /// <inheritdoc cref="GradientModel.MeanAbsolute"/>
    public abstract double MeanAbsolute { get; }

    /// <summary>∫_a^b (b − g)(g − a) p(g) dg: the exact rounding variance contributed by the cell [a, b] (Lemma 1).</summary>
    public double CellRoundingVariance(double lower, double upper) =>
        Quadrature.Integrate(g => (upper - g) * (g - lower) * Model.Pdf(g), lower, upper, Model.Scale, Model.SupportStart);

    public static DensityIntegrals ClosedForm(GradientModel model) => new ClosedFormIntegrals(model);

    public static DensityIntegrals Numeric(GradientModel model) => new QuadratureIntegrals(model);

    private sealed class ClosedFormIntegrals(GradientModel model) : DensityIntegrals(model)
    {
        public override double Mass(double lower, double upper) => Model.Mass(lower, upper);

        public override double TailMass(double x) => Model.TailMass(x);

        public override double TruncationMse(double alpha) => Model.TruncationMse(alpha);

        public override double HalfCubeRootMass(double x) => Model.HalfCubeRootMass(x);

        public override double SecondMoment => Model.SecondMoment;

        public override double MeanAbsolute => Model.MeanAbsolute;
    }

    /// <summary>Everything from <see cref="GradientModel.Pdf"/> by quadrature; never calls a closed form.</summary>
    private sealed class QuadratureIntegrals(GradientModel model) : DensityIntegrals(model)
    {
        public override double Mass(double lower, double upper) =>
            Quadrature.Integrate(Model.Pdf, lower, upper, Model.Scale, Model.SupportStart);

        public override double TailMass(double x) =>
            2 * Quadrature.Integrate(Model.Pdf, Math.Max(x, 0), double.PositiveInfinity, Model.Scale, Model.SupportStart);

        public override double TruncationMse(double alpha) =>
            2 * Quadrature.Integrate(g => (g - alpha) * (g - alpha) * Model.Pdf(g), alpha, double.PositiveInfinity, Model.Scale, Model.SupportStart);

        public override double HalfCubeRootMass(double x) =>
            Quadrature.Integrate(g => Math.Cbrt(Model.Pdf(g)), 0, x, Model.Scale, Model.SupportStart);

        public override double SecondMoment =>
            2 * Quadrature.Integrate(g => g * g * Model.Pdf(g), 0, double.PositiveInfinity, Model.Scale, Model.SupportStart);

        public override double MeanAbsolute =>
            2 * Quadrature.Integrate(g => g * Model.Pdf(g), 0, double.PositiveInfinity, Model.Scale, Model.SupportStart);
    }
}
