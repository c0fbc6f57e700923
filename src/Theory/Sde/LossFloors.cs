using System.Globalization;

namespace Verified.Theory.Sde;

/// <summary>Why a stationary loss does not exist.</summary>
public enum Divergence
{
    /// <summary>The loss settles at a finite floor.</summary>
    None,

    /// <summary>DCSGD's stability limit ηωλ/N ≥ 2 (spec §4.4 item 2), or ηλ ≥ 2 for discrete DSGD.</summary>
    Unstable,

    /// <summary>The noise has infinite variance (Student-t ν ≤ 2): E f(x_k) = ∞ for every k ≥ 1 (spec §4.4 item 3).</summary>
    InfiniteVariance,
}

/// <summary>A stationary expected loss E f_∞, or the reason there is none.</summary>
public readonly record struct StationaryLoss
{
    private StationaryLoss(double value, Divergence divergence)
    {
        Value = value;
        Divergence = divergence;
    }

    /// <summary>E f_∞; +∞ when <see cref="Diverges"/>.</summary>
    public double Value { get; }

    /// <summary>Why there is no floor (<see cref="Divergence.None"/> when there is one).</summary>
    public Divergence Divergence { get; }

    /// <summary>Whether the loss does not settle.</summary>
    public bool Diverges => Divergence != Divergence.None;

    /// <summary>A finite floor.</summary>
    public static StationaryLoss Finite(double value) => new(Preconditions.CheckNonNegative(nameof(value), value), Divergence.None);

    /// <summary>No floor, for the given reason.</summary>
    public static StationaryLoss Diverging(Divergence reason)
    {
        if (reason == Divergence.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "reason = None is out of range: it must be Unstable or InfiniteVariance.");
        }
        return new(double.PositiveInfinity, reason);
    }

    /// <inheritdoc />
    public override string ToString() =>
        Diverges ? $"diverges ({Divergence})" : Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// Stationary losses on the quadratic f = ½λ‖x‖² (H = λI) with N identical agents and i.i.d. per-coordinate noise
/// (spec §4.4). σ (and the variance) already include the batch. Pure functions; every argument is checked.
/// </summary>
/// <remarks>
/// Ranges, for every method: η &gt; 0, d ≥ 1, N ≥ 1, λ &gt; 0, ω ≥ 0 (all finite).
/// The SDE floors are first order in η (weak order-1 SDEs of spec §4.3); the discrete DSGD floor is exact.
/// </remarks>
public static class LossFloors
{
    /// <summary>
    /// DSGD's SDE floor E f_∞ = ηd·Var/(4N) (spec §4.4 item 1, Var = σ² for Gaussian noise); diverges when Var = ∞
    /// (spec §4.4 item 3).
    /// </summary>
    public static StationaryLoss Dsgd(double learningRate, int dimension, int agents, NoiseModel noise)
    {
        CheckCommon(learningRate, dimension, agents, noise);
        double variance = noise.Variance;
        return double.IsPositiveInfinity(variance)
            ? StationaryLoss.Diverging(Divergence.InfiniteVariance)
            : StationaryLoss.Finite(learningRate * dimension * variance / (4.0 * agents));
    }

    /// <summary>
    /// Discrete DSGD's exact floor: x_{k+1} = (1 − ηλ)x_k − (η/N)Σ_i Z_i gives per coordinate
    /// Var x_∞ = (η²Var/N)/(1 − (1 − ηλ)²), so E f_∞ = ½λd·Var x_∞ = ηd·Var/(2N(2 − ηλ)) (derived; spec §4.4's table
    /// gives 6.28e−4 at η = 0.01, λ = 1, N = 4, σ = 1). Unstable when ηλ ≥ 2.
    /// </summary>
    public static StationaryLoss DsgdDiscrete(double learningRate, int dimension, int agents, double curvature, NoiseModel noise)
    {
        CheckCommon(learningRate, dimension, agents, noise);
        Preconditions.CheckPositive(nameof(curvature), curvature);
        double variance = noise.Variance;
        if (double.IsPositiveInfinity(variance))
        {
            return StationaryLoss.Diverging(Divergence.InfiniteVariance);
        }
        double etaLambda = learningRate * curvature;
        return etaLambda >= 2
            ? StationaryLoss.Diverging(Divergence.Unstable)
            : StationaryLoss.Finite(learningRate * dimension * variance / (2.0 * agents * (2 - etaLambda)));
    }

    /// <summary>ηωλ/N, the quantity DCSGD's SDE needs below 2 (spec §4.4 item 2, §4.5).</summary>
    public static double DcsgdStabilityRatio(double learningRate, int agents, double curvature, double omega)
    {
        Preconditions.CheckPositive(nameof(learningRate), learningRate);
        Preconditions.CheckRange(nameof(agents), agents, 1, int.MaxValue);
        Preconditions.CheckPositive(nameof(curvature), curvature);
        Preconditions.CheckNonNegative(nameof(omega), omega);
        return learningRate * omega * curvature / agents;
    }

    /// <summary>
    /// DCSGD's SDE floor with the Bernoulli/rand-k covariance Φ = ω·diag(∇f² + Var) (spec §4.3–4.4 item 2):
    /// E f_∞ = ηd(1 + ω)·Var/(4N − 2ηωλ), finite only if ηωλ/N &lt; 2; ω = 0 is <see cref="Dsgd"/>.
    /// </summary>
    public static StationaryLoss Dcsgd(double learningRate, int dimension, int agents, double curvature, double omega, NoiseModel noise)
    {
        CheckCommon(learningRate, dimension, agents, noise);
        double ratio = DcsgdStabilityRatio(learningRate, agents, curvature, omega);
        double variance = noise.Variance;
        if (double.IsPositiveInfinity(variance))
        {
            return StationaryLoss.Diverging(Divergence.InfiniteVariance);
        }
        if (ratio >= 2)
        {
            return StationaryLoss.Diverging(Divergence.Unstable);
        }
        return StationaryLoss.Finite(
            learningRate * dimension * (1 + omega) * variance / ((4.0 * agents) - (2 * learningRate * omega * curvature)));
    }

    /// <summary>
    /// DSignSGD's SDE floor in the linear regime |∇f| ≪ σ: E f_∞ ≈ ηdσ/(4Nκ_ν) (spec §4.4 item 4, §6 item 23).
    /// Linear in σ, finite for every ν &gt; 0 (Cauchy included), ∝ 1/N.
    /// </summary>
    /// <remarks>Derivation: the linear drift −(κ_ν λ/σ)x and diffusion² η/N per coordinate give an OU process with
    /// Var x_∞ = ησ/(2Nκ_ν λ), and E f = ½λd·Var x_∞. At σ = 0 the linear regime is empty and the value is 0.</remarks>
    public static double DSignSgd(double learningRate, int dimension, int agents, NoiseModel noise)
    {
        CheckCommon(learningRate, dimension, agents, noise);
        return learningRate * dimension * noise.Scale / (4.0 * agents * noise.Kappa);
    }

    private static void CheckCommon(double learningRate, int dimension, int agents, NoiseModel noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        Preconditions.CheckPositive(nameof(learningRate), learningRate);
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(agents), agents, 1, int.MaxValue);
    }
}
