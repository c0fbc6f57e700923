namespace Verified.Simulation.Sde;

/// <summary>TODO.</summary>
public sealed class HeavyTailsExperiment : ISdeExperiment
{
    /// <inheritdoc />
    public string Name => "heavytails";

    /// <inheritdoc />
    public string Description => "";

    /// <inheritdoc />
    public SdeReport Run(SdeExperimentOptions options) => throw new NotImplementedException();
}
