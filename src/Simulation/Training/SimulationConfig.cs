using System.Globalization;
using Verified.Simulation.Data;
using Verified.Simulation.Models;

namespace Verified.Simulation.Training;

/// <summary>
/// Everything that determines a simulation run. Immutable; validated in every <c>init</c>, so
/// <c>config with { Clients = 0 }</c> throws.
/// </summary>
/// <remarks>
/// Reproducibility: for a given config, data and channel, a run gives the same metrics on the same machine, whatever
/// <see cref="Workers"/> is. The seed drives the model's initialisation (<c>torch.random.manual_seed</c>; libtorch's
/// generator is global to the process, so trainers must not be constructed concurrently), the client partition, each
/// client's sampler and each client step's dropout mask (see <see cref="Seeds"/>), and the codec's rounding keys
/// (<see cref="UploadKey"/>).
/// </remarks>
public sealed record SimulationConfig
{
    /// <summary>Number of clients N. Range: ≥ 1. Default 8.</summary>
    public int Clients { get; init => field = AtLeast(nameof(Clients), value, 1); } = 8;

    /// <summary>Minibatch size per client. Range: ≥ 1. Default 32.</summary>
    public int BatchSize { get; init => field = AtLeast(nameof(BatchSize), value, 1); } = 32;

    /// <summary>The network. Default <see cref="ModelKind.Cnn"/>.</summary>
    public ModelKind Model
    {
        get;
        init => field = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Model), value, "Unknown model.");
    } = ModelKind.Cnn;

    /// <summary>How the training set is divided among clients. Default <see cref="SplitSpec.Iid"/>.</summary>
    public SplitSpec Split { get; init => field = value ?? throw new ArgumentNullException(nameof(Split)); } = SplitSpec.Iid;

    /// <summary>The server's momentum SGD. Default lr 0.01, momentum 0.9, weight decay 5·10⁻⁴.</summary>
    public SgdOptions Sgd { get; init => field = value ?? throw new ArgumentNullException(nameof(Sgd)); } = new();

    /// <summary>The run seed. Default 1.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>
    /// Synthetic noise each client adds to its gradient before the channel (issue 6: heavy-tailed gradients on MNIST).
    /// Default <see cref="GradientNoise.None"/>.
    /// </summary>
    public GradientNoise Noise { get; init => field = value ?? throw new ArgumentNullException(nameof(Noise)); } = GradientNoise.None;

    /// <summary>
    /// Threads that compute client gradients in parallel, each on its own replica of the model. Range: ≥ 1.
    /// Default 1 at this level; <see cref="Experiments.ExperimentSpec.DefaultWorkers"/> (one per core) is what
    /// <c>verified run</c> and the service use (docs/simulation.md). The results do not depend on it: every client's gradient depends only on
    /// θ, its minibatch and its dropout seed, and the server adds the uploads in client order.
    /// </summary>
    public int Workers { get; init => field = AtLeast(nameof(Workers), value, 1); } = 1;

    /// <summary>
    /// libtorch intra-op threads per operation (<c>torch.set_num_threads</c>, global to the process). Range: ≥ 1.
    /// Default 1: with batch 32 the operations are too small to split well, and on the 2-core machines here two
    /// intra-op threads made a client step 2–5× slower than one (libgomp's spin-waiting, it seems). See
    /// docs/simulation.md.
    /// </summary>
    public int Threads { get; init => field = AtLeast(nameof(Threads), value, 1); } = 1;

    /// <summary>
    /// Batch size of test-set evaluation. Range: ≥ 1. Default 100: larger batches need native buffers above 64 MiB,
    /// which glibc maps afresh for every operation on any thread but the main one (see <see cref="LibtorchRuntime"/>);
    /// evaluating the default CNN from a test thread took 42 s at 1000 and 5 s at 100.
    /// </summary>
    public int EvaluationBatchSize { get; init => field = AtLeast(nameof(EvaluationBatchSize), value, 1); } = 100;

    /// <inheritdoc />
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Clients} clients, batch {BatchSize}, model {Model}, split {Split}, {Sgd}, seed {Seed}, noise {Noise}, {Workers} workers × {Threads} threads");

    private static int AtLeast(string name, int value, int minimum) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, $"Must be at least {minimum}.");
}
