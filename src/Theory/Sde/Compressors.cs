namespace Verified.Theory.Sde;

/// <summary>
/// An unbiased ω-compressor (spec §4.1): E_ξ[C_ξ(v)] = v and E‖C_ξ(v) − v‖² ≤ ω‖v‖². The sparsifiers here attain
/// the bound with equality, and their per-coordinate error covariance is ω·diag(v²) (the Bernoulli/rand-k model of
/// spec §4.3).
/// </summary>
/// <remarks>Immutable and thread-safe; randomness is always the caller's <see cref="Random"/>.</remarks>
public abstract record UnbiasedSparsifier
{
    private protected UnbiasedSparsifier()
    {
    }

    /// <summary>ω for vectors of dimension d (spec §4.1).</summary>
    /// <param name="dimension">d. Range: d ≥ 1 (rand-k: d ≥ k).</param>
    public abstract double Omega(int dimension);

    /// <summary>
    /// Writes one draw of C_ξ(v) to <paramref name="output"/>: each kept coordinate is v_j divided by its keep
    /// probability, every other coordinate is 0. <paramref name="output"/> may not overlap <paramref name="vector"/>
    /// except by being the same span.
    /// </summary>
    /// <param name="vector">v.</param>
    /// <param name="output">C_ξ(v). Range: the same length as v.</param>
    /// <param name="random">The source of ξ.</param>
    public abstract void Apply(ReadOnlySpan<float> vector, Span<float> output, Random random);
}

/// <summary>
/// Bernoulli sparsification (spec §4.1): keep each coordinate independently with probability q and scale it by 1/q.
/// ω = 1/q − 1 exactly, whatever d (spec §6 item 21).
/// </summary>
public sealed record BernoulliSparsifier : UnbiasedSparsifier
{
    /// <summary>Creates the sparsifier. Range: 0 &lt; q ≤ 1 (q = 1 is the identity, ω = 0).</summary>
    public BernoulliSparsifier(double keepProbability) => KeepProbability = keepProbability;

    /// <summary>q, the keep probability. Range: 0 &lt; q ≤ 1; validated here and in <c>with</c>.</summary>
    public double KeepProbability
    {
        get;
        init => field = Preconditions.CheckProbability(nameof(KeepProbability), value);
    }

    /// <summary>ω = 1/q − 1 (spec §4.1).</summary>
    public static double OmegaFor(double keepProbability) =>
        (1 / Preconditions.CheckProbability(nameof(keepProbability), keepProbability)) - 1;

    /// <inheritdoc />
    public override double Omega(int dimension)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        return OmegaFor(KeepProbability);
    }

    /// <inheritdoc />
    public override void Apply(ReadOnlySpan<float> vector, Span<float> output, Random random)
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
/// rand-k without replacement (spec §4.1): keep a uniformly random k-subset of the d coordinates, scaled by d/k.
/// ω = d/k − 1 exactly (spec §6 item 21).
/// </summary>
public sealed record RandK : UnbiasedSparsifier
{
    /// <summary>Creates rand-k. Range: 1 ≤ k ≤ d.</summary>
    public RandK(int dimension, int kept)
    {
        Dimension = dimension;
        Kept = kept;
    }

    /// <summary>d. Range: d ≥ 1 and d ≥ k; validated here and in <c>with</c> (set d before k when raising both).</summary>
    public int Dimension
    {
        get;
        init => field = Preconditions.CheckRange(nameof(Dimension), value, Math.Max(1, Kept), int.MaxValue);
    }

    /// <summary>k, the number of coordinates kept. Range: 1 ≤ k ≤ d; validated here and in <c>with</c>.</summary>
    public int Kept
    {
        get;
        init => field = Preconditions.CheckRange(nameof(Kept), value, 1, Dimension);
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
    public override double Omega(int dimension)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, Dimension, Dimension);
        return OmegaFor(Dimension, Kept);
    }

    /// <inheritdoc />
    /// <remarks>Selection sampling (Knuth, TAOCP vol. 2, Algorithm 3.4.2 S): coordinate j is kept with probability
    /// (k − kept so far)/(d − j), which draws every k-subset with probability 1/C(d, k), without allocating.</remarks>
    public override void Apply(ReadOnlySpan<float> vector, Span<float> output, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Preconditions.CheckSameLength(nameof(vector), vector.Length, Dimension);
        Preconditions.CheckSameLength(nameof(output), output.Length, Dimension);
        int d = Dimension;
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
}

/// <summary>ω of compressors that are not sparsifiers.</summary>
public static class CompressorOmega
{
    /// <summary>
    /// QSGD with s levels on d coordinates: ω = min(d/s², √d/s) (Alistarh et al. 2017; spec §4.1 and §6 item 19).
    /// For s = 2^{b−1} − 1 this is <see cref="NormScaled.VarianceBoundFactor"/> of <see cref="Qsgd"/>(b).
    /// </summary>
    /// <param name="dimension">d. Range: d ≥ 1.</param>
    /// <param name="levels">s. Range: s ≥ 1.</param>
    public static double Qsgd(int dimension, int levels)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(levels), levels, 1, int.MaxValue);
        double s = levels;
        return Math.Min(dimension / (s * s), Math.Sqrt(dimension) / s);
    }
}
