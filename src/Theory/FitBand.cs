using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>
/// How far the "expected given g" figures of a vector may stray from the design's predictions when the model is
/// right: a parametric bootstrap of the whole chain fit → design → conditional figures.
/// </summary>
/// <remarks>
/// <para>The conditional figures of d coordinates (<see cref="ConditionalError"/>) are means of d per-coordinate terms,
/// but the design they are compared with was fitted to the same coordinates, and the fitted parameters move the
/// prediction at the same order 1/√d (a delta-method term that depends on the model and on the scheme). Rather than
/// derive that term for every model × scheme, the bootstrap measures it: B vectors of m coordinates are drawn from the
/// fitted model (quantile transform of a seeded uniform), refitted with the same estimator, designed, and the relative
/// deviations r = given/predicted − 1 recorded. Their standard deviation at m is scaled to d by √(m/d), the 1/√n law
/// of means. The model-fit band of a figure is then z·predicted·sd_d.</para>
/// <para>Pure: a seed fixes every draw.</para>
/// </remarks>
public static class FitBand
{
    /// <summary>Runs the bootstrap for each of <paramref name="specs"/>.</summary>
    /// <param name="model">The fitted model, which the synthetic vectors are drawn from.</param>
    /// <param name="refit">The estimator the audit used (e.g. <see cref="ModelFit.Laplace"/>); a fixed model for a design
    /// that was not fitted.</param>
    /// <param name="specs">The schemes and bit widths.</param>
    /// <param name="dimension">d of the audited vector. Range: d ≥ 1.</param>
    /// <param name="replicates">B. Range: 2..10⁴.</param>
    /// <param name="sampleSize">m, coordinates per synthetic vector (at most d is useful). Range: 16..2²⁸.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <returns>One spread per spec, in order.</returns>
    public static ImmutableArray<RelativeSpread> Bootstrap(
        GradientModel model,
        Func<float[], GradientModel> refit,
        IReadOnlyList<QuantizerSpec> specs,
        int dimension,
        int replicates,
        int sampleSize,
        int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(refit);
        ArgumentNullException.ThrowIfNull(specs);
        Preconditions.CheckRange(nameof(dimension), dimension, 1, int.MaxValue);
        Preconditions.CheckRange(nameof(replicates), replicates, 2, 10_000);
        Preconditions.CheckRange(nameof(sampleSize), sampleSize, 16, 1 << 28);
        int m = Math.Min(sampleSize, dimension);
        // deviations[spec][figure][replicate]
        var deviations = new double[specs.Count, RelativeSpread.Figures, replicates];
        var random = new Random(seed);
        var sample = new float[m];
        for (int b = 0; b < replicates; b++)
        {
            for (int j = 0; j < m; j++)
            {
                // (0, 1) open: NextDouble is in [0, 1); 1 − u is in (0, 1].
                double u = 1 - random.NextDouble();
                sample[j] = (float)model.Quantile(Math.Min(u, 1 - 1e-16));
            }
            GradientModel fitted = refit(sample);
            for (int i = 0; i < specs.Count; i++)
            {
                QuantizerDesign design = Quantizers.Design(specs[i], fitted, m);
                ConditionalError given = ConditionalError.Of(ConditionalError.LevelsFor(design, sample).AsSpan(), sample);
                RelativeSpread.Deviations(specs[i], design, given, sample, out double rounding, out double rate, out double truncation, out double mse);
                deviations[i, 0, b] = rounding;
                deviations[i, 1, b] = rate;
                deviations[i, 2, b] = truncation;
                deviations[i, 3, b] = mse;
            }
        }
        double scale = Math.Sqrt((double)m / dimension);
        var spreads = ImmutableArray.CreateBuilder<RelativeSpread>(specs.Count);
        var column = new double[replicates];
        for (int i = 0; i < specs.Count; i++)
        {
            var sd = new double[RelativeSpread.Figures];
            for (int f = 0; f < RelativeSpread.Figures; f++)
            {
                for (int b = 0; b < replicates; b++)
                {
                    column[b] = deviations[i, f, b];
                }
                sd[f] = AuditBand.StandardError(column) * Math.Sqrt(replicates) * scale;
            }
            spreads.Add(new RelativeSpread(sd[0], sd[1], sd[2], sd[3], m, replicates));
        }
        return spreads.MoveToImmutable();
    }
}

/// <summary>
/// The standard deviation, at the audited d, of given/predicted − 1 for each figure under the fitted model
/// (<see cref="FitBand"/>); NaN where a figure does not apply to the scheme (no truncation in QSGD; sign has only its
/// error).
/// </summary>
/// <param name="RoundingVariance">Of V_g against the design's RoundingVariance.</param>
/// <param name="TruncationRate">Of the truncated fraction against TailMass(α).</param>
/// <param name="TruncationMse">Of T_g against M(α) (sign: of its error against its bias).</param>
/// <param name="MeanSquaredError">Of V_g + T_g against RoundingVariance + M(α).</param>
/// <param name="SampleSize">m, coordinates per replicate.</param>
/// <param name="Replicates">B.</param>
public sealed record RelativeSpread(
    double RoundingVariance, double TruncationRate, double TruncationMse, double MeanSquaredError, int SampleSize, int Replicates)
{
    internal const int Figures = 4;

    /// <summary>No spread: for a design that is fixed and compared only with itself.</summary>
    public static RelativeSpread Zero { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>
    /// given/predicted − 1 for the four figures of one vector (NaN where the figure does not apply or the prediction is 0).
    /// Sign's error is deterministic: its whole error is the bias E[g²] − m², so all its figures but the error are NaN.
    /// </summary>
    public static void Deviations(
        QuantizerSpec spec, QuantizerDesign design, ConditionalError given, ReadOnlySpan<float> gradient,
        out double roundingVariance, out double truncationRate, out double truncationMse, out double meanSquaredError)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(design);
        roundingVariance = truncationRate = truncationMse = double.NaN;
        if (spec is Sign)
        {
            meanSquaredError = Relative(SignError(design, gradient), design.TruncationMse);
            truncationMse = meanSquaredError;
            return;
        }
        roundingVariance = Relative(given.RoundingVariance, design.RoundingVariance);
        if (spec is TruncatedSpec)
        {
            truncationRate = Relative(given.TruncationRate, design.Model.TailMass(design.Alpha));
            truncationMse = Relative(given.TruncationMse, design.TruncationMse);
        }
        meanSquaredError = Relative(given.MeanSquaredError, design.RoundingVariance + design.TruncationMse);
    }

    /// <summary>(1/d)Σ(m·sign(g_j) − g_j)², sign compression's deterministic error with the design's magnitude m.</summary>
    public static double SignError(QuantizerDesign design, ReadOnlySpan<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(design);
        double magnitude = design.Levels[^1], sum = 0;
        foreach (float value in gradient)
        {
            // (m·sign(g) − g)² = (m − |g|)² whichever sign 0 is sent with.
            double e = magnitude - Math.Abs((double)value);
            sum += e * e;
        }
        return gradient.IsEmpty ? 0 : sum / gradient.Length;
    }

    private static double Relative(double given, double predicted) => predicted > 0 ? (given / predicted) - 1 : double.NaN;
}
