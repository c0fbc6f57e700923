using Verified.Theory;
using static TorchSharp.torch;

namespace Verified.Simulation.Baselines;

/// <summary>
/// The codec's third baseline (issue 3): the same quantizer as the codec (same design levels) written with TorchSharp
/// tensor ops the way Python frameworks write it: clamp or |g|/‖g‖, <c>bucketize</c>, <c>index_select</c>,
/// <c>rand_like</c>, a compare, one uint8 code per coordinate (no bit packing, which favours it). Decode is an
/// <c>index_select</c> of the levels; decode-accumulate adds that into a persistent sum tensor. It lives here because
/// TorchSharp stays inside src/Simulation; `verified bench codec` and bench/Verified.Benchmarks both time it.
/// </summary>
/// <remarks>For measurement only: its rounding draws come from libtorch's global generator, not the codec's keys.</remarks>
public sealed class TensorOpQuantizer : IDisposable
{
    private readonly float[] _gradient;
    private readonly float[] _out;
    private readonly byte[] _codes;
    private readonly QuantizerSpec _spec;
    private readonly float _low;
    private readonly float _high;
    private readonly int _half;
    private readonly Tensor _values;
    private readonly Tensor _interior;
    private readonly Tensor _lower;
    private readonly Tensor _width;
    private readonly Tensor _sum;
    private float _norm;

    /// <summary>Prepares the quantizer of <paramref name="design"/> for <paramref name="gradient"/> (one libtorch thread).</summary>
    public TensorOpQuantizer(QuantizerDesign design, float[] gradient)
    {
        ArgumentNullException.ThrowIfNull(design);
        ArgumentNullException.ThrowIfNull(gradient);
        set_num_threads(1);
        _spec = design.Spec;
        _gradient = gradient;
        _out = new float[gradient.Length];
        _codes = new byte[gradient.Length];
        // The grid a coordinate is rounded on: the levels (truncated), the magnitudes of |g|/‖g‖ (QSGD/NUQSGD), or
        // {−m, m} (sign).
        float[] grid = _spec is NormScaledSpec normScaled
            ? [.. NormScaled.Magnitudes(normScaled).Select(l => (float)l)]
            : [.. design.Levels.Select(l => (float)l)];
        _half = grid.Length;
        _low = grid.Length > 0 ? grid[0] : 0;
        _high = grid.Length > 0 ? grid[^1] : 0;
        _values = tensor(grid).DetachFromDisposeScope();
        _interior = (grid.Length > 2 ? tensor(grid[1..^1]) : zeros(0)).DetachFromDisposeScope();
        _lower = (grid.Length > 1 ? tensor(grid[..^1]) : zeros(0)).DetachFromDisposeScope();
        _width = (grid.Length > 1 ? tensor(grid.Skip(1).Zip(grid, (upper, lower) => upper - lower).ToArray()) : zeros(0)).DetachFromDisposeScope();
        _sum = zeros(gradient.Length).DetachFromDisposeScope();
    }

    /// <summary>Quantizes the gradient into one code byte per coordinate (the norm kept aside for QSGD/NUQSGD).</summary>
    public void Encode()
    {
        using var scope = NewDisposeScope();
        Tensor g = tensor(_gradient);
        switch (_spec)
        {
            case FullPrecision:
                g.data<float>().CopyTo(_out);
                return;
            case Sign:
                (g >= 0).to(ScalarType.Byte).data<byte>().CopyTo(_codes);
                return;
            case NormScaledSpec:
                {
                    Tensor norm = g.norm();
                    _norm = norm.item<float>();
                    Tensor r = (g.abs() / norm).clamp_max(1);
                    Tensor level = Round(r);
                    // Sign in the top bit of the code, as the codec does.
                    Tensor codes = level + ((g < 0).to(ScalarType.Int64) * _half);
                    codes.to(ScalarType.Byte).data<byte>().CopyTo(_codes);
                    return;
                }
            default:
                Round(g.clamp(_low, _high)).to(ScalarType.Byte).data<byte>().CopyTo(_codes);
                return;
        }
    }

    /// <summary>Decodes the codes into a float array.</summary>
    public void Decode()
    {
        using var scope = NewDisposeScope();
        Decoded().data<float>().CopyTo(_out);
    }

    /// <summary>sum += weight · decode(codes), into a persistent tensor.</summary>
    public void DecodeAccumulate(float weight)
    {
        using var scope = NewDisposeScope();
        _sum.add_(Decoded(), weight);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Tensor t in new[] { _values, _interior, _lower, _width, _sum })
        {
            t.Dispose();
        }
    }

    /// <summary>Stochastic rounding of x on the grid: k = bucketize, then k + [u·W_k &lt; x − L_k].</summary>
    private Tensor Round(Tensor x)
    {
        Tensor k = bucketize(x, _interior);
        Tensor lower = _lower.index_select(0, k);
        Tensor width = _width.index_select(0, k);
        Tensor u = rand_like(x);
        return k + (u * width < x - lower).to(ScalarType.Int64);
    }

    private Tensor Decoded()
    {
        switch (_spec)
        {
            case FullPrecision:
                return tensor(_gradient);
            case NormScaledSpec:
                {
                    Tensor codes = tensor(_codes).to(ScalarType.Int64);
                    Tensor negative = codes >= _half;
                    Tensor magnitude = _values.index_select(0, codes - (negative.to(ScalarType.Int64) * _half)) * _norm;
                    return where(negative, -magnitude, magnitude);
                }
            default:
                return _values.index_select(0, tensor(_codes).to(ScalarType.Int64));
        }
    }
}
