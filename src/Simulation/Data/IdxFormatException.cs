namespace Verified.Simulation.Data;

/// <summary>An IDX file is malformed: bad magic number, unsupported element type, or a size that does not match its header.</summary>
public sealed class IdxFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IdxFormatException()
    {
    }

    /// <summary>Creates the exception with a message that names the file and what is wrong.</summary>
    public IdxFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public IdxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
