namespace Verified.Theory.Sde;

/// <summary>
/// The settings a scaling rule acts on (spec §4.5): learning rate η, per-agent batch B, agents N and compression ω.
/// B and N are real so that rules compose exactly; round them (and re-check the invariant) before running.
/// </summary>
/// <remarks>Validated in the constructor and in <c>with</c>. Ranges: η &gt; 0, B &gt; 0, N &gt; 0, ω ≥ 0, all finite.</remarks>
public sealed record SdeSettings
{
    /// <summary>Creates the settings; see the ranges in the remarks.</summary>
    public SdeSettings(double learningRate, double batch, double agents, double omega = 0)
    {
        LearningRate = learningRate;
        Batch = batch;
        Agents = agents;
        Omega = omega;
    }

    /// <summary>η. Range: η &gt; 0.</summary>
    public double LearningRate { get; init => field = Preconditions.CheckPositive(nameof(LearningRate), value); }

    /// <summary>B, per agent. Range: B &gt; 0.</summary>
    public double Batch { get; init => field = Preconditions.CheckPositive(nameof(Batch), value); }

    /// <summary>N. Range: N &gt; 0.</summary>
    public double Agents { get; init => field = Preconditions.CheckPositive(nameof(Agents), value); }

    /// <summary>ω of the compressor (0 = none). Range: ω ≥ 0.</summary>
    public double Omega { get; init => field = Preconditions.CheckNonNegative(nameof(Omega), value); }
}

/// <summary>
/// The scaling rules of spec §4.5: each maps settings to settings whose SDE is the same up to a rescaling of time,
/// because it keeps the method's invariant. σ² is the per-sample noise, which no rule changes. Pure functions.
/// </summary>
/// <remarks>
/// Laws (tested): a rule with factor 1 (or ω' = ω) is the identity, rule(κ₁) ∘ rule(κ₂) = rule(κ₁κ₂), and every
/// rule keeps its invariant. Range of every factor κ: κ &gt; 0, finite.
/// </remarks>
public static class ScalingRules
{
    /// <summary>
    /// DSGD's invariant η/(BN): the diffusion² ησ²/(BN) of dX = −∇f dt + √(η/N)(σ²/B)^{1/2} dW in t = kη
    /// (spec §4.3, §4.5). Kept, the SDE is unchanged in t.
    /// </summary>
    public static double DsgdInvariant(SdeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.LearningRate / (settings.Batch * settings.Agents);
    }

    /// <summary>
    /// DCSGD's invariant η(1 + ω)/(BN): the noise part of the diffusion² (spec §4.5). The gradient part ηω‖∇f‖²/N
    /// and the stability ratio ηωλ/N are not kept by every rule: check <see cref="LossFloors.DcsgdStabilityRatio"/>
    /// on the result; the rules match where σ²/B dominates ‖∇f‖².
    /// </summary>
    public static double DcsgdInvariant(SdeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.LearningRate * (1 + settings.Omega) / (settings.Batch * settings.Agents);
    }

    /// <summary>
    /// DSignSGD's invariant in the linear regime, η/(N√B) (the spec's ησ/(N√B) with the per-sample σ fixed,
    /// §4.5). Kept, the SDE is unchanged in the rescaled time τ = (κ_ν√B/σ)·t; see <see cref="DSignSgdTimeScale"/>.
    /// </summary>
    public static double DSignSgdInvariant(SdeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.LearningRate / (settings.Agents * Math.Sqrt(settings.Batch));
    }

    /// <summary>dτ/dt = κ_ν√B/σ for DSignSGD in the linear regime (spec §4.5), σ the per-sample noise scale.</summary>
    /// <param name="settings">B is read.</param>
    /// <param name="noise">Per-sample noise: σ &gt; 0 and ν.</param>
    public static double DSignSgdTimeScale(SdeSettings settings, NoiseModel noise)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(noise);
        Preconditions.CheckPositive(nameof(noise), noise.Scale);
        return noise.Kappa * Math.Sqrt(settings.Batch) / noise.Scale;
    }

    /// <summary>DSGD's linear scaling rule (η, B, N) → (κη, κB, N) (spec §4.5). Keeps <see cref="DsgdInvariant"/>.</summary>
    public static SdeSettings DsgdLinearBatch(SdeSettings settings, double factor)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Preconditions.CheckPositive(nameof(factor), factor);
        return settings with { LearningRate = factor * settings.LearningRate, Batch = factor * settings.Batch };
    }

    /// <summary>(η, B, N) → (κη, B, κN) (spec §4.5). Keeps <see cref="DsgdInvariant"/> and
    /// <see cref="DcsgdInvariant"/> (ω unchanged).</summary>
    public static SdeSettings DsgdLinearAgents(SdeSettings settings, double factor)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Preconditions.CheckPositive(nameof(factor), factor);
        return settings with { LearningRate = factor * settings.LearningRate, Agents = factor * settings.Agents };
    }

    /// <summary>
    /// DCSGD, changing the compressor from ω to ω' at the same η: B' = B(1 + ω')/(1 + ω) (spec §4.5; from ω = 0 this
    /// is B' = (1 + ω')B, which recovers DSGD(η, B, N)). Keeps <see cref="DcsgdInvariant"/>.
    /// </summary>
    public static SdeSettings DcsgdCompensateByBatch(SdeSettings settings, double omega)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Preconditions.CheckNonNegative(nameof(omega), omega);
        return settings with { Omega = omega, Batch = settings.Batch * (1 + omega) / (1 + settings.Omega) };
    }

    /// <summary>DCSGD, ω → ω' with N' = N(1 + ω')/(1 + ω) (spec §4.5). Keeps <see cref="DcsgdInvariant"/>.</summary>
    public static SdeSettings DcsgdCompensateByAgents(SdeSettings settings, double omega)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Preconditions.CheckNonNegative(nameof(omega), omega);
        return settings with { Omega = omega, Agents = settings.Agents * (1 + omega) / (1 + settings.Omega) };
    }

    /// <summary>
    /// DCSGD, ω → ω' with η' = η(1 + ω)/(1 + ω') (spec §4.5): the same noise floor, but (1 + ω')/(1 + ω) times as many
    /// steps to reach the same t = kη. Keeps <see cref="DcsgdInvariant"/>.
    /// </summary>
    public static SdeSettings DcsgdCompensateByLearningRate(SdeSettings settings, double omega)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Preconditions.CheckNonNegative(nameof(omega), omega);
        return settings with { Omega = omega, LearningRate = settings.LearningRate * (1 + settings.Omega) / (1 + omega) };
    }

    /// <summary>
    /// DSignSGD's square-root rule (η, B, N) → (κη, κ²B, N) (spec §4.5): drift and diffusion² both scale by κ, so the
    /// SDE is unchanged in s = κt. Keeps <see cref="DSignSgdInvariant"/>; multiplies the time scale by κ.
    /// </summary>
    public static SdeSettings DSignSgdSquareRoot(SdeSettings settings, double factor)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Preconditions.CheckPositive(nameof(factor), factor);
        return settings with { LearningRate = factor * settings.LearningRate, Batch = factor * factor * settings.Batch };
    }

    /// <summary>DSignSGD's linear speed-up in agents (η, B, N) → (κη, B, κN) (spec §4.5). Keeps
    /// <see cref="DSignSgdInvariant"/> and the time scale.</summary>
    public static SdeSettings DSignSgdAgents(SdeSettings settings, double factor) => DsgdLinearAgents(settings, factor);
}
