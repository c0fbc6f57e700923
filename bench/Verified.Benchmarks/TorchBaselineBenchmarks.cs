using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;
using Verified.Theory;
using static TorchSharp.torch;

namespace Verified.Benchmarks;

/// <summary>
/// The third baseline of issue 3: the same quantizer as <see cref="CodecBenchmarks"/> (same case, same design
/// levels) written with TorchSharp tensor ops the way Python frameworks write it: clamp or |g|/‖g‖, <c>bucketize</c>,
/// <c>index_select</c>, <c>rand_like</c>, a compare, one uint8 code per coordinate (no bit packing, which favours
/// it); decode is an <c>index_select</c> of the levels, decode-accumulate adds that into a persistent sum tensor.
/// One libtorch thread.
/// </summary>
/// <remarks>In process: libLibTorchSharp.so is patched for Debian 12 in this project's output folder only
/// (TorchSharpOnDebian12.targets), which BenchmarkDotNet's generated child project would not have.</remarks>
[Config(typeof(InProcessShortRun))]
public class TorchBaselineBenchmarks
{
    private float[] _gradient = [];
    private float[] _out = [];
    private byte[] _codes = [];
    private float _norm;
    private float _low;
    private float _high;
    private int _half;
    private QuantizerSpec _spec = null!;
    private Tensor _values = null!;
    private Tensor _interior = null!;
    private Tensor _lower = null!;
    private Tensor _width = null!;
    private Tensor _sum = null!;

    public static IEnumerable<string> Cases() => BenchSelection.Cases;

    public static IEnumerable<int> Dimensions() => BenchSelection.Dimensions;

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "tnq-3";

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; } = 1 << 22;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        torch.random.manual_seed(1);
        _gradient = Data.Laplace(D, 0.01, 1);
        _out = new float[D];
        _codes = new byte[D];
        _spec = BenchSelection.Spec(Case);
        QuantizerDesign design = Quantizers.Design(_spec, ModelFit.Laplace(_gradient), D);
        // The grid a coordinate is rounded on: the levels (truncated), the magnitudes of |g|/‖g‖ (QSGD/NUQSGD), or
        // {−m, m} (sign).
        float[] grid = _spec is NormScaledSpec normScaled
            ? [.. NormScaled.Magnitudes(normScaled).Select(l => (float)l)]
            : [.. design.Levels.Select(l => (float)l)];
        _half = grid.Length;
        _low = grid.Length > 0 ? grid[0] : 0;
        _high = grid.Length > 0 ? grid[^1] : 0;
        _values = torch.tensor(grid);
        _interior = grid.Length > 2 ? torch.tensor(grid[1..^1]) : torch.zeros(0);
        _lower = grid.Length > 1 ? torch.tensor(grid[..^1]) : torch.zeros(0);
        _width = grid.Length > 1 ? torch.tensor(grid.Skip(1).Zip(grid, (upper, lower) => upper - lower).ToArray()) : torch.zeros(0);
        _sum = torch.zeros(D);
        Encode();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Tensor tensor in new[] { _values, _interior, _lower, _width, _sum })
        {
            tensor.Dispose();
        }
    }

    [Benchmark]
    public void Encode()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor g = torch.tensor(_gradient);
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

    [Benchmark]
    public void Decode()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Decoded().data<float>().CopyTo(_out);
    }

    [Benchmark]
    public void DecodeAccumulate()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        _sum.add_(Decoded(), 0.125f);
    }

    /// <summary>Stochastic rounding of x on the grid: k = bucketize, then k + [u·W_k &lt; x − L_k].</summary>
    private Tensor Round(Tensor x)
    {
        Tensor k = torch.bucketize(x, _interior);
        Tensor lower = _lower.index_select(0, k);
        Tensor width = _width.index_select(0, k);
        Tensor u = torch.rand_like(x);
        return k + (u * width < x - lower).to(ScalarType.Int64);
    }

    private Tensor Decoded()
    {
        switch (_spec)
        {
            case FullPrecision:
                return torch.tensor(_gradient);
            case NormScaledSpec:
                {
                    Tensor codes = torch.tensor(_codes).to(ScalarType.Int64);
                    Tensor negative = codes >= _half;
                    Tensor magnitude = _values.index_select(0, codes - (negative.to(ScalarType.Int64) * _half)) * _norm;
                    return torch.where(negative, -magnitude, magnitude);
                }
            default:
                return _values.index_select(0, torch.tensor(_codes).to(ScalarType.Int64));
        }
    }

    private sealed class InProcessShortRun : ManualConfig
    {
        public InProcessShortRun() => AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }
}
