using System.Diagnostics;
using Orleans.Concurrency;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Cluster;

/// <summary>
/// A run whose server is a <see cref="IRunGrain"/> on a cluster, as its driver steps it: the same rows, checkpoints
/// and summary as an <see cref="ExperimentRun"/> in this process (timings aside).
/// </summary>
/// <remarks>
/// A call that fails because the run grain's silo died or did not answer in time is made again (up to
/// <see cref="Attempts"/> times, with a doubling pause): the next call activates the grain on another silo, which
/// resumes from its stored checkpoint. The driver asks for round t only after storing round t − 1, and the grain
/// answers a repeated question with the same row, so every round is stored once.
/// </remarks>
internal sealed class RemoteRun : ISteppedRun
{
    /// <summary>Calls per request before the failure goes to the driver.</summary>
    public const int Attempts = 6;

    /// <summary>The shortest time this waits for an answer before asking again (see <see cref="CallTimeout"/>).</summary>
    public static readonly TimeSpan MinimumCallTimeout = TimeSpan.FromSeconds(20);

    private readonly IRunGrain _grain;
    private readonly ClientAssignment _assignment;
    private readonly int _storeEvery;
    private readonly TimeSpan _firstPause;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private RunProgress _progress;
    private TimeSpan _slowestRound;

    private RemoteRun(IRunGrain grain, ClientAssignment assignment, ExperimentSpec spec, int storeEvery, TimeSpan firstPause, RunProgress progress)
    {
        _grain = grain;
        _assignment = assignment;
        _storeEvery = storeEvery;
        _firstPause = firstPause;
        Spec = spec;
        _progress = progress;
    }

    /// <summary>
    /// Starts <paramref name="spec"/> on the cluster under the key <paramref name="key"/> (unique to this run: a
    /// service's job id, or a fresh id).
    /// </summary>
    /// <param name="grains">The cluster.</param>
    /// <param name="key">The run's key.</param>
    /// <param name="spec">The run.</param>
    /// <param name="storeEvery">How often (rounds) the run grain stores its checkpoint; 0: never (after a fault it starts again from round 0).</param>
    /// <param name="firstPause">The pause before the first retry.</param>
    /// <param name="cancellationToken">Abandons the start.</param>
    public static async Task<RemoteRun> StartAsync(IGrainFactory grains, string key, ExperimentSpec spec, int storeEvery, TimeSpan? firstPause = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(storeEvery);
        var assignment = ClientAssignment.Of(key, spec);
        IRunGrain grain = grains.GetGrain<IRunGrain>(key);
        TimeSpan pause = firstPause ?? TimeSpan.FromMilliseconds(500);
        RunProgress progress = await WithRetries(() => grain.StartAsync(assignment), pause, cancellationToken).ConfigureAwait(false);
        return new RemoteRun(grain, assignment, spec, storeEvery, pause, progress);
    }

    /// <inheritdoc />
    public ExperimentSpec Spec { get; }

    /// <inheritdoc />
    public int Round => _progress.Round;

    /// <inheritdoc />
    public bool IsComplete => Round >= Spec.Rounds;

    /// <inheritdoc />
    public Evaluation? LastEvaluation => _progress.LastEvaluation;

    /// <summary>The silo the run grain answered from last.</summary>
    public string Silo => _progress.Silo;

    /// <summary>Rounds the run grain ran again after losing them with a silo, summed over this run.</summary>
    public int Replayed { get; private set; }

    /// <summary>How often the run grain's current activation restored lost client residuals from its checkpoint.</summary>
    public int ResidualRestores => _progress.ResidualRestores;

    /// <summary>Failed calls made again so far.</summary>
    public int Retries { get; private set; }

    /// <inheritdoc />
    public RoundMetrics Step() => StepAsync().GetAwaiter().GetResult();

    /// <summary>Runs the next round on the cluster and returns its metrics (elapsed time by this process's clock).</summary>
    /// <exception cref="InvalidOperationException">The run is complete.</exception>
    public async Task<RoundMetrics> StepAsync(CancellationToken cancellationToken = default)
    {
        if (IsComplete)
        {
            throw new InvalidOperationException($"The run is complete: all {Spec.Rounds} rounds are done.");
        }
        int round = Round + 1;
        long started = Stopwatch.GetTimestamp();
        RunProgress progress = await Call(() => _grain.StepAsync(_assignment, _storeEvery, round), cancellationToken).ConfigureAwait(false);
        if (progress.Replayed == 0 && Stopwatch.GetElapsedTime(started) is var took && took > _slowestRound)
        {
            _slowestRound = took;
        }
        if (progress.Round != round || progress.Metrics is null)
        {
            throw new InvalidDataException($"Asked for round {round}, the run grain answered with round {progress.Round}{(progress.Metrics is null ? " and no metrics" : "")}.");
        }
        _progress = progress;
        Replayed += progress.Replayed;
        return progress.Metrics with { ElapsedSeconds = _clock.Elapsed.TotalSeconds };
    }

    /// <inheritdoc />
    public RunSummary Summary() => new(
        Spec,
        _progress.Dimension,
        Round,
        LastEvaluation?.Accuracy,
        LastEvaluation?.Loss,
        _progress.TotalBytes,
        4L * _progress.Dimension * Spec.Clients * Round,
        _progress.Timings with { Wall = _clock.Elapsed })
    {
        FitFallbacks = _progress.FitFallbacks,
    };

    /// <inheritdoc />
    public void SaveCheckpoint(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        int round = Round;
        Immutable<byte[]> checkpoint = Call(() => _grain.CheckpointAsync(_assignment, round), CancellationToken.None).GetAwaiter().GetResult();
        destination.Write(checkpoint.Value);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">This run has already stepped.</exception>
    public void RestoreCheckpoint(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Round != 0)
        {
            throw new InvalidOperationException($"A checkpoint can be restored only into a fresh run; this one has run {Round} rounds.");
        }
        using var copy = new MemoryStream();
        source.CopyTo(copy);
        var checkpoint = new Immutable<byte[]>(copy.ToArray());
        _progress = Call(() => _grain.RestoreAsync(_assignment, checkpoint), CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Clears the run grain's state and lets its grains leave memory; a cluster already gone is not an error here.</summary>
    public void Dispose()
    {
        try
        {
            _grain.ForgetAsync(_assignment).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        }
#pragma warning disable CA1031 // Disposal must not hide the run's own outcome; a grain left behind is collected when idle.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>
    /// How long to wait for the run grain before asking again. An Orleans client is not told when the silo its call
    /// went to dies (silos tell each other; the gateway does not tell the client), so it would wait for the call's whole
    /// response timeout. Asking again is safe (the grain answers a repeated round with the same row), so this waits for
    /// what a round can take: four times the slowest round seen, times the rounds a new activation may have to run
    /// again (those since its last stored checkpoint), at least <see cref="MinimumCallTimeout"/>; before the first round,
    /// the grain call's own timeout.
    /// </summary>
    public TimeSpan? CallTimeout
    {
        get
        {
            if (_slowestRound == TimeSpan.Zero)
            {
                return null;
            }
            int rounds = (_storeEvery > 0 ? _storeEvery : Round) + 1;
            TimeSpan wait = 4 * _slowestRound * rounds;
            return wait < MinimumCallTimeout ? MinimumCallTimeout : wait > MaximumCallTimeout ? MaximumCallTimeout : wait;
        }
    }

    // The run grain's own ResponseTimeout for a step: beyond it Orleans gives up anyway.
    private static readonly TimeSpan MaximumCallTimeout = TimeSpan.FromMinutes(15);

    private async Task<T> Call<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        int retries = 0;
        TimeSpan? timeout = CallTimeout;
        try
        {
            return await WithRetries(() => timeout is { } t ? call().WaitAsync(t, cancellationToken) : call(), _firstPause, cancellationToken, () => retries++).ConfigureAwait(false);
        }
        finally
        {
            Retries += retries;
        }
    }

    private static async Task<T> WithRetries<T>(Func<Task<T>> call, TimeSpan firstPause, CancellationToken cancellationToken, Action? retried = null)
    {
        TimeSpan pause = firstPause;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < Attempts && e is OrleansException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                retried?.Invoke();
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause *= 2;
            }
        }
    }
}
