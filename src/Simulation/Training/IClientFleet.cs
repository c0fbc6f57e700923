namespace Verified.Simulation.Training;

/// <summary>
/// The clients of a run whose server holds θ and the clients live elsewhere (other threads, processes or machines):
/// each computes its upload from θ alone (<see cref="FleetClient"/>). The server (<see cref="FleetTrainer"/>) adds the
/// uploads in client order, so where and in which order the clients ran cannot change a bit of the result.
/// </summary>
public interface IClientFleet
{
    /// <summary>
    /// Every client's upload of round <paramref name="round"/> at <paramref name="theta"/>, indexed by client
    /// (element c is client c's).
    /// </summary>
    /// <param name="round">The round, from 0.</param>
    /// <param name="theta">θ as float32, in <see cref="FlatParameterBuffer"/> order, lent for the call: the server does
    /// not change it until the returned task completes, and the fleet copies what it keeps or sends.</param>
    /// <param name="includeVectors">Return each encoded vector too (audit rounds).</param>
    /// <param name="cancellationToken">Abandons the round.</param>
    Task<IReadOnlyList<ClientUpload>> ComputeAsync(int round, ReadOnlyMemory<float> theta, bool includeVectors, CancellationToken cancellationToken);

    /// <summary>Every client's error-feedback residual now, indexed by client (for a checkpoint).</summary>
    Task<IReadOnlyList<float[]>> ResidualsAsync(CancellationToken cancellationToken);

    /// <summary>Gives every client the residual it had before round <paramref name="round"/> (from a checkpoint).</summary>
    Task RestoreResidualsAsync(int round, IReadOnlyList<float[]> residuals, CancellationToken cancellationToken);
}

/// <summary>One client's upload of one round, as it crosses the network.</summary>
/// <param name="Client">The client.</param>
/// <param name="Round">The round.</param>
/// <param name="Loss">The client's minibatch loss at θ_round.</param>
/// <param name="Payload">The codec's bytes, header included (owned by this record, never a pooled buffer).</param>
/// <param name="Description">The design figures the round's metrics report.</param>
/// <param name="Vector">The vector that was encoded (the gradient, plus the residual with error feedback), in audit
/// rounds only; null otherwise.</param>
/// <param name="Timings">Where the client's time went.</param>
public sealed record ClientUpload(
    int Client,
    int Round,
    double Loss,
    byte[] Payload,
    UploadDescription Description,
    float[]? Vector,
    ClientTimings Timings);

/// <summary>Where one client upload's time went, on the client.</summary>
/// <param name="Compute">Minibatch, forward and backward passes.</param>
/// <param name="Flatten">Copying the gradient into the flat buffer.</param>
/// <param name="Design">Fitting and designing.</param>
/// <param name="Encode">Encoding and error feedback.</param>
public readonly record struct ClientTimings(TimeSpan Compute, TimeSpan Flatten, TimeSpan Design, TimeSpan Encode);
