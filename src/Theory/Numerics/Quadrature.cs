namespace Verified.Theory.Numerics;

/// <summary>
/// Adaptive Gauss–Kronrod quadrature (MathNet.Numerics) for the integrals of symmetric gradient densities: it splits
/// at the kink g = 0 and at the support edges ±g₀, and covers long or infinite ranges with panels of doubling width.
/// </summary>
/// <remarks>
/// This is the generic numeric path of spec §1.5 ("get I(α) and M(α) by quadrature"). It is the oracle every closed
/// form is tested against, so it never calls one. Doubling panels handle power-law tails ~ g^{−p} with p close to 1,
/// where a single map of [a, ∞) onto [0, 1) leaves an end-point singularity; the last panels' geometric decay gives
/// the remainder.
/// </remarks>
public static class Quadrature
{
    private const double TargetRelativeError = 1e-13;
    private const int MaximumDepth = 30;
    private const int Order = 31;
    private const int MaximumPanels = 1000;

    /// <summary>∫_a^b f(g) dg for a ≤ b (b may be +∞).</summary>
    /// <param name="integrand">f; smooth except possibly at 0 and ±<paramref name="supportStart"/>.</param>
    /// <param name="lower">a, finite.</param>
    /// <param name="upper">b, finite or +∞.</param>
    /// <param name="scale">The length over which f varies (the model's scale); sets the first panel's width.</param>
    /// <param name="supportStart">g₀ ≥ 0 where f may jump (the Pareto tail's support edge), 0 if none.</param>
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
        if (supportStart > lower && supportStart < upper)
        {
            return Panels(integrand, lower, supportStart, scale) + Panels(integrand, supportStart, upper, scale);
        }
        return Panels(integrand, lower, upper, scale);
    }

    private static double Panels(Func<double, double> integrand, double lower, double upper, double scale)
    {
        double sum = 0;
        double previous = 0;
        double part = 0;
        double left = lower;
        double width = scale;
        for (int panel = 0; panel < MaximumPanels && left < upper; panel++)
        {
            double right = Math.Min(upper, left + width);
            previous = part;
            part = MathNet.Numerics.Integrate.GaussKronrod(integrand, left, right, out _, out _, TargetRelativeError, MaximumDepth, Order);
            sum += part;
            if (double.IsPositiveInfinity(upper) && panel > 8 && Math.Abs(part) <= 1e-17 * Math.Abs(sum))
            {
                return sum;
            }
            left = right;
            width *= 2;
        }
        if (double.IsPositiveInfinity(upper) && previous != 0)
        {
            // Panels ran out on a slowly decaying tail: add the geometric remainder of the last ratio.
            double ratio = part / previous;
            if (ratio > 0 && ratio < 1)
            {
                sum += part * ratio / (1 - ratio);
            }
        }
        return sum;
    }
}
