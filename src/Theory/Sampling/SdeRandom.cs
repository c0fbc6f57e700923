namespace Verified.Theory.Sampling;

/// <summary>
/// xoshiro256** (Blackman and Vigna 2018) seeded through SplitMix64, as a <see cref="Random"/> so that Theory's
/// sparsifiers (<c>SparsifierSpec.Compress(…, Random)</c>) draw from it, plus the fast samplers the test bed needs:
/// Gaussian (Marsaglia polar), gamma (Marsaglia–Tsang) and Student-t = Z/√(χ²_ν/ν).
/// </summary>
/// <remarks>
/// Not thread-safe: one instance per replica. <see cref="ForStream"/> derives independent generators from
/// (seed, stream), so a result never depends on how replicas are spread over threads. The state is never all zero
/// because SplitMix64 is a bijection of a counter.
/// </remarks>
public sealed class SdeRandom : Random
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;
    private double _spareGaussian;
    private bool _hasSpare;

    /// <summary>A generator for <paramref name="seed"/>.</summary>
    public SdeRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The generator of stream <paramref name="stream"/> under <paramref name="seed"/> (e.g. one per replica).</summary>
    public static SdeRandom ForStream(ulong seed, ulong stream)
    {
        ulong x = seed ^ unchecked(stream * 0xD1B54A32D192ED03UL);
        return new SdeRandom(SplitMix64(ref x) ^ unchecked(stream + 0x9E3779B97F4A7C15UL));
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        unchecked
        {
            ulong result = RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = RotateLeft(_s3, 45);
            return result;
        }
    }

    /// <summary>One Laplace(0, <paramref name="scale"/>) draw (variance 2·scale²): a random sign times scale·Exp(1), by inversion.</summary>
    public double NextLaplace(double scale)
    {
        ulong bits = NextUInt64();
        // The magnitude's uniform is the 53-bit grid of [0, 1); bit 0 (not among those 53) gives the sign.
        return LaplaceSampler.FromUniforms((bits >> 11) * (1.0 / (1UL << 53)), (bits & 1) != 0, scale);
    }

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <inheritdoc />
    protected override double Sample() => NextDouble();

    /// <inheritdoc />
    public override int Next() => (int)(NextUInt64() >> 33);

    /// <inheritdoc />
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)(NextDouble() * maxValue);
    }

    /// <inheritdoc />
    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return minValue + (int)(NextDouble() * ((long)maxValue - minValue));
    }

    /// <inheritdoc />
    public override long NextInt64() => (long)(NextUInt64() >> 1);

    /// <inheritdoc />
    public override float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <inheritdoc />
    public override void NextBytes(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (byte)(NextUInt64() >> 56);
        }
    }

    /// <inheritdoc />
    public override void NextBytes(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        NextBytes(buffer.AsSpan());
    }

    /// <summary>Uniform on the open interval (−1, 1): the 53-bit grid shifted by half a step, so never 0 or ±1.</summary>
    public double NextSymmetricUniform() => (((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 52))) - 1;

    // Two polar Gaussian samplers on purpose. NextGaussian (on NextDouble, keeping the spare of each pair) is the one the
    // SDE test bed's Euler–Maruyama paths and gamma draws were tabulated with (docs/sde.md); NextGaussianPair (on the
    // open-interval NextSymmetricUniform, no spare state) is the one the MNIST noise (GradientNoise) was recorded with.
    // They consume the generator differently, so merging them would change every documented draw of one or the other.
    /// <summary>A standard normal draw (Marsaglia polar method; the second value of each pair is kept).</summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareGaussian;
        }
        double u, v, s;
        do
        {
            u = (2 * NextDouble()) - 1;
            v = (2 * NextDouble()) - 1;
            s = (u * u) + (v * v);
        }
        while (s >= 1 || s == 0);
        double factor = Math.Sqrt(-2 * Math.Log(s) / s);
        _spareGaussian = v * factor;
        _hasSpare = true;
        return u * factor;
    }

    /// <summary>Two independent standard normals (Marsaglia's polar method on <see cref="NextSymmetricUniform"/>).</summary>
    public (double First, double Second) NextGaussianPair()
    {
        while (true)
        {
            double u = NextSymmetricUniform();
            double v = NextSymmetricUniform();
            double w = (u * u) + (v * v);
            if (w < 1)
            {
                double factor = Math.Sqrt(-2 * Math.Log(w) / w);
                return (u * factor, v * factor);
            }
        }
    }

    /// <summary>
    /// One standard Student-t_ν draw by Bailey's polar method (Bailey 1994, Math. Comp. 62): with (U, V) uniform in
    /// the unit disc and W = U² + V², T = U·√(ν(W^{−2/ν} − 1)/W) is exactly t_ν for every ν &gt; 0. One power and one
    /// square root per draw, against a gamma variate for <see cref="NextStudentT"/>; the MNIST noise uses it.
    /// </summary>
    /// <param name="degreesOfFreedom">ν. Range: ν &gt; 0.</param>
    /// <param name="exponent">−2/ν, passed in so a loop computes it once.</param>
    public double NextStudentTPolar(double degreesOfFreedom, double exponent)
    {
        while (true)
        {
            double u = NextSymmetricUniform();
            double v = NextSymmetricUniform();
            double w = (u * u) + (v * v);
            if (w < 1)
            {
                // w > 0 always: u and v are never 0 on the shifted grid.
                return u * Math.Sqrt(degreesOfFreedom * (Math.Pow(w, exponent) - 1) / w);
            }
        }
    }

    /// <summary>
    /// A Gamma(shape, 1) draw: Marsaglia and Tsang (2000) for shape ≥ 1; below 1, Gamma(shape + 1)·U^{1/shape}.
    /// </summary>
    /// <param name="shape">a. Range: a &gt; 0, finite (not checked in the loop; see <see cref="StudentTSampler"/>).</param>
    public double NextGamma(double shape)
    {
        if (shape < 1)
        {
            double u = NextDouble();
            return NextGamma(shape + 1) * Math.Pow(u == 0 ? double.Epsilon : u, 1 / shape);
        }
        double d = shape - (1.0 / 3);
        double c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextGaussian();
                v = 1 + (c * x);
            }
            while (v <= 0);
            v = v * v * v;
            double u = NextDouble();
            double x2 = x * x;
            if (u < 1 - (0.0331 * x2 * x2) || Math.Log(u) < (0.5 * x2) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    /// <summary>A standard Student-t_ν draw: Z/√(χ²_ν/ν) with χ²_ν = 2·Gamma(ν/2). ν = +∞ gives Z.</summary>
    /// <param name="degreesOfFreedom">ν. Range: ν &gt; 0.</param>
    public double NextStudentT(double degreesOfFreedom)
    {
        double z = NextGaussian();
        if (double.IsPositiveInfinity(degreesOfFreedom))
        {
            return z;
        }
        double chi2 = 2 * NextGamma(degreesOfFreedom / 2);
        return z / Math.Sqrt(chi2 / degreesOfFreedom);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong x)
    {
        unchecked
        {
            ulong z = x += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

/// <summary>
/// Per-coordinate gradient noise of one agent's minibatch: scale·T with T standard Gaussian or Student-t_ν, where
/// scale = σ/√B (σ per sample, B the batch; spec §4.2, §4.4).
/// </summary>
/// <remarks>For Gaussian noise σ/√B is exactly the std of a mean of B samples; for Student-t it is the model's
/// choice (the scale, not the distribution of a B-sample mean, which is not Student-t).</remarks>
public readonly record struct StudentTSampler(double Scale, double DegreesOfFreedom)
{
    /// <summary>One draw.</summary>
    public double Next(SdeRandom random) => Scale * random.NextStudentT(DegreesOfFreedom);
}
