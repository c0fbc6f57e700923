using System.Collections.Immutable;
using Verified.Theory;

namespace Verified.Codec.Audit;

/// <summary>
/// The audit per segment (per tensor, per bucket): what each segment's own fit and design do to it, and what a round's
/// segmented uploads do to the server's average. The figures of issue #13's audit: the fitted model and α of every
/// segment, the designed and measured truncation rate, the share of the segment's energy that truncation removes, and
/// the bias²/variance split of the average of N clients for each scheme.
/// </summary>
/// <remarks>The fit is the caller's (Laplace, Lomax or the BIC choice between them, as the training channel's
/// <c>--fit</c>); a segment it returns null for (all zero) has no model and no figures. Pure but for the codec's cache.</remarks>
public static class SegmentAudit
{
    /// <summary>Each segment's model and, for each spec, its α, truncation rates and the energy truncation removes.</summary>
    /// <param name="codec">Designs come from its cache.</param>
    /// <param name="gradient">The gradient.</param>
    /// <param name="layout">Its segments.</param>
    /// <param name="specs">The schemes (truncating or not: a scheme that does not truncate has α = ∞ and removes nothing).</param>
    /// <param name="fit">The model of one segment; null for a segment with nothing to fit.</param>
    /// <exception cref="ArgumentException">The layout does not cover the gradient, or a fit or design fails (the message names the segment).</exception>
    public static ImmutableArray<SegmentFigures> PerSegment(
        GradientCodec codec, ReadOnlySpan<float> gradient, SegmentLayout layout, IReadOnlyList<QuantizerSpec> specs, SegmentFitter fit)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(fit);
        CheckCovers(gradient.Length, layout);
        var result = ImmutableArray.CreateBuilder<SegmentFigures>(layout.Count);
        for (int i = 0; i < layout.Count; i++)
        {
            SegmentRange range = layout[i];
            ReadOnlySpan<float> segment = gradient.Slice(range.Start, range.Length);
            double energy = 0;
            foreach (float g in segment)
            {
                energy += (double)g * g;
            }
            GradientModel? model = fit(segment);
            var schemes = ImmutableArray.CreateBuilder<SegmentSchemeFigures>(specs.Count);
            if (model is not null)
            {
                foreach (QuantizerSpec spec in specs)
                {
                    QuantizerDesign design = codec.Designs.GetOrDesign(spec, model, spec.DesignNeedsDimension ? range.Length : null);
                    double alpha = design.Alpha;
                    long beyond = 0;
                    double removed = 0;
                    if (double.IsFinite(alpha))
                    {
                        foreach (float g in segment)
                        {
                            double excess = Math.Abs((double)g) - alpha;
                            if (excess > 0)
                            {
                                beyond++;
                                removed += excess * excess;
                            }
                        }
                    }
                    schemes.Add(new SegmentSchemeFigures(
                        spec.Label,
                        alpha,
                        double.IsFinite(alpha) ? model.TailMass(alpha) : 0,
                        (double)beyond / range.Length,
                        energy > 0 ? removed / energy : 0));
                }
            }
            result.Add(new SegmentFigures(i, range.Start, range.Length, model, energy, schemes.ToImmutable()));
        }
        return result.MoveToImmutable();
    }

    /// <summary>
    /// The bias²/variance split of the server's average (weights 1/N) of <paramref name="uploads"/>, each encoded as
    /// the training channel does: segmented by <paramref name="layout"/>, each segment fitted and designed for
    /// <paramref name="spec"/>, rounded with (seed, round, client i).
    /// </summary>
    /// <exception cref="ArgumentException">No uploads, an upload of another length, or a sparsifier (not segmented).</exception>
    public static AveragedErrorSplit Average(
        GradientCodec codec, IReadOnlyList<float[]> uploads, SegmentLayout layout, QuantizerSpec spec, SegmentFitter fit, ulong seed, int round)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(uploads);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(fit);
        if (uploads.Count == 0)
        {
            throw new ArgumentException("The average of no uploads has no error: pass at least one.", nameof(uploads));
        }
        var audit = new AveragedUploadAudit(layout.Dimension);
        var designs = new QuantizerDesign[layout.Count];
        var payload = new byte[GradientCodec.GetMaxEncodedLength(spec, layout)];
        var scratch = new float[layout.Dimension];
        float weight = 1f / uploads.Count;
        for (int client = 0; client < uploads.Count; client++)
        {
            float[] upload = uploads[client];
            CheckCovers(upload.Length, layout);
            for (int i = 0; i < layout.Count; i++)
            {
                SegmentRange range = layout[i];
                GradientModel model = fit(upload.AsSpan(range.Start, range.Length)) ?? new Laplace(1);
                designs[i] = codec.Designs.GetOrDesign(spec, model, spec.DesignNeedsDimension ? range.Length : null);
            }
            int length = codec.EncodeSegments(upload, designs, layout, new RoundingKey(seed, round, client), payload);
            _ = EncodingAudit.Measure(codec, upload, payload.AsSpan(0, length), scratch, audit, weight);
        }
        return audit.Result();
    }

    private static void CheckCovers(int length, SegmentLayout layout)
    {
        if (length != layout.Dimension)
        {
            throw new ArgumentException(FormattableString.Invariant(
                $"The gradient has {length} coordinates, but the segments cover {layout.Dimension}: {layout}."), nameof(layout));
        }
    }
}

/// <summary>Fits a model to one segment; null when there is nothing to fit (all zero).</summary>
public delegate GradientModel? SegmentFitter(ReadOnlySpan<float> segment);

/// <summary>One segment's audit.</summary>
/// <param name="Index">Its position.</param>
/// <param name="Start">Its first coordinate.</param>
/// <param name="Length">Its coordinates.</param>
/// <param name="Model">Its fitted model (null: all zero).</param>
/// <param name="Energy">Σ g² over the segment.</param>
/// <param name="Schemes">Per scheme, in the order asked.</param>
public sealed record SegmentFigures(int Index, int Start, int Length, GradientModel? Model, double Energy, ImmutableArray<SegmentSchemeFigures> Schemes);

/// <summary>One scheme's design on one segment.</summary>
/// <param name="Label">The scheme's label (tnq-3).</param>
/// <param name="Alpha">α (∞ when the scheme does not truncate).</param>
/// <param name="DesignedTruncationRate">P(|g| &gt; α) under the segment's fitted model.</param>
/// <param name="MeasuredTruncationRate">The fraction of the segment's coordinates beyond α.</param>
/// <param name="EnergyRemovedShare">Σ(|g| − α)₊² / Σ g²: the share of the segment's energy that truncation removes.</param>
public sealed record SegmentSchemeFigures(string Label, double Alpha, double DesignedTruncationRate, double MeasuredTruncationRate, double EnergyRemovedShare);
