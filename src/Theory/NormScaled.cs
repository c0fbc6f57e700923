using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>QSGD and NUQSGD on a whole vector v: levels relative to ‖v‖₂, exact variance and published bounds (spec §1.7).</summary>
public static class NormScaled
{
    /// <summary>
    /// The magnitude levels 0 = ℓ_0 &lt; … &lt; ℓ_s = 1 (fractions of ‖v‖₂): QSGD {0, 1/s, …, 1};
    /// NUQSGD {0, 2^{1−s}, …, 1/2, 1} (spec §1.7).
    /// </summary>
    public static ImmutableArray<double> Magnitudes(NormScaledSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int s = spec.Intervals;
        var levels = new double[s + 1];
        for (int j = 1; j <= s; j++)
        {
            levels[j] = spec is Nuqsgd ? Math.ScaleB(1.0, j - s) : (double)j / s;
        }
        return ImmutableArray.Create(levels);
    }

    /// <summary>
    /// ε with E‖Q(v) − v‖² ≤ ε‖v‖²: QSGD min(d/s², √d/s) (Alistarh et al., spec §1.7); NUQSGD 1/8 + d·2^{−2s}
    /// (derived in spec §1.7: cells [a, 2a] give at most r²/8, the first cell at most 2^{−2s}).
    /// </summary>
    /// <param name="spec">QSGD or NUQSGD.</param>
    /// <param name="dimension">d. Range: d ≥ 1.</param>
    public static double VarianceBoundFactor(NormScaledSpec spec, int dimension)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        int s = spec.Intervals;
        return spec is Nuqsgd
            ? 0.125 + (dimension * Math.ScaleB(1.0, -2 * s))
            : Math.Min(dimension / ((double)s * s), Math.Sqrt(dimension) / s);
    }

    /// <summary>The exact E‖Q(v) − v‖² = ‖v‖²·Σ_i (ℓ_k − r_i)(r_i − ℓ_{k−1}) with r_i = |v_i|/‖v‖₂ in [ℓ_{k−1}, ℓ_k].</summary>
    public static double ExactVariance(NormScaledSpec spec, ReadOnlySpan<double> vector)
    {
        ImmutableArray<double> magnitudes = Magnitudes(spec);
        double norm = Norm(vector);
        if (norm == 0)
        {
            return 0;
        }
        double sum = 0;
        foreach (double value in vector)
        {
            double r = Math.Min(Math.Abs(value) / norm, 1);
            int k = Rounding.UpperIndex(magnitudes.AsSpan(), r);
            sum += (magnitudes[k] - r) * (r - magnitudes[k - 1]);
        }
        return sum * norm * norm;
    }

    /// <summary>The probability that |v_i| is rounded up to ℓ_k·‖v‖ (spec §1.7: (r − ℓ_j)/(ℓ_{j+1} − ℓ_j)).</summary>
    public static double ProbabilityUp(NormScaledSpec spec, ReadOnlySpan<double> vector, int index)
    {
        ImmutableArray<double> magnitudes = Magnitudes(spec);
        double r = Math.Min(Math.Abs(vector[index]) / Norm(vector), 1);
        int k = Rounding.UpperIndex(magnitudes.AsSpan(), r);
        return (r - magnitudes[k - 1]) / (magnitudes[k] - magnitudes[k - 1]);
    }

    /// <summary>‖v‖₂.</summary>
    public static double Norm(ReadOnlySpan<double> vector)
    {
        double sum = 0;
        foreach (double value in vector)
        {
            sum += value * value;
        }
        return Math.Sqrt(sum);
    }
}
