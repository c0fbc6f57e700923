using System.Globalization;

namespace Verified.Codec.Audit;

/// <summary>
/// The error of the server's average of one round's uploads, split into the squared bias and the variance that the
/// rounding leaves, given the vectors the clients sent (not a Monte-Carlo estimate: both parts are exact expectations
/// over the rounding).
/// </summary>
/// <remarks>
/// <para>With v_i client i's vector, w_i its weight (1/N), Q its quantizer and the rounding independent across clients
/// (each upload has its own key), the server's average ĝ = Σ w_i Q(v_i) misses ḡ = Σ w_i v_i by</para>
/// <code>
/// E‖ĝ − ḡ‖² = ‖b‖² + Σ_i w_i² Σ_j Var[Q(v_i)_j],   b = Σ_i w_i (E[Q(v_i)] − v_i)
/// </code>
/// <para>E[Q(v)] is clip(v, l_0, l_s) for stochastic rounding between levels (the truncation is the only bias), v for
/// full precision and the unbiased sparsifiers, and Q(v) itself for sign. Var is the exact conditional rounding variance
/// (<see cref="Theory.ConditionalError"/>) or, for the sparsifiers, ω·v_j². This is the split the papers' objective
/// (one upload's MSE) does not see: the variance term falls as 1/N, a coherent bias does not (docs/theory.md,
/// "A threshold for the average").</para>
/// <para>Feed it through <see cref="EncodingAudit.Measure(GradientCodec, ReadOnlySpan{float}, ReadOnlySpan{byte}, Span{float}, AveragedUploadAudit?, float)"/>
/// once per upload of a round, then read <see cref="Result"/> and <see cref="Reset"/>. Holds two double vectors of
/// length d; allocates nothing per upload.</para>
/// <threadsafety>Not thread-safe.</threadsafety>
/// </remarks>
public sealed class AveragedUploadAudit
{
    private readonly double[] _bias;
    private readonly double[] _mean;
    private double _variance;
    private int _uploads;
    private bool _inUpload;

    /// <summary>An audit of uploads of <paramref name="dimension"/> coordinates.</summary>
    public AveragedUploadAudit(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        Dimension = dimension;
        _bias = new double[dimension];
        _mean = new double[dimension];
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>Uploads added since the last <see cref="Reset"/>.</summary>
    public int Uploads => _uploads;

    /// <summary>Forgets every upload (the next round starts).</summary>
    public void Reset()
    {
        Array.Clear(_bias);
        Array.Clear(_mean);
        _variance = 0;
        _uploads = 0;
    }

    /// <summary>The split for the uploads added so far.</summary>
    public AveragedErrorSplit Result()
    {
        double bias = 0, mean = 0;
        for (int j = 0; j < Dimension; j++)
        {
            bias += _bias[j] * _bias[j];
            mean += _mean[j] * _mean[j];
        }
        return new AveragedErrorSplit(_uploads, bias, _variance, mean);
    }

    internal void BeginUpload(int dimension)
    {
        if (dimension != Dimension)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The upload has {dimension} coordinates but the averaged audit was made for {Dimension}."), nameof(dimension));
        }
        _inUpload = true;
    }

    internal void EndUpload()
    {
        _inUpload = false;
        _uploads++;
    }

    /// <summary>Adds one segment (or a whole upload) starting at coordinate <paramref name="start"/>.</summary>
    /// <param name="gradient">The segment's v.</param>
    /// <param name="start">Its first coordinate in the whole vector.</param>
    /// <param name="weight">The server's weight of this upload.</param>
    /// <param name="kind">How E[Q(v)] follows from v.</param>
    /// <param name="decoded">Q(v), for <see cref="ExpectationKind.Decoded"/>.</param>
    /// <param name="range">(l_0, l_s), for <see cref="ExpectationKind.Clipped"/>.</param>
    /// <param name="varianceSum">Σ_j Var[Q(v)_j] over the segment.</param>
    internal void AddSegment(
        ReadOnlySpan<float> gradient, int start, float weight, ExpectationKind kind, ReadOnlySpan<float> decoded, (double Low, double High) range, double varianceSum)
    {
        System.Diagnostics.Debug.Assert(_inUpload, "AddSegment is called between BeginUpload and EndUpload.");
        double w = weight;
        Span<double> bias = _bias.AsSpan(start, gradient.Length);
        Span<double> mean = _mean.AsSpan(start, gradient.Length);
        for (int j = 0; j < gradient.Length; j++)
        {
            double v = gradient[j];
            mean[j] += w * v;
            double expectation = kind switch
            {
                ExpectationKind.Clipped => Math.Clamp(v, range.Low, range.High),
                ExpectationKind.Decoded => decoded[j],
                _ => v,
            };
            bias[j] += w * (expectation - v);
        }
        _variance += w * w * varianceSum;
    }
}

/// <summary>
/// E‖ĝ − ḡ‖² of one round's average split in two (see <see cref="AveragedUploadAudit"/>), with ‖ḡ‖² to scale them by.
/// </summary>
/// <param name="Uploads">Uploads averaged.</param>
/// <param name="BiasSquared">‖b‖², the truncation's (or sign's) squared bias of the average.</param>
/// <param name="Variance">Σ_i w_i² Σ_j Var[Q(v_i)_j], the rounding variance of the average.</param>
/// <param name="MeanSquaredNorm">‖ḡ‖², the squared norm of the average of what the clients sent.</param>
public readonly record struct AveragedErrorSplit(int Uploads, double BiasSquared, double Variance, double MeanSquaredNorm)
{
    /// <summary>‖b‖² / ‖ḡ‖² (NaN when ḡ = 0).</summary>
    public double RelativeBiasSquared => MeanSquaredNorm > 0 ? BiasSquared / MeanSquaredNorm : double.NaN;

    /// <summary>Variance / ‖ḡ‖² (NaN when ḡ = 0).</summary>
    public double RelativeVariance => MeanSquaredNorm > 0 ? Variance / MeanSquaredNorm : double.NaN;
}
