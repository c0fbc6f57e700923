namespace Verified.Theory.Numerics;

/// <summary>
/// Adaptive Gauss–Kronrod quadrature (MathNet.Numerics) for the integrals of symmetric gradient densities: it splits
/// at the kink g = 0 and at the support edges ±g₀, and covers long or infinite ranges with panels of doubling width.
/// </summary>
/// <remarks>
/// This is the generic numeric path of spec §1.5 ("get I(α) and M(α) by quadrature"). It is the oracle every closed
/// form is tested against, so it never calls one. Infinite ranges are first mapped by g = a + w(eᵗ − 1), which turns power-law
/// tails ~ g^{−p} (p close to 1 for the heaviest tails a design accepts) into exponentials in t.
/// </remarks>
public static class Quadrature
{
    private const double TargetRelativeError = 1e-13;
    // Bounds the work on integrands that vanish on a whole panel, where a relative target can never be met.
    private const int MaximumDepth = 12;
    private const int Order = 31;
    private const int MaximumPanels = 64;

    /// <summary>∫_a^b f(g) dg for a ≤ b (b may be +∞).</summary>
    /// <param name="integrand">f; smooth except possibly at 0, and zero for |g| &lt; <paramref name="supportStart"/>.</param>
    /// <param name="lower">a, finite.</param>
    /// <param name="upper">b, finite or +∞.</param>
    /// <param name="scale">The length over which f varies (the model's scale); sets the first panel's width.</param>
    /// <param name="supportStart">g₀ ≥ 0 below which f vanishes (the Pareto tail's support edge), 0 if none.</param>
    public static double Integrate(Func<double, double> integrand, double lower, double upper, double scale, double supportStart = 0)
    {
        ArgumentNullException.ThrowIfNull(integrand);
        if (!(upper > lower))
        {
            return 0;
        }
        double sum = 0;
        // Negative part, mirrored onto the positive axis: ∫_a^{min(b,0)} f(g) dg = ∫_{max(−b,0)}^{−a} f(−u) du.
        if (lower < 0)
        {
            double Mirrored(double u) => integrand(-u);
            sum += PositivePart(Mirrored, Math.Max(-upper, 0), -lower, scale, supportStart);
        }
        if (upper > 0)
        {
            sum += PositivePart(integrand, Math.Max(lower, 0), upper, scale, supportStart);
        }
        return sum;
    }

    private static double PositivePart(Func<double, double> integrand, double lower, double upper, double scale, double supportStart)
    {
        // Nothing to integrate inside the gap |g| < g₀; skipping it also avoids a relative target on a zero integral.
        return Panels(integrand, Math.Max(lower, supportStart), upper, scale);
    }

    private static double Panels(Func<double, double> integrand, double lower, double upper, double scale)
    {
        if (double.IsPositiveInfinity(upper))
        {
            // g = a + w·(eᵗ − 1): a power-law tail g^{−p} becomes e^{−(p−1)t} and an exponential tail decays faster
            // still, so doubling panels in t reach the end of either in a few dozen steps. The width w is the larger
            // of the scale and a itself: far out, a tail varies on the scale of a.
            double width = Math.Max(scale, lower);
            double Transformed(double t)
            {
                double growth = Math.Exp(t);
                double value = integrand(lower + (width * (growth - 1))) * width * growth;
                return double.IsFinite(value) ? value : 0;
            }
            return DoublingPanels(Transformed, 0, double.PositiveInfinity, 1);
        }
        return DoublingPanels(integrand, lower, upper, scale);
    }

    private static double DoublingPanels(Func<double, double> integrand, double lower, double upper, double firstWidth)
    {
        double sum = 0;
        double left = lower;
        double width = firstWidth;
        for (int panel = 0; panel < MaximumPanels && left < upper; panel++)
        {
            double right = Math.Min(upper, left + width);
            double part = MathNet.Numerics.Integrate.GaussKronrod(integrand, left, right, out _, out _, TargetRelativeError, MaximumDepth, Order);
            sum += part;
            if (double.IsPositiveInfinity(upper) && panel > 4 && Math.Abs(part) <= 1e-17 * Math.Abs(sum))
            {
                break;
            }
            left = right;
            width *= 2;
        }
        return sum;
    }
}
