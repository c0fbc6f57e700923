using System.Globalization;
using Verified.Host.Service;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

namespace Verified.Host.Cluster;

/// <summary>
/// <c>serve --cluster</c>: each job is a run grain (the server) and its client grains on the cluster, driven by the
/// worker that claimed it. Worker w's runs have the key <c>JOB-ATTEMPT@w−1</c>, which places their run grain on silo
/// (w − 1) mod K (<see cref="SpreadClientsDirector.SiloIndex"/>): with one worker per silo, one run per silo.
/// </summary>
/// <param name="grains">The cluster.</param>
/// <param name="storeEvery">How often a run grain stores its checkpoint: the service's checkpoint interval.</param>
/// <param name="description">Where the cluster is, for the start line.</param>
internal sealed class ClusterRuns(IGrainFactory grains, int storeEvery, string description) : IRunFactory
{
    public ISteppedRun Create(ExperimentSpec spec, ImageDataSet data, long id, int worker, TimeProvider time)
    {
        // A fresh key per attempt: a job resumed after a restart restores the service's own checkpoint into a new grain.
        string key = string.Create(CultureInfo.InvariantCulture, $"job{id}-{Guid.NewGuid():N}@{worker - 1}");
        return RemoteRun.StartAsync(grains, key, spec, storeEvery).GetAwaiter().GetResult();
    }

    public string Describe() => description;
}
