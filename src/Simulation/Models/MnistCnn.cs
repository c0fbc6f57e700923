using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Verified.Simulation.Models;

/// <summary>
/// PyTorch's reference MNIST CNN (pytorch/examples <c>mnist/main.py</c>): the default model on a 2-core CPU.
/// </summary>
/// <remarks>
/// <code>
/// input 1×28×28
/// conv 3×3, 32, ReLU       → 32×26×26      320 parameters
/// conv 3×3, 64, ReLU       → 64×24×24   18,496
/// max-pool 2×2, dropout .25 → 64×12×12
/// fc 9216 → 128, ReLU, dropout .5      1,179,776
/// fc 128 → 10 (logits)                     1,290
///                                      1,199,882 in all
/// </code>
/// <para>The forward pass returns logits; the loss is cross-entropy on them (the same as the reference's log-softmax
/// followed by NLL). For other image sizes the first fully connected layer takes 64·⌊(H−4)/2⌋·⌊(W−4)/2⌋ inputs.</para>
/// </remarks>
public sealed class MnistCnn : ClassifierModel
{
    private readonly Conv2d _conv1;
    private readonly Conv2d _conv2;
    private readonly MaxPool2d _pool;
    private readonly SeededDropout _dropout1;
    private readonly Linear _fc1;
    private readonly SeededDropout _dropout2;
    private readonly Linear _fc2;

    /// <summary>Creates the network for <paramref name="rows"/>×<paramref name="columns"/> single-channel images.</summary>
    public MnistCnn(int rows, int columns, int classes, Device device)
        : base(nameof(MnistCnn))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 6);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 6);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        _conv1 = nn.Conv2d(1, 32, 3);
        _conv2 = nn.Conv2d(32, 64, 3);
        _pool = nn.MaxPool2d(2);
        _dropout1 = new SeededDropout(0.25, DropoutGenerator);
        _fc1 = nn.Linear(64L * ((rows - 4) / 2) * ((columns - 4) / 2), 128);
        _dropout2 = new SeededDropout(0.5, DropoutGenerator);
        _fc2 = nn.Linear(128, classes);
        RegisterComponents();
        this.to(device);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(_conv1.forward(input));
        x = nn.functional.relu(_conv2.forward(x));
        x = _dropout1.forward(_pool.forward(x)).flatten(1);
        x = _dropout2.forward(nn.functional.relu(_fc1.forward(x)));
        return scope.MoveToOuter(_fc2.forward(x));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _conv1.Dispose();
            _conv2.Dispose();
            _pool.Dispose();
            _dropout1.Dispose();
            _fc1.Dispose();
            _dropout2.Dispose();
            _fc2.Dispose();
        }
        base.Dispose(disposing);
    }
}
