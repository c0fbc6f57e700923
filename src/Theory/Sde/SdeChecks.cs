using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Verified.Theory.Sde;

/// <summary>
/// Argument checks for the SDE quantities (spec §4); messages name the argument and its allowed range, in the same
/// words as <c>Verified.Theory.Preconditions</c>.
/// </summary>
internal static class SdeChecks
{
    public static int Range(string name, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
        {
            Throw(name, value, FormattableString.Invariant($"an integer from {minimum} to {maximum}"));
        }
        return value;
    }

    public static double Positive(string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            Throw(name, value, "a finite number > 0");
        }
        return value;
    }

    public static double Finite(string name, double value)
    {
        if (!double.IsFinite(value))
        {
            Throw(name, value, "a finite number");
        }
        return value;
    }

    public static double NonNegative(string name, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            Throw(name, value, "a finite number ≥ 0");
        }
        return value;
    }

    /// <summary>Probabilities in (0, 1].</summary>
    public static double Probability(string name, double value)
    {
        if (!(value > 0 && value <= 1))
        {
            Throw(name, value, "a probability in (0, 1]");
        }
        return value;
    }

    /// <summary>Degrees of freedom ν: &gt; 0, with +∞ allowed (the Gaussian limit).</summary>
    public static double DegreesOfFreedom(string name, double value)
    {
        if (!(value > 0))
        {
            Throw(name, value, "a number > 0 (+∞ for the Gaussian limit)");
        }
        return value;
    }

    public static void SameLength(string name, int length, int expected)
    {
        if (length != expected)
        {
            Throw(name, length, FormattableString.Invariant($"a span of length {expected}"));
        }
    }

    [DoesNotReturn]
    private static void Throw(string name, object value, string allowed) =>
        throw new ArgumentOutOfRangeException(
            name,
            value,
            string.Create(CultureInfo.InvariantCulture, $"{name} = {value} is out of range: it must be {allowed}."));
}
