using MathNet.Numerics;

namespace Verified.Theory.Sde;

/// <summary>
/// The sign drift m = E[sign(g + noise)] = 1 − 2P(g + noise &lt; 0) of DSignSGD's SDE (spec §4.3), and the slope
/// κ_ν of its linear regime.
/// </summary>
/// <remarks>
/// Noise is Gaussian N(0, σ²) or σ·T with T Student-t_ν (spec §4.2); ν = +∞ is accepted as the Gaussian limit.
/// |m| ≤ 1 for every ν &gt; 0, Cauchy included (spec §6 item 22). Pure and thread-safe.
/// </remarks>
public static class SignDrift
{
    /// <summary>κ_∞ = √(2/π) ≈ 0.797885, the Gaussian slope (spec §4.3).</summary>
    public static double GaussianKappa { get; } = Math.Sqrt(2 / Math.PI);

    /// <summary>Above this ν, κ_ν uses its asymptotic series (relative error ≤ 2e-14); below, Γ itself (no overflow
    /// up to Γ(150.5)), since a difference of two ln Γ loses ~1e-13 at large ν.</summary>
    internal const double KappaSeriesThreshold = 300;

    /// <summary>E[sign(g + σZ)] = Erf(g/(√2σ)), Z ~ N(0, 1) (spec §4.3, §6 item 22).</summary>
    /// <param name="gradient">g. Range: finite.</param>
    /// <param name="sigma">σ. Range: σ ≥ 0 (σ = 0 gives sign(g)).</param>
    public static double Gaussian(double gradient, double sigma)
    {
        CheckGradient(gradient);
        Preconditions.CheckNonNegative(nameof(sigma), sigma);
        return sigma == 0 ? Math.Sign(gradient) : SpecialFunctions.Erf(gradient / (Math.Sqrt(2) * sigma));
    }

    /// <summary>
    /// E[sign(g + σT)] = 2Ξ_ν(g/σ) − 1, T ~ Student-t_ν with CDF Ξ_ν (spec §4.3, §6 item 22), through the regularized
    /// incomplete beta: 2Ξ_ν(x) − 1 = sign(x)·I_z(½, ν/2) with z = x²/(ν + x²), or sign(x)·(1 − I_{1−z}(ν/2, ½)) when
    /// z &gt; ½, so that neither small nor large |x| loses digits to cancellation.
    /// </summary>
    /// <param name="gradient">g. Range: finite.</param>
    /// <param name="scale">σ. Range: σ ≥ 0 (σ = 0 gives sign(g)).</param>
    /// <param name="degreesOfFreedom">ν. Range: ν &gt; 0; +∞ gives <see cref="Gaussian"/>.</param>
    public static double StudentT(double gradient, double scale, double degreesOfFreedom)
    {
        CheckGradient(gradient);
        Preconditions.CheckNonNegative(nameof(scale), scale);
        Preconditions.CheckDegreesOfFreedom(nameof(degreesOfFreedom), degreesOfFreedom);
        if (double.IsPositiveInfinity(degreesOfFreedom))
        {
            return Gaussian(gradient, scale);
        }
        if (scale == 0 || gradient == 0)
        {
            return Math.Sign(gradient);
        }
        double x = gradient / scale;
        double x2 = x * x;
        if (double.IsPositiveInfinity(x2))
        {
            return Math.Sign(x);
        }
        double z = x2 / (degreesOfFreedom + x2);
        double magnitude = z <= 0.5
            ? SpecialFunctions.BetaRegularized(0.5, degreesOfFreedom / 2, z)
            : 1 - SpecialFunctions.BetaRegularized(degreesOfFreedom / 2, 0.5, degreesOfFreedom / (degreesOfFreedom + x2));
        return Math.Sign(x) * magnitude;
    }

    /// <summary>
    /// κ_ν = 2Ξ'_ν(0) = 2Γ((ν + 1)/2)/(√(νπ)Γ(ν/2)) (spec §4.3): in the linear regime |g| ≪ σ the drift is
    /// ≈ κ_ν g/σ. κ_1 = 2/π, κ_2 = 1/√2, increasing to κ_∞ = √(2/π).
    /// </summary>
    /// <param name="degreesOfFreedom">ν. Range: ν &gt; 0; +∞ gives <see cref="GaussianKappa"/>.</param>
    public static double Kappa(double degreesOfFreedom)
    {
        double nu = Preconditions.CheckDegreesOfFreedom(nameof(degreesOfFreedom), degreesOfFreedom);
        if (double.IsPositiveInfinity(nu))
        {
            return GaussianKappa;
        }
        if (nu > KappaSeriesThreshold)
        {
            // Γ(x + ½)/Γ(x) = √x(1 − 1/(8x) + 1/(128x²) + 5/(1024x³) − 21/(32768x⁴) + …) at x = ν/2.
            double u = 1 / nu;
            return GaussianKappa * (1 - (u * (0.25 - (u * ((1.0 / 32) + (u * ((5.0 / 128) - (u * 21.0 / 2048))))))));
        }
        return 2 * SpecialFunctions.Gamma((nu + 1) / 2) / (SpecialFunctions.Gamma(nu / 2) * Math.Sqrt(nu * Math.PI));
    }

    /// <summary>Var(σT) = σ²ν/(ν − 2) for ν &gt; 2, +∞ for ν ≤ 2 (spec §4.2); σ² for ν = +∞.</summary>
    /// <param name="scale">σ. Range: σ ≥ 0.</param>
    /// <param name="degreesOfFreedom">ν. Range: ν &gt; 0 (+∞ allowed).</param>
    public static double StudentTVariance(double scale, double degreesOfFreedom)
    {
        Preconditions.CheckNonNegative(nameof(scale), scale);
        double nu = Preconditions.CheckDegreesOfFreedom(nameof(degreesOfFreedom), degreesOfFreedom);
        if (double.IsPositiveInfinity(nu))
        {
            return scale * scale;
        }
        return nu > 2 ? scale * scale * nu / (nu - 2) : double.PositiveInfinity;
    }

    private static void CheckGradient(double gradient) => Preconditions.CheckFinite(nameof(gradient), gradient);
}
