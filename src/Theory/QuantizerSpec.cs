using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>How a truncated scheme picks its threshold α.</summary>
public abstract record Threshold
{
    private protected Threshold()
    {
    }

    /// <summary>
    /// Minimise the scheme's own error objective: the closed form where the spec derives one (TNQSGD on Laplace,
    /// spec §2.2; on Lomax, §3.2(a)), the generic numeric minimiser of §1.5 otherwise.
    /// </summary>
    public static Threshold Optimal { get; } = new OptimalThreshold();

    /// <summary>
    /// TUQSGD only: minimise the relaxed objective α²/s² + M(α) that bounds P(|g| ≤ α) by 1 (spec §2.3, §3.2(b)).
    /// Closed form α = γ·W(s²) (Lambert W) on Laplace and g₀(s²/(ρ − 2))^{1/(ρ−1)} on the Pareto tail.
    /// </summary>
    public static Threshold Relaxed { get; } = new RelaxedThreshold();

    /// <summary>A threshold chosen by the caller. Range: α &gt; 0.</summary>
    public static Threshold Fixed(double alpha) => new FixedThreshold(alpha);
}

/// <summary>See <see cref="Threshold.Optimal"/>.</summary>
public sealed record OptimalThreshold : Threshold
{
    internal OptimalThreshold()
    {
    }

    /// <inheritdoc />
    public override string ToString() => "optimal";
}

/// <summary>See <see cref="Threshold.Relaxed"/>.</summary>
public sealed record RelaxedThreshold : Threshold
{
    internal RelaxedThreshold()
    {
    }

    /// <inheritdoc />
    public override string ToString() => "relaxed";
}

/// <summary>See <see cref="Threshold.Fixed"/>.</summary>
public sealed record FixedThreshold : Threshold
{
    /// <summary>Creates a fixed threshold. Range: α &gt; 0.</summary>
    public FixedThreshold(double alpha) => Alpha = alpha;

    /// <summary>α. Range: α &gt; 0.</summary>
    public double Alpha { get; init => field = Preconditions.CheckPositive(nameof(Alpha), value); }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"fixed({Alpha})");
}

/// <summary>
/// What a client does to each coordinate before upload: one case per scheme of the three papers.
/// Validated in the constructor and in every <c>init</c> accessor, so <c>spec with { Bits = 0 }</c> throws.
/// </summary>
/// <remarks>
/// <para>Bits conventions, one per scheme (spec §1.6, §1.7):</para>
/// <list type="table">
/// <item><term>TUQSGD, TNQSGD, TBQSGD</term><description>b bits carry an index 0..s with s = 2^b − 1 intervals and
/// 2^b levels on [−α, α]; no sign bit (the levels are symmetric). Range: 1 ≤ b ≤ 8.</description></item>
/// <item><term>QSGD, NUQSGD</term><description>one sign bit plus b − 1 bits for a level index 0..s with
/// s = 2^{b−1} − 1, so b ≥ 2; plus one float32 norm per vector. Range: 2 ≤ b ≤ 8.</description></item>
/// <item><term>Sign</term><description>1 bit per coordinate, plus one float32 magnitude per vector.</description></item>
/// <item><term>FullPrecision</term><description>32 bits (float32) per coordinate.</description></item>
/// </list>
/// </remarks>
public abstract record QuantizerSpec
{
    /// <summary>Largest bit width any quantizing scheme accepts.</summary>
    public const int MaxBits = 8;

    /// <summary>Every scheme's <see cref="Name"/>, in the order the papers introduce them.</summary>
    public static ImmutableArray<string> SchemeNames { get; } = ["fp", "qsgd", "nuqsgd", "tuq", "tnq", "tbq", "sign"];

    /// <summary>
    /// The spec named <paramref name="scheme"/> (one of <see cref="SchemeNames"/>) at <paramref name="bits"/> bits per
    /// coordinate; fp and sign ignore the bits. Truncated schemes take <paramref name="threshold"/> (default optimal).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown scheme, bits out of the scheme's range, or a threshold the scheme
    /// does not support; the message names the argument and its allowed values.</exception>
    public static QuantizerSpec Create(string scheme, int bits, Threshold? threshold = null)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        threshold ??= Threshold.Optimal;
        if (threshold is not OptimalThreshold && scheme is not ("tuq" or "tnq" or "tbq"))
        {
            throw new ArgumentException($"The {scheme} scheme does not truncate, so it takes no threshold.", nameof(threshold));
        }
        return scheme switch
        {
            "fp" => new FullPrecision(),
            "sign" => new Sign(),
            "qsgd" => new Qsgd(bits),
            "nuqsgd" => new Nuqsgd(bits),
            "tuq" => new TruncatedUniform(bits, threshold),
            "tnq" => new TruncatedNonUniform(bits, threshold),
            "tbq" => new TruncatedBiScaled(bits, threshold),
            _ => throw new ArgumentException($"Unknown scheme '{scheme}': use one of {string.Join(", ", SchemeNames)}.", nameof(scheme)),
        };
    }

    private protected QuantizerSpec()
    {
    }

    /// <summary>The scheme's short name on the command line and in JSON (fp, qsgd, nuqsgd, tuq, tnq, tbq, sign).</summary>
    public abstract string Name { get; }

    /// <summary>Bits per coordinate on the wire, not counting per-vector header fields.</summary>
    public abstract int BitsPerCoordinate { get; }

    /// <summary>The number of intervals s between adjacent levels (0 for schemes without levels).</summary>
    public abstract int Intervals { get; }
}

/// <summary>No compression: float32 per coordinate. The reference every scheme is compared with.</summary>
public sealed record FullPrecision : QuantizerSpec
{
    /// <inheritdoc />
    public override string Name => "fp";

    /// <inheritdoc />
    public override int BitsPerCoordinate => 32;

    /// <inheritdoc />
    public override int Intervals => 0;
}

/// <summary>Sign compression: 1 bit per coordinate, decoded as ±m with m the model's E|g| (spec §4.1).</summary>
/// <remarks>
/// m = E|g| is the magnitude that minimises E[(m·sign(g) − g)²]; the resulting error E[g²] − m² is deterministic
/// (a bias), not a rounding variance. DSignSGD of spec §4.1 averages unit signs; that is the same payload with m = 1.
/// </remarks>
public sealed record Sign : QuantizerSpec
{
    /// <inheritdoc />
    public override string Name => "sign";

    /// <inheritdoc />
    public override int BitsPerCoordinate => 1;

    /// <inheritdoc />
    public override int Intervals => 1;
}

/// <summary>The norm-scaled baselines (spec §1.7): a sign bit and a level index relative to ‖v‖₂.</summary>
public abstract record NormScaledSpec : QuantizerSpec
{
    private protected NormScaledSpec(int bits) => Bits = bits;

    /// <summary>b: one sign bit plus b − 1 level bits. Range: 2 ≤ b ≤ 8.</summary>
    public int Bits { get; init => field = Preconditions.CheckRange(nameof(Bits), value, 2, MaxBits); }

    /// <inheritdoc />
    public override int BitsPerCoordinate => Bits;

    /// <summary>s = 2^{b−1} − 1, so the level index 0..s fits in b − 1 bits.</summary>
    public override int Intervals => (1 << (Bits - 1)) - 1;
}

/// <summary>QSGD (Alistarh et al. 2017): levels {0, 1/s, …, 1}·‖v‖₂, stochastic rounding of |v_i|/‖v‖₂.</summary>
public sealed record Qsgd : NormScaledSpec
{
    /// <summary>Creates QSGD with b bits per coordinate (sign + b − 1 level bits). Range: 2 ≤ b ≤ 8.</summary>
    public Qsgd(int bits)
        : base(bits)
    {
    }

    /// <inheritdoc />
    public override string Name => "qsgd";
}

/// <summary>NUQSGD (Ramezani-Kebrya et al. 2021): exponential levels {0, 2^{1−s}, …, 1/2, 1}·‖v‖₂ (spec §1.7).</summary>
public sealed record Nuqsgd : NormScaledSpec
{
    /// <summary>Creates NUQSGD with b bits per coordinate (sign + b − 1 level bits). Range: 2 ≤ b ≤ 8.</summary>
    public Nuqsgd(int bits)
        : base(bits)
    {
    }

    /// <inheritdoc />
    public override string Name => "nuqsgd";
}

/// <summary>The truncated schemes of P1/P2: clamp to [−α, α], then stochastic rounding to s + 1 = 2^b levels.</summary>
public abstract record TruncatedSpec : QuantizerSpec
{
    private protected TruncatedSpec(int bits, Threshold? threshold)
    {
        Bits = bits;
        Threshold = threshold ?? Threshold.Optimal;
    }

    /// <summary>b bits per coordinate, an index 0..s with s = 2^b − 1 (spec §1.6). Range: 1 ≤ b ≤ 8.</summary>
    public int Bits { get; init => field = Preconditions.CheckRange(nameof(Bits), value, 1, MaxBits); }

    /// <summary>How α is chosen.</summary>
    public Threshold Threshold
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value is RelaxedThreshold && this is not TruncatedUniform)
            {
                throw new ArgumentException(
                    $"The relaxed threshold is TUQSGD's (spec §2.3); {Name} takes the optimal or a fixed threshold.",
                    nameof(Threshold));
            }
            field = value;
        }
    }

    /// <inheritdoc />
    public override int BitsPerCoordinate => Bits;

    /// <summary>s = 2^b − 1.</summary>
    public override int Intervals => (1 << Bits) - 1;
}

/// <summary>TUQSGD: truncation, then uniform levels l_k = −α + 2αk/s (spec §1.7, §2.3).</summary>
public sealed record TruncatedUniform : TruncatedSpec
{
    /// <summary>Creates TUQSGD. Range: 1 ≤ b ≤ 8; threshold defaults to <see cref="Threshold.Optimal"/>.</summary>
    public TruncatedUniform(int bits, Threshold? threshold = null)
        : base(bits, threshold)
    {
    }

    /// <inheritdoc />
    public override string Name => "tuq";
}

/// <summary>TNQSGD: truncation, then levels from the density λ_s ∝ p^{1/3} (spec §1.5, §2.2).</summary>
public sealed record TruncatedNonUniform : TruncatedSpec
{
    /// <summary>Creates TNQSGD. Range: 1 ≤ b ≤ 8; threshold defaults to <see cref="Threshold.Optimal"/>.</summary>
    public TruncatedNonUniform(int bits, Threshold? threshold = null)
        : base(bits, threshold)
    {
    }

    /// <inheritdoc />
    public override string Name => "tnq";
}

/// <summary>TBQSGD: truncation, then two uniform regions, |g| ≤ β and β &lt; |g| ≤ α (spec §3.4).</summary>
public sealed record TruncatedBiScaled : TruncatedSpec
{
    /// <summary>Creates TBQSGD. Range: 1 ≤ b ≤ 8; threshold defaults to <see cref="Threshold.Optimal"/>.</summary>
    public TruncatedBiScaled(int bits, Threshold? threshold = null)
        : base(bits, threshold)
    {
    }

    /// <inheritdoc />
    public override string Name => "tbq";
}
