using System.Globalization;
using System.Numerics;
using Verified.Theory.Sde;

namespace Verified.Simulation.Training;

/// <summary>
/// Synthetic gradient noise a client adds to its gradient before compression (issue 6, spec §4.2): none, Gaussian
/// σZ, or heavy-tailed σT with T Student-t_ν (ν ≤ 2: infinite variance; ν = 1: Cauchy). The noise of coordinate j in
/// round t of client i is a pure function of (seed, t, i, j), so runs stay reproducible and resumable.
/// </summary>
/// <remarks>
/// <para>The MNIST experiments use it to put the two remedies for heavy tails side by side on one task: sign
/// compression, whose update is bounded whatever the noise, and truncation, which clips what the quantizer cannot
/// represent. Unbiased compression (QSGD) passes the noise through, scaled.</para>
/// <para>Sampling: Marsaglia's polar method for Gaussians and Bailey's polar method for Student-t (Bailey 1994,
/// "Polar generation of random variates with the t-distribution", Math. Comp. 62: with (U, V) uniform in the unit
/// disc and W = U² + V², T = U·√(ν(W^{−2/ν} − 1)/W) is exactly t_ν for every ν &gt; 0), both on a xoshiro256**
/// stream seeded by SplitMix64 from (seed, round, client). Neither allocates.</para>
/// </remarks>
public sealed record GradientNoise
{
    /// <summary>
    /// The largest noise magnitude added to a coordinate: heavier draws are clamped to it, so that a float32 gradient
    /// stays finite (for ν ≥ 1 and σ ≤ 1 a draw beyond it has probability below 10^−30 per coordinate).
    /// </summary>
    public const double MaximumMagnitude = 1e30;

    /// <summary>No noise: the gradient goes to the channel as computed.</summary>
    public static GradientNoise None { get; } = new((NoiseModel?)null);

    /// <summary>Noise from <paramref name="model"/> (Gaussian when its ν is ∞), or none when it is null.</summary>
    public GradientNoise(NoiseModel? model) => Model = model;

    /// <summary>The noise distribution per coordinate; null for none.</summary>
    public NoiseModel? Model { get; }

    /// <summary>Whether this adds anything.</summary>
    public bool IsNone => Model is null;

    /// <summary>
    /// Parses the command-line form: <c>none</c>, <c>gaussian</c> or <c>student-t:ν</c> (ν &gt; 0), with per-coordinate
    /// scale <paramref name="scale"/> (σ; ignored for none).
    /// </summary>
    /// <exception cref="FormatException">The text or the scale is not valid; the message says what is allowed.</exception>
    public static GradientNoise Parse(string? kind, double scale)
    {
        string text = (kind ?? "").Trim().ToLowerInvariant();
        if (text is "" or "none")
        {
            return None;
        }
        if (!(double.IsFinite(scale) && scale > 0))
        {
            throw new FormatException(FormattableString.Invariant(
                $"noise scale = {scale} is not valid for noise '{kind}': give --noise-scale a finite number > 0 (σ, per coordinate)."));
        }
        if (text == "gaussian")
        {
            return new GradientNoise(NoiseModel.Gaussian(scale));
        }
        const string studentPrefix = "student-t:";
        if (text.StartsWith(studentPrefix, StringComparison.Ordinal)
            && double.TryParse(text.AsSpan(studentPrefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out double nu)
            && double.IsFinite(nu) && nu > 0)
        {
            return new GradientNoise(NoiseModel.StudentT(scale, nu));
        }
        throw new FormatException($"noise = '{kind}' is not a noise model: use none, gaussian or student-t:ν with ν > 0 (e.g. student-t:1.5).");
    }

    /// <summary>The command-line form, e.g. <c>student-t:1.5</c>, <c>gaussian</c> or <c>none</c>.</summary>
    public string Kind => Model switch
    {
        null => "none",
        { IsGaussian: true } => "gaussian",
        _ => string.Create(CultureInfo.InvariantCulture, $"student-t:{Model.DegreesOfFreedom:R}"),
    };

    /// <summary>σ, the per-coordinate scale; 0 for none.</summary>
    public double Scale => Model?.Scale ?? 0;

    /// <summary>Adds the noise of (seed, round, client) to <paramref name="gradient"/> in place.</summary>
    public void AddTo(Span<float> gradient, long seed, int round, int client)
    {
        if (Model is null)
        {
            return;
        }
        var random = new Xoshiro256StarStar(Seeds.Derive(seed, Seeds.NoiseStream, round, client));
        double scaleAsDouble = Model.Scale;
        float scale = (float)scaleAsDouble;
        if (Model.IsGaussian)
        {
            int j = 0;
            for (; j + 1 < gradient.Length; j += 2)
            {
                (double z0, double z1) = random.NextGaussianPair();
                gradient[j] += scale * (float)z0;
                gradient[j + 1] += scale * (float)z1;
            }
            if (j < gradient.Length)
            {
                gradient[j] += scale * (float)random.NextGaussianPair().First;
            }
        }
        else
        {
            double nu = Model.DegreesOfFreedom;
            double exponent = -2 / nu;
            for (int j = 0; j < gradient.Length; j++)
            {
                gradient[j] += (float)Math.Clamp(scaleAsDouble * random.NextStudentT(nu, exponent), -MaximumMagnitude, MaximumMagnitude);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        IsNone ? "none" : string.Create(CultureInfo.InvariantCulture, $"{Kind} (scale {Scale:R})");
}

/// <summary>
/// xoshiro256** (Blackman and Vigna 2018), seeded by SplitMix64: fast, small state, and a pure function of its seed.
/// </summary>
internal struct Xoshiro256StarStar
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    public ulong NextUInt64()
    {
        unchecked
        {
            ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = BitOperations.RotateLeft(_s3, 45);
            return result;
        }
    }

    /// <summary>Uniform on the open interval (−1, 1): the 53-bit grid shifted by half a step, so never 0 or ±1.</summary>
    public double NextSymmetricUniform() => (((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 52))) - 1;

    /// <summary>Two independent standard normals (Marsaglia's polar method).</summary>
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

    /// <summary>One Student-t_ν draw by Bailey's polar method; <paramref name="exponent"/> is −2/ν.</summary>
    public double NextStudentT(double nu, double exponent)
    {
        while (true)
        {
            double u = NextSymmetricUniform();
            double v = NextSymmetricUniform();
            double w = (u * u) + (v * v);
            if (w < 1)
            {
                // w > 0 always: u and v are never 0 on the shifted grid.
                return u * Math.Sqrt(nu * (Math.Pow(w, exponent) - 1) / w);
            }
        }
    }

    private static ulong SplitMix(ref ulong state)
    {
        unchecked
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
