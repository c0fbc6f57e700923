namespace Verified.Simulation.Experiments;

/// <summary>
/// A run in progress as its driver sees it (the CLI's <c>run</c>, the service's worker): stepped one round at a time,
/// each round's metrics stored by the driver, checkpointed and restored. <see cref="ExperimentRun"/> runs here; a run
/// whose server lives on a cluster implements it too, so the driver, its checkpoints and its report do not care where.
/// </summary>
public interface ISteppedRun : IDisposable
{
    /// <summary>The run's spec.</summary>
    ExperimentSpec Spec { get; }

    /// <summary>Rounds completed.</summary>
    int Round { get; }

    /// <summary>Whether all <see cref="ExperimentSpec.Rounds"/> are done.</summary>
    bool IsComplete { get; }

    /// <summary>The last test-set evaluation, if any.</summary>
    Training.Evaluation? LastEvaluation { get; }

    /// <summary>Runs the next round (and the evaluation due after it) and returns its metrics.</summary>
    /// <exception cref="InvalidOperationException">The run is complete.</exception>
    /// <exception cref="Training.TrainingDivergedException">Training diverged.</exception>
    RoundMetrics Step();

    /// <summary>The run's outcome so far (final once <see cref="IsComplete"/>).</summary>
    RunSummary Summary();

    /// <summary>Writes a checkpoint that <see cref="RestoreCheckpoint"/> resumes exactly, here or elsewhere.</summary>
    void SaveCheckpoint(Stream destination);

    /// <summary>Restores a checkpoint of a run with the same spec and data into this fresh run.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is truncated, corrupted or of another run.</exception>
    void RestoreCheckpoint(Stream source);
}
