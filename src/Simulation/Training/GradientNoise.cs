using System.Globalization;
using Verified.Theory.Sampling;
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
/// disc and W = U² + V², T = U·√(ν(W^{−2/ν} − 1)/W) is exactly t_ν for every ν &gt; 0), both on a
/// <see cref="SdeRandom"/> (xoshiro256**) seeded from (seed, round, client). Neither allocates.</para>
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
        var random = new SdeRandom(Seeds.Derive(seed, Seeds.NoiseStream, round, client));
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
                gradient[j] += (float)Math.Clamp(scaleAsDouble * random.NextStudentTPolar(nu, exponent), -MaximumMagnitude, MaximumMagnitude);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        IsNone ? "none" : string.Create(CultureInfo.InvariantCulture, $"{Kind} (scale {Scale:R})");
}
