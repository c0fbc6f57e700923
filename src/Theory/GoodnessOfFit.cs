using System.Collections.Immutable;

namespace Verified.Theory;

/// <summary>
/// How well a gradient model fits one gradient vector: log-likelihood, an information criterion to compare models with
/// different numbers of parameters, the Kolmogorov–Smirnov distance and quantile–quantile points.
/// </summary>
/// <remarks>
/// <para>Every model here is symmetric about 0 and fitted to the magnitudes |g_j| (spec §1.6, §3.2), so the distance
/// and the quantiles compare the magnitudes with the model's distribution of |g|, G(x) = P(|g| ≤ x) = 1 − TailMass(x).
/// A sign asymmetry in the data is then not counted against the model; the designs do not use it either.</para>
/// <para>Pure functions; sums in double precision.</para>
/// </remarks>
public static class GoodnessOfFit
{
    /// <summary>Σ_j ln p(g_j), the log-likelihood of the signed coordinates (−∞ if a coordinate has zero density).</summary>
    /// <exception cref="ArgumentException">The gradient is empty.</exception>
    public static double LogLikelihood(GradientModel model, ReadOnlySpan<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (gradient.IsEmpty)
        {
            throw new ArgumentException("The gradient is empty: a likelihood needs at least one coordinate.", nameof(gradient));
        }
        double sum = 0;
        switch (model)
        {
            // The two fitted families in closed form: one log per coordinate instead of a log of a pow.
            case Laplace laplace:
                double scale = laplace.Scale;
                foreach (float g in gradient)
                {
                    sum += Math.Abs(g);
                }
                return (-gradient.Length * Math.Log(2 * scale)) - (sum / scale);
            case Lomax lomax:
                return LomaxLogLikelihood(lomax.Scale, lomax.Shape, gradient);
            default:
                foreach (float g in gradient)
                {
                    sum += Math.Log(model.Pdf(g));
                }
                return sum;
        }
    }

    /// <summary>
    /// Σ_j ln p(g_j) under the symmetric Lomax of spec §3.2(a), p(g) = ((ρ − 1)/(2σ))(1 + |g|/σ)^{−ρ}, for any ρ &gt; 1
    /// (a fit may land at ρ̂ ≤ 3, where no <see cref="Lomax"/> record exists).
    /// </summary>
    /// <exception cref="ArgumentException">The gradient is empty.</exception>
    public static double LomaxLogLikelihood(double scale, double shape, ReadOnlySpan<float> gradient)
    {
        Preconditions.CheckPositive(nameof(scale), scale);
        Preconditions.CheckGreaterThan(nameof(shape), shape, 1);
        if (gradient.IsEmpty)
        {
            throw new ArgumentException("The gradient is empty: a likelihood needs at least one coordinate.", nameof(gradient));
        }
        double sum = 0;
        foreach (float g in gradient)
        {
            sum += Numerics.Precise.Log1P(Math.Abs(g) / scale);
        }
        return (gradient.Length * Math.Log((shape - 1) / (2 * scale))) - (shape * sum);
    }

    /// <summary>
    /// The Bayesian information criterion k·ln n − 2·ln L (Schwarz 1978): lower is better. Its ln n penalty per
    /// parameter keeps the two-parameter power law from winning on Laplace data by chance (the likelihood-ratio
    /// statistic of nested models is about χ²₁, far below ln n for the d of a gradient).
    /// </summary>
    /// <param name="logLikelihood">ln L.</param>
    /// <param name="parameters">k, free parameters of the model. Range: k ≥ 0.</param>
    /// <param name="count">n, coordinates. Range: n ≥ 1.</param>
    public static double BayesianInformationCriterion(double logLikelihood, int parameters, int count)
    {
        Preconditions.CheckRange(nameof(parameters), parameters, 0, int.MaxValue);
        Preconditions.CheckRange(nameof(count), count, 1, int.MaxValue);
        return (parameters * Math.Log(count)) - (2 * logLikelihood);
    }

    /// <summary>The magnitudes |g_j|, sorted ascending: the input of <c>KolmogorovSmirnovDistance</c> and <c>QuantilePairs</c>.</summary>
    public static double[] SortedMagnitudes(ReadOnlySpan<float> gradient)
    {
        var magnitudes = new double[gradient.Length];
        for (int j = 0; j < gradient.Length; j++)
        {
            magnitudes[j] = Math.Abs((double)gradient[j]);
        }
        Array.Sort(magnitudes);
        return magnitudes;
    }

    /// <summary>
    /// D = sup_x |G_n(x) − G(x)|, the Kolmogorov–Smirnov distance between the empirical distribution G_n of the
    /// magnitudes and the model's G(x) = 1 − TailMass(x).
    /// </summary>
    /// <remarks>With x_(1) ≤ … ≤ x_(n), D = max_i max(i/n − G(x_(i)), G(x_(i)) − (i − 1)/n). Ties need no special case:
    /// inside a run of equal values the two terms are largest at its last and first index, which is where the
    /// supremum of the step function is. Range: 0 ≤ D ≤ 1; a sample at the plotting positions G⁻¹((i − ½)/n) has
    /// D = 1/(2n), the smallest possible.</remarks>
    /// <param name="model">The model.</param>
    /// <param name="sortedMagnitudes">|g| sorted ascending (<see cref="SortedMagnitudes"/>).</param>
    /// <exception cref="ArgumentException">The sample is empty or not sorted.</exception>
    public static double KolmogorovSmirnovDistance(GradientModel model, ReadOnlySpan<double> sortedMagnitudes)
    {
        ArgumentNullException.ThrowIfNull(model);
        return KolmogorovSmirnovDistance(MagnitudeDistribution.Of(model), sortedMagnitudes);
    }

    /// <inheritdoc cref="KolmogorovSmirnovDistance(GradientModel, ReadOnlySpan{double})"/>
    public static double KolmogorovSmirnovDistance(MagnitudeDistribution model, ReadOnlySpan<double> sortedMagnitudes)
    {
        ArgumentNullException.ThrowIfNull(model);
        int n = sortedMagnitudes.Length;
        if (n == 0)
        {
            throw new ArgumentException("The sample is empty.", nameof(sortedMagnitudes));
        }
        double distance = 0;
        double previous = double.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            double x = sortedMagnitudes[i];
            if (x < previous)
            {
                throw new ArgumentException($"The magnitudes must be sorted ascending; position {i} is below position {i - 1}.", nameof(sortedMagnitudes));
            }
            previous = x;
            double expected = 1 - model.TailMass(x);
            distance = Math.Max(distance, Math.Max(((i + 1.0) / n) - expected, expected - ((double)i / n)));
        }
        return distance;
    }

    /// <summary>
    /// The asymptotic Kolmogorov critical value c(a)/√n with c(a) = √(−ln(a/2)/2) (c(0.05) ≈ 1.358): D above it
    /// rejects, at level a, that the sample was drawn from a fully specified model.
    /// </summary>
    /// <remarks>With parameters fitted to the same sample the true critical value is smaller (Lilliefors), so this is
    /// a lenient reference; at the d of a network gradient any real misfit exceeds it anyway.</remarks>
    /// <param name="count">n. Range: n ≥ 1.</param>
    /// <param name="level">a. Range: 0 &lt; a &lt; 1.</param>
    public static double KolmogorovSmirnovCriticalValue(int count, double level = 0.05)
    {
        Preconditions.CheckRange(nameof(count), count, 1, int.MaxValue);
        if (!(level > 0 && level < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, $"level = {level} is out of range: it must be in (0, 1).");
        }
        return Math.Sqrt(-Math.Log(level / 2) / 2) / Math.Sqrt(count);
    }

    /// <summary>
    /// Quantile–quantile points of |g|: at tail probabilities q spaced evenly in log q from ½ down to 2/n, the model's
    /// x with P(|g| &gt; x) = q next to the sample's (1 − q)-quantile. Log spacing puts most points in the tail, where
    /// the truncation threshold lives and where the models differ.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="sortedMagnitudes">|g| sorted ascending.</param>
    /// <param name="points">How many points. Range: 2..10⁶.</param>
    public static ImmutableArray<QuantilePair> QuantilePairs(GradientModel model, ReadOnlySpan<double> sortedMagnitudes, int points = 60)
    {
        ArgumentNullException.ThrowIfNull(model);
        return QuantilePairs(MagnitudeDistribution.Of(model), sortedMagnitudes, points);
    }

    /// <inheritdoc cref="QuantilePairs(GradientModel, ReadOnlySpan{double}, int)"/>
    public static ImmutableArray<QuantilePair> QuantilePairs(MagnitudeDistribution model, ReadOnlySpan<double> sortedMagnitudes, int points = 60)
    {
        ArgumentNullException.ThrowIfNull(model);
        Preconditions.CheckRange(nameof(points), points, 2, 1_000_000);
        int n = sortedMagnitudes.Length;
        if (n < 4)
        {
            throw new ArgumentException($"The sample has {n} values; a QQ plot needs at least 4.", nameof(sortedMagnitudes));
        }
        double highest = Math.Log(0.5), lowest = Math.Log(2.0 / n);
        var pairs = ImmutableArray.CreateBuilder<QuantilePair>(points);
        for (int i = 0; i < points; i++)
        {
            double tail = Math.Exp(highest + ((lowest - highest) * i / (points - 1)));
            // The empirical (1 − q)-quantile: the smallest x_(k) with k/n ≥ 1 − q.
            int index = Math.Clamp((int)Math.Ceiling((1 - tail) * n) - 1, 0, n - 1);
            pairs.Add(new QuantilePair(tail, model.TailQuantile(tail), sortedMagnitudes[index]));
        }
        return pairs.MoveToImmutable();
    }
}

/// <summary>One point of a QQ plot of |g|.</summary>
/// <param name="TailProbability">q = P(|g| &gt; x).</param>
/// <param name="Model">The model's x for q.</param>
/// <param name="Sample">The sample's (1 − q)-quantile of |g|.</param>
public readonly record struct QuantilePair(double TailProbability, double Model, double Sample);

/// <summary>
/// The distribution of |g| as three functions: what goodness of fit needs. It exists apart from
/// <see cref="GradientModel"/> because a fitted power law may have ρ̂ ≤ 3: a valid distribution with infinite variance,
/// which the audit must still score, but for which no <see cref="Theory.Lomax"/> (and no design) exists.
/// </summary>
/// <param name="Name">laplace, lomax, …</param>
/// <param name="TailMass">x ↦ P(|g| &gt; x).</param>
/// <param name="TailQuantile">q ↦ the x with P(|g| &gt; x) = q.</param>
/// <param name="Pdf">g ↦ p(g), the density of the signed coordinate.</param>
public sealed record MagnitudeDistribution(
    string Name, Func<double, double> TailMass, Func<double, double> TailQuantile, Func<double, double> Pdf)
{
    /// <summary>The distribution of |g| under <paramref name="model"/>.</summary>
    public static MagnitudeDistribution Of(GradientModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new MagnitudeDistribution(model.Kind, model.TailMass, model.TailQuantile, model.Pdf);
    }

    /// <summary>
    /// The symmetric Lomax of spec §3.2(a) for any ρ &gt; 1 (a proper density; finite variance needs ρ &gt; 3):
    /// P(|g| &gt; x) = (1 + x/σ)^{−(ρ−1)}.
    /// </summary>
    /// <param name="scale">σ &gt; 0.</param>
    /// <param name="shape">ρ &gt; 1.</param>
    public static MagnitudeDistribution Lomax(double scale, double shape)
    {
        Preconditions.CheckPositive(nameof(scale), scale);
        Preconditions.CheckGreaterThan(nameof(shape), shape, 1);
        return new MagnitudeDistribution(
            "lomax",
            x => Math.Pow(1 + (Math.Max(x, 0) / scale), 1 - shape),
            q => scale * Numerics.Precise.ExpM1(-Math.Log(q) / (shape - 1)),
            g => (shape - 1) / (2 * scale) * Math.Pow(1 + (Math.Abs(g) / scale), -shape));
    }
}
