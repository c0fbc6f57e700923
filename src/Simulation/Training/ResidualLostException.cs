namespace Verified.Simulation.Training;

/// <summary>
/// A client with error feedback was asked for a round its residual does not belong to: it came back (on another
/// machine, after a fault) without the residual, or the server is behind. The server restores the residuals from its
/// checkpoint (<see cref="IClientFleet.RestoreResidualsAsync"/>) and asks again.
/// </summary>
public sealed class ResidualLostException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ResidualLostException()
        : base("A client's error-feedback residual belongs to another round.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public ResidualLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public ResidualLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
