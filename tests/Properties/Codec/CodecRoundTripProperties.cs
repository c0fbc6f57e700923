using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>decode(encode(x)) against the design: on its levels, next to clip(x), unbiased, with Lemma 1's variance.</summary>
public class CodecRoundTripProperties
{
    private static readonly GradientCodec s_codec = new();

    private static Arbitrary<(string Scheme, int Bits, int Length, int Seed)> Cases() =>
        (from schemeIndex in Gen.Choose(0, CodecFixtures.AllSchemes().Count() - 1)
         from length in Gen.Choose(1, 600)
         from seed in Gen.Choose(0, int.MaxValue)
         let scheme = CodecFixtures.AllSchemes().ElementAt(schemeIndex)
         select (scheme.Scheme, scheme.Bits, length, seed)).ToArbitrary();

    [Property(MaxTest = 80)]
    public Property Decoded_LiesOnTheDesignLevels_NextToTheClippedInput() =>
        Prop.ForAll(Cases(), c =>
        {
            QuantizerDesign design = CodecFixtures.Design(c.Scheme, c.Bits);
            float[] gradient = CodecFixtures.Gradient(c.Length, c.Seed, design);
            byte[] payload = s_codec.Encode(gradient, design, new RoundingKey((ulong)c.Seed, 1, 2));
            PayloadHeader header = GradientCodec.ReadHeader(payload);
            float[] decoded = s_codec.Decode(payload);
            return (design.Spec switch
            {
                FullPrecision => gradient.AsSpan().SequenceEqual(decoded),
                Sign => SignDecoded(design, gradient, decoded),
                NormScaledSpec => NormScaledDecoded(s_codec.DecodedLevels(header), header, gradient, decoded),
                // docs/wire-format.md, "All-zero vector": a gradient of ±0 only is sent with scale 0 and decodes to +0.0
                // everywhere, whatever the design (its levels need not include 0); only such a gradient may be.
                _ when header.IsAllZero => gradient.All(g => g == 0) && decoded.All(v => v == 0 && !float.IsNegative(v)),
                _ => TruncatedDecoded(design, gradient, decoded),
            }).Label($"{c.Scheme} b={c.Bits} d={c.Length}");
        });

    private static bool TruncatedDecoded(QuantizerDesign design, float[] gradient, float[] decoded)
    {
        float[] levels = [.. design.Levels.Select(l => (float)l)];
        for (int j = 0; j < gradient.Length; j++)
        {
            float x = Math.Clamp(gradient[j], levels[0], levels[^1]);
            int k = Rounding.UpperIndex([.. levels.Select(l => (double)l)], x);
            bool onNeighbour = decoded[j] == levels[k - 1] || decoded[j] == levels[k];
            bool exactOnLevel = !levels.Contains(x) || decoded[j] == x;
            if (!onNeighbour || !exactOnLevel)
            {
                return false;
            }
        }
        return true;
    }

    private static bool SignDecoded(QuantizerDesign design, float[] gradient, float[] decoded)
    {
        float m = (float)design.Levels[1];
        bool allZero = gradient.All(g => g == 0);
        return gradient.Zip(decoded).All(p => allZero ? p.Second == 0 : p.Second == (p.First >= 0 ? m : -m));
    }

    private static bool NormScaledDecoded(ImmutableArray<float> table, PayloadHeader header, float[] gradient, float[] decoded)
    {
        if (header.IsAllZero)
        {
            return decoded.All(v => v == 0);
        }
        int half = table.Length / 2;
        float[] magnitudes = [.. table.Take(half)];
        double norm = header.Scale;
        for (int j = 0; j < gradient.Length; j++)
        {
            // Sign preserved, magnitude one of the two decoded magnitudes around |g_j|.
            double r = Math.Abs(gradient[j]) / norm;
            int k = Rounding.UpperIndex([.. magnitudes.Select(m => m / norm)], Math.Min(r, 1));
            float magnitude = Math.Abs(decoded[j]);
            bool signKept = gradient[j] >= 0 ? !float.IsNegative(decoded[j]) : decoded[j] <= 0;
            bool neighbour = magnitude == magnitudes[k - 1] || magnitude == magnitudes[k] || (k >= 2 && magnitude == magnitudes[k - 2]) || (k < half - 1 && magnitude == magnitudes[k + 1]);
            if (!table.Contains(decoded[j]) || !signKept || !neighbour)
            {
                return false;
            }
        }
        return true;
    }

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tnq", 8)]
    [InlineData("tuq", 2)]
    [InlineData("tbq", 3)]
    [InlineData("tnq", 1)]
    public void Rounding_IsUnbiasedForTheClippedInput_WithLemma1Variance(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] levels = [.. design.Levels.Select(l => (float)l)];
        // 64 points across [−1.2α, 1.2α], some on levels, some beyond ±α.
        float[] x = [.. Enumerable.Range(0, 64).Select(i => i % 9 == 0 ? levels[i % levels.Length] : (float)(design.Alpha * (-1.2 + (2.4 * i / 63.0))))];
        const int Replicates = 4000;
        double[] sum = new double[x.Length];
        double[] sumSquares = new double[x.Length];
        var decoded = new float[x.Length];
        byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, x.Length)];
        for (int r = 0; r < Replicates; r++)
        {
            s_codec.Encode(x, design, new RoundingKey(2024, r, 0), payload);
            s_codec.Decode(payload, decoded);
            for (int j = 0; j < x.Length; j++)
            {
                double clipped = Math.Clamp(x[j], levels[0], levels[^1]);
                sum[j] += decoded[j];
                sumSquares[j] += (decoded[j] - clipped) * (decoded[j] - clipped);
            }
        }
        double totalVariance = 0, totalObserved = 0, fourthMomentSum = 0;
        for (int j = 0; j < x.Length; j++)
        {
            double clipped = Math.Clamp(x[j], levels[0], levels[^1]);
            (double variance, double fourth) = TwoPointMoments(levels, clipped);
            double mean = sum[j] / Replicates;
            double standardError = Math.Sqrt(variance / Replicates);
            Assert.True(Math.Abs(mean - clipped) <= (5 * standardError) + 1e-6 * Math.Abs(clipped),
                $"{scheme} b={bits}: coordinate {j} (x = {x[j]}) has mean {mean}, clip(x) = {clipped}, 5 SE = {5 * standardError}.");
            totalVariance += variance;
            totalObserved += sumSquares[j] / Replicates;
            fourthMomentSum += fourth - (variance * variance);
        }
        double varianceError = Math.Sqrt(fourthMomentSum / Replicates);
        Assert.True(Math.Abs(totalObserved - totalVariance) <= 5 * varianceError,
            $"{scheme} b={bits}: Σ observed variance {totalObserved}, Σ (l_k − x)(x − l_(k−1)) = {totalVariance}, 5 SE = {5 * varianceError}.");
    }

    [Fact]
    public void AveragingNUploads_DividesTheRoundingVarianceByN()
    {
        QuantizerDesign design = CodecFixtures.Design("tnq", 3);
        float[] levels = [.. design.Levels.Select(l => (float)l)];
        float[] x = [.. Enumerable.Range(0, 48).Select(i => (float)(design.Alpha * (-0.95 + (1.9 * i / 47.0))))];
        const int Clients = 8, Replicates = 1500;
        var average = new float[x.Length];
        byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, x.Length)];
        double observed = 0, expected = 0, errorSquare = 0;
        for (int r = 0; r < Replicates; r++)
        {
            Array.Clear(average);
            for (int client = 0; client < Clients; client++)
            {
                s_codec.Encode(x, design, new RoundingKey(7, r, client), payload);
                s_codec.DecodeAccumulate(payload, average, 1.0f / Clients);
            }
            for (int j = 0; j < x.Length; j++)
            {
                observed += (average[j] - (double)x[j]) * (average[j] - (double)x[j]) / Replicates;
            }
        }
        foreach (float value in x)
        {
            (double variance, double fourth) = TwoPointMoments(levels, value);
            double n = Clients;
            expected += variance / n;
            // Fourth central moment of a mean of n i.i.d. draws: μ4/n³ + 3(n − 1)σ⁴/n³.
            double meanFourth = (fourth / (n * n * n)) + (3 * (n - 1) * variance * variance / (n * n * n));
            errorSquare += meanFourth - ((variance / n) * (variance / n));
        }
        double standardError = Math.Sqrt(errorSquare / Replicates);
        Assert.True(Math.Abs(observed - expected) <= (5 * standardError) + 1e-9,
            $"Σ variance of the {Clients}-client average: observed {observed}, expected Σσ²/N = {expected}, 5 SE = {5 * standardError}.");
    }

    [Theory]
    [InlineData("qsgd", 3)]
    [InlineData("nuqsgd", 4)]
    public void NormScaledRounding_IsUnbiased_AndPreservesSigns(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] v = [3, -4, 0.5f, -0.25f, 0, 1.5f, -2.75f, 0.125f];
        const int Replicates = 6000;
        double[] sum = new double[v.Length];
        var decoded = new float[v.Length];
        byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, v.Length)];
        ImmutableArray<float> table = [];
        for (int r = 0; r < Replicates; r++)
        {
            s_codec.Encode(v, design, new RoundingKey(99, r, 1), payload);
            table = s_codec.DecodedLevels(GradientCodec.ReadHeader(payload));
            s_codec.Decode(payload, decoded);
            for (int j = 0; j < v.Length; j++)
            {
                Assert.True(v[j] >= 0 ? decoded[j] >= 0 : decoded[j] <= 0, $"coordinate {j} lost its sign");
                sum[j] += decoded[j];
            }
        }
        float[] magnitudes = [.. table.Take(table.Length / 2)];
        for (int j = 0; j < v.Length; j++)
        {
            (double variance, _) = TwoPointMoments(magnitudes, Math.Abs(v[j]));
            double mean = sum[j] / Replicates;
            Assert.True(Math.Abs(mean - v[j]) <= (5 * Math.Sqrt(variance / Replicates)) + (1e-6 * Math.Abs(v[j])),
                $"{scheme} b={bits}: coordinate {j} = {v[j]} has mean {mean}.");
        }
    }

    [Fact]
    public void QsgdPayload_CarriesTheNormRoundedUp_AndTheSpecExampleProbabilities()
    {
        // Spec §6 item 19: v = (3, −4), s = 3 (b = 3): ‖v‖ = 5, up-probabilities (0.8, 0.4).
        QuantizerDesign design = Quantizers.Design(new Qsgd(3), new Laplace(1), 2);
        float[] v = [3, -4];
        const int Replicates = 20000;
        int up0 = 0, up1 = 0;
        for (int r = 0; r < Replicates; r++)
        {
            float[] decoded = s_codec.Decode(s_codec.Encode(v, design, new RoundingKey(5, r, 0)));
            up0 += decoded[0] > 3 ? 1 : 0;
            up1 += decoded[1] < -4 ? 1 : 0;
        }
        Assert.Equal(5f, GradientCodec.ReadHeader(s_codec.Encode(v, design, default)).Scale);
        Assert.InRange(up0 / (double)Replicates, 0.8 - (5 * Math.Sqrt(0.16 / Replicates)), 0.8 + (5 * Math.Sqrt(0.16 / Replicates)));
        Assert.InRange(up1 / (double)Replicates, 0.4 - (5 * Math.Sqrt(0.24 / Replicates)), 0.4 + (5 * Math.Sqrt(0.24 / Replicates)));
    }

    [Theory]
    [MemberData(nameof(CodecFixtures.SchemeData), MemberType = typeof(CodecFixtures))]
    public void AllZeroGradient_Encodes_AndDecodesToExactZeros(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] zeros = [0, -0.0f, 0, 0, 0, 0, 0, 0, 0, 0, -0.0f];
        byte[] payload = s_codec.Encode(zeros, design, new RoundingKey(1, 1, 1));
        PayloadHeader header = GradientCodec.ReadHeader(payload);
        Assert.Equal(scheme == "fp" ? 1f : 0f, header.Scale);
        Assert.All(s_codec.Decode(payload), value => Assert.Equal(0f, value));
        var sum = new float[zeros.Length];
        sum.AsSpan().Fill(1.5f);
        s_codec.DecodeAccumulate(payload, sum, 0.5f);
        Assert.All(sum, value => Assert.Equal(1.5f, value));

        var modelFree = new byte[payload.Length];
        Assert.Equal(payload.Length, GradientCodec.EncodeZero(design.Spec, zeros.Length, modelFree));
        Assert.All(s_codec.Decode(modelFree), value => Assert.Equal(0f, value));
    }

    [Property(MaxTest = 40)]
    public Property DecodeAccumulate_EqualsDecodeThenWeightedAdd() =>
        Prop.ForAll(Cases(), c =>
        {
            QuantizerDesign design = CodecFixtures.Design(c.Scheme, c.Bits);
            float[] gradient = CodecFixtures.Gradient(c.Length, c.Seed, design);
            byte[] payload = s_codec.Encode(gradient, design, new RoundingKey(3, c.Seed, 0));
            float[] decoded = s_codec.Decode(payload);
            float weight = 1f / ((c.Seed % 7) + 1);
            float[] start = CodecFixtures.Gradient(c.Length, c.Seed + 1, design);
            float[] fused = (float[])start.Clone();
            s_codec.DecodeAccumulate(payload, fused, weight);
            return fused.Select((value, j) => value == start[j] + (weight * decoded[j])).All(ok => ok)
                .Label($"{c.Scheme} b={c.Bits} d={c.Length}");
        });

    [Theory]
    [MemberData(nameof(CodecFixtures.SchemeData), MemberType = typeof(CodecFixtures))]
    public void HeaderRoundTrip_RebuildsTheEncodersLevelsBitForBit(string scheme, int bits)
    {
        // Spec §6 item 18: a decoder given only the header rebuilds the same levels.
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] gradient = CodecFixtures.Gradient(100, 5, design);
        byte[] payload = s_codec.Encode(gradient, design, new RoundingKey(8, 0, 0));
        PayloadHeader header = GradientCodec.ReadHeader(payload);
        Assert.Equal(design.Spec, header.ToSpec());
        ImmutableArray<float> table = new GradientCodec().DecodedLevels(header);
        switch (design.Spec)
        {
            case TruncatedSpec:
                Assert.Equal(design.Model, header.ToModel());
                Assert.Equal(design.Levels.Select(l => (float)l), table);
                Assert.Equal(design.Alpha, header.Alpha);
                Assert.Equal(design.Split?.Beta ?? 0, header.Beta);
                break;
            case Sign:
                Assert.Equal(new[] { -(float)design.Levels[1], (float)design.Levels[1] }, table.ToArray());
                break;
            case NormScaledSpec normScaled:
                ImmutableArray<double> magnitudes = NormScaled.Magnitudes(normScaled);
                Assert.Equal(magnitudes.Select(m => (float)(m * header.Scale)), table.Take(magnitudes.Length));
                break;
            default:
                Assert.Empty(table);
                break;
        }
    }

    /// <summary>Var and fourth central moment of Q(x) on the given ascending levels (Lemma 1's two-point law).</summary>
    private static (double Variance, double Fourth) TwoPointMoments(float[] levels, double x)
    {
        int k = Rounding.UpperIndex([.. levels.Select(l => (double)l)], x);
        double below = x - levels[k - 1], above = levels[k] - x;
        double width = below + above;
        double p = width == 0 ? 0 : below / width;
        double variance = above * below;
        double fourth = ((1 - p) * Math.Pow(below, 4)) + (p * Math.Pow(above, 4));
        return (variance, fourth);
    }
}
