namespace Verified.Simulation.Sde;

/// <summary>TODO.</summary>
public sealed class ScalingExperiment : ISdeExperiment
{
    /// <inheritdoc />
    public string Name => "scaling";

    /// <inheritdoc />
    public string Description => "";

    /// <inheritdoc />
    public SdeReport Run(SdeExperimentOptions options) => throw new NotImplementedException();
}
