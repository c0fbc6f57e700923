namespace Verified.Theory.Numerics;

/// <summary>ln(1 + x) and eˣ − 1 accurate to a few ulps near 0, where the naive forms lose every digit.</summary>
/// <remarks>The BCL's <c>double.LogP1</c>/<c>double.ExpM1</c> compute the naive forms. These use Kahan's
/// correction (Goldberg, "What every computer scientist should know about floating-point arithmetic", Thm. 4).</remarks>
public static class Precise
{
    /// <summary>ln(1 + x) for x &gt; −1.</summary>
    public static double Log1P(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>eˣ − 1.</summary>
    public static double ExpM1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1)
        {
            return x;
        }
        double um1 = u - 1;
        return um1 == -1 ? -1 : double.IsInfinity(u) ? u : um1 * x / Math.Log(u);
    }
}
