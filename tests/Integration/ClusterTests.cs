using Orleans.TestingHost;
using Verified.Host.Cluster;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

using static IntegrationTests.ClusterTesting;
using static IntegrationTests.RunsCompared;

namespace IntegrationTests;

/// <summary>
/// A run whose clients are grains on Orleans' in-process test cluster (three silos, real serialization between this
/// test, the gateway and the silos): the metrics and checkpoint equal a run in one process, and a silo killed between
/// rounds costs nothing (stateless clients come back elsewhere; clients with error-feedback residuals are restored
/// from the server's checkpoint).
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ClusterTests
{
    private static readonly Lazy<ImageDataSet> s_data = new(() => MnistData.Load(MnistDataTests.DataDirectory!));

    private static Task<InProcessTestCluster> StartAsync(int silos) => StartClusterAsync(s_data.Value, silos);

    [MnistTheory]
    [InlineData("tnq", true)]
    [InlineData("qsgd", false)]
    public async Task ClientGrainsOnThreeSilos_GiveTheMetricsAndCheckpointOfARunInOneProcess(string scheme, bool errorFeedback)
    {
        ExperimentSpec spec = Mlp(scheme, rounds: 6, errorFeedback);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        await using InProcessTestCluster cluster = await StartAsync(3);

        var fleet = new GrainClientFleet(cluster.Client, ClientAssignment.Of("same-" + scheme, spec), spec.Clients);
        using var run = new ExperimentRun(spec, s_data.Value, fleet);
        var rows = new List<RoundMetrics>();
        while (!run.IsComplete)
        {
            rows.Add(await run.StepAsync());
        }

        Assert.Equal(inProcess.Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(inProcessState, await CheckpointAsync(run));
        Assert.Equal(spec.Clients, fleet.LastSilos.Count);
        Assert.Equal(0, fleet.Retries);
    }

    [MnistFact]
    public async Task ASiloKilledBetweenRounds_StatelessClientsComeBackElsewhere_AndTheRunIsUnchanged()
    {
        ExperimentSpec spec = Mlp("qsgd", rounds: 6, errorFeedback: false);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        await using InProcessTestCluster cluster = await StartAsync(3);

        var fleet = new GrainClientFleet(cluster.Client, ClientAssignment.Of("kill-stateless", spec), spec.Clients, TimeSpan.FromMilliseconds(200));
        using var run = new ExperimentRun(spec, s_data.Value, fleet);
        var rows = new List<RoundMetrics>();
        for (int r = 0; r < 3; r++)
        {
            rows.Add(await run.StepAsync());
        }
        InProcessSiloHandle victim = VictimOf(cluster, fleet);
        await cluster.KillSiloAsync(victim);
        while (!run.IsComplete)
        {
            rows.Add(await run.StepAsync());
        }

        Assert.Equal(inProcess.Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(inProcessState, await CheckpointAsync(run));
        Assert.DoesNotContain(victim.SiloAddress.ToString(), fleet.LastSilos);
    }

    [MnistFact]
    public async Task ASiloKilledWithErrorFeedbackResiduals_TheRoundIsRefused_AndTheCheckpointRestoresThemExactly()
    {
        ExperimentSpec spec = Mlp("tnq", rounds: 6, errorFeedback: true);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        await using InProcessTestCluster cluster = await StartAsync(3);
        var assignment = ClientAssignment.Of("kill-residuals", spec);

        var fleet = new GrainClientFleet(cluster.Client, assignment, spec.Clients, TimeSpan.FromMilliseconds(200));
        var rows = new List<RoundMetrics>();
        byte[] checkpoint;
        using (var run = new ExperimentRun(spec, s_data.Value, fleet))
        {
            for (int r = 0; r < 3; r++)
            {
                rows.Add(await run.StepAsync());
            }
            checkpoint = await CheckpointAsync(run);
            await cluster.KillSiloAsync(VictimOf(cluster, fleet));

            // The clients that were on the dead silo start again without their residuals, and say so.
            var error = await Assert.ThrowsAsync<ResidualLostException>(() => run.StepAsync());
            Assert.Contains("error-feedback residual of round 0 but was asked for round 3", error.Message, StringComparison.Ordinal);
            Assert.Equal(3, run.Round);
        }

        // The server resumes from its checkpoint, which gives every client its residual back.
        using var resumed = new ExperimentRun(spec, s_data.Value, fleet);
        await resumed.RestoreCheckpointAsync(new MemoryStream(checkpoint));
        while (!resumed.IsComplete)
        {
            rows.Add(await resumed.StepAsync());
        }

        Assert.Equal(inProcess.Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(inProcessState, await CheckpointAsync(resumed));
    }

    /// <summary>A secondary silo (the primary holds the test membership); with the clients spread over three silos, it holds two or three of them.</summary>
    private static InProcessSiloHandle VictimOf(InProcessTestCluster cluster, GrainClientFleet fleet) =>
        cluster.Silos.Skip(1).First(s => fleet.LastSilos.Contains(s.SiloAddress.ToString()));
}
