using Verified.Theory;

namespace Verified.Simulation.Training;

/// <summary>
/// What a client tells the server about one upload besides its payload: the design figures the round's metrics report,
/// averaged over the upload's coordinates, and how many of its fits fell back to Laplace. The payload itself carries
/// everything the server needs to decode; this is for the metrics only.
/// </summary>
/// <param name="Designed">Whether any coordinate was quantized with a fitted design (false for an all-zero upload, or
/// one whose segments are all sent in full precision).</param>
/// <param name="Scale">The fitted model's scale, averaged over the quantized coordinates.</param>
/// <param name="Alpha">The design's α, averaged over the quantized coordinates (∞ for schemes that do not truncate).</param>
/// <param name="PredictedRounding">The design's rounding variance per coordinate, averaged over all coordinates
/// (full-precision segments predict 0).</param>
/// <param name="PredictedTruncationMse">M(α) per coordinate, averaged over all coordinates.</param>
/// <param name="PredictedTruncationRate">P(|g| &gt; α) under the fitted model, averaged over all coordinates.</param>
/// <param name="FitFallbacks">Fits of this upload (one per upload, or per segment) that found no model and went with
/// Laplace (Lomax with ρ̂ ≤ 3).</param>
public readonly record struct UploadDescription(
    bool Designed,
    double Scale,
    double Alpha,
    double PredictedRounding,
    double PredictedTruncationMse,
    double PredictedTruncationRate,
    int FitFallbacks)
{
    /// <summary>The description of an upload with one design over all its coordinates.</summary>
    internal static UploadDescription Of(QuantizerDesign design, int length, int fitFallbacks)
    {
        var builder = new Builder();
        builder.Add(design, length);
        return builder.Build(fitFallbacks);
    }

    /// <summary>Sums an upload's segments, weighted by their lengths.</summary>
    internal struct Builder
    {
        private long _quantized, _all;
        private double _scale, _alpha, _rounding, _truncationMse, _truncationRate;

        /// <summary>A segment sent exactly (full precision): it predicts no error.</summary>
        public void AddExact(int length) => _all += length;

        public void Add(QuantizerDesign design, int length)
        {
            _all += length;
            _quantized += length;
            _scale += design.Model.Scale * length;
            _alpha += design.Alpha * length;
            _rounding += design.RoundingVariance * length;
            _truncationMse += design.TruncationMse * length;
            _truncationRate += (double.IsFinite(design.Alpha) ? design.Model.TailMass(design.Alpha) : 0) * length;
        }

        public readonly UploadDescription Build(int fitFallbacks) => _quantized == 0
            ? new UploadDescription(false, 0, 0, 0, 0, 0, fitFallbacks)
            : new UploadDescription(true, _scale / _quantized, _alpha / _quantized, _rounding / _all, _truncationMse / _all, _truncationRate / _all, fitFallbacks);
    }
}
