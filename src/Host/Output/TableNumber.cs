using System.Globalization;

namespace Verified.Host;

/// <summary>The one way the CLI's tables, verdicts and report.md print a real number.</summary>
internal static class TableNumber
{
    /// <summary>
    /// <paramref name="value"/> in invariant culture: fixed point with at most <paramref name="decimals"/> decimals
    /// (trailing zeros dropped) when 10⁻³ ≤ |value| &lt; 10⁵ or value = 0, otherwise scientific with
    /// <paramref name="decimals"/> significant digits (1.2346E-7, as .NET writes exponents), so a small figure never prints as 0. ∞ and −∞ print
    /// as themselves, NaN as "–" (a figure that is missing or undefined).
    /// </summary>
    /// <param name="value">The number.</param>
    /// <param name="decimals">Range: 2 to 15.</param>
    public static string Format(double value, int decimals = 6)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(decimals, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(decimals, 15);
        if (double.IsNaN(value))
        {
            return "–";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "∞" : "−∞";
        }
        string format = Math.Abs(value) is >= 1e-3 and < 1e5 or 0
            ? "0." + new string('#', decimals)
            : "0." + new string('#', decimals - 1) + "E+0";
        return value.ToString(format, CultureInfo.InvariantCulture);
    }
}
