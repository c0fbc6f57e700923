using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>What the levels of a design are measured in.</summary>
public enum LevelUnit
{
    /// <summary>Gradient units: a decoded coordinate is the level itself.</summary>
    Gradient,

    /// <summary>Fractions of the vector's ℓ₂ norm (QSGD, NUQSGD): a decoded coordinate is level × ‖v‖₂.</summary>
    Norm,
}

/// <summary>TBQSGD's split of the s cells between its inner region |g| ≤ β and its two outer regions (spec §3.4).</summary>
/// <param name="Beta">β, the edge of the inner region; 0 &lt; β ≤ α.</param>
/// <param name="InnerCells">n_in, cells of width 2β/n_in on [−β, β].</param>
/// <param name="OuterCells">n_out (even), n_out/2 cells of width 2(α − β)/n_out on each side.</param>
public sealed record BiScaledSplit(double Beta, int InnerCells, int OuterCells);

/// <summary>
/// The immutable result of <see cref="Quantizers.Design"/>: threshold, levels, bits and the predicted per-coordinate
/// error split of spec §1.4–§1.5.
/// </summary>
/// <remarks>
/// <para>Error terms are per coordinate, for g drawn from <see cref="Model"/>:</para>
/// <list type="bullet">
/// <item><see cref="RoundingVarianceBound"/>: Lemma 1's Σ_k P_kΔ_k²/4 (QSGD/NUQSGD: their published bound;
/// Bernoulli/rand-k: their exact variance ω·E[g²], spec §4.1).</item>
/// <item><see cref="RoundingVariance"/>: the exact Σ_k ∫_{l_{k−1}}^{l_k} (l_k − g)(g − l_{k−1}) p(g) dg.</item>
/// <item><see cref="TruncationMse"/>: the deterministic part, M(α) = E[(T_α(g) − g)²] (Sign: its bias E[g²] − m²).</item>
/// <item><see cref="Error"/>: J = RoundingVarianceBound + TruncationMse, the "J (discrete bound)" of spec §2.6.</item>
/// <item><see cref="HighResolutionError"/>: (1/4)∫p/λ_s² + M(α), the objective of spec §1.5 that the closed forms
/// minimise; E_TQ of P1 is (d/N) times it.</item>
/// </list>
/// <para>Equality is by content, as for any record, with <see cref="Levels"/> compared element by element
/// (<see cref="ImmutableArray{T}"/> alone compares references): two <see cref="Quantizers.Design"/> calls with equal
/// arguments give equal designs with equal hash codes.</para>
/// </remarks>
public sealed record QuantizerDesign
{
    internal QuantizerDesign(
        QuantizerSpec spec,
        GradientModel model,
        double alpha,
        ImmutableArray<double> levels,
        LevelUnit levelUnit,
        double roundingVarianceBound,
        double roundingVariance,
        double truncationMse,
        double highResolutionError,
        BiScaledSplit? split = null,
        int? dimension = null)
    {
        Spec = spec;
        Model = model;
        Alpha = alpha;
        Levels = levels;
        LevelUnit = levelUnit;
        RoundingVarianceBound = roundingVarianceBound;
        RoundingVariance = roundingVariance;
        TruncationMse = truncationMse;
        HighResolutionError = highResolutionError;
        Split = split;
        Dimension = dimension;
    }

    /// <summary>The scheme this design realises.</summary>
    public QuantizerSpec Spec { get; }

    /// <summary>The gradient model it was designed for.</summary>
    public GradientModel Model { get; }

    /// <summary>The truncation threshold α; +∞ for schemes that do not truncate.</summary>
    public double Alpha { get; }

    /// <summary>
    /// The reconstruction levels, ascending. Truncated schemes: l_0 = −α … l_s = α; sign: ±m. Empty for full precision
    /// and for the sparsifiers, which send values rather than level indices.
    /// </summary>
    public ImmutableArray<double> Levels { get; }

    /// <summary>Whether <see cref="Levels"/> are gradient values or fractions of ‖v‖₂.</summary>
    public LevelUnit LevelUnit { get; }

    /// <summary>The vector length the norm-scaled schemes' errors and rand-k's ω were computed for; <c>null</c> for per-coordinate schemes.</summary>
    public int? Dimension { get; }

    /// <summary>s, the number of intervals between levels (spec §1.3).</summary>
    public int Intervals => Spec.Intervals;

    /// <summary>Bits per coordinate on the wire (spec §1.6; conventions on <see cref="QuantizerSpec"/>).</summary>
    public int BitsPerCoordinate => Spec.BitsPerCoordinate;

    /// <summary>Lemma 1's bound Σ_k P_kΔ_k²/4 (QSGD/NUQSGD: the published bound per coordinate).</summary>
    public double RoundingVarianceBound { get; }

    /// <summary>The exact expected rounding variance per coordinate.</summary>
    public double RoundingVariance { get; }

    /// <summary>M(α), the truncation error per coordinate (Sign: its bias).</summary>
    public double TruncationMse { get; }

    /// <summary>J = <see cref="RoundingVarianceBound"/> + <see cref="TruncationMse"/>.</summary>
    public double Error => RoundingVarianceBound + TruncationMse;

    /// <summary>The high-resolution objective (1/4)∫_{−α}^{α} p/λ_s² + M(α) of spec §1.5.</summary>
    public double HighResolutionError { get; }

    /// <summary>TBQSGD's region split; <c>null</c> for other schemes.</summary>
    public BiScaledSplit? Split { get; }

    /// <summary>E_TQ = (d/N)·J, the quantizer's term of Theorem 1 (spec §2.4), with J = <see cref="Error"/>.</summary>
    /// <param name="dimension">d, coordinates per upload. Range: d ≥ 1.</param>
    /// <param name="clients">N, clients averaged per round. Range: N ≥ 1.</param>
    public double ConvergenceError(int dimension, int clients) =>
        CheckedRatio(dimension, clients) * Error;

    /// <summary>
    /// E_TQ in P1's high-resolution form, (d/N)·[(1/4)∫p/λ_s² + M(α)]; at TNQSGD's optimum on Laplace(γ) it equals
    /// 27dγ²/(N(s + 3√6/2)²) (spec §2.2).
    /// </summary>
    /// <param name="dimension">d, coordinates per upload. Range: d ≥ 1.</param>
    /// <param name="clients">N, clients averaged per round. Range: N ≥ 1.</param>
    public double HighResolutionConvergenceError(int dimension, int clients) =>
        CheckedRatio(dimension, clients) * HighResolutionError;

    /// <summary>Whether every member is equal, <see cref="Levels"/> element by element (doubles as <see cref="double.Equals(double)"/>).</summary>
    public bool Equals(QuantizerDesign? other) =>
        ReferenceEquals(this, other)
        || (other is not null
            && EqualityComparer<QuantizerSpec>.Default.Equals(Spec, other.Spec)
            && EqualityComparer<GradientModel>.Default.Equals(Model, other.Model)
            && Alpha.Equals(other.Alpha)
            && Levels.AsSpan().SequenceEqual(other.Levels.AsSpan())
            && LevelUnit == other.LevelUnit
            && RoundingVarianceBound.Equals(other.RoundingVarianceBound)
            && RoundingVariance.Equals(other.RoundingVariance)
            && TruncationMse.Equals(other.TruncationMse)
            && HighResolutionError.Equals(other.HighResolutionError)
            && EqualityComparer<BiScaledSplit?>.Default.Equals(Split, other.Split)
            && Dimension == other.Dimension);

    /// <summary>A hash of every member, <see cref="Levels"/> by content, consistent with <see cref="Equals(QuantizerDesign?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.Add(Spec);
        hash.Add(Model);
        hash.Add(Alpha);
        foreach (double level in Levels.AsSpan())
        {
            hash.Add(level);
        }
        hash.Add(LevelUnit);
        hash.Add(RoundingVarianceBound);
        hash.Add(RoundingVariance);
        hash.Add(TruncationMse);
        hash.Add(HighResolutionError);
        hash.Add(Split);
        hash.Add(Dimension);
        return hash.ToHashCode();
    }

    private static double CheckedRatio(int dimension, int clients)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(clients), clients, 1, int.MaxValue);
        return (double)dimension / clients;
    }
}
