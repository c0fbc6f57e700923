using BenchmarkDotNet.Attributes;
using Verified.Codec;
using Verified.Theory;

namespace Verified.Benchmarks;

/// <summary>One scheme and bit width of the benchmark matrix.</summary>
public sealed record CodecCase(string Scheme, int Bits)
{
    public QuantizerSpec Spec => Scheme switch
    {
        "tuq" => new TruncatedUniform(Bits),
        "tnq" => new TruncatedNonUniform(Bits),
        "tbq" => new TruncatedBiScaled(Bits),
        "qsgd" => new Qsgd(Bits),
        "nuqsgd" => new Nuqsgd(Bits),
        "sign" => new Sign(),
        _ => new FullPrecision(),
    };

    public override string ToString() => Scheme is "sign" or "fp" ? Scheme : $"{Scheme}-{Bits}";
}

/// <summary>Encode, decode and decode-accumulate of one case, d and path; the subclasses choose the matrix.</summary>
public abstract class CodecBenchmarkBase
{
    private float[] _gradient = [];
    private float[] _decoded = [];
    private float[] _sum = [];
    private byte[] _payload = [];
    private QuantizerDesign _design = null!;
    private GradientCodec _codec = null!;

    public abstract CodecCase Case { get; set; }

    public abstract int D { get; set; }

    public abstract string Path { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gradient = Data.Laplace(D, 0.01, 1);
        _decoded = new float[D];
        _sum = new float[D];
        // The dimension enters Theory's predicted errors for QSGD/NUQSGD, not the levels; the real d is used.
        _design = Quantizers.Design(Case.Spec, ModelFit.Laplace(_gradient), D);
        _ = CodecPaths.TryParse(Path, out CodecPath path);
        _codec = new GradientCodec(new CodecOptions { Path = path });
        _payload = _codec.Encode(_gradient, _design, new RoundingKey(1, 0, 0));
    }

    [Benchmark]
    public int Encode() => _codec.Encode(_gradient, _design, new RoundingKey(1, 0, 0), _payload);

    [Benchmark]
    public void Decode() => _codec.Decode(_payload, _decoded);

    [Benchmark]
    public void DecodeAccumulate() => _codec.DecodeAccumulate(_payload, _sum, 0.125f);
}

/// <summary>The targets of issue 3 (TNQSGD and TUQSGD at b = 3) on the scalar reference and the best path.</summary>
public class CodecTargetBenchmarks : CodecBenchmarkBase
{
    public static IEnumerable<CodecCase> Cases() => [new("tnq", 3), new("tuq", 3)];

    public static IEnumerable<string> Paths() => ["scalar", CodecPaths.Name(CodecPaths.Best)];

    [ParamsSource(nameof(Cases))]
    public override CodecCase Case { get; set; } = new("tnq", 3);

    [Params(1 << 16, 1 << 22)]
    public override int D { get; set; }

    [ParamsSource(nameof(Paths))]
    public override string Path { get; set; } = "scalar";
}

/// <summary>Every scheme at b ∈ {1, 2, 3, 4, 8} (QSGD/NUQSGD from 2), d ∈ {2^16, 2^22}, on the best path.</summary>
public class CodecMatrixBenchmarks : CodecBenchmarkBase
{
    public static IEnumerable<CodecCase> Cases()
    {
        foreach (string scheme in new[] { "tnq", "tuq", "tbq" })
        {
            foreach (int bits in new[] { 1, 2, 3, 4, 8 })
            {
                yield return new CodecCase(scheme, bits);
            }
        }
        foreach (string scheme in new[] { "qsgd", "nuqsgd" })
        {
            foreach (int bits in new[] { 2, 3, 4, 8 })
            {
                yield return new CodecCase(scheme, bits);
            }
        }
        yield return new CodecCase("sign", 1);
        yield return new CodecCase("fp", 32);
    }

    public static IEnumerable<string> Paths() => [CodecPaths.Name(CodecPaths.Best)];

    [ParamsSource(nameof(Cases))]
    public override CodecCase Case { get; set; } = new("tnq", 3);

    [Params(1 << 16, 1 << 22)]
    public override int D { get; set; }

    [ParamsSource(nameof(Paths))]
    public override string Path { get; set; } = "scalar";
}

/// <summary>Deterministic test vectors.</summary>
public static class Data
{
    /// <summary>Laplace(γ) draws by inversion from a fixed seed.</summary>
    public static float[] Laplace(int d, double scale, int seed)
    {
        var random = new Random(seed);
        var values = new float[d];
        for (int j = 0; j < d; j++)
        {
            double u = random.NextDouble() - 0.5;
            values[j] = (float)(-scale * Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u))));
        }
        return values;
    }
}
