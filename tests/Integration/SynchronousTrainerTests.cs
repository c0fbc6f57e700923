using TorchSharp;
using Verified.Simulation.Data;
using Verified.Simulation.Models;
using Verified.Simulation.Training;
using static TorchSharp.torch;

namespace IntegrationTests;

[Collection(LibtorchTests.Name)]
public sealed class SynchronousTrainerTests : IDisposable
{
    private readonly IdxTestFiles.DataDirectory _directory = new(gzip: true, train: 200, test: 50);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Rounds_AreDeterministicForASeed()
    {
        var config = new SimulationConfig { Clients = 3, BatchSize = 8, Model = ModelKind.Cnn, Seed = 11 };
        (RoundResult[] Rounds, float[] Weights, Evaluation Test) Run(SimulationConfig c)
        {
            using var trainer = new SynchronousTrainer(c, IdxDirectory.Load(_directory.Path), new FullPrecisionChannel(), CPU);
            RoundResult[] rounds = [.. Enumerable.Range(0, 4).Select(_ => trainer.Step())];
            using var weights = new FlatParameterBuffer(trainer.Model);
            weights.GatherValues();
            return (rounds, weights.Span.ToArray(), trainer.Evaluate());
        }

        var first = Run(config);
        var second = Run(config);
        var otherSeed = Run(config with { Seed = 12 });

        Assert.Equal(first.Rounds, second.Rounds);
        Assert.Equal(first.Weights, second.Weights);
        Assert.Equal(first.Test, second.Test);
        Assert.NotEqual(first.Weights, otherSeed.Weights);
    }

    [Fact]
    public void Rounds_DoNotDependOnTheNumberOfWorkers()
    {
        var config = new SimulationConfig { Clients = 5, BatchSize = 8, Model = ModelKind.Cnn, Seed = 4 };
        (RoundResult[] Rounds, float[] Weights) Run(int workers)
        {
            using var trainer = new SynchronousTrainer(config with { Workers = workers }, IdxDirectory.Load(_directory.Path), new FullPrecisionChannel(), CPU);
            RoundResult[] rounds = [.. Enumerable.Range(0, 3).Select(_ => trainer.Step())];
            using var weights = new FlatParameterBuffer(trainer.Model);
            weights.GatherValues();
            return (rounds, weights.Span.ToArray());
        }

        var one = Run(1);
        var two = Run(2);
        var three = Run(3);

        Assert.Equal(one.Rounds, two.Rounds);
        Assert.Equal(one.Weights, two.Weights);
        Assert.Equal(one.Rounds, three.Rounds);
        Assert.Equal(one.Weights, three.Weights);
    }

    [Fact]
    public void Step_SurfacesAChannelFailure_WithoutHanging()
    {
        var config = new SimulationConfig { Clients = 4, BatchSize = 4, Model = ModelKind.Mlp, Workers = 2 };
        using var trainer = new SynchronousTrainer(config, IdxDirectory.Load(_directory.Path), new FailingChannel(failAt: 1), CPU);

        var error = Assert.Throws<InvalidOperationException>(() => trainer.Step());
        Assert.Equal("client 1 failed", error.Message);
    }

    [Fact]
    public void Rounds_SendEveryClientOnce_WithItsKeyAndWeight_AndCountBytes()
    {
        var config = new SimulationConfig { Clients = 4, BatchSize = 5, Model = ModelKind.Mlp, Seed = 3 };
        var channel = new RecordingChannel();
        using var trainer = new SynchronousTrainer(config, IdxDirectory.Load(_directory.Path), channel, CPU);

        RoundResult r0 = trainer.Step();
        RoundResult r1 = trainer.Step();

        UploadKey[] expected = [.. from round in Enumerable.Range(0, 2) from client in Enumerable.Range(0, 4) select new UploadKey(3, round, client)];
        Assert.Equal(expected, channel.Keys);
        Assert.All(channel.Weights, w => Assert.Equal(0.25f, w));
        Assert.Equal(101_770, trainer.Dimension);
        Assert.Equal((0, 4L * 101_770 * 4), (r0.Round, r0.UploadBytes));
        Assert.Equal((1, 4L * 101_770 * 4), (r1.Round, r1.UploadBytes));
        Assert.True(double.IsFinite(r0.TrainingLoss) && r0.TrainingLoss > 0);
    }

    [Fact]
    public void Step_AppliesMomentumSgdToTheAverageOfTheClientsGradients()
    {
        var config = new SimulationConfig { Clients = 3, BatchSize = 4, Model = ModelKind.Mlp, Sgd = new SgdOptions { LearningRate = 0.1 } };
        var channel = new RecordingChannel();
        using var trainer = new SynchronousTrainer(config, IdxDirectory.Load(_directory.Path), channel, CPU);
        using var weights = new FlatParameterBuffer(trainer.Model);
        weights.GatherValues();
        float[] before = weights.Span.ToArray();

        trainer.Step();

        weights.GatherValues();
        float[] after = weights.Span.ToArray();
        // First step: the momentum buffer is d = mean(g) + λθ, so θ₁ = θ₀ − η·d.
        for (int j = 0; j < before.Length; j++)
        {
            double mean = channel.Gradients.Average(g => (double)g[j]);
            double expected = before[j] - (0.1 * (mean + (5e-4 * before[j])));
            Assert.Equal(expected, after[j], 1e-6);
        }
        // Every client's gradient was taken at θ₀, not after another client's step: they differ only by their data.
        Assert.Equal(3, channel.Gradients.Count);
        Assert.NotEqual(channel.Gradients[0], channel.Gradients[1]);
    }

    [Fact]
    public void Rounds_DoNotLeakTensors()
    {
        // TorchSharp counts live tensors per thread, so the clients run on this thread (one worker); the code of a
        // client step is the same for every worker, and copying θ to the replicas is checked with two.
        var config = new SimulationConfig { Clients = 2, BatchSize = 4, Model = ModelKind.Cnn, Workers = 1 };
        using var trainer = new SynchronousTrainer(config, IdxDirectory.Load(_directory.Path), new FullPrecisionChannel(), CPU);
        trainer.Step();
        trainer.Evaluate();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        for (int i = 0; i < 5; i++)
        {
            trainer.Step();
        }
        trainer.Evaluate();

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Rounds_WithReplicas_DoNotLeakTensorsOnTheCallingThread()
    {
        var config = new SimulationConfig { Clients = 2, BatchSize = 4, Model = ModelKind.Mlp, Workers = 2 };
        using var trainer = new SynchronousTrainer(config, IdxDirectory.Load(_directory.Path), new FullPrecisionChannel(), CPU);
        trainer.Step();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        for (int i = 0; i < 5; i++)
        {
            trainer.Step();
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Config_ValidatesInInit()
    {
        var config = new SimulationConfig();
        Assert.Equal((8, 32, ModelKind.Cnn, 1, 1), (config.Clients, config.BatchSize, config.Model, config.Workers, config.Threads));
        Assert.Throws<ArgumentOutOfRangeException>(() => config with { Workers = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => config with { Clients = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => config with { BatchSize = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => config with { Threads = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => config with { Model = (ModelKind)7 });
    }

    [Fact]
    public void FullPrecisionChannel_AddsWeightedGradient_AtEveryLength()
    {
        var channel = new FullPrecisionChannel();
        for (int length = 0; length < 70; length++)
        {
            float[] gradient = [.. Enumerable.Range(0, length).Select(j => (j * 0.37f) - 3)];
            float[] sum = [.. Enumerable.Range(0, length).Select(j => j * 0.5f)];
            float[] expected = [.. sum.Select((s, j) => s + (0.125f * gradient[j]))];

            Assert.Equal(4L * length, channel.Transmit(gradient, default, sum, 0.125f));
            Assert.Equal(expected, sum);
        }
    }

    /// <summary>Throws on one client's upload.</summary>
    private sealed class FailingChannel(int failAt) : IGradientChannel
    {
        private readonly FullPrecisionChannel _inner = new();

        public string Name => "failing";

        public long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight) =>
            key.Client == failAt
                ? throw new InvalidOperationException($"client {key.Client} failed")
                : _inner.Transmit(gradient, key, sum, weight);
    }

    /// <summary>Full precision, remembering what passed through.</summary>
    private sealed class RecordingChannel : IGradientChannel
    {
        private readonly FullPrecisionChannel _inner = new();

        public List<UploadKey> Keys { get; } = [];

        public List<float> Weights { get; } = [];

        public List<float[]> Gradients { get; } = [];

        public string Name => "recording";

        public long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight)
        {
            Keys.Add(key);
            Weights.Add(weight);
            Gradients.Add(gradient.ToArray());
            return _inner.Transmit(gradient, key, sum, weight);
        }
    }
}
