using System.Text.Json;

namespace Verified.Host;

/// <summary>JSON has no NaN or ∞: the reports write a missing or non-finite figure as null.</summary>
internal static class JsonWriterExtensions
{
    /// <summary>Writes <paramref name="value"/> as a number, or null when it is missing or not finite.</summary>
    public static void WriteFiniteOrNull(this Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>Writes <paramref name="value"/> as an array element, or null when it is not finite.</summary>
    public static void WriteFiniteOrNullValue(this Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
