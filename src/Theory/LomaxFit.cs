using System.Diagnostics.CodeAnalysis;
using System.Runtime.Intrinsics;
using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>
/// A Lomax fit fast enough to run on every upload (spec §3.2(a)), and the automatic choice between the Laplace and the
/// Lomax model for one gradient segment.
/// </summary>
/// <remarks>
/// <para><b>What is maximised.</b> The same profile likelihood as <see cref="ModelFit.LomaxParameters"/>: for |g| ~
/// Lomax(a = ρ − 1, σ), the shape MLE at a given σ is â(σ) = d/S(σ) with S(σ) = Σ ln(1 + |g_j|/σ), and with t = ln σ
/// the profile is ℓ(t) = d ln(d/S) − d t − d − S. Its derivatives need only T = Σ x/(σ + x) and
/// V = Σ xσ/(σ + x)²: ℓ′(t) = (â + 1)T − d and ℓ″(t) = −(â + 1)V + dT²/S².</para>
/// <para><b>How.</b> One pass bins the magnitudes by the top 11 bits of their IEEE-754 pattern (exponent and three
/// mantissa bits: 2040 finite bins, each 1/8 of an octave wide, covering every float without knowing the range) and
/// keeps per bin the count, Σx and Σx². No logarithm is taken per coordinate. Each bin then stands for two points
/// x̄ ± s (s its standard deviation) of half its count each: this keeps the bin's count, mean and variance, so the sums
/// S, T, V would be exact for functions quadratic in x over a bin; what is left comes from the bins' third and higher
/// central moments, small because a bin is 1/8 octave wide (measured: the binned S within 10⁻⁶ relative).
/// A scan of ℓ over ln σ ∈ [ln mean|g| − ln 10⁴, ln mean|g| + ln 10⁶] (the bracket of the slow fit) in steps of 1/2
/// finds the best cell, and safeguarded Newton (bisection when a step leaves the bracket) solves ℓ′ = 0 on the
/// binned sums. That optimum is within about 2·10⁻⁵ of the exact one in ln σ. One exact pass over the data there
/// (four double lanes at a time) gives the exact S, T, V, hence ℓ′ and ℓ″, and one Newton step from it leaves an
/// error of order 10⁻¹⁰; S at the stepped σ̂ comes from its Taylor series S − Tδ + Vδ²/2, so ρ̂ = 1 + d/S and the
/// log-likelihood are those of the data to about 10⁻⁹ relative, not those of the histogram. Only a step longer than
/// 10⁻³ (not seen in tests) costs a second exact pass.</para>
/// <para><b>Cost.</b> Two passes over the span (the binning pass, without logarithms, and the exact pass), a hundred
/// or so histogram evaluations of the few hundred occupied bins, and a stack buffer of 40 KiB; nothing proportional
/// to d is allocated. docs/theory.md has measured times and the accuracy against
/// <see cref="ModelFit.LomaxParameters"/>.</para>
/// <para>Pure functions of the span.</para>
/// </remarks>
public static class LomaxFit
{
    /// <summary>Finite bins: the top 11 bits of a non-negative float below +∞ (0x7F800000 ≫ 20 = 2040).</summary>
    private const int BinCount = 2040;

    /// <summary>Bits dropped from a float's pattern to get its bin: 23 mantissa bits less the 3 kept.</summary>
    private const int BinShift = 20;

    /// <summary>The bracket of ln σ below and above ln mean|g|: the same [10⁻⁴, 10⁶]·mean|g| as the slow fit.</summary>
    private static readonly double s_logLowerFactor = Math.Log(1e-4);

    private static readonly double s_logUpperFactor = Math.Log(1e6);

    /// <summary>Step of the bracketing scan in ln σ: the profile is smooth at this scale (it varies on the scale of ln ρ).</summary>
    private const double ScanStep = 0.5;

    /// <summary>
    /// Longest final Newton step (in ln σ) taken without a second exact pass: the Taylor error of S after it is
    /// O(step³) ≈ 10⁻⁹ relative. The binned optimum was measured within 2·10⁻⁵ of the exact one.
    /// </summary>
    private const double TrustStep = 1e-3;

    /// <summary>
    /// The Lomax profile-likelihood fit of spec §3.2(a) to |g| in milliseconds: binned likelihood, safeguarded Newton, and
    /// one exact pass (see the class remarks).
    /// </summary>
    /// <returns>σ̂, ρ̂ (any value &gt; 1) and the log-likelihood of the |g_j| at (σ̂, ρ̂), as
    /// <see cref="ModelFit.LomaxParameters"/> returns them.</returns>
    /// <exception cref="ArgumentException">The span is empty, all zero, or holds NaN/±∞.</exception>
    public static LomaxEstimate Fast(ReadOnlySpan<float> gradient)
    {
        return TryFit(gradient, out LomaxEstimate? estimate, out string? problem)
            ? estimate
            : throw new ArgumentException(problem, nameof(gradient));
    }

    /// <summary>
    /// <see cref="Fast"/>, returning the problem instead of throwing: an empty, all-zero or non-finite span, or a fitted
    /// ρ̂ ≤ 3, where the variance and the truncation error are infinite and no Lomax design exists (spec §3.2(a)).
    /// </summary>
    /// <param name="gradient">The gradient.</param>
    /// <param name="model">The fitted Lomax when the fit is designable.</param>
    /// <param name="estimate">The fit, also when ρ̂ ≤ 3 (null only when the span has nothing to fit).</param>
    /// <param name="problem">What is wrong and what to do, when the result is false.</param>
    public static bool TryFast(
        ReadOnlySpan<float> gradient,
        [NotNullWhen(true)] out Lomax? model,
        out LomaxEstimate? estimate,
        [NotNullWhen(false)] out string? problem)
    {
        model = null;
        if (!TryFit(gradient, out estimate, out problem))
        {
            return false;
        }
        if (!(estimate.Shape > 3))
        {
            problem = FormattableString.Invariant(
                $"The fitted power law has ρ̂ = {estimate.Shape:G6} ≤ 3: its variance and truncation error are infinite, so no Lomax design exists. Use the Laplace model or a fixed threshold.");
            return false;
        }
        model = new Lomax(estimate.Scale, estimate.Shape);
        return true;
    }

    /// <summary>
    /// The automatic model choice for one segment: Laplace (γ̂ = mean|g|, <see cref="ModelFit.Laplace"/>) or the fast
    /// Lomax fit, whichever has the lower Bayesian information criterion.
    /// </summary>
    /// <remarks>
    /// <para>BIC = k ln d − 2 ln L with k = 1 (γ) for Laplace and k = 2 (σ, ρ) for Lomax, so the Lomax is chosen iff
    /// ln L_Lomax − ln L_Laplace &gt; ½ ln d and its ρ̂ &gt; 3 (a design exists). Both log-likelihoods are of the
    /// magnitudes; the signed ones differ from them by the same d ln 2, so the difference is the same.
    /// Laplace's is −d ln γ̂ − d at its MLE.</para>
    /// <para>Why BIC: Laplace(γ) is the ρ → ∞ limit of Lomax(γρ, ρ) (spec §3.2(a) consistency check), so on Laplace data
    /// the log-likelihood gain of the extra parameter is about ½χ²₁ at most; ½ ln d (6.9 nats at d = 10⁶) makes a false
    /// Lomax about as rare as P(χ²₁ &gt; 13.8)/2 ≈ 10⁻⁴ there, while a real power-law tail gains in proportion to d
    /// (measured 0.06 nat per coordinate at ρ = 4), so it is chosen from a few hundred coordinates on (all of 200
    /// seeded samples at d = 500). A Lomax with a large ρ̂ that does win costs little:
    /// its design tends to the Laplace design as ρ grows. Callers that serialise the model still cap ρ (the wire
    /// format carries ρ ≤ 1000).</para>
    /// <para>Cost: one vectorised pass for mean|g| and the binning pass; the exact pass of <see cref="Fast"/> only when
    /// the binned fit leaves the choice in doubt (the overload's remarks).</para>
    /// </remarks>
    /// <param name="gradient">The segment.</param>
    /// <param name="maximumShape">The largest ρ̂ the caller can use (the wire format carries ρ ≤ 1000): a Lomax above it
    /// is Laplace in all but name, so Laplace is returned. Default: no cap.</param>
    /// <exception cref="ArgumentException">The span is empty, all zero, or holds NaN/±∞.</exception>
    public static GradientModel ChooseModel(ReadOnlySpan<float> gradient, double maximumShape = double.PositiveInfinity) =>
        ChooseModel(gradient, ModelFit.Laplace(gradient), maximumShape);

    /// <summary>As <see cref="ChooseModel(ReadOnlySpan{float}, double)"/>, with the segment's Laplace MLE already made
    /// (a caller that has it saves a pass).</summary>
    /// <param name="gradient">The segment.</param>
    /// <param name="laplace">Its Laplace MLE (<see cref="ModelFit.Laplace"/>).</param>
    /// <param name="maximumShape">The largest ρ̂ the caller can use.</param>
    /// <remarks>
    /// <para><b>The exact pass only when the choice needs it.</b> The binned profile (class remarks) already gives S,
    /// hence ρ̂ = 1 + d/S and ln L, to within a relative error ε of the exact values: a bin spans 1/8 octave, and two
    /// points matching its count, mean and variance leave an error below max|f‴|·h³/3 for f = ln(1 + x/σ) and bin
    /// width h ≈ 0.09x, under 10⁻⁴ of f (measured: a few 10⁻⁶ in ρ̂ − 1, and ln L high by 3–8·10⁻⁸ nat per
    /// coordinate). With ε = 10⁻³, ten times that bound, |δ ln L| ≤ (d + S)·ε
    /// (∂ℓ/∂S = −d/S − 1 at fixed σ; the binned σ̂ is off the exact optimum by ~10⁻⁵ in ln σ, where ℓ is flat, so
    /// that costs only second order). When neither the BIC margin nor ρ̂'s distance from 3 and from
    /// <paramref name="maximumShape"/> is within that error, the exact pass could not change the choice, and it is
    /// skipped: a Laplace-like segment (ρ̂ runs to the top of the bracket) or a clearly heavy one costs one binning
    /// pass instead of two passes with a logarithm per coordinate (docs/codec-performance.md, issue 13). The Lomax
    /// returned then is the binned optimum: within ~10⁻⁵ of <see cref="Fast"/>'s in ln σ and ρ̂ (measured), far
    /// inside the 1 % grid that training snaps ρ̂ to and the ~10⁻³ standard error of a fit on 10⁶ coordinates.</para>
    /// </remarks>
    public static GradientModel ChooseModel(ReadOnlySpan<float> gradient, Laplace laplace, double maximumShape = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(laplace);
        LomaxEstimate lomax = TryFit(gradient, new Choice(laplace, maximumShape), out LomaxEstimate? estimate, out string? problem)
            ? estimate
            : throw new ArgumentException(problem, nameof(gradient));
        return LomaxWins(laplace, lomax, gradient.Length) && lomax.Shape <= maximumShape ? new Lomax(lomax.Scale, lomax.Shape) : laplace;
    }

    /// <summary>The criterion of <see cref="ChooseModel(ReadOnlySpan{float}, double)"/> on fits already made: true iff the Lomax has the lower BIC and ρ̂ &gt; 3.</summary>
    /// <param name="laplace">The Laplace MLE on the segment.</param>
    /// <param name="lomax">The Lomax fit on the same segment (<see cref="Fast"/> or <see cref="ModelFit.LomaxParameters"/>).</param>
    /// <param name="count">d, the segment's length. Range: ≥ 1.</param>
    public static bool LomaxWins(Laplace laplace, LomaxEstimate lomax, int count)
    {
        ArgumentNullException.ThrowIfNull(laplace);
        ArgumentNullException.ThrowIfNull(lomax);
        Preconditions.CheckRange(nameof(count), count, 1, int.MaxValue);
        double laplaceLogLikelihood = -count * (Math.Log(laplace.Scale) + 1);
        return lomax.Shape > 3 && lomax.LogLikelihood - laplaceLogLikelihood > 0.5 * Math.Log(count);
    }

    private static bool TryFit(
        ReadOnlySpan<float> gradient, [NotNullWhen(true)] out LomaxEstimate? estimate, [NotNullWhen(false)] out string? problem) =>
        TryFit(gradient, choice: null, out estimate, out problem);

    /// <summary>The fit; given a <paramref name="choice"/> to make, it stops at the binned optimum when the exact pass could not change that choice (<see cref="ChooseModel(ReadOnlySpan{float}, Laplace, double)"/>).</summary>
    private static bool TryFit(
        ReadOnlySpan<float> gradient, Choice? choice, [NotNullWhen(true)] out LomaxEstimate? estimate, [NotNullWhen(false)] out string? problem)
    {
        estimate = null;
        if (gradient.IsEmpty)
        {
            problem = "The gradient is empty: a model needs at least one coordinate.";
            return false;
        }
        Span<int> counts = stackalloc int[BinCount];
        Span<double> sums = stackalloc double[BinCount];
        Span<double> squares = stackalloc double[BinCount];
        int bad = Bin(gradient, counts, sums, squares);
        if (bad >= 0)
        {
            problem = FormattableString.Invariant(
                $"Coordinate {bad} of the gradient is {gradient[bad]}: training has diverged or the input is corrupt.");
            return false;
        }
        int n = gradient.Length;
        double total = 0;
        foreach (double sum in sums)
        {
            total += sum;
        }
        if (!(total > 0))
        {
            problem = "The gradient is all zero (mean |g| = 0): there is no scale to fit; send it uncompressed.";
            return false;
        }
        // Each bin becomes two points x̄ ± s of half its count (its first three moments); bins are compacted in place
        // (lower point in sums, upper in squares), which is safe because the write index never passes the read index.
        int occupied = 0;
        for (int bin = 0; bin < BinCount; bin++)
        {
            int count = counts[bin];
            if (count == 0)
            {
                continue;
            }
            double mean = sums[bin] / count;
            // Σx²/n − x̄² cancels at most ~3 digits: a bin's values lie within 1/8 octave of each other.
            double deviation = Math.Sqrt(Math.Max((squares[bin] / count) - (mean * mean), 0));
            counts[occupied] = count;
            sums[occupied] = Math.Max(mean - deviation, 0);
            squares[occupied] = mean + deviation;
            occupied++;
        }
        var histogram = new Binned(counts[..occupied], sums[..occupied], squares[..occupied], n);
        double logMean = Math.Log(total / n);
        double lower = logMean + s_logLowerFactor;
        double upper = logMean + s_logUpperFactor;
        double logScale = Maximise(histogram, lower, upper);
        if (choice is { } decision)
        {
            Profile binned = histogram.At(logScale);
            var binnedEstimate = new LomaxEstimate(Math.Exp(logScale), 1 + (n / binned.SumLog), binned.LogLikelihood);
            if (decision.IsSettledBy(binnedEstimate, n, binned.SumLog))
            {
                estimate = binnedEstimate;
                problem = null;
                return true;
            }
        }

        // The exact pass gives ℓ, ℓ′ and ℓ″ at the binned optimum, which is within ~10⁻⁵ of the exact one in ln σ; one
        // Newton step from there leaves an error of order 10⁻¹⁰ (quadratic convergence). S at the new point follows
        // from its Taylor series, S(t + δ) = S − Tδ + Vδ²/2 + O(δ³) (S′ = −T, S″ = V), so no second pass is needed
        // unless the step is long; then a second exact pass is taken there (a long step from it is not taken: the
        // exact values at that point are returned).
        Profile exact = ExactProfile(gradient, logScale);
        double sumLog = exact.SumLog;
        for (int pass = 1; logScale > lower && logScale < upper && exact.Curvature < 0; pass++)
        {
            double step = -exact.Slope / exact.Curvature;
            double next = Math.Clamp(logScale + step, lower, upper);
            step = next - logScale;
            if (Math.Abs(step) <= TrustStep)
            {
                sumLog = exact.SumLog - (exact.SumRatio * step) + (0.5 * exact.SumVariance * step * step);
                logScale = next;
                break;
            }
            if (pass == 2)
            {
                break;
            }
            logScale = next;
            exact = ExactProfile(gradient, logScale);
            sumLog = exact.SumLog;
        }
        problem = null;
        double shapeMinusOne = n / sumLog;
        estimate = new LomaxEstimate(Math.Exp(logScale), 1 + shapeMinusOne, Profile.LogLikelihoodOf(sumLog, n, logScale));
        return true;
    }

    /// <summary>Fills the histogram; returns the index of the first non-finite coordinate, or −1.</summary>
    private static int Bin(ReadOnlySpan<float> gradient, Span<int> counts, Span<double> sums, Span<double> squares)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            // Clearing the sign bit gives |g|; the bit pattern of a non-negative float is monotone in its value, and
            // its top 11 bits are ⌊8·log₂|g|⌋ plus a constant for normal floats: a log-spaced bin without a logarithm.
            uint bits = BitConverter.SingleToUInt32Bits(gradient[j]) & 0x7FFF_FFFFu;
            int bin = (int)(bits >> BinShift);
            if (bin >= BinCount)
            {
                return j;
            }
            double x = BitConverter.UInt32BitsToSingle(bits);
            counts[bin]++;
            sums[bin] += x;
            squares[bin] += x * x;
        }
        return -1;
    }

    /// <summary>
    /// The t in [lower, upper] maximising the binned profile: the best point of a scan with step 1/2, then safeguarded
    /// Newton on ℓ′ in the cells either side of it.
    /// </summary>
    private static double Maximise(in Binned histogram, double lower, double upper)
    {
        int points = (int)Math.Ceiling((upper - lower) / ScanStep) + 1;
        double step = (upper - lower) / (points - 1);
        int best = 0;
        double bestValue = double.NegativeInfinity;
        for (int i = 0; i < points; i++)
        {
            double value = histogram.At(lower + (i * step)).LogLikelihood;
            if (value > bestValue)
            {
                (best, bestValue) = (i, value);
            }
        }
        double bestT = lower + (best * step);
        double a = Math.Max(lower, bestT - step);
        double b = Math.Min(upper, bestT + step);
        Profile atA = histogram.At(a);
        Profile atB = histogram.At(b);
        if (!(atA.Slope > 0 && atB.Slope < 0))
        {
            // No sign change: the maximum is at an end of [lower, upper] (Laplace-like data push σ up), or the scan's
            // best point is already the best we can tell.
            return atA.LogLikelihood > bestValue && atA.LogLikelihood >= atB.LogLikelihood ? a
                : atB.LogLikelihood > bestValue ? b
                : bestT;
        }
        double t = bestT;
        for (int iteration = 0; iteration < 100; iteration++)
        {
            Profile here = histogram.At(t);
            if (here.Slope > 0)
            {
                a = t;
            }
            else
            {
                b = t;
            }
            double next = here.Curvature < 0 ? t - (here.Slope / here.Curvature) : double.NaN;
            if (!(next > a && next < b))
            {
                next = 0.5 * (a + b);
            }
            if (Math.Abs(next - t) <= 1e-13 * (1 + Math.Abs(t)) || b - a <= 1e-13 * (1 + Math.Abs(t)))
            {
                return next;
            }
            t = next;
        }
        return t;
    }

    /// <summary>
    /// The profile at t = ln σ from one exact pass over the data (spec §3.2(a)). The pass takes a logarithm per
    /// coordinate, so it runs four double lanes at a time (Vector256, as <see cref="ModelFit"/>'s sums: the same lane
    /// order, and so the same sums, whatever vector width the CPU has); scalar, it took 85% of the fit's time.
    /// </summary>
    private static Profile ExactProfile(ReadOnlySpan<float> gradient, double logScale)
    {
        Vector256<double> inverse = Vector256.Create(Math.Exp(-logScale));
        Vector256<double> sumLog = Vector256<double>.Zero, sumRatio = Vector256<double>.Zero, sumVariance = Vector256<double>.Zero;
        int j = 0;
        for (; j <= gradient.Length - Vector256<float>.Count; j += Vector256<float>.Count)
        {
            (Vector256<double> lower, Vector256<double> upper) =
                Vector256.Widen(Vector256.Abs(Vector256.Create(gradient.Slice(j, Vector256<float>.Count))));
            Accumulate(lower * inverse, ref sumLog, ref sumRatio, ref sumVariance);
            Accumulate(upper * inverse, ref sumLog, ref sumRatio, ref sumVariance);
        }
        double log = Vector256.Sum(sumLog), ratio = Vector256.Sum(sumRatio), variance = Vector256.Sum(sumVariance);
        for (; j < gradient.Length; j++)
        {
            double u = Math.Abs((double)gradient[j]) * inverse[0];
            double r = u / (1 + u);
            log += Precise.Log1P(u);
            ratio += r;
            variance += r * (1 - r);
        }
        return Profile.Of(log, ratio, variance, gradient.Length, logScale);
    }

    /// <summary>Adds ln(1 + u), u/(1 + u) and its complement's product for four u = x/σ.</summary>
    private static void Accumulate(
        Vector256<double> u, ref Vector256<double> sumLog, ref Vector256<double> sumRatio, ref Vector256<double> sumVariance)
    {
        Vector256<double> w = Vector256<double>.One + u;
        Vector256<double> wMinusOne = w - Vector256<double>.One;
        // Precise.Log1P lane-wise: ln(w)·u/(w − 1) restores the digits 1 + u rounded away, and is u itself when w = 1.
        Vector256<double> log1P = Vector256.ConditionalSelect(
            Vector256.Equals(wMinusOne, Vector256<double>.Zero), u, Vector256.Log(w) * u / wMinusOne);
        Vector256<double> ratio = u / w;
        sumLog += log1P;
        sumRatio += ratio;
        sumVariance += ratio * (Vector256<double>.One - ratio);
    }

    /// <summary>A Laplace/Lomax choice to make (<see cref="ChooseModel(ReadOnlySpan{float}, Laplace, double)"/>).</summary>
    private readonly record struct Choice(Laplace Laplace, double MaximumShape)
    {
        /// <summary>Relative error allowed for the binned S (and so ρ̂ − 1): ten times the bound in ChooseModel's remarks.</summary>
        private const double BinnedRelativeError = 1e-3;

        /// <summary>
        /// True when the choice made on the binned fit is the one the exact fit would make: ρ̂ and the BIC margin are
        /// each farther from their thresholds (3 and the cap; ½ ln d) than the binned values can be off.
        /// </summary>
        public bool IsSettledBy(LomaxEstimate binned, int n, double sumLog)
        {
            double low = 1 + ((binned.Shape - 1) * (1 - BinnedRelativeError));
            double high = 1 + ((binned.Shape - 1) * (1 + BinnedRelativeError));
            if (high <= 3 || low > MaximumShape)
            {
                return true; // no Lomax design, or one above the caller's cap: Laplace either way
            }
            if (low <= 3 || high > MaximumShape)
            {
                return false;
            }
            double laplaceLogLikelihood = -n * (Math.Log(Laplace.Scale) + 1);
            double margin = binned.LogLikelihood - laplaceLogLikelihood - (0.5 * Math.Log(n));
            return Math.Abs(margin) > (n + sumLog) * BinnedRelativeError;
        }
    }

    /// <summary>The histogram as weighted points: bin k stands for x = lowerPoint[k] and upperPoint[k], each of weight count[k]/2.</summary>
    private readonly ref struct Binned(ReadOnlySpan<int> counts, ReadOnlySpan<double> lowerPoints, ReadOnlySpan<double> upperPoints, int n)
    {
        private readonly ReadOnlySpan<int> _counts = counts;
        private readonly ReadOnlySpan<double> _lower = lowerPoints;
        private readonly ReadOnlySpan<double> _upper = upperPoints;

        public Profile At(double logScale)
        {
            double inverse = Math.Exp(-logScale);
            double sumLog = 0, sumRatio = 0, sumVariance = 0;
            for (int k = 0; k < _counts.Length; k++)
            {
                double low = _lower[k] * inverse;
                double high = _upper[k] * inverse;
                double lowRatio = low / (1 + low);
                double highRatio = high / (1 + high);
                double weight = 0.5 * _counts[k];
                sumLog += weight * (Precise.Log1P(low) + Precise.Log1P(high));
                sumRatio += weight * (lowRatio + highRatio);
                sumVariance += weight * ((lowRatio * (1 - lowRatio)) + (highRatio * (1 - highRatio)));
            }
            return Profile.Of(sumLog, sumRatio, sumVariance, n, logScale);
        }
    }

    /// <summary>ℓ(t), ℓ′(t), ℓ″(t) of the profile from S, T and V (class remarks), and the sums themselves.</summary>
    private readonly record struct Profile(
        double LogLikelihood, double Slope, double Curvature, double SumLog, double SumRatio, double SumVariance)
    {
        public static Profile Of(double sumLog, double sumRatio, double sumVariance, int n, double logScale)
        {
            double shape = n / sumLog;
            double slope = ((shape + 1) * sumRatio) - n;
            double curvature = (-(shape + 1) * sumVariance) + (shape * sumRatio * sumRatio / sumLog);
            return new Profile(LogLikelihoodOf(sumLog, n, logScale), slope, curvature, sumLog, sumRatio, sumVariance);
        }

        /// <summary>n ln â − n ln σ − (â + 1)S with â = n/S: the expression of ModelFit's profile.</summary>
        public static double LogLikelihoodOf(double sumLog, int n, double logScale)
        {
            double shape = n / sumLog;
            return (n * Math.Log(shape)) - (n * logScale) - ((shape + 1) * sumLog);
        }
    }
}
