using System.Collections.Immutable;
using System.Globalization;

namespace Verified.Theory;

/// <summary>
/// Model selection on one gradient: the Laplace MLE and the Lomax (power-law) MLE, each scored by log-likelihood, BIC
/// and the Kolmogorov–Smirnov distance of |g|, the lower BIC chosen, and Hill's tail index beside them (spec §3.2).
/// </summary>
/// <remarks>Pure and deterministic: the same gradient and arguments give the same result. The codec's audit
/// (<c>Verified.Codec.Audit.CodecAudit</c>) designs its schemes under the chosen model.</remarks>
public static class ModelSelection
{
    /// <summary>Fits both models to <paramref name="gradient"/>, scores them and chooses the one the designs use.</summary>
    /// <param name="gradient">g. Range: d ≥ 16 finite coordinates, not all zero.</param>
    /// <param name="lomaxFitSize">Coordinates the Lomax MLE runs on (an even stride of g). Range: ≥ 1.</param>
    /// <param name="quantilePoints">QQ points per model. Range: ≥ 2.</param>
    /// <param name="callerModel">The caller's model for the designs, or null to use the fits' choice.</param>
    /// <exception cref="ArgumentException">The gradient is empty, all zero, or not finite.</exception>
    public static FitSummary Fit(ReadOnlySpan<float> gradient, int lomaxFitSize, int quantilePoints, GradientModel? callerModel)
    {
        Preconditions.CheckRange(nameof(lomaxFitSize), lomaxFitSize, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(quantilePoints), quantilePoints, 2, int.MaxValue);
        int d = gradient.Length;
        if (d < 16)
        {
            throw new ArgumentException($"The gradient has {d} coordinates; an audit needs at least 16.", nameof(gradient));
        }
        Laplace laplace = ModelFit.Laplace(gradient);
        // The Lomax MLE is a golden-section search over σ with a pass over the data per step (about 3 s for 1.2 M
        // coordinates): it runs on an evenly strided subsample, which spans every layer of a flat network gradient.
        float[] subsample = Subsample(gradient, lomaxFitSize);
        LomaxEstimate lomax = ModelFit.LomaxParameters(subsample);
        double[] sorted = GoodnessOfFit.SortedMagnitudes(gradient);

        double laplaceLikelihood = GoodnessOfFit.LogLikelihood(laplace, gradient);
        double lomaxLikelihood = GoodnessOfFit.LomaxLogLikelihood(lomax.Scale, lomax.Shape, gradient);
        var lomaxDistribution = MagnitudeDistribution.Lomax(lomax.Scale, lomax.Shape);
        bool lomaxDesignable = lomax.Shape > 3;
        var fits = ImmutableArray.Create(
            new ModelFitReport(
                "laplace", laplace, laplace.Scale, null, 1, laplaceLikelihood,
                GoodnessOfFit.BayesianInformationCriterion(laplaceLikelihood, 1, d),
                GoodnessOfFit.KolmogorovSmirnovDistance(laplace, sorted),
                GoodnessOfFit.QuantilePairs(laplace, sorted, quantilePoints),
                MagnitudeDistribution.Of(laplace),
                null),
            new ModelFitReport(
                "lomax", lomaxDesignable ? new Lomax(lomax.Scale, lomax.Shape) : null, lomax.Scale, lomax.Shape, 2, lomaxLikelihood,
                GoodnessOfFit.BayesianInformationCriterion(lomaxLikelihood, 2, d),
                GoodnessOfFit.KolmogorovSmirnovDistance(lomaxDistribution, sorted),
                GoodnessOfFit.QuantilePairs(lomaxDistribution, sorted, quantilePoints),
                lomaxDistribution,
                lomaxDesignable ? null : string.Create(CultureInfo.InvariantCulture, $"ρ̂ = {lomax.Shape:G4} ≤ 3: infinite variance, no design (spec §3.2(a))")));

        ModelFitReport best = fits.MinBy(f => f.Bic)!;
        ModelFitReport chosen = best.Model is not null ? best : fits[0];
        string reason = best.Model is not null
            ? string.Create(CultureInfo.InvariantCulture, $"lowest BIC ({best.Kind}: {best.Bic:G6} against {fits.First(f => f != best).Bic:G6})")
            : string.Create(CultureInfo.InvariantCulture, $"the power law has the lower BIC but {best.Note}; the Laplace model is used");
        GradientModel designModel = callerModel ?? chosen.Model!;
        if (callerModel is not null)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"set by the caller ({callerModel}); the fits would choose {chosen.Kind}");
        }

        int tailCount = Math.Clamp((int)Math.Round(Math.Sqrt(d)), 10, d - 1);
        double hill;
        try
        {
            hill = ModelFit.HillTailIndex(gradient, tailCount);
        }
        catch (ArgumentException)
        {
            hill = double.NaN;
        }
        return new FitSummary(
            fits,
            callerModel is null ? chosen.Kind : designModel.Kind,
            designModel,
            reason,
            GoodnessOfFit.KolmogorovSmirnovCriticalValue(d),
            // Hill's ξ̂ is asymptotically normal with sd ξ/√k (Hill 1975).
            new HillEstimate(tailCount, hill, hill / Math.Sqrt(tailCount)),
            subsample.Length,
            callerModel is null && chosen.Kind == "lomax");
    }

    /// <summary>The Lomax refit of a bootstrap sample, or <paramref name="fallback"/> when ρ̂ ≤ 3 (no design, spec §3.2(a)).</summary>
    public static GradientModel RefitLomax(float[] sample, GradientModel fallback)
    {
        LomaxEstimate estimate = ModelFit.LomaxParameters(sample);
        return estimate.Shape > 3 ? new Lomax(estimate.Scale, estimate.Shape) : fallback;
    }

    /// <summary>Every ⌈d/n⌉-th coordinate, or the gradient itself when d ≤ n.</summary>
    public static float[] Subsample(ReadOnlySpan<float> gradient, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (gradient.Length <= size)
        {
            return gradient.ToArray();
        }
        int stride = (gradient.Length + size - 1) / size;
        var sample = new float[(gradient.Length + stride - 1) / stride];
        for (int i = 0; i < sample.Length; i++)
        {
            sample[i] = gradient[i * stride];
        }
        return sample;
    }
}

/// <summary>One fitted model and its goodness of fit.</summary>
/// <param name="Kind">laplace or lomax.</param>
/// <param name="Model">The model, or null when it cannot be designed for (a power law with ρ̂ ≤ 3).</param>
/// <param name="Scale">γ̂ or σ̂.</param>
/// <param name="Shape">ρ̂ for the power law.</param>
/// <param name="Parameters">k.</param>
/// <param name="LogLikelihood">Σ ln p(g_j) over all d coordinates.</param>
/// <param name="Bic">k ln d − 2 ln L.</param>
/// <param name="KsDistance">sup |G_d − G| of |g|.</param>
/// <param name="QuantilePairs">QQ points of |g|.</param>
/// <param name="Distribution">The fitted distribution of |g| (and its density), for plots.</param>
/// <param name="Note">Why the model cannot be designed for, if so.</param>
public sealed record ModelFitReport(
    string Kind,
    GradientModel? Model,
    double Scale,
    double? Shape,
    int Parameters,
    double LogLikelihood,
    double Bic,
    double KsDistance,
    ImmutableArray<QuantilePair> QuantilePairs,
    MagnitudeDistribution Distribution,
    string? Note);

/// <summary>Hill's tail-index estimate ξ̂ from the k largest |g| (spec §3.2: ρ = ξ + 1).</summary>
/// <param name="TailCount">k = round(√d).</param>
/// <param name="TailIndex">ξ̂ (NaN if the (k+1)-th largest |g| is 0).</param>
/// <param name="StandardError">ξ̂/√k, its asymptotic standard error.</param>
public sealed record HillEstimate(int TailCount, double TailIndex, double StandardError);

/// <summary>Both fits and the choice.</summary>
/// <param name="Models">Laplace, then Lomax.</param>
/// <param name="Chosen">The kind of the design model.</param>
/// <param name="DesignModel">The model every design of the audit uses.</param>
/// <param name="Reason">Why it was chosen.</param>
/// <param name="KsCriticalValue">1.358/√d, the 5% Kolmogorov critical value for a fully specified model.</param>
/// <param name="Hill">Hill's estimate.</param>
/// <param name="LomaxFitSize">Coordinates the Lomax MLE ran on (an even stride of the gradient).</param>
/// <param name="LomaxFitted">Whether the design model is the fitted power law.</param>
public sealed record FitSummary(
    ImmutableArray<ModelFitReport> Models,
    string Chosen,
    GradientModel DesignModel,
    string Reason,
    double KsCriticalValue,
    HillEstimate Hill,
    int LomaxFitSize,
    bool LomaxFitted);
