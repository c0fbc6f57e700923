using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Verified.Host.Cluster;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

using static IntegrationTests.ClusterTesting;
using static IntegrationTests.RunsCompared;

namespace IntegrationTests;

/// <summary>
/// A whole run on Orleans' in-process test cluster (three silos, real serialization between them): the server is a run
/// grain, its clients are client grains spread over the silos. Its rows and final checkpoint equal a run in one
/// process, also when a silo is killed in the middle of a round — one holding clients with error-feedback residuals,
/// or the one holding the run grain itself.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class RunGrainTests
{
    private static readonly Lazy<ImageDataSet> s_data = new(() => MnistData.Load(MnistDataTests.DataDirectory!));

    private static Task<InProcessTestCluster> StartAsync(RoundGate gate) =>
        StartClusterAsync(s_data.Value, services: s => s.AddSingleton(gate), silo: s => s.AddIncomingGrainCallFilter<RoundGateFilter>());

    [MnistTheory]
    [InlineData("tnq", true)]
    [InlineData("qsgd", false)]
    public async Task ARunGrainAndItsClientsOnThreeSilos_GiveTheRowsAndCheckpointOfARunInOneProcess(string scheme, bool errorFeedback)
    {
        ExperimentSpec spec = Mlp(scheme, rounds: 6, errorFeedback);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        using var gate = new RoundGate();
        await using InProcessTestCluster cluster = await StartAsync(gate);

        using RemoteRun run = await RemoteRun.StartAsync(cluster.Client, "same-" + scheme, spec, storeEvery: 2);
        var rows = new List<RoundMetrics>();
        await StepAsync(run, rows);

        AssertAsInOneProcess(inProcess, inProcessState, rows, run);
        Assert.Equal(inProcess[^1].TotalBytes, run.Summary().TotalBytes);
        Assert.Equal(0, run.Retries);
        Assert.Equal(0, run.Replayed);
    }

    [MnistFact]
    public async Task ASiloWithErrorFeedbackClientsKilledMidRound_TheRunGrainRestoresTheirResiduals_AndTheRunIsUnchanged()
    {
        ExperimentSpec spec = Mlp("tnq", rounds: 8, errorFeedback: true);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        using var gate = new RoundGate();
        await using InProcessTestCluster cluster = await StartAsync(gate);

        using RemoteRun run = await RemoteRun.StartAsync(cluster.Client, "kill-clients", spec, storeEvery: 2, TimeSpan.FromMilliseconds(200));
        var rows = new List<RoundMetrics>();
        await StepAsync(run, rows, 3);
        // A secondary silo (the primary holds the test membership) that holds clients but not the run grain.
        InProcessSiloHandle victim = cluster.Silos.Skip(1).First(s => s.SiloAddress.ToString() != run.Silo);
        rows.Add(await StepKillingAsync(cluster, gate, victim, run, round: 3));
        await StepAsync(run, rows);

        AssertAsInOneProcess(inProcess, inProcessState, rows, run);
        Assert.NotEqual(victim.SiloAddress.ToString(), run.Silo);
        Assert.True(run.ResidualRestores > 0, "the clients that came back elsewhere had no residual: the run grain must have restored them");
    }

    [MnistTheory]
    [InlineData("tnq", true, 2)]
    [InlineData("qsgd", false, 0)]
    public async Task TheRunGrainsSiloKilledMidRound_TheRunResumesOnAnotherSilo_AndEveryRowIsTheSame(string scheme, bool errorFeedback, int storeEvery)
    {
        ExperimentSpec spec = Mlp(scheme, rounds: 8, errorFeedback);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        using var gate = new RoundGate();
        await using InProcessTestCluster cluster = await StartAsync(gate);
        // A key whose run grain lands on a secondary silo (placement is a fixed hash of the key over the sorted silos).
        InProcessSiloHandle[] sorted = [.. cluster.Silos.OrderBy(s => s.SiloAddress.ToString(), StringComparer.Ordinal)];
        string key = Enumerable.Range(0, 100).Select(i => $"kill-server-{scheme}-{i}")
            .First(k => sorted[SpreadClientsDirector.SiloIndex(k, sorted.Length)] != cluster.Silos[0]);
        InProcessSiloHandle victim = sorted[SpreadClientsDirector.SiloIndex(key, sorted.Length)];

        using RemoteRun run = await RemoteRun.StartAsync(cluster.Client, key, spec, storeEvery, TimeSpan.FromMilliseconds(200));
        var rows = new List<RoundMetrics>();
        await StepAsync(run, rows, 3);
        Assert.Equal(victim.SiloAddress.ToString(), run.Silo);
        rows.Add(await StepKillingAsync(cluster, gate, victim, run, round: 3));
        await StepAsync(run, rows);

        AssertAsInOneProcess(inProcess, inProcessState, rows, run);
        Assert.NotEqual(victim.SiloAddress.ToString(), run.Silo);
        Assert.True(run.Retries > 0, "the call in flight when the server's silo died must have been made again");
        Assert.True(run.Replayed > 0, "the new run grain must have run the lost rounds again");
    }

    [MnistFact]
    public async Task ACheckpointWrittenInOneProcess_ResumesOnTheCluster_AndTheRunEndsTheSame()
    {
        // What `verified run --resume DIR --cluster …` does with a checkpoint an interrupted run in one process wrote.
        ExperimentSpec spec = Mlp("tnq", rounds: 6, errorFeedback: true);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        byte[] afterThree;
        using (var local = new ExperimentRun(spec, s_data.Value))
        {
            for (int r = 0; r < 3; r++)
            {
                local.Step();
            }
            afterThree = RunsCompared.Checkpoint(local);
        }
        using var gate = new RoundGate();
        await using InProcessTestCluster cluster = await StartAsync(gate);

        using RemoteRun run = await RemoteRun.StartAsync(cluster.Client, "resumed", spec, storeEvery: 2);
        run.RestoreCheckpoint(new MemoryStream(afterThree));
        Assert.Equal(3, run.Round);
        var rows = new List<RoundMetrics>();
        await StepAsync(run, rows);

        AssertAsInOneProcess(inProcess.Skip(3), inProcessState, rows, run);
    }

    [MnistFact]
    public async Task AFreshActivationAskedForTheRoundItsCheckpointHolds_AnswersWithTheStoredRow()
    {
        // The silo died after the grain stored round 2's checkpoint but before its answer reached the driver: the
        // driver asks for round 2 again, and the new activation has the row without running anything.
        ExperimentSpec spec = Mlp("tnq", rounds: 5, errorFeedback: true);
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);
        using var gate = new RoundGate();
        await using InProcessTestCluster cluster = await StartAsync(gate);

        using RemoteRun run = await RemoteRun.StartAsync(cluster.Client, "answer-again", spec, storeEvery: 1);
        var rows = new List<RoundMetrics> { await run.StepAsync(), await run.StepAsync() };
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        RunProgress again = await cluster.Client.GetGrain<IRunGrain>("answer-again").StepAsync(ClientAssignment.Of("answer-again", spec), 1, 2);
        Assert.Equal(TimeSpan.Zero, again.Timings.ForwardBackward); // a fresh activation, which computed nothing
        Assert.Equal(WithoutClock(rows[1]), WithoutClock(again.Metrics!));
        await StepAsync(run, rows);

        AssertAsInOneProcess(inProcess, inProcessState, rows, run);
    }

    /// <summary>
    /// Steps <paramref name="run"/> into round <paramref name="round"/> (0-based, as the clients count), holds the
    /// client calls of that round that reach <paramref name="victim"/>, kills that silo while the round waits for them,
    /// and returns the round's row once the run has recovered.
    /// </summary>
    private static async Task<RoundMetrics> StepKillingAsync(InProcessTestCluster cluster, RoundGate gate, InProcessSiloHandle victim, RemoteRun run, int round)
    {
        gate.Arm(victim.SiloAddress.ToString(), round);
        Task<RoundMetrics> step = run.StepAsync();
        await gate.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
        await cluster.KillSiloAsync(victim);
        return await step;
    }

    /// <summary>Steps <paramref name="run"/> <paramref name="rounds"/> rounds (null: to its end), adding each row to <paramref name="rows"/>.</summary>
    private static async Task StepAsync(RemoteRun run, List<RoundMetrics> rows, int? rounds = null)
    {
        for (int r = 0; (rounds is null || r < rounds) && !run.IsComplete; r++)
        {
            rows.Add(await run.StepAsync());
        }
    }

    /// <summary>The rows (clock aside) and final checkpoint of <paramref name="run"/> are those of the run in one process.</summary>
    private static void AssertAsInOneProcess(IEnumerable<RoundMetrics> expectedRows, byte[] expectedState, List<RoundMetrics> rows, RemoteRun run)
    {
        Assert.Equal(expectedRows.Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(expectedState, Checkpoint(run));
    }

    private static byte[] Checkpoint(RemoteRun run)
    {
        using var stream = new MemoryStream();
        run.SaveCheckpoint(stream);
        return stream.ToArray();
    }
}

/// <summary>
/// Holds the client calls of a chosen round on a chosen silo, so a test can kill the silo in the middle of the round.
/// Every such call is held, not only the first: a client of that silo computing when the in-process silo is killed
/// would have its tensors disposed under it (in a real process the kill ends the computation with the process).
/// </summary>
public sealed class RoundGate : IDisposable
{
    private readonly CancellationTokenSource _release = new();
    private string? _silo;
    private int _round = -1;

    /// <summary>Completes when the first held call arrives.</summary>
    public TaskCompletionSource Reached { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Holds every <c>ComputeAsync</c> of <paramref name="round"/> that reaches <paramref name="silo"/>.</summary>
    public void Arm(string silo, int round)
    {
        Reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _silo = silo;
        _round = round;
    }

    /// <summary>Whether a call of <paramref name="round"/> on <paramref name="silo"/> is to be held.</summary>
    public bool Holds(string silo, int round) => round == _round && silo == _silo;

    /// <summary>Held calls never answer; they end with the test.</summary>
    public CancellationToken Released => _release.Token;

    public void Dispose()
    {
        _release.Cancel();
        _release.Dispose();
    }
}

/// <summary>The silo side of <see cref="RoundGate"/>.</summary>
internal sealed class RoundGateFilter(RoundGate gate, ILocalSiloDetails silo) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(IClientGrain.ComputeAsync) && context.Request.GetArgument(1) is int round
            && gate.Holds(silo.SiloAddress.ToString(), round))
        {
            gate.Reached.TrySetResult();
            await Task.Delay(Timeout.Infinite, gate.Released).ContinueWith(_ => { }, TaskScheduler.Default);
            throw new OperationCanceledException("The test ended while this call was held.");
        }
        await context.Invoke();
    }
}
