using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>TNQSGD's closed forms under Laplace(0, γ) gradients, P1 (spec §2.2).</summary>
/// <remarks>With c = 3√6/2 every quantity is a function of (s, γ) and linear in γ (1/γ for the density).</remarks>
public static class LaplaceTnq
{
    /// <summary>c = 3√6/2 ≈ 3.6742346, the constant of P1's E_TQ (spec §2.2).</summary>
    public static readonly double C = 1.5 * Math.Sqrt(6);

    /// <summary>α* = 3γ·ln(1 + 2s/(3√6)) = 3γ·ln((s + c)/c), spec §2.2. Range: s ≥ 1, γ &gt; 0.</summary>
    public static double Alpha(int intervals, double scale) => AlphaForEffectiveIntervals(intervals, scale);

    /// <summary>
    /// α*(s_eff) = 3γ·ln(1 + s_eff/c) for a real s_eff ≥ 1: the minimiser of I(α)³/(4s_eff²) + M(α). With
    /// s_eff = s√N it is the threshold for the server's average of N uploads (docs/theory.md, "A threshold for the
    /// average"): the rounding variance of the average is the per-upload one divided by N, i.e. s² → s²N.
    /// </summary>
    public static double AlphaForEffectiveIntervals(double effectiveIntervals, double scale) =>
        3 * scale * Precise.Log1P(effectiveIntervals / C);

    /// <summary>λ_s(g) = ((2s + 3√6)/(12γ))·e^{−|g|/(3γ)} on [−α*, α*], spec §2.2 (the 12γ normaliser; see its discrepancy flag).</summary>
    public static double Density(double g, int intervals, double scale) =>
        Math.Abs(g) > Alpha(intervals, scale) ? 0 : (intervals + C) / (6 * scale) * Math.Exp(-Math.Abs(g) / (3 * scale));

    /// <summary>l_k = sgn(2k − s)·3γ·ln((s + c)/(s + c − |2k − s|)), k = 0..s, spec §2.2.</summary>
    public static double Level(int index, int intervals, double scale)
    {
        int offset = 2 * index - intervals;
        double magnitude = 3 * scale * Math.Log((intervals + C) / (intervals + C - Math.Abs(offset)));
        return Math.Sign(offset) * magnitude;
    }

    /// <summary>J* = 27γ²/(s + c)², the minimal high-resolution error per coordinate, spec §2.2.</summary>
    public static double Error(int intervals, double scale) => 27 * scale * scale / ((intervals + C) * (intervals + C));

    /// <summary>The variance part 27γ²s/(s + c)³ of J*; with <see cref="TruncationPart"/> the split is s : c (spec §2.2).</summary>
    public static double VariancePart(int intervals, double scale) =>
        27 * scale * scale * intervals / Math.Pow(intervals + C, 3);

    /// <summary>The truncation part 27γ²c/(s + c)³ = M(α*) of J*, spec §2.2.</summary>
    public static double TruncationPart(int intervals, double scale) =>
        27 * scale * scale * C / Math.Pow(intervals + C, 3);

    /// <summary>E_TQ = 27dγ²/(N(s + 3√6/2)²), P1's closed form (spec §0 [SRC], §2.2).</summary>
    public static double ConvergenceError(int dimension, int clients, int intervals, double scale) =>
        (double)dimension / clients * Error(intervals, scale);
}

/// <summary>TNQSGD's closed forms under the symmetric Lomax model (σ, ρ), P2 (spec §3.2(a)).</summary>
public static class LomaxTnq
{
    /// <summary>c_ρ = (3/(ρ − 3))·√(3(ρ − 1)(ρ − 2)/2), spec §3.2(a). Tends to 3√6/2 as ρ → ∞.</summary>
    public static double C(double shape) => 3 / (shape - 3) * Math.Sqrt(3 * (shape - 1) * (shape - 2) / 2);

    /// <summary>α* = σ·[((s + c_ρ)/c_ρ)^{3/(ρ−3)} − 1], spec §3.2(a).</summary>
    public static double Alpha(int intervals, double scale, double shape) => AlphaForEffectiveIntervals(intervals, scale, shape);

    /// <summary>α*(s_eff) for a real s_eff ≥ 1; s_eff = s√N gives the threshold for the average of N uploads
    /// (see <see cref="LaplaceTnq.AlphaForEffectiveIntervals"/>).</summary>
    public static double AlphaForEffectiveIntervals(double effectiveIntervals, double scale, double shape) =>
        scale * Precise.ExpM1(3 / (shape - 3) * Precise.Log1P(effectiveIntervals / C(shape)));

    /// <summary>λ_s*(g) = (s + c_ρ)(ρ − 3)(1 + |g|/σ)^{−ρ/3}/(6σ) on [−α*, α*], spec §3.2(a).</summary>
    public static double Density(double g, int intervals, double scale, double shape) =>
        Math.Abs(g) > Alpha(intervals, scale, shape) ? 0
        : (intervals + C(shape)) * (shape - 3) * Math.Pow(1 + Math.Abs(g) / scale, -shape / 3) / (6 * scale);

    /// <summary>l_k = sgn(2k − s)·σ·[((s + c_ρ)/(s + c_ρ − |2k − s|))^{3/(ρ−3)} − 1], spec §3.2(a).</summary>
    public static double Level(int index, int intervals, double scale, double shape)
    {
        int offset = 2 * index - intervals;
        double c = C(shape);
        double magnitude = scale * Precise.ExpM1(3 / (shape - 3) * Math.Log((intervals + c) / (intervals + c - Math.Abs(offset))));
        return Math.Sign(offset) * magnitude;
    }

    /// <summary>J* = 27(ρ − 1)σ²/((ρ − 3)³(s + c_ρ)²), spec §3.2(a).</summary>
    public static double Error(int intervals, double scale, double shape)
    {
        double c = C(shape);
        return 27 * (shape - 1) * scale * scale / (Math.Pow(shape - 3, 3) * (intervals + c) * (intervals + c));
    }
}

/// <summary>TUQSGD's relaxed threshold: the minimiser of α²/s² + M(α) (spec §2.3, §3.2(b)).</summary>
public static class RelaxedUniformThreshold
{
    /// <summary>Laplace: α_U* = γ·W(s²), W the principal Lambert W, since (α/γ)e^{α/γ} = s² (spec §2.3).</summary>
    public static double Laplace(int intervals, double scale) =>
        scale * LambertW.Principal((double)intervals * intervals);

    /// <summary>Laplace: J_U* = γ²W(W + 2)/s² with W = W(s²) (spec §2.3).</summary>
    public static double LaplaceError(int intervals, double scale)
    {
        double w = LambertW.Principal((double)intervals * intervals);
        return scale * scale * w * (w + 2) / ((double)intervals * intervals);
    }

    /// <summary>Pareto tail: α_U* = g₀·(s²/(ρ − 2))^{1/(ρ−1)}, valid when it is ≥ g₀, i.e. s² ≥ ρ − 2 (spec §3.2(b)).</summary>
    public static double ParetoTail(int intervals, double scale, double shape) =>
        scale * Math.Pow((double)intervals * intervals / (shape - 2), 1 / (shape - 1));

    /// <summary>Pareto tail: J_U* = (α_U*²/s²)·(ρ − 1)/(ρ − 3) (spec §3.2(b)).</summary>
    public static double ParetoTailError(int intervals, double scale, double shape)
    {
        double alpha = ParetoTail(intervals, scale, shape);
        return alpha * alpha / ((double)intervals * intervals) * (shape - 1) / (shape - 3);
    }
}
