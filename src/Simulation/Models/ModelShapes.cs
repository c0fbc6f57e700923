namespace Verified.Simulation.Models;

/// <summary>
/// Sizes of each <see cref="ModelKind"/> computed from its layer shapes alone, without building the network: d (the
/// parameter count), the floats its forward pass produces per example, and its forward floating-point operations per
/// example. They let a service check a spec (randk's k ≤ d, a memory cap) before any libtorch memory is allocated.
/// Pure functions of (kind, rows, columns, classes); a test checks <see cref="ParameterCount"/> against the real models.
/// </summary>
/// <remarks>
/// The shapes are those documented on <see cref="Mlp"/>, <see cref="MnistCnn"/> and <see cref="AlexNetMnist"/>: a
/// k×k convolution from c to c' channels has c'·c·k² + c' parameters, a fully connected layer from n to m has n·m + m.
/// Activations count every tensor the forward pass creates per example (convolution, ReLU, pool, dropout's mask and
/// output, linear outputs): what autograd keeps for the backward pass, the dominant memory of a large minibatch.
/// </remarks>
public static class ModelShapes
{
    /// <summary>d, the trainable scalars of <paramref name="kind"/> for <paramref name="rows"/>×<paramref name="columns"/>
    /// single-channel images and <paramref name="classes"/> classes (as <see cref="ModelFactory.ParameterCount"/> on the
    /// built model).</summary>
    public static long ParameterCount(ModelKind kind, int rows, int columns, int classes)
    {
        Check(rows, columns, classes);
        long pixels = (long)rows * columns;
        return kind switch
        {
            ModelKind.Mlp => Linear(pixels, 128) + Linear(128, classes),
            ModelKind.Cnn => Conv(1, 32) + Conv(32, 64) + Linear(64L * ((rows - 4) / 2) * ((columns - 4) / 2), 128) + Linear(128, classes),
            ModelKind.AlexNet => Conv(1, 64) + Conv(64, 192) + Conv(192, 384) + Conv(384, 256) + Conv(256, 256)
                + Linear(256L * (rows / 8) * (columns / 8), 1024) + Linear(1024, 1024) + Linear(1024, classes),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown model."),
        };

        // 3×3 kernels throughout.
        static long Conv(long input, long output) => (output * input * 9) + output;
        static long Linear(long input, long output) => (input * output) + output;
    }

    /// <summary>Floats the training forward pass creates per example (every layer's output, dropout's masks).</summary>
    public static long ActivationsPerExample(ModelKind kind, int rows, int columns, int classes)
    {
        Check(rows, columns, classes);
        long r = rows, c = columns;
        switch (kind)
        {
            case ModelKind.Mlp:
                return (2 * 128) + classes; // fc, ReLU, fc
            case ModelKind.Cnn:
                {
                    long conv1 = 32 * (r - 2) * (c - 2);
                    long conv2 = 64 * (r - 4) * (c - 4);
                    long pooled = 64 * ((r - 4) / 2) * ((c - 4) / 2);
                    // conv+ReLU twice; pool, dropout mask and output; fc1, ReLU, dropout mask and output; fc2
                    return (2 * conv1) + (2 * conv2) + (3 * pooled) + (4 * 128) + classes;
                }
            case ModelKind.AlexNet:
                {
                    long full = r * c, half = (r / 2) * (c / 2), quarter = (r / 4) * (c / 4), eighth = (r / 8) * (c / 8);
                    long features = (64 * ((2 * full) + half)) // conv1, ReLU, pool
                        + (192 * ((2 * half) + quarter))         // conv2, ReLU, pool
                        + (384 * 2 * quarter)                    // conv3, ReLU
                        + (256 * 2 * quarter)                    // conv4, ReLU
                        + (256 * ((2 * quarter) + eighth));      // conv5, ReLU, pool
                    long classifier = (2 * 256 * eighth)         // dropout mask and output
                        + (2 * 1024) + (2 * 1024)                // fc1, ReLU, dropout mask and output
                        + (2 * 1024) + classes;                  // fc2, ReLU, fc3
                    return features + classifier;
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown model.");
        }
    }

    /// <summary>Floating-point operations (2 per multiply-add) of one forward pass per example; a training step (forward
    /// and backward) is about three times this.</summary>
    public static double ForwardFlopsPerExample(ModelKind kind, int rows, int columns, int classes)
    {
        Check(rows, columns, classes);
        double r = rows, c = columns;
        double macs = kind switch
        {
            ModelKind.Mlp => (r * c * 128) + (128.0 * classes),
            ModelKind.Cnn => (32 * 9 * (r - 2) * (c - 2)) + (64 * 32 * 9 * (r - 4) * (c - 4))
                + (64.0 * ((rows - 4) / 2) * ((columns - 4) / 2) * 128) + (128.0 * classes),
            ModelKind.AlexNet => (64 * 9 * r * c) + (192 * 64 * 9.0 * (rows / 2) * (columns / 2))
                + (((384 * 192) + (256 * 384) + (256 * 256)) * 9.0 * (rows / 4) * (columns / 4))
                + (256.0 * (rows / 8) * (columns / 8) * 1024) + (1024.0 * 1024) + (1024.0 * classes),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown model."),
        };
        return 2 * macs;
    }

    private static void Check(int rows, int columns, int classes)
    {
        // The smallest images every model accepts (AlexNet's three pools need 8).
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
    }
}
