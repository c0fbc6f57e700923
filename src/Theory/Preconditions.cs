using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Verified.Theory;

/// <summary>Argument checks shared by the validated records; messages name the argument and the allowed range.</summary>
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

    [DoesNotReturn]
    private static void ThrowOutOfRange(string name, object value, string allowed) =>
        throw new ArgumentOutOfRangeException(
            name,
            value,
            string.Create(CultureInfo.InvariantCulture, $"{name} = {value} is out of range: it must be {allowed}."));
}
