using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>
/// What a quantizer with given levels does to one fixed vector g, in expectation over its stochastic rounding only:
/// the "expected given g" figures of an audit, and the exact spread of their Monte-Carlo estimates.
/// </summary>
/// <remarks>
/// <para>With c_j = clip(g_j, l_0, l_s) in the cell [l_{k−1}, l_k], a = l_k − c_j and b = c_j − l_{k−1}, the rounding
/// error ε_j = ĝ_j − c_j is a with probability p = b/(a + b) and −b otherwise (spec §1.4), so</para>
/// <list type="bullet">
/// <item>E[ε_j] = 0 and v_j = E[ε_j²] = ab (Lemma 1);</item>
/// <item>μ4_j = E[ε_j⁴] = p·a⁴ + (1 − p)·b⁴, hence Var[ε_j²] = μ4_j − v_j²;</item>
/// <item>coordinates round independently (the codec's uniform of coordinate j depends on (key, j) only).</item>
/// </list>
/// <para>From these, for R independent encodings (keys) of the same g:</para>
/// <list type="bullet">
/// <item>one draw of the rounding variance (1/d)Σε_j² has mean V_g = (1/d)Σv_j and standard deviation
/// √(Σ(μ4_j − v_j²))/d; the mean of R draws has that divided by √R;</item>
/// <item>since the cross term (ĝ_j − c_j)(c_j − g_j) is zero coordinate by coordinate (c_j = g_j inside; c_j is a level,
/// so ĝ_j = c_j, outside), the squared error (1/d)‖ĝ − g‖² is the rounding variance plus the deterministic
/// T_g = (1/d)Σ(|g_j| − l_s)₊², with the same spread;</item>
/// <item>with ḡ the mean of the R decodings, (1/d)‖ḡ − g‖² = T_g + (1/d)Σε̄_j² (same argument), whose mean is
/// T_g + V_g/R and whose variance is Σ_j[(μ4_j − 3v_j²)/R³ + 2v_j²/R²]/d² (from E[ε̄⁴] = μ4/R³ + 3(R − 1)v²/R³).</item>
/// </list>
/// <para>So ‖E[ĝ] − g‖²/d, the bias of an unbiased rounding of clip(g), is exactly T_g, and the unbiased estimate of it
/// from R draws is (1/d)‖ḡ − g‖² − V_g/R.</para>
/// </remarks>
/// <param name="Dimension">d.</param>
/// <param name="RoundingVariance">V_g = (1/d)Σ v_j.</param>
/// <param name="SumOfSquaredVariances">Σ v_j².</param>
/// <param name="SumOfFourthMoments">Σ μ4_j.</param>
/// <param name="TruncationRate">Fraction of j with |g_j| &gt; l_s.</param>
/// <param name="TruncationMse">T_g = (1/d)Σ(|g_j| − l_s)₊² (for levels symmetric about 0, which all designs' are).</param>
/// <param name="OuterLevel">l_s.</param>
public readonly record struct ConditionalError(
    int Dimension,
    double RoundingVariance,
    double SumOfSquaredVariances,
    double SumOfFourthMoments,
    double TruncationRate,
    double TruncationMse,
    double OuterLevel)
{
    /// <summary>E[(1/d)‖ĝ − g‖² | g] = V_g + T_g.</summary>
    public double MeanSquaredError => RoundingVariance + TruncationMse;

    /// <summary>The standard deviation of one draw of (1/d)Σε_j² (and of (1/d)‖ĝ − g‖²): √(Σ(μ4_j − v_j²))/d.</summary>
    public double RoundingVarianceStandardDeviation =>
        Dimension == 0 ? 0 : Math.Sqrt(Math.Max(0, SumOfFourthMoments - SumOfSquaredVariances)) / Dimension;

    /// <summary>E[(1/d)‖ḡ_R − g‖² | g] = T_g + V_g/R for the mean ḡ_R of R decodings.</summary>
    /// <param name="draws">R. Range: R ≥ 1.</param>
    public double ExpectedSquaredBiasEstimate(int draws) =>
        TruncationMse + (RoundingVariance / Preconditions.CheckRange(nameof(draws), draws, 1, int.MaxValue));

    /// <summary>The standard deviation of (1/d)‖ḡ_R − g‖²: √(Σ_j[(μ4_j − 3v_j²)/R³ + 2v_j²/R²])/d.</summary>
    /// <param name="draws">R. Range: R ≥ 1.</param>
    public double SquaredBiasStandardDeviation(int draws)
    {
        double r = Preconditions.CheckRange(nameof(draws), draws, 1, int.MaxValue);
        double variance = ((SumOfFourthMoments - (3 * SumOfSquaredVariances)) / (r * r * r)) + (2 * SumOfSquaredVariances / (r * r));
        return Dimension == 0 ? 0 : Math.Sqrt(Math.Max(0, variance)) / Dimension;
    }

    /// <summary>The figures of <paramref name="gradient"/> under the ascending <paramref name="levels"/> l_0 &lt; … &lt; l_s.</summary>
    /// <exception cref="ArgumentException">Fewer than two levels, or levels not strictly ascending.</exception>
    public static ConditionalError Of(ReadOnlySpan<double> levels, ReadOnlySpan<float> gradient)
    {
        if (levels.Length < 2)
        {
            throw new ArgumentException($"A quantizer needs at least two levels; got {levels.Length}.", nameof(levels));
        }
        for (int k = 1; k < levels.Length; k++)
        {
            if (!(levels[k] > levels[k - 1]))
            {
                throw new ArgumentException($"Levels must be strictly ascending; level {k} is not above level {k - 1}.", nameof(levels));
            }
        }
        int d = gradient.Length;
        if (d == 0)
        {
            return new ConditionalError(0, 0, 0, 0, 0, 0, levels[^1]);
        }
        double low = levels[0], high = levels[^1];
        double variances = 0, squaredVariances = 0, fourthMoments = 0, truncatedSquares = 0;
        long truncated = 0;
        foreach (float value in gradient)
        {
            double g = value;
            double excess = Math.Abs(g) - high;
            if (excess > 0)
            {
                truncated++;
                truncatedSquares += excess * excess;
            }
            double c = Math.Clamp(g, low, high);
            int k = Rounding.UpperIndex(levels, c);
            double above = levels[k] - c, below = c - levels[k - 1];
            double v = above * below;
            double up = below / (above + below);
            variances += v;
            squaredVariances += v * v;
            fourthMoments += (up * above * above * above * above) + ((1 - up) * below * below * below * below);
        }
        return new ConditionalError(d, variances / d, squaredVariances, fourthMoments, (double)truncated / d, truncatedSquares / d, high);
    }

    /// <summary>
    /// The design's levels in gradient units for <paramref name="gradient"/>: as they are for the truncated schemes and
    /// sign, times ‖g‖₂ for QSGD/NUQSGD (spec §1.7), with the ±0 duplicate of the sign bit removed.
    /// </summary>
    public static ImmutableArray<double> LevelsFor(QuantizerDesign design, ReadOnlySpan<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(design);
        double factor = 1;
        if (design.LevelUnit == LevelUnit.Norm)
        {
            double sum = 0;
            foreach (float g in gradient)
            {
                sum += (double)g * g;
            }
            factor = Math.Sqrt(sum);
        }
        return [.. design.Levels.Select(l => l * factor).Distinct().Order()];
    }
}

/// <summary>
/// Confidence bands of an audit: a figure passes when |measured − expected| ≤ z·SE + tolerance, with SE a Monte-Carlo
/// standard error and the tolerance covering what is exact up to floating-point rounding.
/// </summary>
public static class AuditBand
{
    /// <summary>The z of every band: 5 standard errors, so a correct codec and a true model are flagged with
    /// probability below 10⁻⁶ per figure (normal tails), while real gaps of a few percent still show.</summary>
    public const double DefaultZ = 5;

    /// <summary>Whether |<paramref name="measured"/> − <paramref name="expected"/>| ≤ z·SE + tolerance.</summary>
    public static bool Contains(double measured, double expected, double standardError, double z = DefaultZ, double tolerance = 0) =>
        Math.Abs(measured - expected) <= (z * standardError) + tolerance;

    /// <summary>The sample mean of <paramref name="values"/>.</summary>
    public static double Mean(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty)
        {
            return double.NaN;
        }
        double sum = 0;
        foreach (double v in values)
        {
            sum += v;
        }
        return sum / values.Length;
    }

    /// <summary>s/√n, the standard error of the mean of <paramref name="values"/> (sample sd with n − 1); NaN for n &lt; 2.</summary>
    public static double StandardError(ReadOnlySpan<double> values)
    {
        int n = values.Length;
        if (n < 2)
        {
            return double.NaN;
        }
        double mean = Mean(values), squares = 0;
        foreach (double v in values)
        {
            squares += (v - mean) * (v - mean);
        }
        return Math.Sqrt(squares / (n - 1) / n);
    }
}
