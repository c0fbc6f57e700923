using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Service;

/// <summary>
/// The worker pool: <see cref="ServiceOptions.Workers"/> loops, each claiming the oldest queued run, stepping it round
/// by round (every round's metrics committed as it ends, a checkpoint every <see cref="ServiceOptions.CheckpointEvery"/>
/// rounds), and finishing it. On a stop, a running job checkpoints and goes back to the queue; after a crash the
/// next start requeues it and it resumes from its last checkpoint.
/// </summary>
internal sealed partial class SimulationWorker(
    StoreLock storeLock,
    RunStore store,
    ArtifactPaths artifacts,
    RunSignals signals,
    SimulationData data,
    IRunFactory runs,
    IOptions<ServiceOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<SimulationWorker> logger) : BackgroundService
{
    /// <summary>Tries of one write before its run fails (transient failures only; see <see cref="StoreFailures.IsTransient"/>).</summary>
    internal const int WriteAttempts = 3;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    // An unavailable store is tried again after the poll interval, then twice as long each time, up to this.
    private static readonly TimeSpan MaxStoreBackoff = TimeSpan.FromSeconds(30);

    private readonly ServiceOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Jobs start once the whole host has (Kestrel listening): a host that fails to start touches no job.
        if (!await StartedAsync(stoppingToken).ConfigureAwait(false))
        {
            return;
        }
        _ = storeLock; // held (by the container) for the life of the service: no other process runs this store's jobs
        // A store that refuses writes (read-only, disk full) must not stop the service, or a restart under the same
        // condition would stop again: the API keeps answering (a submission gets 503) and this retries until it can.
        IReadOnlyList<long>? orphans = null;
        for (TimeSpan wait = _options.PollInterval; orphans is null; wait = Min(wait * 2, MaxStoreBackoff))
        {
            try
            {
                orphans = store.RequeueOrphans();
            }
            catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
            {
                LogStoreUnavailable(logger, store.Path, exception.Message, wait);
                if (!await DelayAsync(wait, stoppingToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        if (orphans.Count > 0)
        {
            LogRequeued(logger, orphans.Count, string.Join(", ", orphans));
        }
        _ = data.Get(); // load (and check) the data before the first job needs it
        LogStarted(logger, _options.Workers, store.Path);
        await Task.WhenAll(Enumerable.Range(1, _options.Workers).Select(n => WorkAsync(n, stoppingToken))).ConfigureAwait(false);
    }

    private async Task<bool> StartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    private async Task WorkAsync(int worker, CancellationToken stoppingToken)
    {
        TimeSpan backoff = _options.PollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            Task submitted = signals.NextSubmission();
            RunRecord? run;
            try
            {
                run = store.Claim();
                backoff = _options.PollInterval;
            }
            catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
            {
                // Nothing was claimed (one statement); try again later, waiting longer each time, up to a limit.
                LogStoreUnavailable(logger, store.Path, exception.Message, backoff);
                if (!await DelayAsync(backoff, stoppingToken).ConfigureAwait(false))
                {
                    break;
                }
                backoff = Min(backoff * 2, MaxStoreBackoff);
                continue;
            }
            if (run is null)
            {
                try
                {
                    await submitted.WaitAsync(_options.PollInterval, time, stoppingToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                continue;
            }
            // A job is long CPU work: a thread of its own rather than one of the pool's.
            await Task.Factory.StartNew(() => Run(worker, run, stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Runs one claimed job until it completes, fails, is cancelled or the service stops.</summary>
    private void Run(int worker, RunRecord run, CancellationToken stoppingToken)
    {
        long id = run.Id;
        CancellationToken cancel = signals.Register(id);
        try
        {
            RunClaimed(worker, run, cancel, stoppingToken);
        }
        catch (RunWriteException exception)
        {
            Fail(id, exception.Message);
        }
        catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
        {
            Fail(id, $"Could not write to the store {store.Path}: {exception.Message.TrimEnd('.')}; {StoreRemedy} and resubmit.");
        }
#pragma warning disable CA1031 // Whatever else goes wrong fails this job with the reason, never the service.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            Fail(id, $"The service failed running it: {exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            signals.Unregister(id);
            signals.Pulse(id);
        }
    }

    private void RunClaimed(int worker, RunRecord run, CancellationToken cancel, CancellationToken stoppingToken)
    {
        long id = run.Id;
        ExperimentSpec spec = run.Spec;
        // Registered first, then read: a cancel between the claim and here is seen one way or the other.
        if (run.CancelRequested || store.IsCancelRequested(id))
        {
            Finish(id, RunStatus.Cancelled);
            return;
        }
        ISteppedRun experiment;
        try
        {
            // Each attempt records the build, data and machine it runs on; the start stays the first claim's.
            store.SaveProvenance(id, Provenance.Capture(
                $"POST /api/runs {JsonSerializer.Serialize(spec, ServiceJsonContext.Default.ExperimentSpec)}",
                run.StartedAt ?? time.GetUtcNow(), data.Get(spec.Dataset).Files, spec.Threads, spec.Workers));
            experiment = runs.Create(spec, data.Get(spec.Dataset), id, worker, time);
        }
#pragma warning disable CA1031 // A job that cannot be set up fails with the reason; the service goes on.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            Finish(id, RunStatus.Failed, $"The run could not be set up: {exception.Message}");
            return;
        }
        using (experiment)
        {
            int resumed = Resume(id, experiment);
            if (resumed != run.RoundsCompleted || resumed != run.CheckpointRound)
            {
                store.Rewind(id, resumed);
            }
            LogClaimed(logger, worker, id, spec.Label, resumed, spec.Rounds, run.Attempts);
            Loop(id, experiment, resumed, cancel, stoppingToken);
        }
    }

    private void Loop(long id, ISteppedRun experiment, int checkpointRound, CancellationToken cancel, CancellationToken stoppingToken)
    {
        ExperimentSpec spec = experiment.Spec;
        while (true)
        {
            switch (JobPolicy.Next(experiment.Round, spec.Rounds, cancel.IsCancellationRequested, stoppingToken.IsCancellationRequested))
            {
                case JobAction.Step:
                    RoundMetrics metrics;
                    try
                    {
                        metrics = experiment.Step();
                    }
                    catch (TrainingDivergedException exception)
                    {
                        // Only this type is divergence; the message names the round, client and coordinate.
                        Finish(id, RunStatus.Failed, $"Diverged: {exception.Message}");
                        return;
                    }
#pragma warning disable CA1031 // A libtorch error or a bug fails this job, not the service (and is not called divergence).
                    catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
                    {
                        Finish(id, RunStatus.Failed, string.Create(CultureInfo.InvariantCulture, $"Round {experiment.Round + 1} failed: {exception.Message}"));
                        return;
                    }
                    // The round's row is committed before any checkpoint that includes it: a checkpoint is never ahead
                    // of the stored metrics, so a resume replays only rounds whose rows it overwrites.
                    Write(string.Create(CultureInfo.InvariantCulture, $"round {metrics.Round}"), store.Path, StoreRemedy,
                        () => store.SaveRound(id, RoundRow.From(metrics)));
                    signals.Pulse(id);
                    if (JobPolicy.CheckpointDue(experiment.Round, spec.Rounds, _options.CheckpointEvery))
                    {
                        Checkpoint(id, experiment);
                        checkpointRound = experiment.Round;
                    }
                    break;
                case JobAction.Complete:
                    Complete(id, experiment);
                    return;
                case JobAction.Cancel:
                    Finish(id, RunStatus.Cancelled);
                    LogCancelled(logger, id, experiment.Round);
                    return;
                case JobAction.Suspend:
                    if (experiment.Round != checkpointRound)
                    {
                        Checkpoint(id, experiment);
                    }
                    store.Requeue(id, experiment.Round);
                    LogSuspended(logger, id, experiment.Round);
                    return;
            }
        }
    }

    /// <summary>Restores the run's checkpoint if it has one; returns the round it resumes after (0: from the start).</summary>
    private int Resume(long id, ISteppedRun experiment)
    {
        string path = artifacts.Checkpoint(id);
        if (!File.Exists(path))
        {
            return 0;
        }
        try
        {
            using var stream = File.OpenRead(path);
            experiment.RestoreCheckpoint(stream);
            return experiment.Round;
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException)
        {
            // The run is unchanged by a failed restore: start it over (its rows are overwritten round by round).
            LogBadCheckpoint(logger, id, exception.Message);
            return 0;
        }
    }

    private void Checkpoint(long id, ISteppedRun experiment)
    {
        Write("the checkpoint", artifacts.Checkpoint(id), ArtifactsRemedy, () => artifacts.WriteCheckpoint(id, experiment.SaveCheckpoint));
        Write("the checkpoint's round", store.Path, StoreRemedy, () => store.SaveCheckpointRound(id, experiment.Round));
    }

    private string ArtifactsRemedy => $"make the artifacts folder {artifacts.Root} a writable directory (or free space on its disk)";

    private string StoreRemedy => $"make the store {store.Path} writable (or free space on its disk)";

    /// <summary>
    /// Runs <paramref name="write"/>, retrying a transient failure (<see cref="StoreFailures.IsTransient"/>) up to
    /// <see cref="WriteAttempts"/> times; a failure that remains becomes a <see cref="RunWriteException"/> whose message
    /// says what could not be written, where, why and what to do: the reason the run fails with.
    /// </summary>
    private void Write(string what, string where, string remedy, Action write)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                write();
                return;
            }
            catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
            {
                if (attempt < WriteAttempts && StoreFailures.IsTransient(exception))
                {
                    LogWriteRetry(logger, what, where, exception.Message, attempt);
                    Thread.Sleep(RetryDelay * attempt);
                    continue;
                }
                throw new RunWriteException($"Could not write {what} to {where}: {exception.Message.TrimEnd('.')}; {remedy} and resubmit.", exception);
            }
        }
    }

    /// <summary>Marks a run failed with <paramref name="reason"/>; if even that write fails, the run stays running in the
    /// store and the next start queues it again (said in the log).</summary>
    private void Fail(long id, string reason)
    {
        try
        {
            Finish(id, RunStatus.Failed, reason);
        }
        catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
        {
            LogFailureNotStored(logger, id, reason, exception.Message);
        }
    }

    private void Complete(long id, ISteppedRun experiment)
    {
        RunSummary summary = experiment.Summary();
        WriteArtifacts(id, experiment.Spec, summary);
        Finish(id, RunStatus.Succeeded, outcome: RunOutcome.From(summary));
        LogSucceeded(logger, id, summary.Rounds, summary.FinalAccuracy ?? double.NaN);
    }

    private void Finish(long id, RunStatus status, string? error = null, RunOutcome? outcome = null)
    {
        // The provenance ends when the run does, in the same write (a run cancelled before any claim has none).
        store.Finish(id, status, error, outcome);
        if (error is not null)
        {
            LogFailed(logger, id, error);
        }
        try
        {
            artifacts.DeleteCheckpoint(id);
        }
        catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
        {
            // The run is final in the store, which is what counts; a stale checkpoint is never read again.
            LogCheckpointNotDeleted(logger, id, exception.Message);
        }
    }

    /// <summary>metrics.csv, summary.json and the plots of a succeeded run, from its stored rows (all rounds, resumed or not).</summary>
    private void WriteArtifacts(long id, ExperimentSpec spec, RunSummary summary) =>
        Write("metrics.csv, summary.json and the plots", artifacts.RunDirectory(id), ArtifactsRemedy, () =>
        {
            Provenance provenance = store.Get(id)?.Provenance ?? throw new InvalidOperationException("The run has no provenance: it was never claimed.");
            using var report = new RunReport(artifacts.RunDirectory(id), new ExperimentPlan("service", [spec]), provenance);
            foreach (RoundRow row in store.Rounds(id))
            {
                report.Add(spec, row.ToMetrics(spec.Label));
            }
            report.Complete(summary);
            _ = RunPlots.Write(report);
        });

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Waits <paramref name="delay"/>; false when the service stops first.</summary>
    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Workers} worker(s) serving the store {Store}")]
    private static partial void LogStarted(ILogger logger, int workers, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} run(s) were running when the service last stopped without handing them back; queued again: {Ids}")]
    private static partial void LogRequeued(ILogger logger, int count, string ids);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Worker} runs run {Id} ({Label}) from round {Round} of {Rounds} (attempt {Attempt})")]
    private static partial void LogClaimed(ILogger logger, int worker, long id, string label, int round, int rounds, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Id} succeeded after {Rounds} rounds; test accuracy {Accuracy}")]
    private static partial void LogSucceeded(ILogger logger, long id, int rounds, double accuracy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Id} cancelled after round {Round}")]
    private static partial void LogCancelled(ILogger logger, long id, int round);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Id} checkpointed at round {Round} and queued again for the next start")]
    private static partial void LogSuspended(ILogger logger, long id, int round);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Id} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, long id, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Id}: the checkpoint cannot be restored ({Reason}); the run starts over")]
    private static partial void LogBadCheckpoint(ILogger logger, long id, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The store {Store} refused a write ({Reason}); the workers try again in {Wait}")]
    private static partial void LogStoreUnavailable(ILogger logger, string store, string reason, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {What} to {Where} failed ({Reason}); attempt {Attempt}, trying again")]
    private static partial void LogWriteRetry(ILogger logger, string what, string where, string reason, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {Id} failed ({Reason}), but the store refused to record it ({Error}); it stays running there and the next start queues it again")]
    private static partial void LogFailureNotStored(ILogger logger, long id, string reason, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Id}: its checkpoint could not be deleted: {Reason}")]
    private static partial void LogCheckpointNotDeleted(ILogger logger, long id, string reason);
}

/// <summary>A write of a run's data (round, checkpoint, artifacts) failed for good; the message is the run's reason.</summary>
internal sealed class RunWriteException(string message, Exception inner) : IOException(message, inner);
