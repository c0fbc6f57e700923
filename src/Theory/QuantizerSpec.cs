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

    /// <summary>
    /// Minimise the error of the server's average of N uploads rather than of one upload: rounding variance / N plus
    /// the truncation MSE, which averaging does not shrink when the clients' gradients agree (docs/theory.md, "A
    /// threshold for the average"). A departure from the papers, whose objective is one client's (N = 1 gives the
    /// <see cref="Optimal"/> threshold). Range: N ≥ 1.
    /// </summary>
    public static Threshold Averaged(int clients) => new AveragedThreshold(clients);
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

/// <summary>See <see cref="Threshold.Averaged"/>.</summary>
public sealed record AveragedThreshold : Threshold
{
    /// <summary>Creates the threshold for the average of N uploads. Range: N ≥ 1.</summary>
    public AveragedThreshold(int clients) => Clients = clients;

    /// <summary>N, the uploads the server averages. Range: N ≥ 1.</summary>
    public int Clients { get; init => field = Preconditions.CheckRange(nameof(Clients), value, 1, int.MaxValue); }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"averaged({Clients})");
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
/// <item><term>Sign</term><description>1 bit per coordinate, plus one float32 magnitude per vector (m = E|g|, or 1
/// for the unit sign <c>usign</c>).</description></item>
/// <item><term>Bernoulli, rand-k</term><description>a d-bit keep bitmap plus one float32 per kept coordinate: 33 bits
/// at worst, 1 + 32q (Bernoulli) or 1 + 32k/d (rand-k) on average.</description></item>
/// <item><term>FullPrecision</term><description>32 bits (float32) per coordinate.</description></item>
/// </list>
/// </remarks>
public abstract record QuantizerSpec
{
    /// <summary>Largest bit width any quantizing scheme accepts (<see cref="Schemes.MaxBits"/>).</summary>
    public const int MaxBits = Schemes.MaxBits;

    private protected QuantizerSpec()
    {
    }

    /// <summary>The scheme's row in the vocabulary (<see cref="Schemes"/>): its name, syntax and bit range.</summary>
    public abstract SchemeDefinition Definition { get; }

    /// <summary>The scheme's short name on the command line, in JSON and in labels (<see cref="SchemeDefinition.Name"/>).</summary>
    public string Name => Definition.Name;

    /// <summary>
    /// The one label of a spec, for tables, plots, file names and run labels: <c>tnq-3</c>, <c>fp</c>, <c>sign</c>,
    /// <c>usign</c>, <c>bernoulli-0.1</c>, <c>randk-1000</c> (no ':', so it can name a file).
    /// </summary>
    public virtual string Label => Definition.TakesBits ? FormattableString.Invariant($"{Name}-{BitsPerCoordinate}") : Name;

    /// <summary>Whether <see cref="Quantizers.Design"/> needs the dimension d (QSGD/NUQSGD's error, rand-k's ω = d/k − 1).</summary>
    public virtual bool DesignNeedsDimension => false;

    /// <summary>Bits per coordinate on the wire, not counting per-vector header fields.</summary>
    public abstract int BitsPerCoordinate { get; }

    /// <summary>The number of intervals s between adjacent levels (0 for schemes without levels).</summary>
    public abstract int Intervals { get; }
}

/// <summary>No compression: float32 per coordinate. The reference every scheme is compared with.</summary>
public sealed record FullPrecision : QuantizerSpec
{
    /// <inheritdoc />
    public override SchemeDefinition Definition => Schemes.FullPrecision;

    /// <inheritdoc />
    public override int BitsPerCoordinate => 32;

    /// <inheritdoc />
    public override int Intervals => 0;
}

/// <summary>The magnitude a <see cref="Sign"/> payload decodes to.</summary>
public enum SignMagnitude
{
    /// <summary>m = E|g| of the model: the magnitude that minimises E[(m·sign(g) − g)²] (the default).</summary>
    MeanAbsolute,

    /// <summary>m = 1 whatever the model: the unit signs that DSignSGD averages (spec §4.1). CLI name <c>usign</c>.</summary>
    Unit,
}

/// <summary>Sign compression: 1 bit per coordinate, decoded as ±m (spec §4.1).</summary>
/// <remarks>
/// <para>With <see cref="SignMagnitude.MeanAbsolute"/>, m = E|g| is the magnitude that minimises E[(m·sign(g) − g)²];
/// the resulting error E[g²] − m² is deterministic (a bias), not a rounding variance. With
/// <see cref="SignMagnitude.Unit"/>, m = 1: DSignSGD of spec §4.1, whose server averages unit signs; its error is
/// E[(sign(g) − g)²] = 1 − 2E|g| + E[g²]. Both send the same payload, with m in its scale field.</para>
/// </remarks>
public sealed record Sign : QuantizerSpec
{
    /// <summary>How m is chosen; <see cref="SignMagnitude.MeanAbsolute"/> unless set. Validated in <c>init</c>.</summary>
    public SignMagnitude Magnitude
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(Magnitude), value, $"Magnitude = {value} is out of range: it must be MeanAbsolute or Unit.");
            }
            field = value;
        }
    }

    /// <inheritdoc />
    public override SchemeDefinition Definition => Magnitude == SignMagnitude.Unit ? Schemes.UnitSign : Schemes.Sign;

    /// <inheritdoc />
    public override int BitsPerCoordinate => 1;

    /// <inheritdoc />
    public override int Intervals => 1;
}

/// <summary>
/// The unbiased sparsifiers of spec §4.1 in the codec: a kept coordinate is sent as g_j divided by its keep
/// probability, every other coordinate decodes to 0, so E[C(g)] = g and E‖C(g) − g‖² = ω‖g‖².
/// </summary>
/// <remarks>
/// <para>They have no levels and no threshold: their design's error is the variance ω·E[g²] per coordinate
/// (<see cref="Quantizers.Design"/>). <see cref="Compress"/> is the reference implementation with a caller's
/// <see cref="Random"/> (the SDE test bed's DCSGD); the codec draws with its counter-based key (SparseCodec).</para>
/// <para>Wire bits: a d-bit keep bitmap plus a float32 per kept coordinate, so <see cref="BitsPerCoordinate"/> is the
/// worst case 33; <see cref="ExpectedBitsPerCoordinate"/> is the mean.</para>
/// </remarks>
public abstract record SparsifierSpec : QuantizerSpec
{
    private protected SparsifierSpec()
    {
    }

    /// <summary>33: one bitmap bit and, at worst, a float32 value per coordinate.</summary>
    public override int BitsPerCoordinate => 33;

    /// <inheritdoc />
    public override int Intervals => 0;

    /// <summary>ω for vectors of dimension d: E‖C(v) − v‖² = ω‖v‖² (spec §4.1, §6 item 21).</summary>
    /// <param name="dimension">d. Range: d ≥ 1 (rand-k: d ≥ k).</param>
    public abstract double Omega(int dimension);

    /// <summary>Expected wire bits per coordinate without the header: 1 + 32·(expected kept fraction).</summary>
    /// <param name="dimension">d. Range: d ≥ 1 (rand-k: d ≥ k).</param>
    public double ExpectedBitsPerCoordinate(int dimension) => 1 + (32 / (Omega(dimension) + 1));

    /// <summary>
    /// Writes one draw of C_ξ(v) to <paramref name="output"/> (spec §4.1): each kept coordinate is v_j divided by its
    /// keep probability, every other coordinate is 0. <paramref name="output"/> may not overlap
    /// <paramref name="vector"/> except by being the same span. Thread-safe: the only state is the caller's
    /// <paramref name="random"/>.
    /// </summary>
    /// <param name="vector">v; its length is d (rand-k: d ≥ k).</param>
    /// <param name="output">C_ξ(v). Range: the same length as v.</param>
    /// <param name="random">The source of ξ, one <see cref="Random.NextDouble"/> per coordinate.</param>
    public abstract void Compress(ReadOnlySpan<float> vector, Span<float> output, Random random);
}

/// <summary>
/// Bernoulli sparsification (spec §4.1): keep each coordinate independently with probability q, scaled by 1/q;
/// ω = 1/q − 1 exactly (spec §6 item 21). CLI syntax <c>bernoulli:Q</c>.
/// </summary>
public sealed record BernoulliSparsification : SparsifierSpec
{
    /// <summary>Creates the sparsifier. Range: 0 &lt; q ≤ 1 (q = 1 sends every coordinate).</summary>
    public BernoulliSparsification(double keepProbability) => KeepProbability = keepProbability;

    /// <summary>q, the keep probability. Range: 0 &lt; q ≤ 1; validated here and in <c>with</c>.</summary>
    /// <remarks>The codec realises q rounded to a multiple of 2^−24 (docs/wire-format.md); the header carries that q.</remarks>
    public double KeepProbability
    {
        get;
        init
        {
            if (!IsValidKeepProbability(value))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(KeepProbability), value, FormattableString.Invariant($"KeepProbability = {value} is out of range: it must be a number in (0, 1]."));
            }
            field = value;
        }
    }

    /// <summary>Whether q is a keep probability: 0 &lt; q ≤ 1.</summary>
    public static bool IsValidKeepProbability(double keepProbability) => keepProbability > 0 && keepProbability <= 1;

    /// <inheritdoc />
    public override SchemeDefinition Definition => Schemes.Bernoulli;

    /// <inheritdoc />
    public override string Label => FormattableString.Invariant($"bernoulli-{KeepProbability}");

    /// <summary>ω = 1/q − 1, whatever d.</summary>
    public override double Omega(int dimension)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        return OmegaFor(KeepProbability);
    }

    /// <summary>ω = 1/q − 1 (spec §4.1).</summary>
    /// <param name="keepProbability">q. Range: 0 &lt; q ≤ 1.</param>
    public static double OmegaFor(double keepProbability) =>
        (1 / Preconditions.CheckProbability(nameof(keepProbability), keepProbability)) - 1;

    /// <inheritdoc />
    public override void Compress(ReadOnlySpan<float> vector, Span<float> output, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Preconditions.CheckSameLength(nameof(output), output.Length, vector.Length);
        double q = KeepProbability;
        float scale = (float)(1 / q);
        for (int j = 0; j < vector.Length; j++)
        {
            output[j] = random.NextDouble() < q ? vector[j] * scale : 0f;
        }
    }
}

/// <summary>
/// rand-k without replacement (spec §4.1): keep a uniformly random k-subset of the d coordinates, scaled by d/k;
/// ω = d/k − 1 exactly (spec §6 item 21). CLI syntax <c>randk:K</c>. k ≤ d is checked where d is known (design, encode).
/// </summary>
public sealed record RandKSparsification : SparsifierSpec
{
    /// <summary>Creates rand-k. Range: k ≥ 1 (and k ≤ d at design and encode).</summary>
    public RandKSparsification(int kept) => Kept = kept;

    /// <summary>k, the coordinates kept per vector. Range: k ≥ 1; validated here and in <c>with</c>.</summary>
    public int Kept { get; init => field = Preconditions.CheckRange(nameof(Kept), value, 1, int.MaxValue); }

    /// <inheritdoc />
    public override SchemeDefinition Definition => Schemes.RandK;

    /// <inheritdoc />
    public override string Label => FormattableString.Invariant($"randk-{Kept}");

    /// <inheritdoc />
    public override bool DesignNeedsDimension => true;

    /// <summary>ω = d/k − 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">d &lt; k: rand-k cannot keep more coordinates than there are.</exception>
    public override double Omega(int dimension)
    {
        CheckDimension(dimension);
        return OmegaFor(dimension, Kept);
    }

    /// <summary>ω = d/k − 1 (spec §4.1).</summary>
    /// <param name="dimension">d. Range: d ≥ 1.</param>
    /// <param name="kept">k. Range: 1 ≤ k ≤ d.</param>
    public static double OmegaFor(int dimension, int kept)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(kept), kept, 1, dimension);
        return ((double)dimension / kept) - 1;
    }

    /// <inheritdoc />
    /// <remarks>Selection sampling (Knuth, TAOCP vol. 2, Algorithm 3.4.2 S): coordinate j is kept with probability
    /// (k − kept so far)/(d − j), which draws every k-subset with probability 1/C(d, k), without allocating.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">d &lt; k, or the output's length is not d.</exception>
    public override void Compress(ReadOnlySpan<float> vector, Span<float> output, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int d = CheckDimension(vector.Length);
        Preconditions.CheckSameLength(nameof(output), output.Length, d);
        int remaining = Kept;
        float scale = (float)((double)d / Kept);
        for (int j = 0; j < d; j++)
        {
            bool keep = remaining > 0 && random.NextDouble() * (d - j) < remaining;
            if (keep)
            {
                remaining--;
            }
            output[j] = keep ? vector[j] * scale : 0f;
        }
    }

    /// <summary>Checks k ≤ d with a message naming both.</summary>
    /// <exception cref="ArgumentOutOfRangeException">d &lt; k or d &lt; 1.</exception>
    public int CheckDimension(int dimension)
    {
        if (dimension < Kept)
        {
            throw new ArgumentOutOfRangeException(
                nameof(dimension), dimension, FormattableString.Invariant($"randk:{Kept} keeps k = {Kept} coordinates, but the vector has d = {dimension}: k must be at most d."));
        }
        return dimension;
    }
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

    /// <inheritdoc />
    public override bool DesignNeedsDimension => true;
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
    public override SchemeDefinition Definition => Schemes.Qsgd;
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
    public override SchemeDefinition Definition => Schemes.Nuqsgd;
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
                    $"The relaxed threshold is TUQSGD's (α = γ·W(s²)); {Name} takes the optimal or a fixed threshold.",
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
    public override SchemeDefinition Definition => Schemes.TruncatedUniform;
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
    public override SchemeDefinition Definition => Schemes.TruncatedNonUniform;
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
    public override SchemeDefinition Definition => Schemes.TruncatedBiScaled;
}
