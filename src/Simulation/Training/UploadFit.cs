using Verified.Codec;
using Verified.Theory;

namespace Verified.Simulation.Training;

/// <summary>Which gradient model each upload fits before its quantizer is designed (<c>--fit</c>, the spec's <c>fit</c>).</summary>
public enum UploadFitKind
{
    /// <summary>Laplace MLE γ̂ = mean |g| (<see cref="ModelFit.Laplace"/>): one pass, the default.</summary>
    Laplace,

    /// <summary>
    /// Symmetric Lomax by profile maximum likelihood, the fast histogram-and-Newton fit (<see cref="LomaxFit.TryFast"/>:
    /// milliseconds per 1.2 M-coordinate upload, within 5·10⁻⁷ of the exact MLE). An upload whose fitted ρ̂ ≤ 3 (no
    /// finite truncation error, so no Lomax design) or ρ̂ above the wire format's cap falls back to Laplace.
    /// </summary>
    Lomax,

    /// <summary>
    /// Laplace or Lomax per upload by BIC (<see cref="LomaxFit.ChooseModel(ReadOnlySpan{float}, Laplace, double)"/>: Lomax only when its log-likelihood beats
    /// Laplace's by more than ½ ln d and ρ̂ &gt; 3), Laplace when the Lomax shape exceeds the wire format's cap.
    /// </summary>
    Auto,
}

/// <summary>
/// The per-upload model fit: the one place that turns <see cref="UploadFitKind"/> into a <see cref="ModelFit"/> call.
/// </summary>
/// <remarks>A new fit (a fast Lomax estimator, an <c>auto</c> choice between models) is a new
/// <see cref="UploadFitKind"/> member, its name in <see cref="Names"/>, and one arm in <see cref="Fit"/>; the spec,
/// the command line, the service, the labels and the channel follow.</remarks>
public static class UploadFit
{
    /// <summary>The names as written in <c>--fit</c> and JSON, in <see cref="UploadFitKind"/> order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["laplace", "lomax", "auto"];

    /// <summary>The name of <paramref name="kind"/> (<c>laplace</c>, <c>lomax</c>).</summary>
    public static string Name(UploadFitKind kind) => Names[(int)kind];

    /// <summary>The fit named <paramref name="text"/> (exact, lower case).</summary>
    public static bool TryParse(string? text, out UploadFitKind kind)
    {
        for (int i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], text, StringComparison.Ordinal))
            {
                kind = (UploadFitKind)i;
                return true;
            }
        }
        kind = default;
        return false;
    }

    /// <summary>
    /// The model of <paramref name="vector"/> under <paramref name="kind"/>. <paramref name="laplace"/> is the vector's
    /// Laplace fit, which the caller has already made (it is also the check for zero and non-finite vectors, so every
    /// fit here sees a finite vector with some nonzero coordinate).
    /// </summary>
    /// <param name="kind">Which fit.</param>
    /// <param name="vector">What is about to be encoded.</param>
    /// <param name="laplace">Its Laplace fit.</param>
    /// <param name="fellBack">True when the chosen fit found no usable model and <paramref name="laplace"/> is returned
    /// instead (Lomax with ρ̂ ≤ 3); the channel counts these.</param>
    public static GradientModel Fit(UploadFitKind kind, ReadOnlySpan<float> vector, Laplace laplace, out bool fellBack)
    {
        ArgumentNullException.ThrowIfNull(laplace);
        fellBack = false;
        switch (kind)
        {
            case UploadFitKind.Laplace:
                return laplace;
            case UploadFitKind.Lomax:
                if (LomaxFit.TryFast(vector, out Lomax? lomax, out _, out _) && OnShapeGrid(lomax) is { } snapped)
                {
                    return snapped;
                }
                // ρ̂ ≤ 3: the tail is too heavy for a finite truncation error, so there is no Lomax design; ρ̂ above the
                // header's cap is Laplace in all but name. The upload still has to go: Laplace is the model every
                // truncated scheme can design for.
                fellBack = true;
                return laplace;
            case UploadFitKind.Auto:
                return LomaxFit.ChooseModel(vector, laplace, PayloadHeader.MaximumShape) is Lomax chosen ? (GradientModel?)OnShapeGrid(chosen) ?? laplace : laplace;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a fit.");
        }
    }

    /// <summary>
    /// The Lomax with ρ̂ on <see cref="DesignScaling.SnapShape"/>'s 1 % grid, so that the codec's unit-scale design cache
    /// serves every upload whose shape it has seen (a continuous ρ̂ would make each upload a new design); null when the
    /// grid point is above the wire format's cap.
    /// </summary>
    public static Lomax? OnShapeGrid(Lomax lomax)
    {
        ArgumentNullException.ThrowIfNull(lomax);
        double shape = DesignScaling.SnapShape(lomax.Shape);
        return shape <= PayloadHeader.MaximumShape ? new Lomax(lomax.Scale, shape) : null;
    }
}
