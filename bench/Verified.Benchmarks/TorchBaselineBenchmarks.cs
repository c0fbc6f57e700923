using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;
using Verified.Theory;
using Verified.Theory.Sampling;
using Verified.Simulation.Baselines;

namespace Verified.Benchmarks;

/// <summary>
/// The third baseline of issue 3: the same quantizer as <see cref="CodecBenchmarks"/> (same case, same design
/// levels) written with TorchSharp tensor ops (<see cref="TensorOpQuantizer"/>, shared with <c>verified bench codec</c>).
/// One libtorch thread.
/// </summary>
/// <remarks>In process: libLibTorchSharp.so is patched for Debian 12 in this project's output folder only
/// (TorchSharpOnDebian12.targets), which BenchmarkDotNet's generated child project would not have.</remarks>
[Config(typeof(InProcessShortRun))]
public class TorchBaselineBenchmarks : IDisposable
{
    private TensorOpQuantizer _quantizer = null!;

    public static IEnumerable<string> Cases() => BenchSelection.Cases;

    public static IEnumerable<int> Dimensions() => BenchSelection.Dimensions;

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "tnq-3";

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; } = 1 << 22;

    [GlobalSetup]
    public void Setup()
    {
        torch.random.manual_seed(1);
        float[] gradient = LaplaceSampler.Vector(D, 0.01, 1);
        QuantizerSpec spec = BenchSelection.Spec(Case);
        _quantizer = new TensorOpQuantizer(Quantizers.Design(spec, ModelFit.Laplace(gradient), D), gradient);
        _quantizer.Encode();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _quantizer?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public void Encode() => _quantizer.Encode();

    [Benchmark]
    public void Decode() => _quantizer.Decode();

    [Benchmark]
    public void DecodeAccumulate() => _quantizer.DecodeAccumulate(0.125f);

    private sealed class InProcessShortRun : ManualConfig
    {
        public InProcessShortRun() => AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }
}
