namespace Verified.Theory.Sampling;

/// <summary>
/// Laplace(0, γ) draws by inversion (the gradient model of P1, spec §2.1): F⁻¹(p) = −γ·sgn(p − ½)·ln(1 − 2|p − ½|),
/// i.e. a sign times γ·Exp(1) with Exp(1) = −ln(1 − v) for v uniform on [0, 1). The one Laplace sampler of the
/// repository: the SDE test bed, the <c>verified bench</c> vectors, the codec's test and benchmark vectors all draw here.
/// </summary>
/// <remarks>
/// <para>Never ±∞: the uniform at the edge (v = 1, i.e. p = 0 for <see cref="FromUniform"/>) would give ln 0. There
/// 1 − v is raised to 2⁻⁵³, half the step of the 53-bit grid of <see cref="Random.NextDouble"/>, so the draw is
/// −γ·ln 2⁻⁵³ ≈ 36.7γ: the atom of the grid's edge cell stands for that cell. Every other uniform of a 53-bit (or
/// coarser) grid has 1 − v ≥ 2⁻⁵², so its draw is bit for bit what the plain inversion gives: documented vectors and
/// tables made with the plain formula do not change.</para>
/// <para>Pure: the randomness is the caller's uniform, <see cref="Random"/> or seed.</para>
/// </remarks>
public static class LaplaceSampler
{
    /// <summary>2⁻⁵³: the floor of 1 − v, so that ln(1 − v) is finite.</summary>
    private const double SmallestComplement = 1.0 / (1UL << 53);

    /// <summary>
    /// The draw for a magnitude uniform <paramref name="magnitudeUniform"/> and a sign: ±(−γ·ln(1 − v)).
    /// </summary>
    /// <param name="magnitudeUniform">v. Range: [0, 1]; v = 1 gives the largest finite magnitude, ≈ 36.7γ.</param>
    /// <param name="negative">Whether the draw is negative.</param>
    /// <param name="scale">γ. Range: γ &gt; 0, finite (not checked: this is a per-coordinate hot path).</param>
    public static double FromUniforms(double magnitudeUniform, bool negative, double scale)
    {
        double magnitude = -scale * Math.Log(Math.Max(1 - magnitudeUniform, SmallestComplement));
        // Negation is exact, so −(−γ·L) equals the inversion's γ·L bit for bit on the negative side.
        return negative ? -magnitude : magnitude;
    }

    /// <summary>
    /// F⁻¹(p) for one uniform p: u = p − ½ gives the sign and 2|u| the magnitude's uniform.
    /// </summary>
    /// <param name="uniform">p. Range: [0, 1), as <see cref="Random.NextDouble"/>; p = 0 gives ≈ −36.7γ, not −∞.</param>
    /// <param name="scale">γ. Range: γ &gt; 0, finite.</param>
    public static double FromUniform(double uniform, double scale)
    {
        double u = uniform - 0.5;
        return FromUniforms(2 * Math.Abs(u), u < 0, scale);
    }

    /// <summary>One draw from <paramref name="random"/> (one <see cref="Random.NextDouble"/>).</summary>
    /// <param name="random">The source of the uniform.</param>
    /// <param name="scale">γ. Range: γ &gt; 0, finite.</param>
    public static double Next(Random random, double scale)
    {
        ArgumentNullException.ThrowIfNull(random);
        return FromUniform(random.NextDouble(), scale);
    }

    /// <summary>
    /// <paramref name="length"/> float32 draws from <c>new Random(seed)</c>, one <see cref="Random.NextDouble"/> each:
    /// the deterministic test and benchmark vectors.
    /// </summary>
    /// <param name="length">d. Range: d ≥ 0.</param>
    /// <param name="scale">γ. Range: γ &gt; 0, finite.</param>
    /// <param name="seed">The seed of the <see cref="Random"/> (its seeded algorithm is fixed across .NET versions).</param>
    public static float[] Vector(int length, double scale, int seed)
    {
        Preconditions.CheckRange(nameof(length), length, 0, int.MaxValue);
        Preconditions.CheckPositive(nameof(scale), scale);
        var random = new Random(seed);
        var values = new float[length];
        for (int j = 0; j < values.Length; j++)
        {
            values[j] = (float)FromUniform(random.NextDouble(), scale);
        }
        return values;
    }
}
