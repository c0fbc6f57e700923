using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Verified.Host.Cluster;

/// <summary>What every silo of a Verified cluster registers: the silo's data and the clients' placement.</summary>
internal static class ClusterHosting
{
    /// <summary>
    /// The grain storage provider a run grain keeps its checkpoint in: memory with localhost clustering, PostgreSQL
    /// (Orleans' ADO.NET storage) on a real cluster. Every silo registers a provider under this name.
    /// </summary>
    public const string RunStorage = "verified-runs";

    /// <summary>
    /// Registers <see cref="ClusterData"/> (over a <see cref="Service.SimulationData"/> the caller registers: the
    /// checked data sets, or <c>--data</c>) and <see cref="SpreadClientsPlacement"/>.
    /// </summary>
    public static ISiloBuilder AddVerifiedClients(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.TryAddSingleton(ComputeSlots.PerCore);
        silo.Services.AddSingleton<ClusterData>();
        return silo.AddPlacementDirector<SpreadClientsPlacement, SpreadClientsDirector>();
    }
}
