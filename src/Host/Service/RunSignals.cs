using System.Collections.Concurrent;

namespace Verified.Host.Service;

/// <summary>
/// In-process wake-ups: a worker pulses a run when it stores a round or finishes, and a submission pulses the queue,
/// so that event streams and idle workers react at once instead of at their next poll. A waiter takes the task
/// <em>before</em> it reads the store, so a pulse between the read and the wait is not lost.
/// </summary>
internal sealed class RunSignals
{
    private const long QueueKey = 0; // run ids start at 1

    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiting = new();
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();

    /// <summary>A task that completes at the next <see cref="Pulse"/> of run <paramref name="id"/>.</summary>
    public Task NextChange(long id) =>
        _waiting.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Wakes whoever waits on run <paramref name="id"/>.</summary>
    public void Pulse(long id)
    {
        if (_waiting.TryRemove(id, out TaskCompletionSource? source))
        {
            source.TrySetResult();
        }
    }

    /// <summary>A task that completes when a run is queued.</summary>
    public Task NextSubmission() => NextChange(QueueKey);

    /// <summary>Wakes the idle workers.</summary>
    public void PulseQueue() => Pulse(QueueKey);

    /// <summary>A worker registers the job it runs; <see cref="Cancel"/> reaches it through the token.</summary>
    public CancellationToken Register(long id)
    {
        var source = new CancellationTokenSource();
        _running[id] = source;
        return source.Token;
    }

    /// <summary>The worker is done with the job.</summary>
    public void Unregister(long id)
    {
        if (_running.TryRemove(id, out CancellationTokenSource? source))
        {
            source.Dispose();
        }
    }

    /// <summary>Tells the worker running <paramref name="id"/>, if any, to cancel it after the current round.</summary>
    public void Cancel(long id)
    {
        if (_running.TryGetValue(id, out CancellationTokenSource? source))
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The job ended between the lookup and the cancel.
            }
        }
    }
}
