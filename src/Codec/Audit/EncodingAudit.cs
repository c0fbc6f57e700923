using System.Globalization;
using Verified.Theory;

namespace Verified.Codec.Audit;

/// <summary>
/// What one encoding of one gradient did, measured against the gradient itself: the figures that Theory predicts per
/// coordinate (<see cref="Theory.QuantizerDesign.RoundingVariance"/>, <see cref="Theory.QuantizerDesign.TruncationMse"/>,
/// <see cref="Theory.GradientModel.TailMass"/>(α)), measured on this vector.
/// </summary>
/// <remarks>
/// <para>With c_j = clip(g_j, l_0, l_s) the value the scheme rounds and ĝ_j the decoded value (spec §1.4):</para>
/// <list type="bullet">
/// <item><see cref="MeanSquaredError"/> = (1/d)Σ(ĝ_j − g_j)², the whole error, whose expectation under the model is
/// RoundingVariance + TruncationMse (the cross term vanishes because rounding is unbiased around c_j).</item>
/// <item><see cref="RoundingVariance"/> = (1/d)Σ(ĝ_j − c_j)², one draw of the rounding noise.</item>
/// <item><see cref="ExpectedRoundingVariance"/> = (1/d)Σ(l_k − c_j)(c_j − l_{k−1}) over the cell [l_{k−1}, l_k] that holds
/// c_j: the exact expectation of <see cref="RoundingVariance"/> given this gradient. A gap between the two is the
/// codec's (beyond Monte-Carlo noise); a gap between it and the design's RoundingVariance is the model fit's.</item>
/// <item><see cref="TruncationRate"/> = fraction of |g_j| &gt; l_s, and <see cref="TruncationMse"/> = (1/d)Σ(|g_j| − l_s)₊².</item>
/// </list>
/// <para>The sparsifiers (Bernoulli, rand-k) have no levels: their rounding variance is the whole error and its
/// expectation is ω·(1/d)‖g‖²; the truncation figures are 0.</para>
/// <para>Sign compression is deterministic: its rounding figures are 0 and its "truncation" is not one, so only the
/// mean squared error (its bias) is meaningful. Full precision has no levels: every figure but the error is 0.</para>
/// </remarks>
/// <param name="Dimension">d.</param>
/// <param name="MeanSquaredError">(1/d)‖ĝ − g‖².</param>
/// <param name="RoundingVariance">(1/d)‖ĝ − clip(g)‖².</param>
/// <param name="ExpectedRoundingVariance">Its exact expectation given g.</param>
/// <param name="TruncationRate">Fraction of coordinates beyond the outermost level.</param>
/// <param name="TruncationMse">(1/d)Σ(|g_j| − l_s)₊².</param>
/// <param name="OuterLevel">l_s: α for the truncated schemes, ‖v‖₂ for QSGD/NUQSGD, m for sign.</param>
public readonly record struct EncodingAudit(
    int Dimension,
    double MeanSquaredError,
    double RoundingVariance,
    double ExpectedRoundingVariance,
    double TruncationRate,
    double TruncationMse,
    double OuterLevel)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"d = {Dimension}: mse {MeanSquaredError:G4}, rounding variance {RoundingVariance:G4} (expected {ExpectedRoundingVariance:G4}), truncated {TruncationRate:P3} with mse {TruncationMse:G4} beyond {OuterLevel:G4}");

    /// <summary>
    /// Measures what <paramref name="payload"/> did to <paramref name="gradient"/>, decoding into
    /// <paramref name="scratch"/> (length d). Does not allocate.
    /// </summary>
    /// <exception cref="CodecFormatException">The payload is not valid.</exception>
    /// <exception cref="ArgumentException">The gradient or scratch length differs from the payload's dimension.</exception>
    public static EncodingAudit Measure(GradientCodec codec, ReadOnlySpan<float> gradient, ReadOnlySpan<byte> payload, Span<float> scratch)
    {
        ArgumentNullException.ThrowIfNull(codec);
        PayloadHeader header = GradientCodec.ReadHeader(payload);
        if (gradient.Length != header.Dimension)
        {
            CodecThrow.ArgumentException_WrongLength(nameof(gradient), header.Dimension, gradient.Length);
        }
        codec.Decode(payload, scratch);
        int d = gradient.Length;
        if (d == 0)
        {
            return new EncodingAudit(0, 0, 0, 0, 0, 0, 0);
        }
        double errorSum = 0;
        for (int j = 0; j < d; j++)
        {
            double e = (double)scratch[j] - gradient[j];
            errorSum += e * e;
        }
        if (header.Scheme == WireScheme.FullPrecision || header.IsAllZero)
        {
            return new EncodingAudit(d, errorSum / d, 0, 0, 0, 0, 0);
        }
        if (header.IsSparse)
        {
            // Unbiased with no truncation: the whole error is the sparsifier's variance, whose expectation given g is
            // ω·(1/d)‖g‖² with the ω the header's q (or k) realises (spec §4.1).
            double squares = 0;
            foreach (float g in gradient)
            {
                squares += (double)g * g;
            }
            double omega = ((SparsifierSpec)header.ToSpec()).Omega(d);
            return new EncodingAudit(d, errorSum / d, errorSum / d, omega * squares / d, 0, 0, 0);
        }

        // The decoder's own values per index, sorted and without the duplicate ±0 of QSGD/NUQSGD's sign bit.
        Span<float> table = stackalloc float[256];
        int count = codec.DecodedLevels(header, table);
        Span<float> decodedLevels = table[..count];
        decodedLevels.Sort();
        Span<double> levels = stackalloc double[count];
        int unique = 0;
        foreach (float level in decodedLevels)
        {
            if (unique == 0 || level != levels[unique - 1])
            {
                levels[unique++] = level;
            }
        }
        levels = levels[..unique];
        double low = levels[0], high = levels[^1];
        if (header.Scheme == WireScheme.Sign)
        {
            return new EncodingAudit(d, errorSum / d, 0, 0, 0, 0, high);
        }

        // What the rounding must give for this very gradient (its expectation, the truncation figures) is Theory's;
        // only the draw itself is measured here.
        ConditionalError expected = ConditionalError.Of(levels, gradient);
        double roundingSum = 0;
        for (int j = 0; j < d; j++)
        {
            double r = scratch[j] - Math.Clamp(gradient[j], low, high);
            roundingSum += r * r;
        }
        return new EncodingAudit(
            d, errorSum / d, roundingSum / d, expected.RoundingVariance, expected.TruncationRate, expected.TruncationMse, expected.OuterLevel);
    }
}
