using BenchmarkDotNet.Attributes;
using Verified.Codec;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace Verified.Benchmarks;

/// <summary>
/// Encode, decode and decode-accumulate of one case ("tnq-3", "qsgd-8", "sign", "fp"), d and path. The scalar path is
/// the first baseline of issue 3; <see cref="MemoryCopyBenchmarks"/> and <see cref="TorchBaselineBenchmarks"/> are
/// the others, and Program runs all three in the same session.
/// </summary>
/// <remarks>Out of process (a clean process, so the memory diagnoser sees only the benchmark). Parameters are strings
/// and ints, so the child process gets them as literals and the selection (<see cref="BenchSelection"/>) cannot
/// shift an index between parent and child.</remarks>
[ShortRunJob]
public class CodecBenchmarks
{
    private float[] _gradient = [];
    private float[] _decoded = [];
    private float[] _sum = [];
    private byte[] _payload = [];
    private QuantizerDesign _design = null!;
    private GradientCodec _codec = null!;

    public static IEnumerable<string> Cases() => BenchSelection.Cases;

    public static IEnumerable<int> Dimensions() => BenchSelection.Dimensions;

    public static IEnumerable<string> Paths() => BenchSelection.Paths;

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "tnq-3";

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; } = 1 << 22;

    [ParamsSource(nameof(Paths))]
    public string Path { get; set; } = "scalar";

    [GlobalSetup]
    public void Setup()
    {
        _gradient = LaplaceSampler.Vector(D, 0.01, 1);
        _decoded = new float[D];
        _sum = new float[D];
        // The dimension enters Theory's predicted errors for QSGD/NUQSGD, not the levels; the real d is used.
        _design = Quantizers.Design(BenchSelection.Spec(Case), ModelFit.Laplace(_gradient), D);
        if (!CodecPaths.TryParse(Path, out CodecPath path))
        {
            throw new ArgumentException($"Unknown codec path '{Path}'.");
        }
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

/// <summary>The memory-copy ceiling: <c>Span&lt;float&gt;.CopyTo</c> of the same d floats.</summary>
[ShortRunJob]
public class MemoryCopyBenchmarks
{
    private float[] _gradient = [];
    private float[] _copy = [];

    public static IEnumerable<int> Dimensions() => BenchSelection.Dimensions;

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; } = 1 << 22;

    [GlobalSetup]
    public void Setup()
    {
        _gradient = LaplaceSampler.Vector(D, 0.01, 1);
        _copy = new float[D];
    }

    [Benchmark]
    public void MemoryCopy() => _gradient.AsSpan().CopyTo(_copy);
}

/// <summary>
/// Which cases, dimensions and paths a run covers: the whole matrix unless the environment narrows it
/// (Program sets the variables from --cases, --d and --paths; child processes inherit them).
/// </summary>
public static class BenchSelection
{
    public const string CasesVariable = "VERIFIED_BENCH_CASES";
    public const string DimensionsVariable = "VERIFIED_BENCH_D";
    public const string PathsVariable = "VERIFIED_BENCH_PATHS";

    /// <summary>Every scheme at b ∈ {1, 2, 3, 4, 8} (QSGD/NUQSGD from 2, the sign bit included), sign and fp.</summary>
    public static IReadOnlyList<string> AllCases { get; } =
    [
        .. new[] { "tnq", "tuq", "tbq" }.SelectMany(scheme => new[] { 1, 2, 3, 4, 8 }.Select(bits => $"{scheme}-{bits}")),
        .. new[] { "qsgd", "nuqsgd" }.SelectMany(scheme => new[] { 2, 3, 4, 8 }.Select(bits => $"{scheme}-{bits}")),
        "sign",
        "fp",
    ];

    public static IReadOnlyList<int> AllDimensions { get; } = [1 << 16, 1 << 22];

    /// <summary>The scalar reference (baseline) and the best path of this machine.</summary>
    public static IReadOnlyList<string> AllPaths { get; } =
        CodecPaths.Best == CodecPath.Scalar ? ["scalar"] : ["scalar", CodecPaths.Name(CodecPaths.Best)];

    public static IReadOnlyList<string> Cases => List(CasesVariable) ?? AllCases;

    public static IReadOnlyList<int> Dimensions => List(DimensionsVariable)?.Select(ParseDimension).ToArray() ?? AllDimensions;

    public static IReadOnlyList<string> Paths => List(PathsVariable) ?? AllPaths;

    /// <summary>"tnq-3" → TNQSGD b = 3; "sign"; "fp".</summary>
    public static QuantizerSpec Spec(string name)
    {
        string[] parts = name.Split('-');
        int bits = parts.Length == 2 && int.TryParse(parts[1], out int b) ? b : 0;
        return parts[0] switch
        {
            "tnq" => new TruncatedNonUniform(bits),
            "tuq" => new TruncatedUniform(bits),
            "tbq" => new TruncatedBiScaled(bits),
            "qsgd" => new Qsgd(bits),
            "nuqsgd" => new Nuqsgd(bits),
            "sign" => new Sign(),
            "fp" => new FullPrecision(),
            _ => throw new ArgumentException($"Unknown case '{name}': use tnq-B, tuq-B, tbq-B, qsgd-B, nuqsgd-B, sign or fp."),
        };
    }

    /// <summary>"4194304" or "2^22".</summary>
    public static int ParseDimension(string text) =>
        text.StartsWith("2^", StringComparison.Ordinal) ? 1 << int.Parse(text[2..], System.Globalization.CultureInfo.InvariantCulture) : int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    private static string[]? List(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : null;
}

/// <summary>Deterministic heavy-tailed test vectors (Laplace vectors come from Theory's LaplaceSampler).</summary>
public static class Data
{
    /// <summary>Symmetric Lomax(σ, ρ) draws by inversion from a fixed seed (spec §3.2(a)).</summary>
    public static float[] Lomax(int d, double scale, double shape, int seed)
    {
        var model = new Lomax(scale, shape);
        var random = new Random(seed);
        var values = new float[d];
        for (int j = 0; j < d; j++)
        {
            values[j] = (float)model.Quantile(1 - (random.NextDouble() * (1 - 1e-12)) - 1e-13);
        }
        return values;
    }
}

/// <summary>
/// Encode and decode-accumulate of one large vector on 1..(logical cores) threads (<see cref="CodecOptions.MaxDegreeOfParallelism"/>),
/// best path: how the chunked multi-core codec scales. The bytes and sums equal one thread's (CodecPathProperties).
/// </summary>
[ShortRunJob]
public class ParallelCodecBenchmarks
{
    private float[] _gradient = [];
    private float[] _sum = [];
    private byte[] _payload = [];
    private QuantizerDesign _design = null!;
    private GradientCodec _codec = null!;

    public static IEnumerable<string> Cases() => BenchSelection.Cases;

    public static IEnumerable<int> Dimensions() => BenchSelection.Dimensions;

    public static IEnumerable<int> ThreadCounts() => Enumerable.Range(1, Environment.ProcessorCount);

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "tnq-3";

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; } = 1 << 22;

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        _gradient = LaplaceSampler.Vector(D, 0.01, 1);
        _sum = new float[D];
        _design = Quantizers.Design(BenchSelection.Spec(Case), ModelFit.Laplace(_gradient), D);
        _codec = new GradientCodec(new CodecOptions { MaxDegreeOfParallelism = Threads });
        _payload = _codec.Encode(_gradient, _design, new RoundingKey(1, 0, 0));
    }

    [Benchmark]
    public int Encode() => _codec.Encode(_gradient, _design, new RoundingKey(1, 0, 0), _payload);

    [Benchmark]
    public void DecodeAccumulate() => _codec.DecodeAccumulate(_payload, _sum, 0.125f);
}
