using BenchmarkDotNet.Attributes;
using Verified.Codec;
using Verified.Theory;

namespace Verified.Benchmarks;

/// <summary>
/// Issue 13's performance points on the default CNN's real tensor sizes (1,199,882 coordinates in 8 tensors): the fit
/// and design of every segment of one upload, and segmented encode and decode-accumulate against the whole vector.
/// </summary>
/// <remarks>
/// <para>The gradient is Lomax(σ_t, ρ = 4) per tensor with σ_t spread over two decades, as real CNN gradients are per
/// layer (docs/results.md). The design cache is warm, as in training after the first uploads: unit-scale designs are
/// reused and each upload only fits, rescales and (with auto) chooses. tnq-3 throughout.</para>
/// <para>Compare FitAndDesign with a default CNN round (docs/codec-performance.md; about 220 ms on one core with 8 clients): issue
/// 13 asks for ≤ 2 % of it per upload's segments.</para>
/// </remarks>
[ShortRunJob]
public class SegmentBenchmarks
{
    /// <summary>MnistCnn's parameters in order: conv1 w, b; conv2 w, b; fc1 w, b; fc2 w, b.</summary>
    public static readonly int[] CnnTensorSizes = [288, 32, 18432, 64, 1179648, 128, 1280, 10];

    private static readonly QuantizerSpec Spec = new TruncatedNonUniform(3);
    private readonly GradientCodec _codec = new(new CodecOptions { DesignCacheCapacity = 256 });
    private float[] _gradient = [];
    private float[] _sum = [];
    private byte[] _payload = [];
    private byte[] _wholePayload = [];
    private byte[] _segmentedPayload = [];
    private SegmentLayout _layout = SegmentLayout.Whole(0);
    private QuantizerDesign[] _designs = [];
    private QuantizerDesign _wholeDesign = null!;

    /// <summary>The per-segment fit: laplace (one pass) or auto (the fast Lomax fit and the BIC choice).</summary>
    [Params("laplace", "auto")]
    public string Fit { get; set; } = "laplace";

    [GlobalSetup]
    public void Setup()
    {
        _layout = SegmentLayout.Sizes(CnnTensorSizes);
        _gradient = new float[_layout.Dimension];
        for (int t = 0; t < _layout.Count; t++)
        {
            SegmentRange range = _layout[t];
            Data.Lomax(range.Length, 1e-4 * Math.Pow(10, 2.0 * t / (_layout.Count - 1)), 4, 10 + t).CopyTo(_gradient, range.Start);
        }
        _sum = new float[_gradient.Length];
        _designs = new QuantizerDesign[_layout.Count];
        FitAndDesignSegments();
        _wholeDesign = FitAndDesignWhole();
        _payload = new byte[GradientCodec.GetMaxEncodedLength(Spec, _layout)];
        _wholePayload = _codec.Encode(_gradient, _wholeDesign, new RoundingKey(1, 0, 0));
        _segmentedPayload = _codec.EncodeSegments(_gradient, _designs, _layout, new RoundingKey(1, 0, 0));
    }

    private GradientModel FitOne(ReadOnlySpan<float> values) =>
        Fit == "auto" ? LomaxFit.ChooseModel(values, PayloadHeader.MaximumShape) switch
        {
            Lomax lomax => new Lomax(lomax.Scale, DesignScaling.SnapShape(lomax.Shape)),
            GradientModel other => other,
        } : ModelFit.Laplace(values);

    /// <summary>One upload's fits and designs, one per tensor.</summary>
    [Benchmark]
    public QuantizerDesign FitAndDesignSegments()
    {
        for (int i = 0; i < _layout.Count; i++)
        {
            SegmentRange range = _layout[i];
            _designs[i] = _codec.Designs.GetOrDesign(Spec, FitOne(_gradient.AsSpan(range.Start, range.Length)));
        }
        return _designs[^1];
    }

    /// <summary>One upload's fit and design for the whole vector.</summary>
    [Benchmark(Baseline = true)]
    public QuantizerDesign FitAndDesignWhole() => _codec.Designs.GetOrDesign(Spec, FitOne(_gradient));

    [Benchmark]
    public int EncodeWhole() => _codec.Encode(_gradient, _wholeDesign, new RoundingKey(1, 0, 0), _payload);

    [Benchmark]
    public int EncodeSegments() => _codec.EncodeSegments(_gradient, _designs, _layout, new RoundingKey(1, 0, 0), _payload);

    [Benchmark]
    public void DecodeAccumulateWhole() => _codec.DecodeAccumulate(_wholePayload, _sum, 0.125f);

    [Benchmark]
    public void DecodeAccumulateSegments() => _codec.DecodeAccumulate(_segmentedPayload, _sum, 0.125f);
}
