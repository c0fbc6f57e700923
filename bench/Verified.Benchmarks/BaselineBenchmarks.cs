using BenchmarkDotNet.Attributes;
using TorchSharp;
using Verified.Theory;
using static TorchSharp.torch;

namespace Verified.Benchmarks;

/// <summary>
/// The baselines of issue 3: a memory copy of the same floats (the ceiling), and TNQSGD/QSGD at b = 3 written with
/// TorchSharp tensor ops the way Python frameworks write them (clamp, bucketize, gather, rand, compare; one int8/uint8
/// code per coordinate, no bit packing), on one libtorch thread.
/// </summary>
public class BaselineBenchmarks
{
    private float[] _gradient = [];
    private float[] _copy = [];
    private byte[] _codes = [];
    private Tensor _g = null!;
    private Tensor _levels = null!;
    private Tensor _interior = null!;
    private Tensor _lower = null!;
    private Tensor _width = null!;
    private float _low;
    private float _high;

    [Params(1 << 16, 1 << 22)]
    public int D { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        torch.random.manual_seed(1);
        _gradient = Data.Laplace(D, 0.01, 1);
        _copy = new float[D];
        _codes = new byte[D];
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(3), ModelFit.Laplace(_gradient));
        float[] levels = [.. design.Levels.Select(l => (float)l)];
        _low = levels[0];
        _high = levels[^1];
        _g = torch.tensor(_gradient);
        _levels = torch.tensor(levels);
        _interior = torch.tensor(levels[1..^1]);
        _lower = torch.tensor(levels[..^1]);
        _width = torch.tensor(levels.Skip(1).Zip(levels, (upper, lower) => upper - lower).ToArray());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Tensor tensor in new[] { _g, _levels, _interior, _lower, _width })
        {
            tensor.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    public void MemoryCopy() => _gradient.AsSpan().CopyTo(_copy);

    [Benchmark]
    public void TorchTnqEncode()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor g = torch.tensor(_gradient);
        Tensor x = g.clamp(_low, _high);
        Tensor k = torch.bucketize(x, _interior);
        Tensor lower = _lower.index_select(0, k);
        Tensor width = _width.index_select(0, k);
        Tensor u = torch.rand_like(x);
        Tensor codes = (k + (u * width < x - lower).to(ScalarType.Int64)).to(ScalarType.Byte);
        codes.data<byte>().CopyTo(_codes);
    }

    [Benchmark]
    public void TorchTnqDecode()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor codes = torch.tensor(_codes).to(ScalarType.Int64);
        _levels.index_select(0, codes).data<float>().CopyTo(_copy);
    }

    [Benchmark]
    public void TorchQsgdEncode()
    {
        // QSGD b = 3: one sign bit and s = 3 levels of |v|/‖v‖.
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor g = torch.tensor(_gradient);
        Tensor norm = g.norm();
        Tensor r = g.abs() / norm * 3;
        Tensor level = r.floor();
        Tensor up = (torch.rand_like(r) < r - level).to(ScalarType.Float32);
        Tensor codes = ((level + up) * g.sign()).to(ScalarType.Int8);
        codes.to(ScalarType.Byte).data<byte>().CopyTo(_codes);
    }
}
