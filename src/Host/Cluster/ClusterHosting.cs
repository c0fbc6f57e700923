using Microsoft.Extensions.DependencyInjection;

namespace Verified.Host.Cluster;

/// <summary>What every silo of a Verified cluster registers: the silo's data and the clients' placement.</summary>
internal static class ClusterHosting
{
    /// <summary>
    /// Registers <see cref="ClusterData"/> (over a <see cref="Service.SimulationData"/> the caller registers: the
    /// checked data sets, or <c>--data</c>) and <see cref="SpreadClientsPlacement"/>.
    /// </summary>
    public static ISiloBuilder AddVerifiedClients(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddSingleton<ClusterData>();
        return silo.AddPlacementDirector<SpreadClientsPlacement, SpreadClientsDirector>();
    }
}
