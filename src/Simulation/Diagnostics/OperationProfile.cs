using System.Diagnostics;
using static TorchSharp.torch;

namespace Verified.Simulation.Diagnostics;

/// <summary>One row of an <see cref="OperationProfile"/>: the median time of one call of an operation.</summary>
/// <param name="Operation">What was timed, in the words of docs/simulation.md's per-op table (e.g. <c>conv2 32→64</c>).</param>
/// <param name="Phase"><c>forward</c>, <c>backward</c> or <c>—</c> for work outside autograd.</param>
/// <param name="MedianMicroseconds">The median wall-clock time of one call, in µs.</param>
public sealed record OperationTiming(string Operation, string Phase, double MedianMicroseconds);

/// <summary>
/// Times each operation of one client step of the default CNN (<see cref="Models.MnistCnn"/>, batch 32 on 28×28
/// images) on its own, in TorchSharp, so that the same table from <c>bench/pytorch/op_profile.py</c> shows where
/// Verified's loop loses to PyTorch's (issue 15, docs/simulation.md "Where the loop's time goes").
/// </summary>
/// <remarks>
/// <para>Each operation runs with the shapes of the CNN's step: a forward call is timed, then the backward of its
/// output with a gradient of ones (<c>y.backward(ones)</c>), which is what autograd runs for that node inside the
/// whole step. Leaf inputs need a gradient only where the network's do (the first convolution's input does not), so
/// the backward of <c>conv1</c> computes weight gradients only, as in training. The rows outside autograd are the
/// loop's own work around it: building a batch from the data set's tensor, flattening the gradients into one
/// <c>float[]</c>, and a dispose scope.</para>
/// <para>Inputs come from a generator seeded with the run's seed; timings are medians over the iterations
/// after a warm-up, each call timed alone, so one slow call (a page fault, a timer interrupt) does not move them.</para>
/// </remarks>
public static class OperationProfile
{
    private const int Batch = 32;

    /// <summary>Runs the profile with <paramref name="iterations"/> timed calls per row, after as many warm-up calls.</summary>
    /// <param name="iterations">Timed calls per row. Range: ≥ 1.</param>
    /// <param name="seed">Seed of the inputs.</param>
    public static IReadOnlyList<OperationTiming> Run(int iterations, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var rows = new List<OperationTiming>();
        using var generator = new Generator((ulong)seed);
        using var scope = NewDisposeScope();

        Tensor images = rand([60_000, 1, 28, 28], generator: generator).mul_(255).floor_().to(ScalarType.Byte);
        Tensor indices = randint(0, 60_000, [Batch], dtype: ScalarType.Int64, generator: generator);
        rows.Add(Time("batch (gather 32 images, to float, normalise)", "—", iterations, () =>
        {
            using var inner = NewDisposeScope();
            // MnistData's normalisation: (x/255 − 0.1307)/0.3081.
            _ = images.index_select(0, indices).to(ScalarType.Float32).div_(255).sub_(0.1307).div_(0.3081);
        }));

        Tensor input = randn([Batch, 1, 28, 28], generator: generator);
        Tensor conv1Weight = Parameter([32, 1, 3, 3], generator);
        Tensor conv1Bias = Parameter([32], generator);
        Tensor conv2Weight = Parameter([64, 32, 3, 3], generator);
        Tensor conv2Bias = Parameter([64], generator);
        Tensor fc1Weight = Parameter([128, 9216], generator);
        Tensor fc1Bias = Parameter([128], generator);
        Tensor fc2Weight = Parameter([10, 128], generator);
        Tensor fc2Bias = Parameter([10], generator);
        Tensor labels = randint(0, 10, [Batch], dtype: ScalarType.Int64, generator: generator);

        AddPair(rows, "conv1 1→32, 3×3", iterations, [Batch, 1, 28, 28], inputNeedsGradient: false, generator,
            x => nn.functional.conv2d(x, conv1Weight, conv1Bias));
        AddPair(rows, "relu after conv1", iterations, [Batch, 32, 26, 26], inputNeedsGradient: true, generator,
            x => nn.functional.relu(x));
        AddPair(rows, "conv2 32→64, 3×3", iterations, [Batch, 32, 26, 26], inputNeedsGradient: true, generator,
            x => nn.functional.conv2d(x, conv2Weight, conv2Bias));
        AddPair(rows, "relu after conv2", iterations, [Batch, 64, 24, 24], inputNeedsGradient: true, generator,
            x => nn.functional.relu(x));
        AddPair(rows, "max-pool 2×2", iterations, [Batch, 64, 24, 24], inputNeedsGradient: true, generator,
            x => nn.functional.max_pool2d(x, [2, 2]));
        // The channels-last kernel, tried and not adopted: faster alone, no faster in the loop (docs/simulation.md).
        AddPair(rows, "max-pool 2×2 on a channels-last copy", iterations, [Batch, 64, 24, 24], inputNeedsGradient: true, generator,
            x => nn.functional.max_pool2d(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), [2, 2]).contiguous());
        AddPair(rows, "dropout .25 (Verified: seeded mask, 4 ops)", iterations, [Batch, 64, 12, 12], inputNeedsGradient: true, generator,
            x => SeededDropout(x, 0.25, generator));
        AddPair(rows, "dropout .25 (libtorch's fused dropout)", iterations, [Batch, 64, 12, 12], inputNeedsGradient: true, generator,
            x => nn.functional.dropout(x, 0.25, training: true));
        AddPair(rows, "fc1 9216→128", iterations, [Batch, 9216], inputNeedsGradient: true, generator,
            x => nn.functional.linear(x, fc1Weight, fc1Bias));
        AddPair(rows, "relu after fc1", iterations, [Batch, 128], inputNeedsGradient: true, generator,
            x => nn.functional.relu(x));
        AddPair(rows, "dropout .5 (Verified: seeded mask, 4 ops)", iterations, [Batch, 128], inputNeedsGradient: true, generator,
            x => SeededDropout(x, 0.5, generator));
        AddPair(rows, "fc2 128→10", iterations, [Batch, 128], inputNeedsGradient: true, generator,
            x => nn.functional.linear(x, fc2Weight, fc2Bias));
        AddPair(rows, "cross-entropy", iterations, [Batch, 10], inputNeedsGradient: true, generator,
            x => nn.functional.cross_entropy(x, labels));

        Tensor[] parameters = [conv1Weight, conv1Bias, conv2Weight, conv2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias];
        rows.Add(Time("whole client step (zero_grad, forward, backward, loss.item)", "—", iterations, () =>
        {
            using var inner = NewDisposeScope();
            foreach (Tensor p in parameters)
            {
                p.grad?.zero_();
            }
            var x = nn.functional.relu(nn.functional.conv2d(input, conv1Weight, conv1Bias));
            x = nn.functional.relu(nn.functional.conv2d(x, conv2Weight, conv2Bias));
            x = SeededDropout(nn.functional.max_pool2d(x, [2, 2]), 0.25, generator).flatten(1);
            x = SeededDropout(nn.functional.relu(nn.functional.linear(x, fc1Weight, fc1Bias)), 0.5, generator);
            Tensor loss = nn.functional.cross_entropy(nn.functional.linear(x, fc2Weight, fc2Bias), labels);
            loss.backward();
            _ = loss.item<float>();
        }));

        // The loop's FlatParameterBuffer: a pinned float[] with one tensor view per parameter, filled by copy_.
        float[] flat = GC.AllocateArray<float>(parameters.Sum(p => (int)p.numel()), pinned: true);
        Tensor flatTensor = from_array(flat);
        var views = new Tensor[parameters.Length];
        long offset = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            views[i] = flatTensor.narrow(0, offset, parameters[i].numel()).view(parameters[i].shape);
            offset += parameters[i].numel();
        }
        rows.Add(Time("flatten the 8 gradients into one float[]", "—", iterations, () =>
        {
            using var inner = NewDisposeScope();
            for (int i = 0; i < parameters.Length; i++)
            {
                views[i].copy_(parameters[i].grad!);
            }
        }));
        rows.Add(Time("an empty dispose scope", "—", iterations, () =>
        {
            using var inner = NewDisposeScope();
        }));
        rows.Add(Time("a managed→native call (Tensor.dim)", "—", iterations, () => _ = input.dim()));
        return rows;
    }

    private static Tensor Parameter(long[] shape, Generator generator) =>
        randn(shape, generator: generator).mul_(0.05).requires_grad_(true);

    /// <summary>The mask arithmetic of <see cref="Models.SeededDropout"/>: Bernoulli keep mask from a seeded
    /// generator, divided by the keep probability, multiplied in.</summary>
    private static Tensor SeededDropout(Tensor input, double p, Generator generator)
    {
        Tensor keep = empty_like(input).bernoulli_(1 - p, generator).div_(1 - p);
        return input.mul(keep);
    }

    private static void AddPair(
        List<OperationTiming> rows, string name, int iterations, long[] inputShape, bool inputNeedsGradient, Generator generator, Func<Tensor, Tensor> operation)
    {
        using var scope = NewDisposeScope();
        Tensor input = randn(inputShape, generator: generator).requires_grad_(inputNeedsGradient);
        rows.Add(Time(name, "forward", iterations, () =>
        {
            using var inner = NewDisposeScope();
            _ = operation(input);
        }));
        Tensor output;
        using (no_grad())
        {
            output = operation(input);
        }
        Tensor outputGradient = ones_like(output);
        var times = new double[iterations];
        for (int i = -iterations; i < iterations; i++)
        {
            using var inner = NewDisposeScope();
            Tensor y = operation(input);
            long start = Stopwatch.GetTimestamp();
            y.backward([outputGradient]);
            long end = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                times[i] = Stopwatch.GetElapsedTime(start, end).TotalMicroseconds;
            }
        }
        rows.Add(new OperationTiming(name, "backward", Median(times)));
    }

    private static OperationTiming Time(string name, string phase, int iterations, Action call)
    {
        for (int i = 0; i < iterations; i++)
        {
            call();
        }
        var times = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        return new OperationTiming(name, phase, Median(times));
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        int middle = values.Length / 2;
        return values.Length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
}
