using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

namespace IntegrationTests;

/// <summary>What the tests that compare a run elsewhere with a run in one process share (<c>using static</c>).</summary>
internal static class RunsCompared
{
    /// <summary>Every round of <paramref name="spec"/> in one process, and its final checkpoint.</summary>
    public static (List<RoundMetrics> Rows, byte[] State) RunInOneProcess(ExperimentSpec spec, ImageDataSet data)
    {
        using var run = new ExperimentRun(spec, data);
        var rows = new List<RoundMetrics>();
        while (!run.IsComplete)
        {
            rows.Add(run.Step());
        }
        return (rows, Checkpoint(run));
    }

    /// <summary>The run's checkpoint, as bytes.</summary>
    public static byte[] Checkpoint(ExperimentRun run)
    {
        using var stream = new MemoryStream();
        run.SaveCheckpoint(stream);
        return stream.ToArray();
    }

    /// <summary>The run's checkpoint, as bytes (a fleet's clients asked for their residuals).</summary>
    public static async Task<byte[]> CheckpointAsync(ExperimentRun run)
    {
        using var stream = new MemoryStream();
        await run.SaveCheckpointAsync(stream);
        return stream.ToArray();
    }

    /// <summary>The metrics two runs of one seed must agree on: all but the wall clock.</summary>
    public static RoundMetrics WithoutClock(RoundMetrics metrics) => metrics with { ElapsedSeconds = 0 };
}
