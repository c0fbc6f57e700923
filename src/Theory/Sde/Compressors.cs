namespace Verified.Theory.Sde;

/// <summary>
/// ω of compressors that are not sparsifiers. The unbiased sparsifiers are the specs themselves:
/// <see cref="BernoulliSparsification"/> and <see cref="RandKSparsification"/> (<c>Omega</c>, <c>OmegaFor</c>,
/// <c>Compress</c>).
/// </summary>
public static class CompressorOmega
{
    /// <summary>
    /// QSGD with s levels on d coordinates: ω = min(d/s², √d/s) (Alistarh et al. 2017; spec §4.1 and §6 item 19).
    /// For s = 2^{b−1} − 1 this is <see cref="NormScaled.VarianceBoundFactor"/> of <see cref="Qsgd"/>(b).
    /// </summary>
    /// <param name="dimension">d. Range: d ≥ 1.</param>
    /// <param name="levels">s. Range: s ≥ 1.</param>
    public static double Qsgd(int dimension, int levels)
    {
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(levels), levels, 1, int.MaxValue);
        double s = levels;
        return Math.Min(dimension / (s * s), Math.Sqrt(dimension) / s);
    }
}
