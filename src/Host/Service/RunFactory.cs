using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

namespace Verified.Host.Service;

/// <summary>Where the service's jobs train: in this process (the default) or on a cluster (<c>serve --cluster</c>).</summary>
internal interface IRunFactory
{
    /// <summary>Sets up job <paramref name="id"/>'s run, for worker <paramref name="worker"/> (1-based).</summary>
    /// <exception cref="ArgumentException">The spec is invalid.</exception>
    ISteppedRun Create(ExperimentSpec spec, ImageDataSet data, long id, int worker, TimeProvider time);

    /// <summary>Says where runs train, for the service's start line.</summary>
    string Describe();
}

/// <summary>Every run in this process.</summary>
internal sealed class InProcessRuns : IRunFactory
{
    // libtorch's generator is global to the process: runs are constructed (seeded, initialised) one at a time.
    private static readonly Lock s_construction = new();

    public ISteppedRun Create(ExperimentSpec spec, ImageDataSet data, long id, int worker, TimeProvider time)
    {
        lock (s_construction)
        {
            return new ExperimentRun(spec, data, time);
        }
    }

    public string Describe() => "in this process";
}
