namespace Verified.Theory;

/// <summary>Truncation and unbiased stochastic rounding on a set of levels: the scalar laws of spec §1.2 and §1.4.</summary>
/// <remarks>These are the mathematical reference the codec's kernels are audited against; they take the uniform
/// draw u ∈ [0, 1) as an argument, so they stay pure.</remarks>
public static class Rounding
{
    /// <summary>T_α(g) = clamp(g, −α, α), spec §1.2.</summary>
    public static double Truncate(double g, double alpha) => Math.Clamp(g, -alpha, alpha);

    /// <summary>The k in 1..s with l_{k−1} ≤ x ≤ l_k (the cell of x), for l_0 ≤ x ≤ l_s.</summary>
    public static int UpperIndex(ReadOnlySpan<double> levels, double x)
    {
        int low = 1;
        int high = levels.Length - 1;
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            if (levels[middle] < x)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    /// <summary>p_up = (x − l_{k−1})/Δ_k for x in cell k, spec §1.4.</summary>
    public static double ProbabilityUp(ReadOnlySpan<double> levels, double x)
    {
        int k = UpperIndex(levels, x);
        return (x - levels[k - 1]) / (levels[k] - levels[k - 1]);
    }

    /// <summary>Var[Q(x)] = (l_k − x)(x − l_{k−1}) ≤ Δ_k²/4, Lemma 1 (spec §1.4).</summary>
    public static double Variance(ReadOnlySpan<double> levels, double x)
    {
        int k = UpperIndex(levels, x);
        return (levels[k] - x) * (x - levels[k - 1]);
    }

    /// <summary>
    /// The index Q chooses for x given a uniform draw u ∈ [0, 1): k if u &lt; p_up, else k − 1 (spec §1.4). A value on a
    /// level keeps that level for every u.
    /// </summary>
    public static int RoundIndex(ReadOnlySpan<double> levels, double x, double uniform)
    {
        int k = UpperIndex(levels, x);
        double probabilityUp = (x - levels[k - 1]) / (levels[k] - levels[k - 1]);
        return uniform < probabilityUp ? k : k - 1;
    }

    /// <summary>Q(T_α(g)) for a uniform draw u: truncate to [l_0, l_s], then round stochastically.</summary>
    public static double Quantize(ReadOnlySpan<double> levels, double g, double uniform)
    {
        double x = Math.Clamp(g, levels[0], levels[^1]);
        return levels[RoundIndex(levels, x, uniform)];
    }
}
