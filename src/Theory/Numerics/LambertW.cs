namespace Verified.Theory.Numerics;

/// <summary>The principal branch W₀ of the Lambert W function on x ≥ 0 (the solution w ≥ 0 of w·eʷ = x).</summary>
/// <remarks>Used by TUQSGD's relaxed threshold α_U* = γ·W(s²), spec §2.3. Halley iteration from a log start.</remarks>
public static class LambertW
{
    /// <summary>W₀(x) for x ≥ 0, to full double precision.</summary>
    public static double Principal(double x)
    {
        Preconditions.CheckGreaterThan(nameof(x), x, -double.Epsilon);
        if (x == 0)
        {
            return 0;
        }
        double w = x < 1 ? x * (1 - x + 1.5 * x * x) : Math.Log(x) - (x > 3 ? Math.Log(Math.Log(x)) : 0);
        if (w <= 0)
        {
            w = 0.5;
        }
        for (int i = 0; i < 100; i++)
        {
            double ew = Math.Exp(w);
            double f = w * ew - x;
            double next = w - f / (ew * (w + 1) - (w + 2) * f / (2 * w + 2));
            if (Math.Abs(next - w) <= 1e-16 * Math.Max(1, Math.Abs(next)))
            {
                return next;
            }
            w = next;
        }
        return w;
    }
}
