using System.Collections.Immutable;
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
    /// <remarks>A segmented (version 3) payload is measured segment by segment against that segment's own levels and
    /// the figures are summed over coordinates, so they are per coordinate of the whole vector; <see cref="OuterLevel"/>
    /// is then the largest segment's l_s. <see cref="MeasureSegments"/> gives each segment's figures.</remarks>
    /// <exception cref="CodecFormatException">The payload is not valid.</exception>
    /// <exception cref="ArgumentException">The gradient or scratch length differs from the payload's dimension.</exception>
    public static EncodingAudit Measure(GradientCodec codec, ReadOnlySpan<float> gradient, ReadOnlySpan<byte> payload, Span<float> scratch) =>
        Measure(codec, gradient, payload, scratch, average: null, weight: 0);

    /// <summary>
    /// As <see cref="Measure(GradientCodec, ReadOnlySpan{float}, ReadOnlySpan{byte}, Span{float})"/>, and adds the upload to
    /// <paramref name="average"/> with the server's <paramref name="weight"/> (1/N), in the same pass.
    /// </summary>
    public static EncodingAudit Measure(
        GradientCodec codec, ReadOnlySpan<float> gradient, ReadOnlySpan<byte> payload, Span<float> scratch, AveragedUploadAudit? average, float weight)
    {
        ArgumentNullException.ThrowIfNull(codec);
        if (GradientCodec.ReadVersion(payload) != SegmentedHeader.FormatVersion)
        {
            PayloadHeader header = GradientCodec.ReadHeader(payload);
            CheckLengths(header.Dimension, gradient.Length, scratch.Length);
            codec.Decode(payload, scratch[..header.Dimension]);
            average?.BeginUpload(gradient.Length);
            EncodingAudit whole = MeasureDecoded(codec, header, gradient, scratch[..header.Dimension], average, 0, weight);
            average?.EndUpload();
            return whole;
        }
        SegmentedHeader container = GradientCodec.ReadSegmentedHeader(payload);
        CheckLengths(container.Dimension, gradient.Length, scratch.Length);
        codec.Decode(payload, scratch[..container.Dimension]);
        average?.BeginUpload(gradient.Length);
        var sums = default(Sums);
        int offset = SegmentedHeader.Size + (container.SegmentCount * SegmentedHeader.EntrySize);
        for (int i = 0; i < container.SegmentCount; i++)
        {
            (int start, int length, int byteLength) = SegmentedFormat.Entry(payload, i);
            PayloadHeader header = WireFormat.Parse(payload[offset..]);
            sums.Add(MeasureDecoded(codec, header, gradient.Slice(start, length), scratch.Slice(start, length), average, start, weight));
            offset += byteLength;
        }
        average?.EndUpload();
        return sums.ToAudit(container.Dimension);
    }

    /// <summary>
    /// Each segment's figures (one entry for a version-1 or -2 payload), per coordinate of that segment. Allocates the
    /// result and a scratch vector: for reports, not for the training loop.
    /// </summary>
    /// <exception cref="CodecFormatException">The payload is not valid.</exception>
    /// <exception cref="ArgumentException">The gradient's length differs from the payload's dimension.</exception>
    public static ImmutableArray<EncodingAudit> MeasureSegments(GradientCodec codec, ReadOnlySpan<float> gradient, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var scratch = new float[gradient.Length];
        if (GradientCodec.ReadVersion(payload) != SegmentedHeader.FormatVersion)
        {
            return [Measure(codec, gradient, payload, scratch)];
        }
        ImmutableArray<PayloadSegment> segments = GradientCodec.ReadSegments(payload);
        if (gradient.Length != SegmentedFormat.ReadContainer(payload).Dimension)
        {
            CodecThrow.ArgumentException_WrongLength(nameof(gradient), SegmentedFormat.ReadContainer(payload).Dimension, gradient.Length);
        }
        codec.Decode(payload, scratch);
        var audits = ImmutableArray.CreateBuilder<EncodingAudit>(segments.Length);
        foreach (PayloadSegment segment in segments)
        {
            audits.Add(MeasureDecoded(codec, segment.Header, gradient.Slice(segment.Start, segment.Length), scratch.AsSpan(segment.Start, segment.Length), null, segment.Start, 0));
        }
        return audits.MoveToImmutable();
    }

    private static void CheckLengths(int dimension, int gradient, int scratch)
    {
        if (gradient != dimension)
        {
            CodecThrow.ArgumentException_WrongLength(nameof(gradient), dimension, gradient);
        }
        if (scratch < dimension)
        {
            CodecThrow.ArgumentException_DestinationTooShort(nameof(scratch), dimension, scratch);
        }
    }

    /// <summary>
    /// The figures of one version-1/2 payload (or one segment) whose decoded values are in <paramref name="decoded"/>; adds
    /// E[Q(g)] − g and the exact rounding variance to <paramref name="average"/> at <paramref name="start"/>.
    /// </summary>
    private static EncodingAudit MeasureDecoded(
        GradientCodec codec, in PayloadHeader header, ReadOnlySpan<float> gradient, ReadOnlySpan<float> decoded, AveragedUploadAudit? average, int start, float weight)
    {
        int d = gradient.Length;
        if (d == 0)
        {
            return new EncodingAudit(0, 0, 0, 0, 0, 0, 0);
        }
        double errorSum = 0;
        for (int j = 0; j < d; j++)
        {
            double e = (double)decoded[j] - gradient[j];
            errorSum += e * e;
        }
        if (header.Scheme == WireScheme.FullPrecision || header.IsAllZero)
        {
            // Exact (or exactly zero): no bias, no variance.
            average?.AddSegment(gradient, start, weight, ExpectationKind.Exact, default, default, 0);
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
            average?.AddSegment(gradient, start, weight, ExpectationKind.Exact, default, default, omega * squares);
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
            // Deterministic: E[Q(g)] is the decoded value itself, and there is no rounding variance.
            average?.AddSegment(gradient, start, weight, ExpectationKind.Decoded, decoded, default, 0);
            return new EncodingAudit(d, errorSum / d, 0, 0, 0, 0, high);
        }

        // What the rounding must give for this very gradient (its expectation, the truncation figures) is Theory's;
        // only the draw itself is measured here.
        ConditionalError expected = ConditionalError.Of(levels, gradient);
        double roundingSum = 0;
        for (int j = 0; j < d; j++)
        {
            double r = decoded[j] - Math.Clamp(gradient[j], low, high);
            roundingSum += r * r;
        }
        // Stochastic rounding between neighbouring levels is unbiased around the clipped value: E[Q(g)] = clip(g).
        average?.AddSegment(gradient, start, weight, ExpectationKind.Clipped, default, (low, high), expected.RoundingVariance * d);
        return new EncodingAudit(
            d, errorSum / d, roundingSum / d, expected.RoundingVariance, expected.TruncationRate, expected.TruncationMse, expected.OuterLevel);
    }

    /// <summary>Coordinate-weighted sums of segment figures.</summary>
    private struct Sums
    {
        private double _error, _rounding, _expected, _truncated, _truncationMse, _outer;

        public void Add(EncodingAudit audit)
        {
            _error += audit.MeanSquaredError * audit.Dimension;
            _rounding += audit.RoundingVariance * audit.Dimension;
            _expected += audit.ExpectedRoundingVariance * audit.Dimension;
            _truncated += audit.TruncationRate * audit.Dimension;
            _truncationMse += audit.TruncationMse * audit.Dimension;
            _outer = Math.Max(_outer, audit.OuterLevel);
        }

        public readonly EncodingAudit ToAudit(int d) => d == 0
            ? new EncodingAudit(0, 0, 0, 0, 0, 0, 0)
            : new EncodingAudit(d, _error / d, _rounding / d, _expected / d, _truncated / d, _truncationMse / d, _outer);
    }
}

/// <summary>How a segment's expectation E[Q(g)] follows from its gradient.</summary>
internal enum ExpectationKind
{
    /// <summary>E[Q(g)] = g: full precision, an all-zero segment, the unbiased sparsifiers.</summary>
    Exact,

    /// <summary>E[Q(g)] = clip(g, l_0, l_s): stochastic rounding between neighbouring levels.</summary>
    Clipped,

    /// <summary>E[Q(g)] = Q(g): deterministic (sign).</summary>
    Decoded,
}
