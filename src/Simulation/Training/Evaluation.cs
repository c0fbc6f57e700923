using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>Test-set figures: accuracy and mean cross-entropy loss over <see cref="Count"/> examples.</summary>
/// <param name="Accuracy">Fraction classified correctly. Range: [0, 1].</param>
/// <param name="Loss">Mean cross-entropy (nats). Range: ≥ 0.</param>
/// <param name="Count">Number of examples evaluated.</param>
public readonly record struct Evaluation(double Accuracy, double Loss, int Count)
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on every example of <paramref name="data"/> in batches of
    /// <paramref name="batchSize"/>, in evaluation mode (no dropout) and without autograd; restores training mode.
    /// </summary>
    public static Evaluation Run(nn.Module<Tensor, Tensor> model, TensorImages data, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            long correct = 0;
            double lossSum = 0;
            for (long start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                (Tensor x, Tensor y) = data.Range(start, Math.Min(batchSize, data.Count - start));
                Tensor logits = model.forward(x);
                lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(y).sum().item<long>();
            }
            return new Evaluation((double)correct / data.Count, lossSum / data.Count, data.Count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
