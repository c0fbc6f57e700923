using BenchmarkDotNet.Attributes;
using Verified.Codec;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace Verified.Benchmarks;

/// <summary>
/// The per-upload model fits of issue 13 on d = 2^20 coordinates: the fast Lomax fit, the automatic Laplace/Lomax
/// choice, and the Laplace MLE (one vectorised pass, the floor). The slow golden-section MLE
/// (<see cref="ModelFit.LomaxParameters"/>, seconds per call) is left out on purpose.
/// </summary>
[ShortRunJob]
public class LomaxFitBenchmarks
{
    private float[] _gradient = [];

    /// <summary>laplace: Laplace(0.01), where the Lomax profile runs towards large σ; lomax: Lomax(10⁻³, ρ = 4).</summary>
    [Params("laplace", "lomax")]
    public string Distribution { get; set; } = "lomax";

    [Params(1 << 20)]
    public int D { get; set; } = 1 << 20;

    [GlobalSetup]
    public void Setup() => _gradient = Distribution == "laplace"
        ? LaplaceSampler.Vector(D, 0.01, 1)
        : Data.Lomax(D, 1e-3, 4, 1);

    [Benchmark]
    public LomaxEstimate FastLomax() => LomaxFit.Fast(_gradient);

    [Benchmark]
    public GradientModel ChooseModel() => LomaxFit.ChooseModel(_gradient);

    /// <summary>The choice as training and `codec encode --fit auto` make it, with the wire format's cap on ρ̂ (1000):
    /// on Laplace data the binned ρ̂ is far above it, so the choice is settled without the exact pass.</summary>
    [Benchmark]
    public GradientModel ChooseModelWireCap() => LomaxFit.ChooseModel(_gradient, PayloadHeader.MaximumShape);

    [Benchmark(Baseline = true)]
    public Laplace LaplaceMle() => ModelFit.Laplace(_gradient);
}
