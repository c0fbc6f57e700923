using Verified.Simulation.Experiments;

namespace Verified.Host.Service;

/// <summary>
/// <see cref="RunEstimate"/> of a spec on this service's data and machine: checked against the memory cap at
/// submission and shown as <c>estimate</c> in every run resource.
/// </summary>
internal sealed class RunEstimator(SimulationData data)
{
    /// <summary>The estimate of <paramref name="spec"/> (whose model must parse).</summary>
    public RunEstimate For(ExperimentSpec spec) => RunEstimate.For(spec, data.Get(spec.Dataset), Environment.ProcessorCount);

    /// <summary>The estimate of a stored spec, or null if it cannot be made (a spec stored by an older version).</summary>
    public RunEstimate? TryFor(ExperimentSpec spec)
    {
        try
        {
            return For(spec);
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
    }
}
