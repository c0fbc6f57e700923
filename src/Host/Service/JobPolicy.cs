namespace Verified.Host.Service;

/// <summary>What a worker does next with the job it holds.</summary>
internal enum JobAction
{
    /// <summary>Run the next round.</summary>
    Step,

    /// <summary>All rounds are done: store the outcome, mark it succeeded.</summary>
    Complete,

    /// <summary>A cancel was asked for: mark it cancelled.</summary>
    Cancel,

    /// <summary>The service is stopping: checkpoint, hand it back to the queue.</summary>
    Suspend,
}

/// <summary>The worker's decisions, as pure functions of the job's state (tested without a host).</summary>
internal static class JobPolicy
{
    /// <summary>
    /// The next action after <paramref name="round"/> of <paramref name="rounds"/> rounds. A finished run completes even if
    /// a cancel or a stop came during its last round; a cancel wins over a stop (the user asked for it).
    /// </summary>
    public static JobAction Next(int round, int rounds, bool cancelRequested, bool stopping) =>
        round >= rounds ? JobAction.Complete
        : cancelRequested ? JobAction.Cancel
        : stopping ? JobAction.Suspend
        : JobAction.Step;

    /// <summary>Whether to checkpoint after <paramref name="round"/>: every k rounds, but not after the last (nothing follows it).</summary>
    public static bool CheckpointDue(int round, int rounds, int every)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        return round > 0 && round < rounds && round % every == 0;
    }
}
