using Orleans.Concurrency;
using Verified.Simulation.Training;

namespace Verified.Host.Cluster;

/// <summary>
/// A run's clients as grains on a cluster (<see cref="IClientGrain"/>, keys <c>RUN/0</c> … <c>RUN/N−1</c>): θ goes to
/// all N at once as one immutable float32 array, the uploads come back in whatever order the silos finish, and the
/// server (<see cref="FleetTrainer"/>) adds them in client order.
/// </summary>
/// <remarks>
/// A call that fails because its silo died or did not answer in time (an <see cref="OrleansException"/> or a
/// <see cref="TimeoutException"/>) is made again, up to <see cref="Attempts"/> times with a doubling pause: by then the
/// cluster has declared the silo dead and the grain comes back on another. That is safe because a client's upload
/// is a function of (spec, round, θ) and, with error feedback, of the residual, which a client keeps for the round it
/// last answered (<see cref="FleetClient.Compute"/>). A client that lost its residual with its silo says so, and the
/// error goes to the server, which resumes from its checkpoint.
/// </remarks>
internal sealed class GrainClientFleet(IGrainFactory grains, ClientAssignment assignment, int clients, TimeSpan? firstPause = null) : IClientFleet
{
    /// <summary>Calls per client and round before the failure goes to the server.</summary>
    public const int Attempts = 6;

    private readonly TimeSpan _firstPause = firstPause ?? TimeSpan.FromMilliseconds(500);

    private readonly IClientGrain[] _clients =
        [.. Enumerable.Range(0, clients).Select(c => grains.GetGrain<IClientGrain>(assignment.ClientKey(c)))];

    /// <summary>The silo that computed each client's last upload (empty before the first round).</summary>
    public IReadOnlyList<string> LastSilos { get; private set; } = [];

    public async Task<IReadOnlyList<ClientUpload>> ComputeAsync(int round, ReadOnlyMemory<float> theta, bool includeVectors, CancellationToken cancellationToken)
    {
        // One array for every call, as bytes (FloatWire): the serializer copies it onto the wire per call as one block,
        // and Immutable keeps a silo-local call from deep-copying it.
        var shared = new Immutable<byte[]>(FloatWire.ToBytes(theta.Span));
        UploadMessage[] messages = await Task.WhenAll(_clients.Select(c => WithRetries(() => c.ComputeAsync(assignment, round, shared, includeVectors), cancellationToken)))
            .ConfigureAwait(false);
        LastSilos = [.. messages.Select(m => m.Silo)];
        return [.. messages.Select(m => m.ToUpload())];
    }

    /// <summary>Failed calls made again so far (a silo lost, a timeout).</summary>
    public int Retries => _retries;

    private int _retries;

    private async Task<T> WithRetries<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        TimeSpan pause = _firstPause;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ClientResidualLostException lost)
            {
                throw new ResidualLostException(lost.Message, lost);
            }
            catch (Exception e) when (attempt < Attempts && e is OrleansException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _retries);
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause *= 2;
            }
        }
    }

    public async Task<IReadOnlyList<float[]>> ResidualsAsync(CancellationToken cancellationToken)
    {
        Immutable<byte[]>[] residuals = await Task.WhenAll(_clients.Select(c => WithRetries(() => c.ResidualAsync(assignment), cancellationToken))).ConfigureAwait(false);
        return [.. residuals.Select(r => FloatWire.ToFloats(r.Value))];
    }

    /// <summary>Starts every client afresh for round 0.</summary>
    public Task ResetAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_clients.Select(c => WithRetries(async () => { await c.ResetAsync(assignment).ConfigureAwait(false); return true; }, cancellationToken)));

    public Task RestoreResidualsAsync(int round, IReadOnlyList<float[]> residuals, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(residuals);
        if (residuals.Count != _clients.Length)
        {
            throw new ArgumentException($"{residuals.Count} residuals for {_clients.Length} clients.", nameof(residuals));
        }
        return Task.WhenAll(_clients.Select((c, i) => c.RestoreResidualAsync(assignment, round, new Immutable<byte[]>(FloatWire.ToBytes(residuals[i]))))).WaitAsync(cancellationToken);
    }
}
