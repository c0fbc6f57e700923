using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>
/// Designs of a scale family from its unit member: design once per (scheme, bits, shape) at scale 1, then multiply.
/// So a training run that fits a new scale to every upload (and every segment of it) designs from scratch only when
/// the scheme, the bit width or the shape is new.
/// </summary>
/// <remarks>
/// <para>Why it is exact (docs/theory.md, "Designs at unit scale"): Laplace(γ) and Lomax(σ, ρ) at fixed ρ are scale
/// families, p_σ(g) = p_1(g/σ)/σ. Every term of the design objective of spec §1.5 — the rounding variance
/// (1/4)∫p/λ_s², Lemma 1's bound Σ P_kΔ_k²/4, the exact Σ∫(l_k − g)(g − l_{k−1})p, the truncation error M(α) — is
/// σ² times its value at scale 1 with α, the levels and β measured in units of σ. So the minimiser scales by σ and the
/// minimum by σ², for the optimal, relaxed and averaged (V/N + M) thresholds alike. A fixed α is not scale-free, and the
/// other schemes either have no fitted levels (fp, the sparsifiers, QSGD/NUQSGD in units of ‖v‖) or a closed form that
/// costs nothing (sign), so they are designed directly.</para>
/// <para>Scaling is one multiplication per level, so it differs from a direct design only by floating rounding and by
/// the grid search of TBQSGD, whose candidates are themselves placed relative to the scale. The codec carries the
/// scaled α in the header and rebuilds it the same way, so encoder and decoder agree bit for bit.</para>
/// <para>The Lomax shape ρ̂ is continuous, so every fit would be a new unit design. <see cref="SnapShape"/> rounds it to
/// a grid of 1 % steps in ln ρ (ρ_k = e^{k·ln 1.01}); the design's loss from a 0.5 % change of ρ̂ is far below the fit's
/// own error (the fast fit's ρ̂ has a standard error of several percent at d = 10⁴).</para>
/// </remarks>
public static class DesignScaling
{
    /// <summary>The grid's step in ln ρ: ln 1.01, so neighbouring grid shapes differ by 1 %.</summary>
    public static readonly double ShapeGridStep = Math.Log(1.01);

    /// <summary>Whether <see cref="Rescale"/> gives <paramref name="spec"/>'s design: the truncating schemes (tuq, tnq, tbq)
    /// with an optimal, relaxed or averaged threshold.</summary>
    public static bool IsScaleEquivariant(QuantizerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec is TruncatedSpec truncated && truncated.Threshold is not FixedThreshold;
    }

    /// <summary>Whether <paramref name="model"/> is a scale family this class can rescale (Laplace, Lomax).</summary>
    public static bool IsScaleFamily(GradientModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model is Laplace or Lomax;
    }

    /// <summary>The member of <paramref name="model"/>'s family with scale 1 (same shape).</summary>
    public static GradientModel UnitScale(GradientModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Scale == 1 ? model : model with { Scale = 1 };
    }

    /// <summary>
    /// ρ on the grid e^{k·<see cref="ShapeGridStep"/>} nearest (in ln ρ) to <paramref name="shape"/>, moved up one step
    /// if that grid point is not above 3 (the Lomax needs ρ &gt; 3 for a finite truncation error).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The shape is not finite or not above 3.</exception>
    public static double SnapShape(double shape)
    {
        Preconditions.CheckGreaterThan(nameof(shape), shape, 3);
        if (!double.IsFinite(shape))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "shape = ∞ is out of range: it must be finite.");
        }
        double k = Math.Round(Math.Log(shape) / ShapeGridStep);
        double snapped = Math.Exp(k * ShapeGridStep);
        return snapped > 3 ? snapped : Math.Exp((k + 1) * ShapeGridStep);
    }

    /// <summary>
    /// The design for <paramref name="model"/> made from <paramref name="unit"/>, the same scheme's design for the unit
    /// member of its family: α, the levels and β times σ; the variances and errors times σ².
    /// </summary>
    /// <param name="unit">The design at scale 1 (<see cref="Quantizers.Design"/>(spec, <see cref="UnitScale"/>(model))).</param>
    /// <param name="model">The model to design for; its family and shape must be the unit design's.</param>
    /// <exception cref="ArgumentException">The scheme is not scale-equivariant, the unit design is not at scale 1, or the
    /// model is of another family or shape.</exception>
    public static QuantizerDesign Rescale(QuantizerDesign unit, GradientModel model)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(model);
        if (!IsScaleEquivariant(unit.Spec))
        {
            throw new ArgumentException($"{unit.Spec} cannot be rescaled: only tuq, tnq and tbq with an optimal, relaxed or averaged threshold are scale-equivariant.", nameof(unit));
        }
        if (unit.Model.Scale != 1 || !IsScaleFamily(model) || !EqualityComparer<GradientModel>.Default.Equals(UnitScale(model), unit.Model))
        {
            throw new ArgumentException($"The unit design is for {unit.Model}; it can be rescaled only to the same family and shape at scale 1, not to {model}.", nameof(model));
        }
        double sigma = model.Scale;
        double squared = sigma * sigma;
        ImmutableArray<double> unitLevels = unit.Levels;
        var levels = ImmutableArray.CreateBuilder<double>(unitLevels.Length);
        foreach (double level in unitLevels)
        {
            levels.Add(level * sigma);
        }
        return new QuantizerDesign(
            unit.Spec,
            model,
            unit.Alpha * sigma,
            levels.MoveToImmutable(),
            unit.LevelUnit,
            unit.RoundingVarianceBound * squared,
            unit.RoundingVariance * squared,
            unit.TruncationMse * squared,
            unit.HighResolutionError * squared,
            unit.Split is { } split ? split with { Beta = split.Beta * sigma } : null,
            unit.Dimension);
    }
}
