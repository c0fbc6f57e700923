using MathNet.Numerics;
using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>
/// A symmetric, zero-centred model of one gradient coordinate g (spec §1.1: coordinates are i.i.d. draws).
/// Each case gives its density, distribution function and, in closed form, the integrals the designs need.
/// </summary>
/// <remarks>
/// <para>The integrals are the two of spec §1.5: the cube-root mass I(α) = ∫_{−α}^{α} p^{1/3} (here as its half
/// <see cref="HalfCubeRootMass"/>, so I(α) = 2·HalfCubeRootMass(α)) and the truncation error
/// M(α) = 2∫_α^∞ (g − α)² p(g) dg (<see cref="TruncationMse"/>).</para>
/// <para>Records are immutable and validate in the constructor and in every <c>init</c> accessor, so
/// <c>model with { Scale = -1 }</c> throws.</para>
/// <threadsafety>Immutable; safe to share between threads.</threadsafety>
/// </remarks>
public abstract record GradientModel
{
    private protected GradientModel(double scale) => Scale = scale;

    /// <summary>The model's name on the command line and in JSON: laplace, lomax, pareto or gaussian.</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// The scale parameter: γ (Laplace), σ (Lomax), g₀ (Pareto tail) or σ (Gaussian). Every length a design produces
    /// is linear in it. Range: &gt; 0, finite.
    /// </summary>
    public double Scale { get; init => field = Preconditions.CheckPositive(nameof(Scale), value); }

    /// <summary>The density exponent ρ of the power-law models, or <c>null</c> for the one-parameter models.</summary>
    public double? TailShape => this switch
    {
        Lomax lomax => lomax.Shape,
        ParetoTail pareto => pareto.Shape,
        _ => null,
    };

    /// <summary>The density p(g).</summary>
    public abstract double Pdf(double g);

    /// <summary>The distribution function F(x) = P(g ≤ x).</summary>
    public abstract double Cdf(double x);

    /// <summary>P(|g| &gt; x) for x ≥ 0.</summary>
    public abstract double TailMass(double x);

    /// <summary>
    /// The quantile F^{−1}(p) for 0 &lt; p &lt; 1, so that <c>Quantile(u)</c> with u uniform on (0, 1) is a draw from
    /// the model (the caller owns the randomness).
    /// </summary>
    public double Quantile(double probability)
    {
        if (!(probability > 0 && probability < 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(probability), probability, $"probability = {probability} is out of range: it must be in (0, 1).");
        }
        // Symmetry: F^{−1}(p) = −F^{−1}(1 − p), and for p ≥ 1/2 it is the |g| with P(|g| > x) = 2(1 − p).
        double tail = 2 * Math.Min(probability, 1 - probability);
        double magnitude = TailQuantile(tail);
        return probability < 0.5 ? -magnitude : magnitude;
    }

    /// <summary>The x ≥ 0 with P(|g| &gt; x) = <paramref name="tail"/>, for 0 &lt; tail ≤ 1.</summary>
    public abstract double TailQuantile(double tail);

    /// <summary>E[g²].</summary>
    public abstract double SecondMoment { get; }

    /// <summary>E[|g|].</summary>
    public abstract double MeanAbsolute { get; }

    /// <summary>M(α) = E[(T_α(g) − g)²] = 2∫_α^∞ (g − α)² p(g) dg, spec §1.2.</summary>
    public abstract double TruncationMse(double alpha);

    /// <summary>∫_0^x p(u)^{1/3} du for x ≥ 0; the half of I(α) of spec §1.5.</summary>
    public abstract double HalfCubeRootMass(double x);

    /// <summary>The smallest |g| the model gives mass to (0 except for the Pareto tail, whose support starts at g₀).</summary>
    public virtual double SupportStart => 0;

    /// <summary>P(a &lt; g ≤ b).</summary>
    public double Mass(double lower, double upper) => upper <= lower ? 0 : Cdf(upper) - Cdf(lower);
}

/// <summary>Laplace(0, γ): p(g) = e^{−|g|/γ}/(2γ), the gradient model of P1 (spec §2.1).</summary>
public sealed record Laplace : GradientModel
{
    /// <summary>Creates Laplace(0, γ). Range: γ &gt; 0, finite.</summary>
    public Laplace(double scale)
        : base(scale)
    {
    }

    /// <inheritdoc />
    public override string Kind => "laplace";

    /// <inheritdoc />
    public override double Pdf(double g) => Math.Exp(-Math.Abs(g) / Scale) / (2 * Scale);

    /// <inheritdoc />
    public override double Cdf(double x) => x < 0 ? 0.5 * Math.Exp(x / Scale) : 1 - 0.5 * Math.Exp(-x / Scale);

    /// <inheritdoc />
    public override double TailMass(double x) => Math.Exp(-Math.Max(x, 0) / Scale);

    /// <inheritdoc />
    public override double TailQuantile(double tail) => -Scale * Math.Log(tail);

    /// <inheritdoc />
    public override double SecondMoment => 2 * Scale * Scale;

    /// <inheritdoc />
    public override double MeanAbsolute => Scale;

    /// <summary>M(α) = 2γ²e^{−α/γ}, spec §2.2.</summary>
    public override double TruncationMse(double alpha) => 2 * Scale * Scale * Math.Exp(-alpha / Scale);

    /// <summary>(2γ)^{−1/3}·3γ·(1 − e^{−x/(3γ)}), so that I(α) = (2γ)^{−1/3}·6γ(1 − e^{−α/(3γ)}), spec §2.2.</summary>
    public override double HalfCubeRootMass(double x) =>
        Math.Cbrt(1 / (2 * Scale)) * 3 * Scale * -Precise.ExpM1(-x / (3 * Scale));
}

/// <summary>
/// Symmetric Lomax (Pareto II): p(g) = ((ρ − 1)/(2σ))·(1 + |g|/σ)^{−ρ}, the power-law model (a) of spec §3.2.
/// </summary>
/// <remarks>Tail P(|g| &gt; x) = (1 + x/σ)^{−(ρ−1)}, tail index ρ − 1. Range: σ &gt; 0 and ρ &gt; 3, the values for
/// which the variance 2σ²/((ρ − 2)(ρ − 3)) and so the truncation error are finite. With σ = γρ and ρ → ∞ it tends to
/// Laplace(γ).</remarks>
public sealed record Lomax : GradientModel
{
    /// <summary>Creates the symmetric Lomax model. Range: σ &gt; 0, ρ &gt; 3.</summary>
    public Lomax(double scale, double shape)
        : base(scale) => Shape = shape;

    /// <inheritdoc />
    public override string Kind => "lomax";

    /// <summary>ρ, the density exponent of spec §3.2(a). Range: ρ &gt; 3.</summary>
    public double Shape { get; init => field = Preconditions.CheckGreaterThan(nameof(Shape), value, 3); }

    /// <inheritdoc />
    public override double Pdf(double g) => (Shape - 1) / (2 * Scale) * Math.Pow(1 + Math.Abs(g) / Scale, -Shape);

    /// <inheritdoc />
    public override double Cdf(double x) =>
        x < 0 ? 0.5 * TailMass(-x) : 1 - 0.5 * TailMass(x);

    /// <inheritdoc />
    public override double TailMass(double x) => Math.Pow(1 + Math.Max(x, 0) / Scale, 1 - Shape);

    /// <inheritdoc />
    public override double TailQuantile(double tail) => Scale * Precise.ExpM1(-Math.Log(tail) / (Shape - 1));

    /// <inheritdoc />
    public override double SecondMoment => 2 * Scale * Scale / ((Shape - 2) * (Shape - 3));

    /// <inheritdoc />
    public override double MeanAbsolute => Scale / (Shape - 2);

    /// <summary>M(α) = 2σ²(1 + α/σ)^{3−ρ}/((ρ − 2)(ρ − 3)), spec §3.2(a).</summary>
    public override double TruncationMse(double alpha) =>
        2 * Scale * Scale * Math.Pow(1 + alpha / Scale, 3 - Shape) / ((Shape - 2) * (Shape - 3));

    /// <summary>((ρ − 1)/(2σ))^{1/3}·(3σ/(ρ − 3))·(1 − (1 + x/σ)^{−(ρ−3)/3}).</summary>
    public override double HalfCubeRootMass(double x) =>
        Math.Cbrt((Shape - 1) / (2 * Scale)) * 3 * Scale / (Shape - 3)
        * -Precise.ExpM1(-(Shape - 3) / 3 * Precise.Log1P(x / Scale));
}

/// <summary>
/// The pure Pareto tail p(g) = ((ρ − 1)/2)·g₀^{ρ−1}·|g|^{−ρ} for |g| ≥ g₀ (zero inside), model (b) of spec §3.2.
/// </summary>
/// <remarks>Only the tail enters the uniform quantizer's design, which is what this model is for. Range: g₀ &gt; 0 and
/// ρ &gt; 3 (finite variance g₀²(ρ − 1)/(ρ − 3)).</remarks>
public sealed record ParetoTail : GradientModel
{
    /// <summary>Creates the Pareto-tail model. Range: g₀ &gt; 0, ρ &gt; 3.</summary>
    public ParetoTail(double scale, double shape)
        : base(scale) => Shape = shape;

    /// <inheritdoc />
    public override string Kind => "pareto";

    /// <summary>ρ, the density exponent of spec §3.2(b). Range: ρ &gt; 3.</summary>
    public double Shape { get; init => field = Preconditions.CheckGreaterThan(nameof(Shape), value, 3); }

    /// <inheritdoc />
    public override double SupportStart => Scale;

    /// <inheritdoc />
    public override double Pdf(double g)
    {
        double magnitude = Math.Abs(g);
        return magnitude < Scale ? 0 : (Shape - 1) / (2 * Scale) * Math.Pow(magnitude / Scale, -Shape);
    }

    /// <inheritdoc />
    public override double Cdf(double x) => x < 0 ? 0.5 * TailMass(-x) : 1 - 0.5 * TailMass(x);

    /// <inheritdoc />
    public override double TailMass(double x) => x <= Scale ? 1 : Math.Pow(x / Scale, 1 - Shape);

    /// <inheritdoc />
    public override double TailQuantile(double tail) => Scale * Math.Pow(tail, -1 / (Shape - 1));

    /// <inheritdoc />
    public override double SecondMoment => Scale * Scale * (Shape - 1) / (Shape - 3);

    /// <inheritdoc />
    public override double MeanAbsolute => Scale * (Shape - 1) / (Shape - 2);

    /// <summary>
    /// M(α) = 2g₀^{ρ−1}α^{3−ρ}/((ρ − 2)(ρ − 3)) for α ≥ g₀ (spec §3.2(b)); below g₀ the whole tail is integrated:
    /// (ρ − 1)g₀²[1/(ρ − 3) − 2a/(ρ − 2) + a²/(ρ − 1)] with a = α/g₀.
    /// </summary>
    public override double TruncationMse(double alpha)
    {
        double rho = Shape;
        if (alpha >= Scale)
        {
            return 2 * Scale * Scale * Math.Pow(alpha / Scale, 3 - rho) / ((rho - 2) * (rho - 3));
        }
        double a = alpha / Scale;
        return (rho - 1) * Scale * Scale * ((1 / (rho - 3)) - (2 * a / (rho - 2)) + (a * a / (rho - 1)));
    }

    /// <summary>((ρ − 1)/(2g₀))^{1/3}·(3g₀/(ρ − 3))·(1 − (x/g₀)^{−(ρ−3)/3}) for x ≥ g₀, and 0 below.</summary>
    public override double HalfCubeRootMass(double x) =>
        x <= Scale ? 0
        : Math.Cbrt((Shape - 1) / (2 * Scale)) * 3 * Scale / (Shape - 3)
          * -Precise.ExpM1(-(Shape - 3) / 3 * Math.Log(x / Scale));
}

/// <summary>Gaussian N(0, σ²): the light-tailed reference model.</summary>
public sealed record Gaussian : GradientModel
{
    private static readonly double s_sqrtTwo = Math.Sqrt(2);

    /// <summary>Creates N(0, σ²). Range: σ &gt; 0.</summary>
    public Gaussian(double scale)
        : base(scale)
    {
    }

    /// <inheritdoc />
    public override string Kind => "gaussian";

    /// <inheritdoc />
    public override double Pdf(double g) => Math.Exp(-0.5 * (g / Scale) * (g / Scale)) / (Scale * Math.Sqrt(2 * Math.PI));

    /// <inheritdoc />
    public override double Cdf(double x) => 0.5 * SpecialFunctions.Erfc(-x / (Scale * s_sqrtTwo));

    /// <inheritdoc />
    public override double TailMass(double x) => SpecialFunctions.Erfc(Math.Max(x, 0) / (Scale * s_sqrtTwo));

    /// <inheritdoc />
    public override double TailQuantile(double tail) => Scale * s_sqrtTwo * SpecialFunctions.ErfcInv(tail);

    /// <inheritdoc />
    public override double SecondMoment => Scale * Scale;

    /// <inheritdoc />
    public override double MeanAbsolute => Scale * Math.Sqrt(2 / Math.PI);

    /// <summary>M(α) = 2σ²[(1 + t²)Q(t) − tφ(t)] with t = α/σ, Q the upper normal tail and φ the normal density.</summary>
    public override double TruncationMse(double alpha)
    {
        double t = alpha / Scale;
        double upperTail = 0.5 * SpecialFunctions.Erfc(t / s_sqrtTwo);
        double density = Math.Exp(-0.5 * t * t) / Math.Sqrt(2 * Math.PI);
        return Math.Max(0, 2 * Scale * Scale * (((1 + t * t) * upperTail) - (t * density)));
    }

    /// <summary>(2πσ²)^{−1/6}·σ√3·√(π/2)·erf(x/(σ√6)).</summary>
    public override double HalfCubeRootMass(double x) =>
        Math.Pow(2 * Math.PI * Scale * Scale, -1.0 / 6) * Scale * Math.Sqrt(3) * Math.Sqrt(Math.PI / 2)
        * SpecialFunctions.Erf(x / (Scale * Math.Sqrt(6)));
}
