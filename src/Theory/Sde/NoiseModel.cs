namespace Verified.Theory.Sde;

/// <summary>
/// Per-coordinate gradient noise of the SDE models (spec §4.2): i.i.d. σ·T with T Student-t_ν, or Gaussian N(0, σ²)
/// when ν = +∞. σ already includes the batch (σ = σ₁/√B for Gaussian noise, spec §4.4).
/// </summary>
/// <remarks>Validated in the constructor and in <c>with</c>. Immutable and thread-safe.</remarks>
public sealed record NoiseModel
{
    /// <summary>Creates the noise model. Range: σ ≥ 0; ν &gt; 0 (+∞ = Gaussian, 1 = Cauchy).</summary>
    public NoiseModel(double scale, double degreesOfFreedom = double.PositiveInfinity)
    {
        Scale = scale;
        DegreesOfFreedom = degreesOfFreedom;
    }

    /// <summary>Gaussian N(0, σ²) per coordinate.</summary>
    public static NoiseModel Gaussian(double sigma) => new(sigma);

    /// <summary>σ·T, T ~ Student-t_ν, per coordinate.</summary>
    public static NoiseModel StudentT(double scale, double degreesOfFreedom) => new(scale, degreesOfFreedom);

    /// <summary>σ. Range: σ ≥ 0, finite.</summary>
    public double Scale
    {
        get;
        init => field = Preconditions.CheckNonNegative(nameof(Scale), value);
    }

    /// <summary>ν. Range: ν &gt; 0; +∞ is the Gaussian.</summary>
    public double DegreesOfFreedom
    {
        get;
        init => field = Preconditions.CheckDegreesOfFreedom(nameof(DegreesOfFreedom), value);
    }

    /// <summary>Whether ν = +∞.</summary>
    public bool IsGaussian => double.IsPositiveInfinity(DegreesOfFreedom);

    /// <summary>The per-coordinate variance: σ² (Gaussian), σ²ν/(ν − 2) for ν &gt; 2, +∞ for ν ≤ 2 (spec §4.2).</summary>
    public double Variance => SignDrift.StudentTVariance(Scale, DegreesOfFreedom);

    /// <summary>κ_ν (spec §4.3).</summary>
    public double Kappa => SignDrift.Kappa(DegreesOfFreedom);

    /// <summary>E[sign(g + noise)] (spec §4.3).</summary>
    public double SignMean(double gradient) => SignDrift.StudentT(gradient, Scale, DegreesOfFreedom);

    /// <summary>One draw of the noise: σZ (Gaussian) or σT, T = Z/√(χ²_ν/ν), from the caller's generator.</summary>
    public double Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return IsGaussian
            ? Scale * MathNet.Numerics.Distributions.Normal.Sample(random, 0, 1)
            : Scale * MathNet.Numerics.Distributions.StudentT.Sample(random, 0, 1, DegreesOfFreedom);
    }
}
