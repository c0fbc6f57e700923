using System.Runtime.InteropServices;
using System.Text.Json;
using Verified.Codec;
using Verified.Host.Cli;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace IntegrationTests;

/// <summary>The <c>verified codec</c> verbs end to end on files: issue 3's acceptance round trip and its error exits.</summary>
[Collection(LibtorchTests.Name)] // `bench codec` runs the TorchSharp baseline, which uses libtorch's global generator
public sealed class CodecCliTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-codec-cli-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => System.IO.Path.Combine(_directory.FullName, name);

    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = VerifiedCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void RoundTrip_OfAMillionLaplaceCoordinates_IsOnTheLevels_Unbiased_AndExactlySized()
    {
        const int D = 1_000_000;
        float[] gradient = LaplaceSampler.Vector(D, 0.01, 17);
        File.WriteAllBytes(PathOf("g.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());

        var encode = Run("codec", "encode", "--scheme", "tnq", "--bits", "3", "--seed", "42", "--in", PathOf("g.f32"), "--out", PathOf("g.vq"));
        Assert.True(encode.Exit == 0, encode.Error);
        var decode = Run("codec", "decode", "--in", PathOf("g.vq"), "--out", PathOf("d.f32"));
        Assert.True(decode.Exit == 0, decode.Error);
        var inspect = Run("codec", "inspect", "--in", PathOf("g.vq"), "--json");
        Assert.True(inspect.Exit == 0, inspect.Error);
        Assert.Contains("\"bits\": 3", inspect.Output, StringComparison.Ordinal);

        byte[] payload = File.ReadAllBytes(PathOf("g.vq"));
        Assert.Equal(60 + ((D * 3) + 7) / 8, payload.Length);
        float[] decoded = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf("d.f32"))).ToArray();
        Assert.Equal(D, decoded.Length);

        // The levels are the ones Theory designs for the fitted model.
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(3), ModelFit.Laplace(gradient));
        float[] levels = [.. design.Levels.Select(l => (float)l)];
        Assert.Equal(levels, new GradientCodec().DecodedLevels(GradientCodec.ReadHeader(payload)));

        double bias = 0, variance = 0;
        for (int j = 0; j < D; j++)
        {
            float x = Math.Clamp(gradient[j], levels[0], levels[^1]);
            int k = Rounding.UpperIndex([.. design.Levels], x);
            Assert.True(decoded[j] == levels[k - 1] || decoded[j] == levels[k], $"coordinate {j}: {decoded[j]} is not a level next to {x}");
            bias += decoded[j] - (double)x;
            variance += (levels[k] - (double)x) * (x - (double)levels[k - 1]);
        }
        // Σ_j (Q(x_j) − x_j) has mean 0 and variance Σ_j (l_k − x)(x − l_{k−1}).
        Assert.True(Math.Abs(bias) <= 5 * Math.Sqrt(variance), $"Σ(decoded − clip(x)) = {bias}, 5 SE = {5 * Math.Sqrt(variance)}");
    }

    [Theory]
    [InlineData("bernoulli:0.1")]
    [InlineData("randk:300")]
    public void Sparsifiers_RoundTripThroughFiles_AsVersion2Payloads(string scheme)
    {
        const int D = 3000;
        float[] gradient = LaplaceSampler.Vector(D, 0.01, 5);
        File.WriteAllBytes(PathOf("s.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        var encode = Run("codec", "encode", "--scheme", scheme, "--seed", "9", "--in", PathOf("s.f32"), "--out", PathOf("s.vq"));
        Assert.True(encode.Exit == 0, encode.Error);
        Assert.Equal(0, Run("codec", "decode", "--in", PathOf("s.vq"), "--out", PathOf("s.out")).Exit);
        byte[] payload = File.ReadAllBytes(PathOf("s.vq"));
        PayloadHeader header = GradientCodec.ReadHeader(payload);
        Assert.Equal(2, header.Version);
        Assert.Equal(payload.Length, header.TotalLength);
        float[] decoded = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf("s.out"))).ToArray();
        double scale = scheme.StartsWith("randk", StringComparison.Ordinal) ? D / 300.0 : 1 / header.Alpha;
        int kept = 0;
        for (int j = 0; j < D; j++)
        {
            if (decoded[j] != 0)
            {
                kept++;
                Assert.Equal((float)(gradient[j] * scale), decoded[j]);
            }
        }
        Assert.Equal(header.ValueCount, kept);
        if (scheme.StartsWith("randk", StringComparison.Ordinal))
        {
            Assert.Equal(300, kept);
        }
    }

    [Fact]
    public void Inspect_Json_AlphaIsNull_UnlessTheSchemeTruncates()
    {
        // As in `verified theory --json`; inspect used to print the header's 0 (or a sparsifier's q) as alpha.
        float[] gradient = LaplaceSampler.Vector(2000, 0.01, 8);
        File.WriteAllBytes(PathOf("a.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        JsonElement Inspect(params string[] scheme)
        {
            var encode = Run(["codec", "encode", .. scheme, "--in", PathOf("a.f32"), "--out", PathOf("a.vq")]);
            Assert.True(encode.Exit == 0, encode.Error);
            var inspect = Run("codec", "inspect", "--in", PathOf("a.vq"), "--json");
            Assert.True(inspect.Exit == 0, inspect.Error);
            return JsonDocument.Parse(inspect.Output).RootElement.Clone();
        }

        JsonElement tnq = Inspect("--scheme", "tnq", "--bits", "3");
        Assert.Equal(JsonValueKind.Number, tnq.GetProperty("alpha").ValueKind);
        Assert.True(tnq.GetProperty("alpha").GetDouble() > 0);
        foreach (string scheme in new[] { "qsgd", "sign", "fp" })
        {
            Assert.Equal(JsonValueKind.Null, Inspect("--scheme", scheme).GetProperty("alpha").ValueKind);
        }
        JsonElement bernoulli = Inspect("--scheme", "bernoulli:0.25");
        Assert.Equal(JsonValueKind.Null, bernoulli.GetProperty("alpha").ValueKind);
        Assert.Equal(0.25, bernoulli.GetProperty("keepProbability").GetDouble(), 1e-6);
        JsonElement randK = Inspect("--scheme", "randk:100");
        Assert.Equal(JsonValueKind.Null, randK.GetProperty("alpha").ValueKind);
        Assert.Equal(100, randK.GetProperty("k").GetInt32());
        Assert.False(tnq.TryGetProperty("keepProbability", out _));
        Assert.False(tnq.TryGetProperty("k", out _));
    }

    [Fact]
    public void AllZeroInput_EncodesToAZeroScalePayload()
    {
        File.WriteAllBytes(PathOf("z.f32"), new byte[4 * 100]);
        Assert.Equal(0, Run("codec", "encode", "--scheme", "tbq", "--bits", "4", "--in", PathOf("z.f32"), "--out", PathOf("z.vq")).Exit);
        Assert.Equal(0, Run("codec", "decode", "--in", PathOf("z.vq"), "--out", PathOf("z2.f32")).Exit);
        Assert.Equal(new byte[400], File.ReadAllBytes(PathOf("z2.f32")));
        Assert.Contains("all-zero", Run("codec", "inspect", "--in", PathOf("z.vq")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInputs_ExitWith2_AndSayWhatIsWrong()
    {
        float[] gradient = LaplaceSampler.Vector(1000, 1, 3);
        gradient[321] = float.NaN;
        File.WriteAllBytes(PathOf("nan.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        var nan = Run("codec", "encode", "--in", PathOf("nan.f32"), "--out", PathOf("nan.vq"));
        Assert.Equal(2, nan.Exit);
        Assert.Contains("Coordinate 321", nan.Error, StringComparison.Ordinal);

        File.WriteAllBytes(PathOf("odd.f32"), new byte[7]);
        Assert.Contains("not a multiple of 4", Run("codec", "encode", "--in", PathOf("odd.f32"), "--out", PathOf("odd.vq")).Error, StringComparison.Ordinal);

        gradient[321] = 0.5f;
        File.WriteAllBytes(PathOf("g.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        Assert.Equal(0, Run("codec", "encode", "--scheme", "qsgd", "--bits", "4", "--in", PathOf("g.f32"), "--out", PathOf("g.vq")).Exit);
        byte[] payload = File.ReadAllBytes(PathOf("g.vq"));
        payload[^5] ^= 0x40;
        File.WriteAllBytes(PathOf("bad.vq"), payload);
        var corrupted = Run("codec", "decode", "--in", PathOf("bad.vq"), "--out", PathOf("bad.f32"));
        Assert.Equal(2, corrupted.Exit);
        Assert.Contains("corrupted", corrupted.Error, StringComparison.Ordinal);

        var bits = Run("codec", "encode", "--scheme", "qsgd", "--bits", "1", "--in", PathOf("g.f32"), "--out", PathOf("x.vq"));
        Assert.Equal(2, bits.Exit);
        Assert.Contains("--bits = 1 is out of range for qsgd", bits.Error, StringComparison.Ordinal);
        Assert.Equal(2, Run("codec", "inspect", "--in", PathOf("missing.vq")).Exit);
    }

    [Fact]
    public void BenchCodec_Quick_PrintsEveryOperation()
    {
        var bench = Run("bench", "codec", "--quick", "--seconds", "0.01", "--dimension", "4096", "--json");
        Assert.True(bench.Exit == 0, bench.Error);
        Assert.Contains("\"decodeAccumulate\"", bench.Output, StringComparison.Ordinal);
        Assert.Contains("\"copy\"", bench.Output, StringComparison.Ordinal);
        // All three baselines of issue 3: the scalar path, the memory copy and the TorchSharp tensor-op quantizer.
        Assert.Contains("\"path\": \"scalar\"", bench.Output, StringComparison.Ordinal);
        Assert.Contains("\"path\": \"torch\"", bench.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchCodec_Full_CoversEveryScheme_IncludingTheSparsePayloads()
    {
        var bench = Run("bench", "codec", "--seconds", "0.001", "--dimension", "4096", "--json");
        Assert.True(bench.Exit == 0, bench.Error);
        foreach (string name in new[] { "tnq", "tuq", "tbq", "qsgd", "nuqsgd", "sign", "usign", "bernoulli-0.25", "randk-1024", "fp" })
        {
            Assert.Contains($"\"{name}\"", bench.Output, StringComparison.Ordinal);
        }
    }
}
