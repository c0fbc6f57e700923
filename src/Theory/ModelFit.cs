using System.Runtime.Intrinsics;
using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>Estimates of a gradient model's parameters from one gradient vector (spec §1.6, §3.2).</summary>
/// <remarks>Pure functions of the span; sums run in double precision whatever the span's length.</remarks>
public static class ModelFit
{
    /// <summary>Laplace MLE with zero location: γ̂ = (1/d)·Σ|g_j| (spec §1.6).</summary>
    /// <exception cref="ArgumentException">The span is empty, all zero, or holds NaN/±∞.</exception>
    public static Laplace Laplace(ReadOnlySpan<float> gradient)
    {
        double sum = SumOfMagnitudes(gradient);
        return new Laplace(RequirePositiveScale(sum / Math.Max(gradient.Length, 1), gradient.Length, "mean |g|"));
    }

    /// <summary>Gaussian MLE with zero mean: σ̂ = √((1/d)·Σ g_j²).</summary>
    /// <exception cref="ArgumentException">The span is empty, all zero, or holds NaN/±∞.</exception>
    public static Gaussian Gaussian(ReadOnlySpan<float> gradient)
    {
        double sum = SumOfSquares(gradient);
        return new Gaussian(RequirePositiveScale(Math.Sqrt(sum / Math.Max(gradient.Length, 1)), gradient.Length, "root mean square"));
    }

    /// <summary>
    /// Maximum-likelihood fit of the symmetric Lomax model to |g|: for each σ the shape MLE is
    /// â = d/Σ ln(1 + |g_j|/σ) (ρ̂ = â + 1), and σ maximises the profile likelihood (golden section on log σ).
    /// </summary>
    /// <returns>σ̂, ρ̂ (any value &gt; 1) and the maximised log-likelihood of the |g_j|.</returns>
    /// <exception cref="ArgumentException">The span is empty, all zero, or holds NaN/±∞.</exception>
    public static LomaxEstimate LomaxParameters(ReadOnlySpan<float> gradient)
    {
        double[] magnitudes = Magnitudes(gradient);
        double mean = 0;
        foreach (double m in magnitudes)
        {
            mean += m;
        }
        mean = RequirePositiveScale(mean / magnitudes.Length, magnitudes.Length, "mean |g|");
        double ProfileNegativeLogLikelihood(double scale) => -LomaxProfile(magnitudes, scale).LogLikelihood;
        double sigma = Minimizer.MinimizeOnLogScale(ProfileNegativeLogLikelihood, mean * 1e-4, mean * 1e6, 61);
        (double shapeMinusOne, double logLikelihood) = LomaxProfile(magnitudes, sigma);
        return new LomaxEstimate(sigma, shapeMinusOne + 1, logLikelihood);
    }

    /// <summary>The Lomax model fitted by <see cref="LomaxParameters"/>.</summary>
    /// <exception cref="ArgumentException">The fitted ρ̂ ≤ 3: the tail is too heavy for a finite truncation error.</exception>
    public static Lomax Lomax(ReadOnlySpan<float> gradient)
    {
        LomaxEstimate estimate = LomaxParameters(gradient);
        if (!(estimate.Shape > 3))
        {
            throw new ArgumentException(
                FormattableString.Invariant(
                    $"The fitted power law has ρ̂ = {estimate.Shape:G6} ≤ 3: its variance and truncation error are infinite, so no Lomax design exists. Use the Laplace model or a fixed threshold."),
                nameof(gradient));
        }
        return new Lomax(estimate.Scale, estimate.Shape);
    }

    /// <summary>
    /// Hill's estimator of the tail index ξ from the <paramref name="tailCount"/> largest |g_j|:
    /// ξ̂ = 1/((1/k)·Σ_{i&lt;k} ln(x_(i)/x_(k))), where x_(0) ≥ x_(1) ≥ … (spec §3.2: ρ = ξ + 1).
    /// </summary>
    /// <param name="gradient">The gradient.</param>
    /// <param name="tailCount">k, the number of order statistics used. Range: 1 ≤ k &lt; d.</param>
    public static double HillTailIndex(ReadOnlySpan<float> gradient, int tailCount)
    {
        double[] magnitudes = Magnitudes(gradient);
        Preconditions.CheckRange(nameof(tailCount), tailCount, 1, magnitudes.Length - 1);
        Array.Sort(magnitudes);
        Array.Reverse(magnitudes);
        double threshold = magnitudes[tailCount];
        if (!(threshold > 0))
        {
            throw new ArgumentException("The (k+1)-th largest |g| is 0: too few non-zero coordinates for Hill's estimator; use a smaller k.", nameof(tailCount));
        }
        double sum = 0;
        for (int i = 0; i < tailCount; i++)
        {
            sum += Math.Log(magnitudes[i] / threshold);
        }
        return tailCount / sum;
    }

    /// <summary>The Pareto tail above the (k+1)-th largest |g|: g₀ = x_(k), ρ̂ = 1 + Hill's ξ̂ (spec §3.2(b)).</summary>
    public static ParetoTail ParetoTail(ReadOnlySpan<float> gradient, int tailCount)
    {
        double tailIndex = HillTailIndex(gradient, tailCount);
        double[] magnitudes = Magnitudes(gradient);
        Array.Sort(magnitudes);
        return new ParetoTail(magnitudes[^(tailCount + 1)], tailIndex + 1);
    }

    private static (double ShapeMinusOne, double LogLikelihood) LomaxProfile(double[] magnitudes, double scale)
    {
        double sumLog = 0;
        foreach (double m in magnitudes)
        {
            sumLog += Precise.Log1P(m / scale);
        }
        int n = magnitudes.Length;
        double a = n / sumLog;
        // Log-likelihood of |g| ~ Lomax(a, σ): n ln a − n ln σ − (a + 1)·Σ ln(1 + x/σ).
        return (a, (n * Math.Log(a)) - (n * Math.Log(scale)) - ((a + 1) * sumLog));
    }

    private static double[] Magnitudes(ReadOnlySpan<float> gradient)
    {
        if (gradient.IsEmpty)
        {
            throw new ArgumentException("The gradient is empty: a model needs at least one coordinate.", nameof(gradient));
        }
        var magnitudes = new double[gradient.Length];
        for (int j = 0; j < gradient.Length; j++)
        {
            magnitudes[j] = Math.Abs(CheckFinite(gradient, j));
        }
        return magnitudes;
    }

    /// <summary>
    /// Σ|g_j| in double precision. The simulation fits every client's gradient every round (d ≈ 1.2·10⁶), so this runs
    /// eight double lanes at once instead of one serial chain of additions. The lanes are Vector256 on every machine,
    /// so the order of additions, and the last bit of the sum, is the same whatever vector width the CPU has: a fitted
    /// scale (and so the payload bytes) does not depend on the hardware.
    /// </summary>
    private static double SumOfMagnitudes(ReadOnlySpan<float> gradient)
    {
        Vector256<double> low = Vector256<double>.Zero, high = Vector256<double>.Zero;
        int j = 0;
        for (; j <= gradient.Length - Vector256<float>.Count; j += Vector256<float>.Count)
        {
            Vector256<float> values = Vector256.Abs(Vector256.Create(gradient.Slice(j, Vector256<float>.Count)));
            (Vector256<double> lower, Vector256<double> upper) = Vector256.Widen(values);
            low += lower;
            high += upper;
        }
        double sum = Vector256.Sum(low + high);
        for (; j < gradient.Length; j++)
        {
            sum += Math.Abs(gradient[j]);
        }
        // A NaN or ±∞ coordinate makes the sum NaN or ∞; finite floats cannot (|g| < 3.5·10³⁸, d < 2³¹).
        return double.IsFinite(sum) ? sum : ThrowFirstNonFinite(gradient);
    }

    /// <summary>Σ g_j² in double precision, in the fixed lane order of <see cref="SumOfMagnitudes"/>.</summary>
    private static double SumOfSquares(ReadOnlySpan<float> gradient)
    {
        Vector256<double> low = Vector256<double>.Zero, high = Vector256<double>.Zero;
        int j = 0;
        for (; j <= gradient.Length - Vector256<float>.Count; j += Vector256<float>.Count)
        {
            (Vector256<double> lower, Vector256<double> upper) = Vector256.Widen(Vector256.Create(gradient.Slice(j, Vector256<float>.Count)));
            low += lower * lower;
            high += upper * upper;
        }
        double sum = Vector256.Sum(low + high);
        for (; j < gradient.Length; j++)
        {
            double value = gradient[j];
            sum += value * value;
        }
        return double.IsFinite(sum) ? sum : ThrowFirstNonFinite(gradient);
    }

    private static double ThrowFirstNonFinite(ReadOnlySpan<float> gradient)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            _ = CheckFinite(gradient, j);
        }
        throw new InvalidOperationException("Unreachable: a non-finite sum of finite values.");
    }

    private static double CheckFinite(ReadOnlySpan<float> gradient, int index)
    {
        float value = gradient[index];
        if (!float.IsFinite(value))
        {
            throw new ArgumentException(
                FormattableString.Invariant($"Coordinate {index} of the gradient is {value}: training has diverged or the input is corrupt."),
                nameof(gradient));
        }
        return value;
    }

    private static double RequirePositiveScale(double scale, int length, string what)
    {
        if (length == 0)
        {
            throw new ArgumentException("The gradient is empty: a model needs at least one coordinate.", nameof(length));
        }
        if (!(scale > 0))
        {
            throw new ArgumentException($"The gradient is all zero ({what} = 0): there is no scale to fit; send it uncompressed.", nameof(scale));
        }
        return scale;
    }
}

/// <summary>A Lomax fit before validation: σ̂, ρ̂ and the log-likelihood of the |g_j| at the optimum.</summary>
/// <param name="Scale">σ̂ &gt; 0.</param>
/// <param name="Shape">ρ̂ &gt; 1 (the model needs ρ &gt; 3).</param>
/// <param name="LogLikelihood">Σ ln p(|g_j|) of the magnitudes under the fit.</param>
public sealed record LomaxEstimate(double Scale, double Shape, double LogLikelihood);
