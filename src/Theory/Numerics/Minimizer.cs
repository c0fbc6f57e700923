namespace Verified.Theory.Numerics;

/// <summary>One-dimensional minimisation: a scan that brackets the minimum, then golden section.</summary>
/// <remarks>
/// Spec §1.5 step 2: "minimize … over α &gt; 0 with golden-section search on log α". The scan guards against an
/// objective that is flat or not unimodal over many decades (heavy tails put α* anywhere from 0.1 to 10⁵·scale).
/// </remarks>
public static class Minimizer
{
    /// <summary>Points of the bracketing scan when the caller does not choose.</summary>
    public const int DefaultScanPoints = 61;

    /// <summary>The x in [lower, upper] (both &gt; 0) that minimises <paramref name="objective"/>, searched on log x.</summary>
    public static double MinimizeOnLogScale(Func<double, double> objective, double lower, double upper, int scanPoints = DefaultScanPoints)
    {
        ArgumentNullException.ThrowIfNull(objective);
        double logLower = Math.Log(lower);
        double logUpper = Math.Log(upper);
        double Of(double logX) => objective(Math.Exp(logX));
        return Math.Exp(MinimizeBracketed(Of, logLower, logUpper, scanPoints));
    }

    /// <summary>The x in [lower, upper] that minimises <paramref name="objective"/>.</summary>
    public static double Minimize(Func<double, double> objective, double lower, double upper, int scanPoints = DefaultScanPoints)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return MinimizeBracketed(objective, lower, upper, scanPoints);
    }

    private static double MinimizeBracketed(Func<double, double> objective, double lower, double upper, int scanPoints)
    {
        double step = (upper - lower) / (scanPoints - 1);
        int best = 0;
        double bestValue = double.PositiveInfinity;
        for (int i = 0; i < scanPoints; i++)
        {
            double value = objective(lower + i * step);
            if (value < bestValue)
            {
                bestValue = value;
                best = i;
            }
        }
        double left = lower + Math.Max(best - 1, 0) * step;
        double right = lower + Math.Min(best + 1, scanPoints - 1) * step;
        double refined = GoldenSection(objective, left, right);
        // The bracket's ends may be the minimum when it sits at a boundary of [lower, upper].
        return objective(refined) <= bestValue ? refined : lower + best * step;
    }

    /// <summary>
    /// Golden-section search on [a, b] down to a width of 1e-11·(1 + |a| + |b|): an objective's flatness near its
    /// minimum makes finer widths meaningless in double precision. Never throws, whatever the objective's shape.
    /// </summary>
    public static double GoldenSection(Func<double, double> objective, double lower, double upper)
    {
        ArgumentNullException.ThrowIfNull(objective);
        double ratio = (Math.Sqrt(5) - 1) / 2;
        double a = lower;
        double b = upper;
        double c = b - (ratio * (b - a));
        double d = a + (ratio * (b - a));
        double fc = objective(c);
        double fd = objective(d);
        for (int i = 0; i < 200 && b - a > 1e-11 * (1 + Math.Abs(a) + Math.Abs(b)); i++)
        {
            if (fc <= fd)
            {
                b = d;
                d = c;
                fd = fc;
                c = b - (ratio * (b - a));
                fc = objective(c);
            }
            else
            {
                a = c;
                c = d;
                fc = fd;
                d = a + (ratio * (b - a));
                fd = objective(d);
            }
        }
        return fc <= fd ? c : d;
    }

    /// <summary>The root of an increasing function on [lower, upper] by bisection to the last representable bit.</summary>
    public static double BisectIncreasing(Func<double, double> increasing, double target, double lower, double upper)
    {
        ArgumentNullException.ThrowIfNull(increasing);
        for (int i = 0; i < 200; i++)
        {
            double middle = 0.5 * (lower + upper);
            if (middle <= lower || middle >= upper)
            {
                break;
            }
            if (increasing(middle) < target)
            {
                lower = middle;
            }
            else
            {
                upper = middle;
            }
        }
        return 0.5 * (lower + upper);
    }
}
