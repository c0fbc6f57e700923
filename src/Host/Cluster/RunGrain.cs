using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Storage;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Cluster;

/// <summary>
/// The server of one run on a cluster (key: the run's key, the prefix of its client grains' keys): θ, the momentum,
/// the server's half of the codec and the run's checkpoint, which it keeps in grain storage
/// (<see cref="ClusterHosting.RunStorage"/>). Its clients are <see cref="IClientGrain"/>s, spread over the silos.
/// </summary>
/// <remarks>
/// <para>The driver (<c>verified run</c>, the service's worker) asks for round t only once it has stored rounds
/// 1..t − 1, and stores each row it gets: the driver's store is where every round is written once. If the grain's silo
/// dies, the driver's next call activates the grain on another silo, which resumes from its stored checkpoint and runs
/// the rounds after it again before answering (deterministic: the same metrics the lost activation gave).</para>
/// <para>Each call carries the run's assignment, so a fresh activation can rebuild the run from it alone.</para>
/// </remarks>
[Alias("Verified.IRunGrain")]
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run afresh (forgetting any stored state under this key) and returns where it stands.</summary>
    [Alias("Start")]
    [ResponseTimeout("00:05:00")]
    Task<RunProgress> StartAsync(ClientAssignment assignment);

    /// <summary>
    /// Runs round <paramref name="round"/> (1-based: the row after <paramref name="round"/> rounds) and returns its
    /// metrics; if this activation is behind (it lost rounds with a silo), it first runs the rounds it lost again.
    /// Asked again for the round it last ran, it answers the same without running it twice.
    /// </summary>
    /// <remarks>A round takes a client call per client (each with its own timeout and retries) and, after a fault, the
    /// rounds since the last stored checkpoint: the timeout is for that, on a loaded machine.</remarks>
    [Alias("Step")]
    [ResponseTimeout("00:15:00")]
    Task<RunProgress> StepAsync(ClientAssignment assignment, int storeEvery, int round);

    /// <summary>The run's checkpoint after <paramref name="round"/> rounds (<see cref="ExperimentRun.SaveCheckpointAsync"/>).</summary>
    [Alias("Checkpoint")]
    [ResponseTimeout("00:15:00")]
    Task<Immutable<byte[]>> CheckpointAsync(ClientAssignment assignment, int round);

    /// <summary>Restores <paramref name="checkpoint"/> (a run's, here or in one process) into a fresh run and stores it.</summary>
    [Alias("Restore")]
    [ResponseTimeout("00:05:00")]
    Task<RunProgress> RestoreAsync(ClientAssignment assignment, Immutable<byte[]> checkpoint);

    /// <summary>The run is over: its stored state is cleared and its grains leave memory.</summary>
    [Alias("Forget")]
    Task ForgetAsync(ClientAssignment assignment);
}

/// <summary>What a run grain stores: its spec and the checkpoint of the last stored round.</summary>
[GenerateSerializer]
[Alias("Verified.RunGrainState")]
public sealed class RunGrainState
{
    /// <summary>The spec (<see cref="ClientAssignment.SpecJson"/>) the checkpoint belongs to.</summary>
    [Id(0)] public string SpecJson { get; set; } = "";

    /// <summary>Rounds the checkpoint holds.</summary>
    [Id(1)] public int Round { get; set; }

    /// <summary>The checkpoint (<see cref="ExperimentRun.SaveCheckpointAsync"/>); empty: none.</summary>
    [Id(2)] public byte[] Checkpoint { get; set; } = [];

    /// <summary>
    /// The metrics of round <see cref="Round"/>: a grain whose silo died after storing the checkpoint but before its
    /// answer reached the driver answers the driver's repeated question with them.
    /// </summary>
    [Id(3)] public RoundMetrics? LastRow { get; set; }
}

/// <summary>The run grain.</summary>
[SpreadClientsPlacement]
internal sealed partial class RunGrain(
    ClusterData data,
    ILocalSiloDetails silo,
    [PersistentState("run", ClusterHosting.RunStorage)] IPersistentState<RunGrainState> stored,
    ILogger<RunGrain> logger) : Grain, IRunGrain, IDisposable
{
    private ExperimentRun? _run;
    private GrainClientFleet? _fleet;
    private string? _specJson;
    private RoundMetrics? _last;
    private int _residualRestores;

    public async Task<RunProgress> StartAsync(ClientAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        Discard();
        await ClearStoredAsync().ConfigureAwait(true);
        ExperimentRun run = await RunForAsync(assignment).ConfigureAwait(true);
        return Progress(run, null, 0);
    }

    public async Task<RunProgress> StepAsync(ClientAssignment assignment, int storeEvery, int round)
    {
        ExperimentRun run = await RunForAsync(assignment).ConfigureAwait(true);
        if (round < 1 || round > run.Spec.Rounds)
        {
            throw new ArgumentOutOfRangeException(nameof(round), round, string.Create(CultureInfo.InvariantCulture, $"The run has rounds 1 to {run.Spec.Rounds}."));
        }
        if (round == run.Round && _last?.Round == round)
        {
            return Progress(run, _last, 0); // the driver lost the answer: the same row again
        }
        int replayed;
        (run, replayed) = await CatchUpAsync(assignment, round - 1).ConfigureAwait(true);
        _last = await StepRecoveringAsync(assignment, run).ConfigureAwait(true);
        run = _run!;
        await StoreIfDueAsync(run, storeEvery).ConfigureAwait(true);
        return Progress(run, _last, replayed);
    }

    public async Task<Immutable<byte[]>> CheckpointAsync(ClientAssignment assignment, int round)
    {
        (ExperimentRun run, _) = await CatchUpAsync(assignment, round).ConfigureAwait(true);
        byte[] checkpoint = await SaveAsync(run).ConfigureAwait(true);
        return new Immutable<byte[]>(checkpoint);
    }

    public async Task<RunProgress> RestoreAsync(ClientAssignment assignment, Immutable<byte[]> checkpoint)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        Discard();
        ExperimentRun run = await NewRunAsync(assignment, null).ConfigureAwait(true);
        await run.RestoreCheckpointAsync(new MemoryStream(checkpoint.Value, writable: false)).ConfigureAwait(true);
        await StoreAsync(assignment.SpecJson, run.Round, checkpoint.Value, null).ConfigureAwait(true);
        return Progress(run, null, 0);
    }

    public async Task ForgetAsync(ClientAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        ExperimentSpec spec = assignment.Spec();
        await Task.WhenAll(Enumerable.Range(0, spec.Clients).Select(c => GrainFactory.GetGrain<IClientGrain>(assignment.ClientKey(c)).ReleaseAsync())).ConfigureAwait(true);
        Discard();
        await ClearStoredAsync().ConfigureAwait(true);
        DeactivateOnIdle();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Dispose();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public void Dispose() => Discard();

    private void Discard()
    {
        _run?.Dispose();
        _run = null;
        _fleet = null;
        _specJson = null;
        _last = null;
    }

    /// <summary>The run, rebuilt on a fresh activation from the stored checkpoint (or from the start, without one).</summary>
    private async Task<ExperimentRun> RunForAsync(ClientAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        if (_run is not null)
        {
            return _specJson == assignment.SpecJson
                ? _run
                : throw new ArgumentException($"Run grain '{this.GetPrimaryKeyString()}' runs another spec: a run's key must be unique to it.", nameof(assignment));
        }
        RunGrainState state = stored.State;
        byte[]? checkpoint = StoredCheckpoint(assignment, int.MaxValue);
        ExperimentRun run = await NewRunAsync(assignment, checkpoint).ConfigureAwait(true);
        if (checkpoint is not null && state.LastRow is { } row && row.Round == run.Round)
        {
            _last = row;
        }
        string key = this.GetPrimaryKeyString();
        LogActivated(logger, key, silo.SiloAddress, run.Round);
        return run;
    }

    /// <summary>A fresh run from <paramref name="checkpoint"/>, or from round 0 with every client reset.</summary>
    private async Task<ExperimentRun> NewRunAsync(ClientAssignment assignment, byte[]? checkpoint)
    {
        ExperimentSpec spec = assignment.Spec();
        var fleet = new GrainClientFleet(GrainFactory, assignment, spec.Clients);
        var run = new ExperimentRun(spec, data.Get(spec.Dataset), fleet);
        try
        {
            if (checkpoint is not null)
            {
                await run.RestoreCheckpointAsync(new MemoryStream(checkpoint, writable: false)).ConfigureAwait(true);
            }
            else
            {
                // Clients that outlived an earlier activation of this run may hold residuals of later rounds.
                await fleet.ResetAsync(CancellationToken.None).ConfigureAwait(true);
            }
        }
        catch
        {
            run.Dispose();
            throw;
        }
        _run = run;
        _fleet = fleet;
        _specJson = assignment.SpecJson;
        return run;
    }

    /// <summary>Brings the run to <paramref name="round"/> rounds, running again those a fault lost.</summary>
    private async Task<(ExperimentRun Run, int Replayed)> CatchUpAsync(ClientAssignment assignment, int round)
    {
        ExperimentRun run = await RunForAsync(assignment).ConfigureAwait(true);
        if (run.Round > round)
        {
            // Only a driver that went back to an older checkpoint of its own asks this; it restores first.
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Run '{this.GetPrimaryKeyString()}' has run {run.Round} rounds but was asked about round {round}: restore the checkpoint of round {round} first."));
        }
        int replayed = 0;
        while (run.Round < round)
        {
            await StepRecoveringAsync(assignment, run).ConfigureAwait(true);
            run = _run!;
            replayed++;
        }
        if (replayed > 0 && logger.IsEnabled(LogLevel.Warning))
        {
            LogReplayed(logger, this.GetPrimaryKeyString(), replayed, round);
        }
        return (run, replayed);
    }

    /// <summary>
    /// One round. If clients lost their error-feedback residuals with a silo, the round was not applied: the run goes
    /// back to its stored checkpoint (which gives every client its residual of that round) and runs forward again.
    /// </summary>
    private async Task<RoundMetrics> StepRecoveringAsync(ClientAssignment assignment, ExperimentRun run)
    {
        try
        {
            return await run.StepAsync().ConfigureAwait(true);
        }
        catch (ResidualLostException lost)
        {
            int target = run.Round;
            if (logger.IsEnabled(LogLevel.Warning))
            {
                LogResidualsLost(logger, this.GetPrimaryKeyString(), target, lost.Message);
            }
            _residualRestores++;
            Discard();
            ExperimentRun restored = await NewRunAsync(assignment, StoredCheckpoint(assignment, target)).ConfigureAwait(true);
            while (restored.Round < target)
            {
                await restored.StepAsync().ConfigureAwait(true);
            }
            // A second loss within this call goes to the driver, which asks again.
            return await restored.StepAsync().ConfigureAwait(true);
        }
    }

    /// <summary>The stored checkpoint if it is this run's and at most <paramref name="maxRound"/> rounds in; else null.</summary>
    private byte[]? StoredCheckpoint(ClientAssignment assignment, int maxRound)
    {
        RunGrainState state = stored.State;
        return stored.RecordExists && state.SpecJson == assignment.SpecJson && state.Checkpoint.Length > 0 && state.Round <= maxRound
            ? state.Checkpoint
            : null;
    }

    private async Task StoreIfDueAsync(ExperimentRun run, int storeEvery)
    {
        if (storeEvery > 0 && (run.Round % storeEvery == 0 || run.IsComplete))
        {
            await StoreAsync(_specJson!, run.Round, await SaveAsync(run).ConfigureAwait(true), _last).ConfigureAwait(true);
        }
    }

    private static async Task<byte[]> SaveAsync(ExperimentRun run)
    {
        using var buffer = new MemoryStream();
        await run.SaveCheckpointAsync(buffer).ConfigureAwait(true);
        return buffer.ToArray();
    }

    private async Task StoreAsync(string specJson, int round, byte[] checkpoint, RoundMetrics? lastRow)
    {
        stored.State = new RunGrainState { SpecJson = specJson, Round = round, Checkpoint = checkpoint, LastRow = lastRow };
        try
        {
            await stored.WriteStateAsync().ConfigureAwait(true);
        }
        catch (InconsistentStateException)
        {
            // The storage lost our version (memory storage whose silo died) or a zombie activation wrote: ours is the
            // live run, so read the current version and write over it.
            await stored.ReadStateAsync().ConfigureAwait(true);
            stored.State = new RunGrainState { SpecJson = specJson, Round = round, Checkpoint = checkpoint, LastRow = lastRow };
            await stored.WriteStateAsync().ConfigureAwait(true);
        }
    }

    private async Task ClearStoredAsync()
    {
        try
        {
            await stored.ClearStateAsync().ConfigureAwait(true);
        }
        catch (InconsistentStateException)
        {
            await stored.ReadStateAsync().ConfigureAwait(true);
            await stored.ClearStateAsync().ConfigureAwait(true);
        }
    }

    private RunProgress Progress(ExperimentRun run, RoundMetrics? metrics, int replayed)
    {
        RunSummary summary = run.Summary();
        return new RunProgress
        {
            Round = run.Round,
            Metrics = metrics,
            LastEvaluation = run.LastEvaluation,
            Dimension = run.Dimension,
            TotalBytes = run.TotalBytes,
            FitFallbacks = summary.FitFallbacks,
            Timings = summary.Timings,
            Silo = silo.SiloAddress.ToString(),
            Replayed = replayed,
            ResidualRestores = _residualRestores,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Key} active on silo {Silo} at round {Round}")]
    private static partial void LogActivated(ILogger logger, string key, SiloAddress silo, int round);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Key} ran {Rounds} lost rounds again to reach round {Round}")]
    private static partial void LogReplayed(ILogger logger, string key, int rounds, int round);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Key}: clients lost their residuals before round {Round} ({Reason}); restoring them from the stored checkpoint")]
    private static partial void LogResidualsLost(ILogger logger, string key, int round, string reason);
}
