using System.Collections.Immutable;
using System.Globalization;
using Verified.Theory;

namespace Verified.Codec.Audit;

/// <summary>How an audit runs. Defaults suit a network gradient of about 10⁶ coordinates on one core.</summary>
public sealed record AuditOptions
{
    /// <summary>R, encodings per scheme with different keys. Range: 2..10⁴.</summary>
    public int Draws { get; init; } = 20;

    /// <summary>Seed of the rounding keys (seed, draw, 0) and of the bootstrap.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>z of every band (<see cref="AuditBand.DefaultZ"/>). Range: &gt; 0.</summary>
    public double Z { get; init; } = AuditBand.DefaultZ;

    /// <summary>B, bootstrap replicates of the model-fit band. Range: 2..10⁴.</summary>
    public int BootstrapReplicates { get; init; } = 16;

    /// <summary>m, coordinates per bootstrap replicate. Range: 16..2²⁸.</summary>
    public int BootstrapSize { get; init; } = 1 << 16;

    /// <summary>At most this many coordinates (an even stride) go into the Lomax likelihood maximisation. Range: ≥ 16.</summary>
    public int LomaxFitSize { get; init; } = 1 << 18;

    /// <summary>Points of each QQ plot. Range: 2..10⁶.</summary>
    public int QuantilePoints { get; init; } = 60;

    /// <summary>A model to design with instead of the fitted one (e.g. a deliberately wrong scale); null: fit and choose.</summary>
    public GradientModel? DesignModel { get; init; }

    /// <summary>Throws if a field is out of range, naming it.</summary>
    public void ThrowIfInvalid()
    {
        Check(nameof(Draws), Draws, 2, 10_000);
        Check(nameof(BootstrapReplicates), BootstrapReplicates, 2, 10_000);
        Check(nameof(BootstrapSize), BootstrapSize, 16, 1 << 28);
        Check(nameof(LomaxFitSize), LomaxFitSize, 16, int.MaxValue);
        Check(nameof(QuantilePoints), QuantilePoints, 2, 1_000_000);
        if (!(Z > 0 && double.IsFinite(Z)))
        {
            throw new ArgumentOutOfRangeException(nameof(Z), Z, string.Create(CultureInfo.InvariantCulture, $"Z = {Z} is out of range: it must be a finite number > 0."));
        }
    }

    private static void Check(string name, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
        {
            throw new ArgumentOutOfRangeException(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} = {value} is out of range: it must be an integer from {minimum} to {maximum}."));
        }
    }
}

/// <summary>
/// One audited figure of one scheme: what was measured, what the rounding must give for this vector, what the design
/// predicted, and the two bands.
/// </summary>
/// <param name="Name">One of the constants of this type.</param>
/// <param name="Measured">From the R encodings.</param>
/// <param name="GivenGradient">Its exact expectation given g (the codec is right if Measured is within the codec band of it).</param>
/// <param name="Predicted">The design's prediction under the model (the model is right if GivenGradient is within the model band of it).</param>
/// <param name="CodecStandardError">Monte-Carlo standard error of Measured (0 for figures the draw does not change).</param>
/// <param name="CodecTolerance">Float32 rounding allowance of the codec band.</param>
/// <param name="ModelStandardError">predicted × the bootstrap's relative sd at d.</param>
/// <param name="Z">z.</param>
/// <param name="CodecWithin">|Measured − GivenGradient| ≤ z·CodecStandardError + CodecTolerance.</param>
/// <param name="ModelWithin">|GivenGradient − Predicted| ≤ z·ModelStandardError.</param>
public sealed record AuditFigure(
    string Name,
    double Measured,
    double GivenGradient,
    double Predicted,
    double CodecStandardError,
    double CodecTolerance,
    double ModelStandardError,
    double Z,
    bool CodecWithin,
    bool ModelWithin)
{
    /// <summary>(1/d)·mean of ‖ĝ − c‖² over the draws, c = clip(g).</summary>
    public const string RoundingVariance = "rounding variance";

    /// <summary>Fraction of |g_j| beyond α.</summary>
    public const string TruncationRate = "truncation rate";

    /// <summary>(1/d)Σ(|g_j| − α)₊².</summary>
    public const string TruncationMse = "truncation MSE";

    /// <summary>‖E[ĝ] − g‖²/d, estimated as (1/d)‖ḡ − g‖² − V_g/R.</summary>
    public const string Bias = "bias";

    /// <summary>(1/d)·mean of ‖ĝ − g‖² over the draws: the total error J per coordinate.</summary>
    public const string MeanSquaredError = "MSE (total J)";

    /// <summary>Payload bytes.</summary>
    public const string Bytes = "bytes";

    /// <summary>Measured / predicted (NaN when the prediction is 0).</summary>
    public double Ratio => Predicted != 0 ? Measured / Predicted : double.NaN;

    /// <summary>Whether the measurement left its band.</summary>
    public bool Flagged => !(CodecWithin && ModelWithin);

    /// <summary>"codec", "model fit", "codec and model fit", or "" when within.</summary>
    public string Cause => (CodecWithin, ModelWithin) switch
    {
        (true, true) => "",
        (false, true) => "codec",
        (true, false) => "model fit",
        _ => "codec and model fit",
    };
}

/// <summary>One scheme × bit width audited on one gradient.</summary>
/// <param name="Spec">The scheme.</param>
/// <param name="Design">Its design under the audit's model.</param>
/// <param name="Levels">The levels in gradient units for this g (QSGD/NUQSGD: × ‖g‖₂).</param>
/// <param name="Given">The exact conditional figures.</param>
/// <param name="Bytes">Payload bytes, header included.</param>
/// <param name="BitsPerCoordinate">8·bytes/d.</param>
/// <param name="CompressionRatio">4d/bytes, against float32.</param>
/// <param name="ErrorBound">The design's J = Lemma 1's bound + M(α) (QSGD/NUQSGD: their published bound).</param>
/// <param name="WithinErrorBound">Measured MSE ≤ J + the MSE figure's codec and model bands.</param>
/// <param name="RawSquaredBias">(1/d)‖ḡ − g‖² before its V_g/R floor is removed.</param>
/// <param name="Draws">R.</param>
/// <param name="Figures">The figures, in table order.</param>
public sealed record SchemeAudit(
    QuantizerSpec Spec,
    QuantizerDesign Design,
    ImmutableArray<double> Levels,
    ConditionalError Given,
    long Bytes,
    double BitsPerCoordinate,
    double CompressionRatio,
    double ErrorBound,
    bool WithinErrorBound,
    double RawSquaredBias,
    int Draws,
    ImmutableArray<AuditFigure> Figures)
{
    /// <summary>e.g. tnq-3, sign.</summary>
    public string Label => Spec.Label;

    /// <summary>The figure called <paramref name="name"/>, if the scheme has it.</summary>
    public AuditFigure? Figure(string name) => Figures.FirstOrDefault(f => f.Name == name);

    /// <summary>Whether any figure is flagged.</summary>
    public bool Flagged => Figures.Any(f => f.Flagged);
}

/// <summary>A whole audit of one gradient.</summary>
/// <param name="Dimension">d.</param>
/// <param name="MeanSquare">(1/d)‖g‖², the error of sending nothing: a scale for the MSEs.</param>
/// <param name="Fit">The fits.</param>
/// <param name="Schemes">One per scheme × bits.</param>
/// <param name="Options">How it ran.</param>
public sealed record GradientAuditResult(
    int Dimension, double MeanSquare, FitSummary Fit, ImmutableArray<SchemeAudit> Schemes, AuditOptions Options);
