using TorchSharp;
using static TorchSharp.torch;

namespace Verified.Simulation.Models;

/// <summary>
/// Base of the simulation's networks: an image classifier whose only randomness after initialisation (dropout)
/// comes from a generator of its own, reseeded per client step, so that a client's gradient depends only on
/// (θ, minibatch, seed) and not on which thread computed it or what ran before.
/// </summary>
public abstract class ClassifierModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the model; its dropout generator starts from a draw of libtorch's global generator.</summary>
    protected ClassifierModel(string name)
        : base(name)
    {
        using Tensor draw = randint(long.MaxValue, [1], dtype: ScalarType.Int64);
        DropoutGenerator = new Generator(unchecked((ulong)draw.item<long>()), CPU);
    }

    /// <summary>The generator every <see cref="SeededDropout"/> of this model draws from.</summary>
    protected Generator DropoutGenerator { get; }

    /// <summary>Restarts the dropout generator from <paramref name="seed"/>.</summary>
    public void ReseedDropout(long seed) => DropoutGenerator.manual_seed(seed);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropoutGenerator.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// Inverted dropout (as <c>nn.Dropout</c>: zero each element with probability p in training, scale the rest by
/// 1/(1 − p); identity in evaluation) drawing its mask from a given generator instead of libtorch's global one.
/// </summary>
public sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;
    private readonly Generator _generator;

    /// <summary>Creates the layer. Range: 0 ≤ p &lt; 1.</summary>
    public SeededDropout(double p, Generator generator)
        : base(nameof(SeededDropout))
    {
        if (p is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "The dropout probability must be in [0, 1).");
        }
        ArgumentNullException.ThrowIfNull(generator);
        _p = p;
        _generator = generator;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!training || _p == 0)
        {
            return input.alias();
        }
        using var scope = NewDisposeScope();
        // An explicit Scalar, disposed after use (see TensorImages.Batch).
        using Scalar keepProbability = (1 - _p).ToScalar();
        Tensor keep = empty_like(input).bernoulli_(1 - _p, _generator).div_(keepProbability);
        return scope.MoveToOuter(input.mul(keep));
    }
}
