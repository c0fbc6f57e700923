namespace Verified.Sde;

/// <summary>
/// How far a discrete run (step η) or an Euler–Maruyama run (step h) may sit from Theory's SDE floors
/// (<c>LossFloors</c>), which are first order in η. These are the "discretisation allowances" of the experiments'
/// tolerances; each is derived in its remarks, per coordinate of f = ½λ‖x‖², v = E x².
/// </summary>
public static class Discretisation
{
    /// <summary>
    /// DSGD/DCSGD with the sparsifier covariance: the exact relative excess of the discrete (h = η) and Euler–Maruyama
    /// (step h) floors over the SDE floor, hλ/(2 − hλ − ηωλ/N).
    /// </summary>
    /// <remarks>
    /// Discrete DCSGD: x' = (1 − ηλ)x − (η/N)Σ_i (C_i(λx + Z_i) − λx), and the sum has conditional variance
    /// (1/N)((1 + ω)Var + ωλ²x²) per coordinate, so v' = (1 − ηλ)²v + (η²/N)((1 + ω)Var + ωλ²v). Euler–Maruyama on the
    /// SDE gives the same with (1 − hλ)² and hη in place of η². The fixed point is
    /// v = η(1 + ω)Var/(Nλ(2 − hλ − ηωλ/N)), against the SDE's η(1 + ω)Var/(Nλ(2 − ηωλ/N)). ω = 0 is DSGD, where
    /// the discrete floor is <c>LossFloors.DsgdDiscrete</c>.
    /// </remarks>
    public static double LinearRelativeExcess(double learningRate, double step, double curvature, int agents, double omega) =>
        step * curvature / (2 - (step * curvature) - (learningRate * omega * curvature / agents));

    /// <summary>
    /// DSignSGD in the linear regime: the first-order relative excess of the discrete (h = η) or Euler–Maruyama floor
    /// over ηdσ/(4Nκ_ν): r = hκλ/(2σ) − ηκλ/(2Nσ) + 3c_ν·ηλ/(2Nκσ), derived in the remarks.
    /// </summary>
    /// <remarks>
    /// With m(g) = κ_ν(g/σ − c_ν(g/σ)³ + …), c_ν = (ν + 1)/(6ν) (the Student-t density's curvature at 0; 1/6 for the
    /// Gaussian), and x near Gaussian (E x⁴ ≈ 3v²), the one-step recursion
    /// v' = v − 2h E[x m] + h² E m² + (hη/N)(1 − E m²) (Euler–Maruyama; the discrete step is h = η with
    /// Var(mean sign) = (1 − m²)/N) has the fixed point v = ησ/(2Nκλ)/(1 − r) with
    /// r = hκλ/(2σ) − ηκλ/(2Nσ) + 3c_ν λ²v/σ², and λ²v/σ² = ηλ/(2Nκσ). Returned: r (first order in ηλ/σ).
    /// </remarks>
    public static double SignRelativeExcess(double learningRate, double step, double curvature, int agents, double scale, double kappa, double degreesOfFreedom)
    {
        double c = double.IsPositiveInfinity(degreesOfFreedom) ? 1.0 / 6 : (degreesOfFreedom + 1) / (6 * degreesOfFreedom);
        double cubic = 3 * c * learningRate * curvature / (2 * agents * kappa * scale);
        return (step * kappa * curvature / (2 * scale)) - (learningRate * kappa * curvature / (2 * agents * scale)) + cubic;
    }

    /// <summary>
    /// The exact expected loss curve of discrete DCSGD (ω = 0: DSGD) from x₀ = (x₀, …): E f_k = ½λd·s_k with
    /// s_{k+1} = (1 − ηλ)²s_k + (η²/N)((1 + ω)Var + ωλ²s_k), s_0 = x₀² (see <see cref="LinearRelativeExcess"/>).
    /// Returns E f at k = 0, every, 2·every, …, up to steps.
    /// </summary>
    public static double[] LinearLossCurve(
        double learningRate, double curvature, int agents, int dimension, double omega, double variance, double initialValue, int steps, int every)
    {
        var curve = new double[(steps / every) + 1];
        double s = initialValue * initialValue;
        double contraction = (1 - (learningRate * curvature)) * (1 - (learningRate * curvature));
        double eta2 = learningRate * learningRate / agents;
        for (int k = 0; k <= steps; k++)
        {
            if (k % every == 0)
            {
                curve[k / every] = 0.5 * curvature * dimension * s;
            }
            s = (contraction * s) + (eta2 * (((1 + omega) * variance) + (omega * curvature * curvature * s)));
        }
        return curve;
    }

    /// <summary>
    /// A moment-closure approximation of discrete DSignSGD's expected loss curve in the linear regime:
    /// s' = s − 2ηκλ/σ·(s − 3c_ν λ²s²/σ²) + η²κ²λ²s/σ²·(1 − 1/N) + η²/N (the recursion of
    /// <see cref="SignRelativeExcess"/> with E x⁴ ≈ 3s²). Used only for the O(η) allowance of the scaling experiment.
    /// </summary>
    public static double[] SignLossCurve(
        double learningRate, double curvature, int agents, int dimension, double scale, double kappa, double degreesOfFreedom,
        double initialValue, int steps, int every)
    {
        double c = double.IsPositiveInfinity(degreesOfFreedom) ? 1.0 / 6 : (degreesOfFreedom + 1) / (6 * degreesOfFreedom);
        var curve = new double[(steps / every) + 1];
        double s = initialValue * initialValue;
        double a = learningRate * kappa * curvature / scale;
        double q = curvature * curvature / (scale * scale);
        for (int k = 0; k <= steps; k++)
        {
            if (k % every == 0)
            {
                curve[k / every] = 0.5 * curvature * dimension * s;
            }
            s = s - (2 * a * (s - (3 * c * q * s * s))) + (a * a * s * (1 - (1.0 / agents))) + (learningRate * learningRate / agents);
        }
        return curve;
    }
}
