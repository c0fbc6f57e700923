using System.Runtime.InteropServices;
using System.Text.Json;
using Verified.Codec;
using Verified.Theory;
using Verified.Theory.Sampling;

using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary>The <c>verified codec</c> verbs end to end on files: issue 3's acceptance round trip and its error exits.</summary>
[Collection(LibtorchTests.Name)] // `bench codec` runs the TorchSharp baseline, which uses libtorch's global generator
public sealed class CodecCliTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-codec-cli-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => System.IO.Path.Combine(_directory.FullName, name);

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
    public void SegmentedEncoding_OfHalvesWithScales100xApart_FitsEachHalf_AndCutsTheSquaredError()
    {
        // Issue 13's acceptance check: two halves of Laplace(0.01) and Laplace(1) coordinates, tnq b = 3.
        const int D = 8192;
        float[] gradient = [.. LaplaceSampler.Vector(D / 2, 0.01, 31), .. LaplaceSampler.Vector(D / 2, 1, 32)];
        File.WriteAllBytes(PathOf("h.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());

        var segmented = Run("codec", "encode", "--scheme", "tnq", "--bits", "3", "--segments", "bucket:4096", "--fit", "laplace", "--seed", "5", "--in", PathOf("h.f32"), "--out", PathOf("s.vq"));
        Assert.True(segmented.Exit == 0, segmented.Error);
        Assert.Contains("version 3, 2 segments", segmented.Output, StringComparison.Ordinal);
        var whole = Run("codec", "encode", "--scheme", "tnq", "--bits", "3", "--seed", "5", "--in", PathOf("h.f32"), "--out", PathOf("w.vq"));
        Assert.True(whole.Exit == 0, whole.Error);
        Assert.Equal(1, File.ReadAllBytes(PathOf("w.vq"))[4]);
        Assert.Equal(60 + (3 * D / 8), File.ReadAllBytes(PathOf("w.vq")).Length);
        Assert.Equal(24 + (2 * 72) + (3 * D / 8), File.ReadAllBytes(PathOf("s.vq")).Length);

        // inspect: each segment's fitted scale is its half's mean |g| (the Laplace MLE).
        var inspect = Run("codec", "inspect", "--in", PathOf("s.vq"), "--json");
        Assert.True(inspect.Exit == 0, inspect.Error);
        using JsonDocument document = JsonDocument.Parse(inspect.Output);
        JsonElement root = document.RootElement;
        Assert.Equal(3, root.GetProperty("version").GetInt32());
        Assert.Equal(2, root.GetProperty("segmentCount").GetInt32());
        JsonElement[] segments = [.. root.GetProperty("segments").EnumerateArray()];
        for (int i = 0; i < 2; i++)
        {
            JsonElement segment = segments[i];
            Assert.Equal(i * (D / 2), segment.GetProperty("offset").GetInt32());
            Assert.Equal(D / 2, segment.GetProperty("length").GetInt32());
            Assert.Equal("tnq", segment.GetProperty("scheme").GetString());
            Assert.Equal(3, segment.GetProperty("bits").GetInt32());
            Assert.Equal("laplace", segment.GetProperty("model").GetProperty("kind").GetString());
            Assert.Equal(JsonValueKind.Null, segment.GetProperty("model").GetProperty("shape").ValueKind);
            double fitted = ModelFit.Laplace(gradient.AsSpan(i * (D / 2), D / 2)).Scale;
            Assert.Equal(fitted, segment.GetProperty("model").GetProperty("scale").GetDouble(), 12);
            Assert.Equal(Quantizers.Design(new TruncatedNonUniform(3), new Laplace(fitted)).Alpha, segment.GetProperty("alpha").GetDouble(), 12);
        }
        double scaleRatio = segments[1].GetProperty("model").GetProperty("scale").GetDouble() / segments[0].GetProperty("model").GetProperty("scale").GetDouble();
        Assert.InRange(scaleRatio, 80, 125);
        string table = Run("codec", "inspect", "--in", PathOf("s.vq")).Output;
        Assert.Contains("payload v3: 2 segments, d = 8192", table, StringComparison.Ordinal);
        Assert.Contains("laplace", table, StringComparison.Ordinal);

        // decode both and compare the total squared error.
        Assert.Equal(0, Run("codec", "decode", "--in", PathOf("s.vq"), "--out", PathOf("s.f32")).Exit);
        Assert.Equal(0, Run("codec", "decode", "--in", PathOf("w.vq"), "--out", PathOf("w.f32")).Exit);
        float[] fromSegments = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf("s.f32"))).ToArray();
        float[] fromWhole = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf("w.f32"))).ToArray();
        static double SquaredError(float[] a, float[] b, int start, int length) =>
            Enumerable.Range(start, length).Sum(j => ((double)a[j] - b[j]) * ((double)a[j] - b[j]));
        double segmentedError = SquaredError(gradient, fromSegments, 0, D);
        double wholeError = SquaredError(gradient, fromWhole, 0, D);
        double smallHalfRatio = SquaredError(gradient, fromSegments, 0, D / 2) / SquaredError(gradient, fromWhole, 0, D / 2);
        // Measured: total ratio 0.41 (the Laplace(1) half dominates: its α rises from the whole vector's 1.6 to 3.2), and
        // on the Laplace(0.01) half 0.0008 (the whole vector's levels are 50× too coarse there).
        Assert.True(segmentedError < 0.6 * wholeError, $"segmented Σ(ĝ − g)² = {segmentedError}, whole = {wholeError}: ratio {segmentedError / wholeError}.");
        Assert.True(smallHalfRatio < 0.01, $"on the small half the segmented/whole squared error ratio is {smallHalfRatio}.");
    }

    /// <summary>
    /// Issue 13's acceptance command as written (<c>--fit auto</c>): each segment is fitted on its own half (scales
    /// 100× apart in inspect), and each decodes unbiased for its truncated values, E[ĝ_j] = clip(g_j, ±α_segment):
    /// over 120 seeds, the sign-weighted error Σ_j sign(g_j)(ĝ_j − clip(g_j)) of each segment (which a magnitude bias,
    /// shrinking or inflating, would make coherent) has mean within 5 standard errors of 0.
    /// </summary>
    [Fact]
    public void SegmentedAutoFit_DecodesEachSegmentUnbiased_ForItsTruncatedValues()
    {
        const int D = 8192, Half = D / 2, Seeds = 120;
        float[] gradient = [.. LaplaceSampler.Vector(Half, 0.01, 41), .. LaplaceSampler.Vector(Half, 1, 42)];
        File.WriteAllBytes(PathOf("a.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        var first = Run("codec", "encode", "--scheme", "tnq", "--bits", "3", "--segments", "bucket:4096", "--fit", "auto", "--seed", "0", "--in", PathOf("a.f32"), "--out", PathOf("a0.vq"));
        Assert.True(first.Exit == 0, first.Error);
        var inspect = Run("codec", "inspect", "--in", PathOf("a0.vq"), "--json");
        Assert.True(inspect.Exit == 0, inspect.Error);
        using JsonDocument document = JsonDocument.Parse(inspect.Output);
        JsonElement[] segments = [.. document.RootElement.GetProperty("segments").EnumerateArray()];
        Assert.Equal(2, segments.Length);
        double[] alphas = [.. segments.Select(segment => segment.GetProperty("alpha").GetDouble())];
        double[] scales = [.. segments.Select(segment => segment.GetProperty("model").GetProperty("scale").GetDouble())];
        Assert.InRange(scales[1] / scales[0], 80, 125);

        var sums = new double[2][];
        for (int half = 0; half < 2; half++)
        {
            sums[half] = new double[Seeds];
        }
        for (int seed = 0; seed < Seeds; seed++)
        {
            string payload = PathOf($"a{seed}.vq");
            string decoded = PathOf("a.out.f32");
            if (seed > 0)
            {
                Assert.Equal(0, Run("codec", "encode", "--scheme", "tnq", "--bits", "3", "--segments", "bucket:4096", "--fit", "auto", "--seed", $"{seed}", "--in", PathOf("a.f32"), "--out", payload).Exit);
            }
            Assert.Equal(0, Run("codec", "decode", "--in", payload, "--out", decoded).Exit);
            float[] estimate = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(decoded)).ToArray();
            for (int j = 0; j < D; j++)
            {
                int half = j / Half;
                double clipped = Math.Clamp(gradient[j], -alphas[half], alphas[half]);
                sums[half][seed] += Math.Sign(gradient[j]) * (estimate[j] - clipped);
            }
        }
        for (int half = 0; half < 2; half++)
        {
            double mean = sums[half].Average();
            double standardError = Math.Sqrt(sums[half].Sum(x => (x - mean) * (x - mean)) / (Seeds - 1) / Seeds);
            Assert.True(standardError > 0, $"segment {half}: no rounding noise at all");
            Assert.True(Math.Abs(mean) <= 5 * standardError,
                $"segment {half} (α = {alphas[half]:G4}): mean signed error {mean:G4} over {Seeds} seeds, standard error {standardError:G4}.");
        }
    }

    [Fact]
    public void Segments_DefaultWholeKeepsTodaysBytes_AndBadLayoutsExitWith2()
    {
        float[] gradient = LaplaceSampler.Vector(1000, 0.1, 9);
        File.WriteAllBytes(PathOf("g.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        Assert.Equal(0, Run("codec", "encode", "--scheme", "tnq", "--in", PathOf("g.f32"), "--out", PathOf("a.vq")).Exit);
        Assert.Equal(0, Run("codec", "encode", "--scheme", "tnq", "--segments", "whole", "--fit", "laplace", "--in", PathOf("g.f32"), "--out", PathOf("b.vq")).Exit);
        var codec = new GradientCodec();
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(3), ModelFit.Laplace(gradient));
        Assert.Equal(codec.Encode(gradient, design, default), File.ReadAllBytes(PathOf("a.vq")));
        Assert.Equal(File.ReadAllBytes(PathOf("a.vq")), File.ReadAllBytes(PathOf("b.vq")));

        // sizes:d is one segment in a container: the same codes as the whole payload, 36 bytes more.
        Assert.Equal(0, Run("codec", "encode", "--scheme", "tnq", "--segments", "sizes:1000", "--in", PathOf("g.f32"), "--out", PathOf("c.vq")).Exit);
        Assert.Equal(File.ReadAllBytes(PathOf("a.vq")), File.ReadAllBytes(PathOf("c.vq"))[36..]);

        // lomax per segment, a zero segment, and every quantizer scheme.
        float[] mixed = [.. LaplaceSampler.Vector(500, 0.1, 1), .. new float[100], .. LaplaceSampler.Vector(400, 2, 2)];
        File.WriteAllBytes(PathOf("m.f32"), MemoryMarshal.AsBytes(mixed.AsSpan()).ToArray());
        foreach (string scheme in new[] { "tnq", "tuq", "tbq", "qsgd", "nuqsgd", "sign", "fp" })
        {
            var encode = Run("codec", "encode", "--scheme", scheme, "--bits", scheme is "sign" ? "1" : scheme is "fp" ? "32" : "3", "--segments", "sizes:500,100,400", "--in", PathOf("m.f32"), "--out", PathOf("m.vq"));
            Assert.True(encode.Exit == 0, scheme + ": " + encode.Error);
            Assert.Equal(0, Run("codec", "decode", "--in", PathOf("m.vq"), "--out", PathOf("m2.f32")).Exit);
            float[] decoded = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf("m2.f32"))).ToArray();
            Assert.All(decoded[500..600], x => Assert.Equal(0f, x));
            var json = Run("codec", "inspect", "--in", PathOf("m.vq"), "--json");
            using JsonDocument document = JsonDocument.Parse(json.Output);
            JsonElement[] segments = [.. document.RootElement.GetProperty("segments").EnumerateArray()];
            // fp sends the zeros themselves; every other scheme marks the segment with scale 0.
            Assert.Equal(scheme != "fp", segments[1].GetProperty("allZero").GetBoolean());
            bool truncates = scheme is "tnq" or "tuq" or "tbq";
            Assert.Equal(truncates ? JsonValueKind.Number : JsonValueKind.Null, segments[0].GetProperty("alpha").ValueKind);
        }
        var lomax = Run("codec", "encode", "--scheme", "tnq", "--segments", "bucket:500", "--fit", "lomax", "--in", PathOf("g.f32"), "--out", PathOf("l.vq"));
        Assert.True(lomax.Exit == 0 || lomax.Error.Contains("Laplace-like", StringComparison.Ordinal), lomax.Error);

        Assert.Contains("is not known", Run("codec", "encode", "--segments", "bucket:0", "--in", PathOf("g.f32"), "--out", PathOf("x.vq")).Error, StringComparison.Ordinal);
        Assert.Contains("covers 30 coordinates, but the input has 1000", Run("codec", "encode", "--segments", "sizes:10,20", "--in", PathOf("g.f32"), "--out", PathOf("x.vq")).Error, StringComparison.Ordinal);
        Assert.Contains("cannot be segmented", Run("codec", "encode", "--scheme", "randk:10", "--segments", "bucket:100", "--in", PathOf("g.f32"), "--out", PathOf("x.vq")).Error, StringComparison.Ordinal);
        Assert.Equal(2, Run("codec", "encode", "--fit", "gauss", "--in", PathOf("g.f32"), "--out", PathOf("x.vq")).Exit);

        byte[] payload = File.ReadAllBytes(PathOf("c.vq"));
        payload[30] ^= 1;
        File.WriteAllBytes(PathOf("bad.vq"), payload);
        var bad = Run("codec", "inspect", "--in", PathOf("bad.vq"));
        Assert.Equal(2, bad.Exit);
        Assert.Contains("version 3", bad.Error, StringComparison.Ordinal);
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
