using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>
/// One pooled <c>float[]</c> as long as all of a model's parameters together (d), with a tensor view of each
/// parameter's slice: the boundary where tensors become a span for the codec, and spans become tensors again.
/// </summary>
/// <remarks>
/// <para>The array is allocated once, pinned (pinned object heap) and shared with libtorch through
/// <c>torch.from_array</c>, so <see cref="GatherGradients"/> is one native copy per parameter into it and the views
/// read it without copying. Nothing is allocated per round on the managed heap beyond small tensor handles.</para>
/// <para>Layout: the parameters in <c>module.parameters()</c> order, each flattened row-major, back to back.</para>
/// <para>Not thread-safe: one buffer per client thread.</para>
/// </remarks>
public sealed class FlatParameterBuffer : IDisposable
{
    private readonly float[] _values;
    private readonly Tensor _flat;
    private readonly Tensor[] _views;
    private readonly Parameter[] _parameters;

    /// <summary>Creates a zeroed buffer laid out like <paramref name="model"/>'s parameters (on the CPU).</summary>
    public FlatParameterBuffer(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _parameters = [.. model.parameters()];
        long length = _parameters.Sum(p => p.numel());
        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"The model has {length} parameters; a flat buffer holds at most {Array.MaxLength}.", nameof(model));
        }
        _values = GC.AllocateArray<float>((int)length, pinned: true);
        // State, not temporaries: detached so that a caller's dispose scope does not take them.
        _flat = from_array(_values).DetachFromDisposeScope();
        _views = new Tensor[_parameters.Length];
        long offset = 0;
        for (int i = 0; i < _parameters.Length; i++)
        {
            long n = _parameters[i].numel();
            using Tensor slice = _flat.narrow(0, offset, n);
            _views[i] = slice.view(_parameters[i].shape).DetachFromDisposeScope();
            offset += n;
        }
    }

    /// <summary>d, the number of scalars.</summary>
    public int Length => _values.Length;

    /// <summary>The values, writable.</summary>
    public Span<float> Span => _values;

    /// <summary>The values, read-only, for a caller that needs them across an await.</summary>
    public ReadOnlyMemory<float> Memory => _values;

    /// <summary>The tensor view of parameter <paramref name="index"/>'s slice (owned by this buffer; do not dispose).</summary>
    public Tensor View(int index) => _views[index];

    /// <summary>The number of scalars of each parameter tensor, in the buffer's order (they add up to <see cref="Length"/>).</summary>
    public System.Collections.Immutable.ImmutableArray<int> TensorSizes => [.. _parameters.Select(p => (int)p.numel())];

    /// <summary>The parameters this buffer is laid out for, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Copies every parameter's gradient into the buffer; a parameter without a gradient contributes zeros.</summary>
    public void GatherGradients()
    {
        using var scope = NewDisposeScope();
        for (int i = 0; i < _parameters.Length; i++)
        {
            Tensor? grad = _parameters[i].grad;
            if (grad is null)
            {
                _views[i].zero_();
            }
            else
            {
                _views[i].copy_(grad);
            }
        }
    }

    /// <summary>Copies every parameter's current value into the buffer.</summary>
    public void GatherValues()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            _views[i].copy_(_parameters[i]);
        }
    }

    /// <summary>Copies the buffer into the parameters' values (restoring a checkpoint).</summary>
    public void ScatterValues()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            _parameters[i].copy_(_views[i]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Tensor view in _views)
        {
            view.Dispose();
        }
        _flat.Dispose();
    }
}
