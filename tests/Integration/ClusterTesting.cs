using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Verified.Host.Cluster;
using Verified.Host.Service;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

namespace IntegrationTests;

/// <summary>What the tests on Orleans' in-process test cluster share (<c>using static</c>).</summary>
internal static class ClusterTesting
{
    /// <summary>A short MLP run with an evaluation every 2 rounds and an audit every 3.</summary>
    public static ExperimentSpec Mlp(string scheme, int rounds, bool errorFeedback) =>
        new() { Scheme = scheme, Bits = 3, Model = "mlp", Rounds = rounds, EvaluateEvery = 2, AuditEvery = 3, ErrorFeedback = errorFeedback };

    /// <summary>
    /// <paramref name="silos"/> silos in this process, each as <c>verified silo</c> sets one up (the data, memory grain
    /// storage for run grains, the Verified grains and placement), plus what the test adds.
    /// </summary>
    public static async Task<InProcessTestCluster> StartClusterAsync(
        ImageDataSet data, int silos = 3, Action<IServiceCollection>? services = null, Action<ISiloBuilder>? silo = null)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton(new SimulationData(data));
            services?.Invoke(host.Services);
        });
        builder.ConfigureSilo((_, siloBuilder) =>
        {
            siloBuilder.AddMemoryGrainStorage(ClusterHosting.RunStorage).AddVerifiedClients();
            silo?.Invoke(siloBuilder);
        });
        InProcessTestCluster cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
