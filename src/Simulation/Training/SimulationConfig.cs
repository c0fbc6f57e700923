using System.Globalization;
using Verified.Simulation.Data;
using Verified.Simulation.Models;

namespace Verified.Simulation.Training;

/// <summary>
/// Everything that determines a simulation run. Immutable; validated in every <c>init</c>, so
/// <c>config with { Clients = 0 }</c> throws.
/// </summary>
/// <remarks>
/// Reproducibility: for a given config (seed included), data and channel, a run on the same machine with the same
/// thread count gives the same metrics. The seed drives libtorch's generator (initialisation, dropout) through
/// <c>torch.random.manual_seed</c>, the client partition and each client's sampler (see <see cref="Seeds"/>), and the
/// codec's rounding keys (<see cref="UploadKey"/>). libtorch's generator is global to the process: runs in one
/// process must not overlap.
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

    /// <summary>libtorch intra-op threads (<c>torch.set_num_threads</c>). Range: ≥ 1. Default 2.</summary>
    public int Threads { get; init => field = AtLeast(nameof(Threads), value, 1); } = 2;

    /// <summary>Batch size of test-set evaluation. Range: ≥ 1. Default 1000.</summary>
    public int EvaluationBatchSize { get; init => field = AtLeast(nameof(EvaluationBatchSize), value, 1); } = 1000;

    /// <inheritdoc />
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Clients} clients, batch {BatchSize}, model {Model}, split {Split}, {Sgd}, seed {Seed}, {Threads} threads");

    private static int AtLeast(string name, int value, int minimum) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, $"Must be at least {minimum}.");
}
