namespace Verified.Codec;

/// <summary>
/// A payload that is not a valid Verified codec payload: truncated, corrupted (checksum), of an unknown version, or
/// inconsistent with itself. The message says which field is wrong and what was expected.
/// </summary>
/// <remarks>The decoder raises no other exception type for a bad payload; argument errors of the caller (a destination
/// of the wrong length) are <see cref="ArgumentException"/>s.</remarks>
public sealed class CodecFormatException : FormatException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CodecFormatException()
        : base("The payload is not a valid Verified codec payload.")
    {
    }

    /// <summary>Creates the exception with a message that says what is wrong.</summary>
    public CodecFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that revealed the problem.</summary>
    public CodecFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
