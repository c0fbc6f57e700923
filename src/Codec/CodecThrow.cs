using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Verified.Codec;

/// <summary>Cold throw paths of the codec, kept out of the kernels so they inline well.</summary>
[StackTraceHidden]
internal static class CodecThrow
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Format(string message) => throw new CodecFormatException(message);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ArgumentException_DestinationTooShort(string name, int needed, int actual) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"The destination is too short: the payload needs {needed} bytes, the destination has {actual}."),
            name);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ArgumentException_WrongLength(string name, int expected, int actual) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"{name} has length {actual}, but the payload holds {expected} coordinates: pass a span of exactly {expected}."),
            name);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ArgumentException_NotFinite(string name, int index, float value) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"Coordinate {index} of the gradient is {value}: training has diverged or the input is corrupt, and encoding it would hide that."),
            name);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ArgumentException_Design(string name, string message) => throw new ArgumentException(message, name);
}
