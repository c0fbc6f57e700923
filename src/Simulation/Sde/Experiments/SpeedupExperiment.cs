namespace Verified.Simulation.Sde;

/// <summary>TODO.</summary>
public sealed class SpeedupExperiment : ISdeExperiment
{
    /// <inheritdoc />
    public string Name => "speedup";

    /// <inheritdoc />
    public string Description => "";

    /// <inheritdoc />
    public SdeReport Run(SdeExperimentOptions options) => throw new NotImplementedException();
}
