using Verified.Simulation.Data;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;
using static TorchSharp.torch;

using static IntegrationTests.RunsCompared;

namespace IntegrationTests;

/// <summary>
/// A run split at the network: the server (<see cref="FleetTrainer"/> inside <see cref="ExperimentRun"/>) holds θ and
/// sends it as float32; each client (<see cref="FleetClient"/>) rebuilds its share and sampler from the seed, computes
/// and encodes on its own; payloads come back as fresh arrays. The metrics and checkpoints must be those of a run in
/// one process, bit for bit, whatever order the clients run in.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class FleetTests
{
    private static readonly Lazy<ImageDataSet> s_data = new(() => MnistData.Load(MnistDataTests.DataDirectory!));

    private static ExperimentSpec Mlp(string scheme, int bits, int rounds) =>
        new() { Scheme = scheme, Bits = bits, Model = "mlp", Rounds = rounds, EvaluateEvery = 3, AuditEvery = 2 };

    public static TheoryData<string, int, bool> Schemes { get; } = new()
    {
        { "tnq", 3, true }, // per tensor with error feedback: the default
        { "tnq", 3, false },
        { "qsgd", 3, false },
        { "fp", 32, false },
    };

    [MnistTheory]
    [MemberData(nameof(Schemes))]
    public async Task AFleetRun_GivesTheMetricsAndCheckpointOfARunInOneProcess(string scheme, int bits, bool errorFeedback)
    {
        ExperimentSpec spec = Mlp(scheme, bits, rounds: 7) with { ErrorFeedback = errorFeedback };
        (List<RoundMetrics> inProcess, byte[] inProcessState) = RunInOneProcess(spec, s_data.Value);

        using var fleet = new InProcessFleet(spec, s_data.Value);
        using var run = new ExperimentRun(spec, s_data.Value, fleet);
        var rows = new List<RoundMetrics>();
        while (!run.IsComplete)
        {
            rows.Add(await run.StepAsync());
        }

        Assert.Equal(inProcess.Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(inProcessState, await CheckpointAsync(run));
        Assert.True(rows.Any(r => !double.IsNaN(r.Uploads.MeasuredMse)), "no round was audited");
    }

    [MnistFact]
    public async Task ACheckpoint_MovesBetweenOneProcessAndAFleet_AndTheRunContinuesBitIdentical()
    {
        ExperimentSpec spec = Mlp("tnq", 3, rounds: 8) with { ErrorFeedback = true };
        (List<RoundMetrics> uninterrupted, byte[] finalState) = RunInOneProcess(spec, s_data.Value);

        // Five rounds in one process, the rest on a fleet whose clients are new (their residuals come from the checkpoint).
        byte[] saved;
        using (var first = new ExperimentRun(spec, s_data.Value))
        {
            for (int i = 0; i < 5; i++)
            {
                _ = first.Step();
            }
            saved = Checkpoint(first);
        }
        using var fleet = new InProcessFleet(spec, s_data.Value);
        using var resumed = new ExperimentRun(spec, s_data.Value, fleet);
        await resumed.RestoreCheckpointAsync(new MemoryStream(saved));
        var rows = new List<RoundMetrics>();
        while (!resumed.IsComplete)
        {
            rows.Add(await resumed.StepAsync());
        }

        Assert.Equal(uninterrupted[5..].Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(finalState, await CheckpointAsync(resumed));
    }

    [MnistFact]
    public async Task AFailedRound_IsNotApplied_AndRunAgainGivesTheUninterruptedRun()
    {
        ExperimentSpec spec = Mlp("tnq", 3, rounds: 5) with { ErrorFeedback = true };
        (List<RoundMetrics> uninterrupted, byte[] finalState) = RunInOneProcess(spec, s_data.Value);
        using var fleet = new InProcessFleet(spec, s_data.Value);
        using var run = new ExperimentRun(spec, s_data.Value, fleet);
        var rows = new List<RoundMetrics> { await run.StepAsync() };
        float[] residualOfRoundOne = fleet.Clients[3].Residual.ToArray();

        // Client 3 is given a residual of another round (a client rebuilt wrongly): it refuses round 1, and the seven
        // others have already uploaded theirs.
        fleet.Clients[3].RestoreResidual(4, new float[run.Dimension]);
        var error = await Assert.ThrowsAsync<ResidualLostException>(() => run.StepAsync());
        Assert.Contains("Client 3 holds its error-feedback residual of round 4 but was asked for round 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, run.Round);

        // Repaired, the round runs again: the others repeat their upload of round 1 from the residual they had before it.
        fleet.Clients[3].RestoreResidual(1, residualOfRoundOne);
        while (!run.IsComplete)
        {
            rows.Add(await run.StepAsync());
        }

        Assert.Equal(uninterrupted.Select(WithoutClock), rows.Select(WithoutClock));
        Assert.Equal(finalState, await CheckpointAsync(run));
    }

    /// <summary>
    /// N clients in this process, each on its own thread, started in reverse client order; θ is copied for each (as a
    /// network would), payloads are the clients' own arrays.
    /// </summary>
    private sealed class InProcessFleet : IClientFleet, IDisposable
    {
        private readonly TensorImages _train;

        public InProcessFleet(ExperimentSpec spec, ImageDataSet data)
        {
            _train = new TensorImages(data.Train, PixelStatistics.Of(data.Train.Images), CPU);
            Clients = [.. Enumerable.Range(0, spec.Clients).Select(c => new FleetClient(spec, c, data, _train))];
        }

        public IReadOnlyList<FleetClient> Clients { get; }

        public async Task<IReadOnlyList<ClientUpload>> ComputeAsync(int round, ReadOnlyMemory<float> theta, bool includeVectors, CancellationToken cancellationToken)
        {
            var uploads = new Task<ClientUpload>[Clients.Count];
            for (int c = Clients.Count - 1; c >= 0; c--)
            {
                FleetClient client = Clients[c];
                float[] copy = theta.ToArray(); // each client its own copy, as over a network
                uploads[c] = Task.Run(() => client.Compute(round, copy, includeVectors), cancellationToken);
            }
            return await Task.WhenAll(uploads);
        }

        public Task<IReadOnlyList<float[]>> ResidualsAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<float[]>>([.. Clients.Select(c => c.Residual.ToArray())]);

        public Task RestoreResidualsAsync(int round, IReadOnlyList<float[]> residuals, CancellationToken cancellationToken)
        {
            for (int c = 0; c < Clients.Count; c++)
            {
                Clients[c].RestoreResidual(round, residuals[c]);
            }
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            foreach (FleetClient client in Clients)
            {
                client.Dispose();
            }
            _train.Dispose();
        }
    }
}
