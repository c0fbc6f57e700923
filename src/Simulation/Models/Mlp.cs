using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Verified.Simulation.Models;

/// <summary>A one-hidden-layer perceptron, for fast tests: flatten, fc H·W → 128, ReLU, fc 128 → classes (101,770 parameters on MNIST).</summary>
public sealed class Mlp : ClassifierModel
{
    private readonly Linear _hidden;
    private readonly Linear _output;

    /// <summary>Creates the network for <paramref name="rows"/>×<paramref name="columns"/> single-channel images.</summary>
    public Mlp(int rows, int columns, int classes, Device device)
        : base(nameof(Mlp))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        _hidden = nn.Linear((long)rows * columns, 128);
        _output = nn.Linear(128, classes);
        RegisterComponents();
        this.to(device);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = nn.functional.relu(_hidden.forward(input.flatten(1)));
        return scope.MoveToOuter(_output.forward(hidden));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hidden.Dispose();
            _output.Dispose();
        }
        base.Dispose(disposing);
    }
}
