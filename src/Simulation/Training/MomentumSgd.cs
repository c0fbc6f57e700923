using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>The server's optimiser settings. Validated in the constructor and in every <c>init</c>.</summary>
public sealed record SgdOptions
{
    /// <summary>Learning rate η. Range: η &gt; 0, finite. Default 0.01.</summary>
    public double LearningRate { get; init => field = CheckPositive(nameof(LearningRate), value); } = 0.01;

    /// <summary>Momentum μ. Range: 0 ≤ μ &lt; 1. Default 0.9.</summary>
    public double Momentum
    {
        get;
        init => field = value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(nameof(Momentum), value, "Momentum must be in [0, 1).");
    } = 0.9;

    /// <summary>L2 weight decay λ. Range: λ ≥ 0, finite. Default 5·10⁻⁴.</summary>
    public double WeightDecay
    {
        get;
        init => field = value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(WeightDecay), value, "Weight decay must be a finite number ≥ 0.");
    } = 5e-4;

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"lr {LearningRate}, momentum {Momentum}, weight decay {WeightDecay}");

    private static double CheckPositive(string name, double value) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, "Must be a finite number > 0.");
}

/// <summary>
/// Momentum SGD on a model's parameters, driven by a flat gradient: PyTorch's <c>torch.optim.SGD</c> with dampening 0
/// and no Nesterov term.
/// </summary>
/// <remarks>
/// <para>For each parameter θ with gradient g (from the flat buffer), weight decay λ, momentum μ and learning rate η:</para>
/// <code>
/// d ← g + λ·θ
/// b ← μ·b + d        (b starts at 0, so the first step gives b = d, as in PyTorch)
/// θ ← θ − η·b
/// </code>
/// <para>The momentum buffers are state: allocated once, they live as long as this object.</para>
/// </remarks>
public sealed class MomentumSgd : IDisposable
{
    private readonly FlatParameterBuffer _layout;
    private readonly Tensor[] _momentum;

    /// <summary>Creates the optimiser for the parameters <paramref name="layout"/> was built from.</summary>
    public MomentumSgd(FlatParameterBuffer layout, SgdOptions options)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(options);
        _layout = layout;
        Options = options;
        _momentum = [.. layout.Parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
    }

    /// <summary>The settings.</summary>
    public SgdOptions Options { get; }

    /// <summary>Takes one step with <paramref name="gradient"/>, a flat buffer laid out like the model's parameters.</summary>
    public void Step(FlatParameterBuffer gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (gradient.Length != _layout.Length)
        {
            throw new ArgumentException($"The gradient has {gradient.Length} values; the model has {_layout.Length}.", nameof(gradient));
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Explicit Scalars, disposed after the loop: an implicitly converted one may be finalized while libtorch
        // still reads it (see TensorImages.Batch). Same values, so the same step.
        using Scalar weightDecay = Options.WeightDecay.ToScalar();
        using Scalar momentum = Options.Momentum.ToScalar();
        using Scalar step = (-Options.LearningRate).ToScalar();
        for (int i = 0; i < _momentum.Length; i++)
        {
            var parameter = _layout.Parameters[i];
            Tensor d = Options.WeightDecay == 0 ? gradient.View(i) : gradient.View(i).add(parameter, alpha: weightDecay);
            _momentum[i].mul_(momentum).add_(d);
            parameter.add_(_momentum[i], alpha: step);
        }
    }

    /// <summary>Copies the momentum buffers b into <paramref name="destination"/> (laid out like the parameters).</summary>
    public void GatherMomentum(FlatParameterBuffer destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        RequireLayout(destination);
        using var scope = NewDisposeScope();
        for (int i = 0; i < _momentum.Length; i++)
        {
            destination.View(i).copy_(_momentum[i]);
        }
    }

    /// <summary>Sets the momentum buffers b from <paramref name="source"/> (restoring a checkpoint).</summary>
    public void ScatterMomentum(FlatParameterBuffer source)
    {
        ArgumentNullException.ThrowIfNull(source);
        RequireLayout(source);
        using var scope = NewDisposeScope();
        for (int i = 0; i < _momentum.Length; i++)
        {
            _momentum[i].copy_(source.View(i));
        }
    }

    private void RequireLayout(FlatParameterBuffer buffer)
    {
        if (buffer.Length != _layout.Length)
        {
            throw new ArgumentException($"The buffer has {buffer.Length} values; the model has {_layout.Length}.", nameof(buffer));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Tensor buffer in _momentum)
        {
            buffer.Dispose();
        }
    }
}
