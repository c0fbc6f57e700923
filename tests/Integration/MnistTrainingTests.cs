using Verified.Simulation.Data;
using Verified.Simulation.Models;
using Verified.Simulation.Training;
using static TorchSharp.torch;

namespace IntegrationTests;

/// <summary>Short full-precision runs on the real MNIST learn: test accuracy far above chance (0.1).</summary>
[Collection(LibtorchTests.Name)]
public sealed class MnistTrainingTests
{
    [MnistFact]
    public void Mlp_EightClients_FortyRounds_LearnsMnist()
    {
        Evaluation test = Train(new SimulationConfig { Model = ModelKind.Mlp }, rounds: 40);
        Assert.True(test.Accuracy > 0.75, $"accuracy {test.Accuracy}");
        Assert.Equal(10000, test.Count);
    }

    [MnistFact]
    public void Mlp_NonIidDirichletSplit_StillLearns()
    {
        Evaluation test = Train(new SimulationConfig { Model = ModelKind.Mlp, Split = SplitSpec.Dirichlet(0.5) }, rounds: 40);
        Assert.True(test.Accuracy > 0.5, $"accuracy {test.Accuracy}");
    }

    [MnistFact]
    public void DefaultCnn_FifteenRounds_IsFarAboveChance()
    {
        Evaluation test = Train(new SimulationConfig(), rounds: 15);
        Assert.True(test.Accuracy > 0.5, $"accuracy {test.Accuracy}");
    }

    private static Evaluation Train(SimulationConfig config, int rounds)
    {
        using var trainer = new SynchronousTrainer(config, MnistData.Load(MnistDataTests.DataDirectory!), new FullPrecisionChannel(), CPU);
        double firstLoss = trainer.Step().TrainingLoss;
        double lastLoss = firstLoss;
        for (int i = 1; i < rounds; i++)
        {
            lastLoss = trainer.Step().TrainingLoss;
        }
        Assert.True(lastLoss < firstLoss, $"training loss {firstLoss} → {lastLoss}");
        return trainer.Evaluate();
    }
}
