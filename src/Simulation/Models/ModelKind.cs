using static TorchSharp.torch;

namespace Verified.Simulation.Models;

/// <summary>The networks a simulation can train.</summary>
public enum ModelKind
{
    /// <summary>PyTorch's reference MNIST CNN (≈ 1.2 M parameters): the default on a 2-core CPU. See <see cref="MnistCnn"/>.</summary>
    Cnn,

    /// <summary>The papers' AlexNet-style network, adapted to 28×28 (≈ 5.7 M parameters). See <see cref="AlexNetMnist"/>.</summary>
    AlexNet,

    /// <summary>A one-hidden-layer perceptron (≈ 0.1 M parameters) for fast tests. See <see cref="Mlp"/>.</summary>
    Mlp,
}

/// <summary>Builds a <see cref="ModelKind"/> for single-channel images of a given size.</summary>
public static class ModelFactory
{
    /// <summary>
    /// Creates the network, initialised from libtorch's global generator (seed it with
    /// <c>torch.random.manual_seed</c> first for a reproducible initialisation), on <paramref name="device"/>.
    /// Dropout draws from the model's own generator (<see cref="ClassifierModel.ReseedDropout"/>).
    /// </summary>
    public static ClassifierModel Create(ModelKind kind, int rows, int columns, int classes, Device device) => kind switch
    {
        ModelKind.Cnn => new MnistCnn(rows, columns, classes, device),
        ModelKind.AlexNet => new AlexNetMnist(rows, columns, classes, device),
        ModelKind.Mlp => new Mlp(rows, columns, classes, device),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown model."),
    };

    /// <summary>
    /// Seeds libtorch's global generator with <paramref name="seed"/> and creates the network from it, as one step: no
    /// other model of this process draws from the generator in between (other threads wait), so the initial θ depends
    /// on the seed alone. What every run's global model is built with.
    /// </summary>
    public static ClassifierModel CreateSeeded(ModelKind kind, int rows, int columns, int classes, long seed, Device device)
    {
        lock (GeneratorLock)
        {
            random.manual_seed(seed);
            return Create(kind, rows, columns, classes, device);
        }
    }

    /// <summary>
    /// Creates a network whose initial values do not matter (a replica that is given θ before every use), without
    /// disturbing a seeded initialisation on another thread.
    /// </summary>
    public static ClassifierModel CreateUnseeded(ModelKind kind, int rows, int columns, int classes, Device device)
    {
        lock (GeneratorLock)
        {
            return Create(kind, rows, columns, classes, device);
        }
    }

    /// <summary>libtorch's global generator belongs to the whole process; this serialises the initialisations that draw from it.</summary>
    private static readonly Lock GeneratorLock = new();

    /// <summary>Parses <c>cnn</c>, <c>alexnet</c> or <c>mlp</c> (case-insensitive), as on the command line.</summary>
    /// <exception cref="FormatException">The text names no model.</exception>
    public static ModelKind Parse(string text) =>
        Enum.TryParse(text, ignoreCase: true, out ModelKind kind) && Enum.IsDefined(kind)
            ? kind
            : throw new FormatException($"'{text}' is not a model: use cnn, alexnet or mlp.");

    /// <summary>Total number of trainable scalars d.</summary>
    public static long ParameterCount(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.parameters().Sum(p => p.numel());
    }
}
