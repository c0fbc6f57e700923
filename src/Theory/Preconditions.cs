using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Verified.Theory;

/// <summary>
/// Argument checks shared by the validated records and the SDE quantities (spec §4); messages name the argument, its
/// value and the allowed range. Each returns the value it checked, so an <c>init</c> can validate and assign at once.
/// </summary>
internal static class Preconditions
{
    public static int CheckRange(string name, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
        {
            ThrowOutOfRange(name, value, FormattableString.Invariant($"an integer from {minimum} to {maximum}"));
        }
        return value;
    }

    public static double CheckPositive(string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            ThrowOutOfRange(name, value, "a finite number > 0");
        }
        return value;
    }

    public static double CheckGreaterThan(string name, double value, double exclusiveMinimum)
    {
        if (!(value > exclusiveMinimum) || double.IsInfinity(value))
        {
            ThrowOutOfRange(name, value, FormattableString.Invariant($"a finite number > {exclusiveMinimum}"));
        }
        return value;
    }

    public static double CheckFinite(string name, double value)
    {
        if (!double.IsFinite(value))
        {
            ThrowOutOfRange(name, value, "a finite number");
        }
        return value;
    }

    public static double CheckNonNegative(string name, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            ThrowOutOfRange(name, value, "a finite number ≥ 0");
        }
        return value;
    }

    /// <summary>Probabilities in (0, 1].</summary>
    public static double CheckProbability(string name, double value)
    {
        if (!(value > 0 && value <= 1))
        {
            ThrowOutOfRange(name, value, "a probability in (0, 1]");
        }
        return value;
    }

    /// <summary>Degrees of freedom ν: &gt; 0, with +∞ allowed (the Gaussian limit).</summary>
    public static double CheckDegreesOfFreedom(string name, double value)
    {
        if (!(value > 0))
        {
            ThrowOutOfRange(name, value, "a number > 0 (+∞ for the Gaussian limit)");
        }
        return value;
    }

    public static void CheckSameLength(string name, int length, int expected)
    {
        if (length != expected)
        {
            ThrowOutOfRange(name, length, FormattableString.Invariant($"a span of length {expected}"));
        }
    }

    [DoesNotReturn]
    private static void ThrowOutOfRange(string name, object value, string allowed) =>
        throw new ArgumentOutOfRangeException(
            name,
            value,
            string.Create(CultureInfo.InvariantCulture, $"{name} = {value} is out of range: it must be {allowed}."));
}
