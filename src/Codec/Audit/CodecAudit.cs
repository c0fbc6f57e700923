using System.Collections.Immutable;
using Verified.Theory;

namespace Verified.Codec.Audit;

/// <summary>
/// Audits the codec against the theory on one real gradient: fits the Laplace and power-law models and scores them
/// (<see cref="ModelSelection"/>), then for each scheme and bit width encodes the gradient with many keys and sets what was measured beside what the
/// rounding must give for this very vector ("expected given g") and what the design predicted from the model.
/// </summary>
/// <remarks>
/// <para>Two comparisons per figure, two causes (see <see cref="AuditFigure"/>):</para>
/// <list type="bullet">
/// <item>measured vs expected given g: the codec's. The expectation is exact (<see cref="ConditionalError"/>), its
/// band is z Monte-Carlo standard errors of the R draws (exact formulas, not sample estimates), or float32 rounding
/// of the levels for figures that do not depend on the draw.</item>
/// <item>expected given g vs predicted: the model fit's. Its band is z·predicted·sd from a parametric bootstrap of
/// fit → design → conditional figures under the fitted model (<see cref="FitBand"/>).</item>
/// </list>
/// <para>Deterministic: the same gradient and options give the same result. Allocates O(d) per scheme.</para>
/// </remarks>
public static class CodecAudit
{
    /// <summary>Audits every spec of <paramref name="specs"/> on <paramref name="gradient"/>.</summary>
    /// <exception cref="ArgumentException">The gradient cannot be fitted (empty, all zero, not finite), or a spec
    /// cannot be designed for the chosen model.</exception>
    public static GradientAuditResult Run(GradientCodec codec, ReadOnlySpan<float> gradient, IReadOnlyList<QuantizerSpec> specs, AuditOptions options)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        FitSummary fit = ModelSelection.Fit(gradient, options.LomaxFitSize, options.QuantilePoints, options.DesignModel);
        int d = gradient.Length;

        Func<float[], GradientModel> refit = options.DesignModel is { } fixedModel
            ? _ => fixedModel
            : fit.Chosen == "lomax"
                ? sample => ModelSelection.RefitLomax(sample, fit.DesignModel)
                : sample => ModelFit.Laplace(sample);
        // The parameters' noise scales with the coordinates they were fitted on: all d for Laplace, the subsample for
        // the Lomax fit. Scaling the bootstrap to the smaller of the two widens the band, never narrows it.
        int effective = fit.LomaxFitted ? Math.Min(d, fit.LomaxFitSize) : d;
        ImmutableArray<RelativeSpread> spreads = FitBand.Bootstrap(
            fit.DesignModel, refit, specs, effective, options.BootstrapReplicates, options.BootstrapSize, unchecked((int)options.Seed) ^ 0x5EED);

        var audits = ImmutableArray.CreateBuilder<SchemeAudit>(specs.Count);
        for (int i = 0; i < specs.Count; i++)
        {
            audits.Add(AuditScheme(codec, gradient, specs[i], fit.DesignModel, spreads[i], options));
        }
        double meanSquare = 0;
        foreach (float g in gradient)
        {
            meanSquare += (double)g * g;
        }
        return new GradientAuditResult(d, meanSquare / d, fit, audits.MoveToImmutable(), options);
    }

    /// <summary>Encodes <paramref name="gradient"/> R times with <paramref name="spec"/> and compares.</summary>
    public static SchemeAudit AuditScheme(
        GradientCodec codec, ReadOnlySpan<float> gradient, QuantizerSpec spec, GradientModel model, RelativeSpread spread, AuditOptions options)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(spread);
        ArgumentNullException.ThrowIfNull(options);
        int d = gradient.Length;
        int draws = options.Draws;
        QuantizerDesign design = codec.Designs.GetOrDesign(spec, model, spec.DesignNeedsDimension ? d : null);
        ImmutableArray<double> levels = ConditionalError.LevelsFor(design, gradient);
        ConditionalError given = ConditionalError.Of(levels.AsSpan(), gradient);

        byte[] payload = GC.AllocateUninitializedArray<byte>(GradientCodec.GetMaxEncodedLength(spec, d));
        float[] decoded = GC.AllocateUninitializedArray<float>(d);
        double[] sum = new double[d];
        double[] rounding = new double[draws], squaredErrors = new double[draws];
        EncodingAudit last = default;
        int length = 0;
        for (int r = 0; r < draws; r++)
        {
            // One key per draw: (seed, r, 0) gives independent uniforms for every draw (RoundingKey's mixing).
            length = codec.Encode(gradient, design, new RoundingKey(options.Seed, r, 0), payload);
            last = EncodingAudit.Measure(codec, gradient, payload.AsSpan(0, length), decoded);
            rounding[r] = last.RoundingVariance;
            squaredErrors[r] = last.MeanSquaredError;
            for (int j = 0; j < d; j++)
            {
                sum[j] += decoded[j];
            }
        }
        double rawBias = 0;
        for (int j = 0; j < d; j++)
        {
            double e = (sum[j] / draws) - gradient[j];
            rawBias += e * e;
        }
        rawBias /= d;

        double z = options.Z;
        double roundingSe = given.RoundingVarianceStandardDeviation / Math.Sqrt(draws);
        var figures = ImmutableArray.CreateBuilder<AuditFigure>();
        double predictedMse = design.RoundingVariance + design.TruncationMse;
        if (spec is Sign)
        {
            // Deterministic: every draw is the same vector; the whole error is sign compression's bias (spec §1.7 / P3).
            double error = RelativeSpread.SignError(design, gradient);
            figures.Add(Figure(AuditFigure.Bias, rawBias, error, design.TruncationMse, 0, FloatTolerance(error), spread.TruncationMse, z));
            figures.Add(Figure(AuditFigure.MeanSquaredError, AuditBand.Mean(squaredErrors), error, predictedMse, 0, FloatTolerance(error), spread.MeanSquaredError, z));
        }
        else
        {
            figures.Add(Figure(AuditFigure.RoundingVariance, AuditBand.Mean(rounding), given.RoundingVariance, design.RoundingVariance, roundingSe, FloatTolerance(given.RoundingVariance), spread.RoundingVariance, z));
            if (spec is TruncatedSpec)
            {
                figures.Add(Figure(AuditFigure.TruncationRate, last.TruncationRate, given.TruncationRate, design.Model.TailMass(design.Alpha), 0, FloatTolerance(given.TruncationRate) + (1.0 / d), spread.TruncationRate, z));
                figures.Add(Figure(AuditFigure.TruncationMse, last.TruncationMse, given.TruncationMse, design.TruncationMse, 0, 1e-4 * given.TruncationMse, spread.TruncationMse, z));
            }
            // ‖E[ĝ] − g‖²/d estimated without its Monte-Carlo floor: (1/d)‖ḡ − g‖² − V_g/R has expectation T_g exactly.
            figures.Add(Figure(
                AuditFigure.Bias, rawBias - (given.RoundingVariance / draws), given.TruncationMse, design.TruncationMse,
                given.SquaredBiasStandardDeviation(draws), FloatTolerance(given.TruncationMse + (given.RoundingVariance / draws)), spread.TruncationMse, z));
            figures.Add(Figure(AuditFigure.MeanSquaredError, AuditBand.Mean(squaredErrors), given.MeanSquaredError, predictedMse, roundingSe, FloatTolerance(given.MeanSquaredError), spread.MeanSquaredError, z));
        }
        // Spec §1.6: d·b bits of indices, bit-packed, after the header; no model noise, no draw noise.
        long predictedBytes = PayloadHeader.Size + (((long)d * GradientCodec.WireBits(spec)) + 7) / 8;
        figures.Add(Figure(AuditFigure.Bytes, length, predictedBytes, predictedBytes, 0, 0, 0, z));
        double meanSquaredError = AuditBand.Mean(squaredErrors);
        // J is an expectation under the model too: the bound holds up to the MSE figure's codec and model bands.
        AuditFigure mseFigure = figures.First(f => f.Name == AuditFigure.MeanSquaredError);
        double slack = (z * (mseFigure.CodecStandardError + mseFigure.ModelStandardError)) + mseFigure.CodecTolerance;
        return new SchemeAudit(
            spec,
            design,
            levels,
            given,
            length,
            8.0 * length / d,
            4.0 * d / length,
            design.Error,
            meanSquaredError <= design.Error + slack,
            rawBias,
            draws,
            figures.ToImmutable());
    }

    private static AuditFigure Figure(
        string name, double measured, double given, double predicted, double codecSe, double tolerance, double relativeModelSd, double z)
    {
        double modelSe = double.IsNaN(relativeModelSd) ? 0 : Math.Abs(predicted) * relativeModelSd;
        bool codecOk = AuditBand.Contains(measured, given, codecSe, z, tolerance);
        // Given g and predicted agree exactly when both are 0 (no truncation to predict or to see).
        bool modelOk = AuditBand.Contains(given, predicted, modelSe, z, 1e-12 * Math.Abs(predicted));
        return new AuditFigure(name, measured, given, predicted, codecSe, tolerance, modelSe, z, codecOk, modelOk);
    }

    /// <summary>The codec rounds with float32 copies of the levels and α: agreement with double-precision expectations
    /// is exact only to about 10⁻⁶ relative.</summary>
    private static double FloatTolerance(double value) => 1e-5 * Math.Abs(value);
}
