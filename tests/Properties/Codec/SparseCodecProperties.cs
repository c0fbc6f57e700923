using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Codec.Audit;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>
/// The sparsifiers in the codec (spec §4.1, §6 item 21): unbiased, E‖C(v) − v‖² = ω‖v‖², rand-k keeps exactly k, the
/// decoded values are v_j/q (or v_j·d/k) in float32, every path writes the same bytes, and malformed sparse payloads
/// raise CodecFormatException naming the problem. Also the unit sign of DSignSGD.
/// </summary>
public class SparseCodecProperties
{
    private static readonly GradientCodec s_codec = new();
    private static readonly Laplace s_model = new(0.01);

    private static QuantizerDesign Bernoulli(double q) => Quantizers.Design(new BernoulliSparsification(q), s_model);

    private static QuantizerDesign RandK(int k, int d) => Quantizers.Design(new RandKSparsification(k), s_model, d);

    /// <summary>The keep probability the codec realises: q rounded to a multiple of 2^−24.</summary>
    private static double Effective(double q) => Math.Clamp(Math.Round(q * (1 << 24), MidpointRounding.ToEven), 1, 1 << 24) / (1 << 24);

    private static bool Kept(byte[] payload, int j) => ((payload[PayloadHeader.Size + (j >> 3)] >> (j & 7)) & 1) != 0;

    private static bool SameBits(float a, float b) => BitConverter.SingleToUInt32Bits(a) == BitConverter.SingleToUInt32Bits(b);

    private static float[] Vector(int length, int seed)
    {
        var random = new Random(seed);
        var v = new float[length];
        for (int j = 0; j < length; j++)
        {
            v[j] = random.Next(8) switch
            {
                0 => 0,
                1 => -0.0f,
                2 => (float)(random.NextDouble() * 1e3),
                _ => (float)((random.NextDouble() - 0.5) * 2),
            };
        }
        return v;
    }

    private static Arbitrary<(double Q, int Length, int Seed)> BernoulliCases() =>
        (from q in Gen.Elements(1.0, 0.5, 0.37, 0.1, 0.01, 1e-7, 2.9e-8)
         from length in Gen.Choose(0, 700)
         from seed in Gen.Choose(0, int.MaxValue)
         select (q, length, seed)).ToArbitrary();

    private static Arbitrary<(int K, int Length, int Seed)> RandKCases() =>
        (from length in Gen.Choose(1, 700)
         from k in Gen.Choose(1, length)
         from seed in Gen.Choose(0, int.MaxValue)
         select (k, length, seed)).ToArbitrary();

    // ---- round trip -------------------------------------------------------------------------------------------

    [Property(MaxTest = 100)]
    public Property Bernoulli_DecodesToVOverQ_OnKeptCoordinates_AndKeepsExactlyWhereUIsBelowQ() =>
        Prop.ForAll(BernoulliCases(), c =>
        {
            float[] v = Vector(c.Length, c.Seed);
            var key = new RoundingKey((ulong)c.Seed, 3, 1);
            byte[] payload = s_codec.Encode(v, Bernoulli(c.Q), key);
            PayloadHeader header = GradientCodec.ReadHeader(payload);
            float[] decoded = s_codec.Decode(payload);
            double q = Effective(c.Q);
            int kept = 0;
            bool ok = header.Version == 2 && header.Scheme == WireScheme.Bernoulli && header.Alpha == q;
            for (int j = 0; j < v.Length; j++)
            {
                bool keep = Kept(payload, j);
                kept += keep ? 1 : 0;
                ok &= keep == (key.Uniform(j) < q);
                ok &= keep ? SameBits(decoded[j], (float)(v[j] / q)) : SameBits(decoded[j], 0f);
            }
            return (ok && kept == header.ValueCount && payload.Length == PayloadHeader.Size + ((v.Length + 7) / 8) + (4 * kept))
                .Label($"q={c.Q} d={c.Length}: kept {kept}, header {header}");
        });

    [Property(MaxTest = 100)]
    public Property RandK_KeepsExactlyK_AndDecodesToVTimesDOverK() =>
        Prop.ForAll(RandKCases(), c =>
        {
            float[] v = Vector(c.Length, c.Seed);
            byte[] payload = s_codec.Encode(v, RandK(c.K, c.Length), new RoundingKey((ulong)c.Seed, 0, 2));
            PayloadHeader header = GradientCodec.ReadHeader(payload);
            float[] decoded = s_codec.Decode(payload);
            double scale = (double)c.Length / c.K;
            int kept = 0;
            bool ok = header.Scheme == WireScheme.RandK && header.Alpha == c.K && header.ValueCount == c.K;
            for (int j = 0; j < v.Length; j++)
            {
                bool keep = Kept(payload, j);
                kept += keep ? 1 : 0;
                ok &= keep ? SameBits(decoded[j], (float)(v[j] * scale)) : SameBits(decoded[j], 0f);
            }
            return (ok && kept == c.K && payload.Length == GradientCodec.GetMaxEncodedLength(new RandKSparsification(c.K), c.Length))
                .Label($"k={c.K} d={c.Length}: kept {kept}");
        });

    [Fact]
    public void MaxEncodedLength_IsTheWorstCase_ReachedByQEqualOne()
    {
        float[] v = Vector(1001, 5);
        byte[] payload = s_codec.Encode(v, Bernoulli(1), new RoundingKey(1, 2, 3));
        Assert.Equal(GradientCodec.GetMaxEncodedLength(new BernoulliSparsification(0.01), v.Length), payload.Length);
        Assert.Equal(PayloadHeader.Size + 126 + (4 * 1001), payload.Length);
        Assert.Equal(v, s_codec.Decode(payload));
        Assert.Contains("k must be at most d", Assert.Throws<ArgumentOutOfRangeException>(() => GradientCodec.GetMaxEncodedLength(new RandKSparsification(5), 4)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => s_codec.Encode(new float[4], RandK(5, 10), default));
    }

    [Property(MaxTest = 60)]
    public Property DecodeAccumulate_EqualsWeightTimesDecode_AddedInFloat32() =>
        Prop.ForAll(
            (from randK in Gen.Elements(false, true)
             from length in Gen.Choose(1, 500)
             from seed in Gen.Choose(0, int.MaxValue)
             from weight in Gen.Elements(0.125f, 1f / 3, -0.7f, 2f)
             select (RandK: randK, Length: length, Seed: seed, Weight: weight)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = c.RandK ? RandK(Math.Max(1, c.Length / 3), c.Length) : Bernoulli(0.3);
                byte[] payload = s_codec.Encode(Vector(c.Length, c.Seed), design, new RoundingKey(7, c.Seed, 0));
                float[] decoded = s_codec.Decode(payload);
                var random = new Random(c.Seed);
                float[] sum = [.. Enumerable.Range(0, c.Length).Select(_ => (float)(random.NextDouble() + 0.5))];
                float[] expected = [.. sum.Zip(decoded, (s, x) => s + (c.Weight * x))];
                foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
                {
                    float[] actual = (float[])sum.Clone();
                    codec.DecodeAccumulate(payload, actual, c.Weight);
                    if (!expected.AsSpan().SequenceEqual(actual))
                    {
                        return false.Label($"{design.Spec.Label} d={c.Length} on {codec.Path}");
                    }
                }
                return true.ToProperty();
            });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryPathChunkingAndThreadCount_WritesTheSameBytes(bool randK)
    {
        var key = new RoundingKey(42, 3, 5);
        foreach (int length in Enumerable.Range(0, 130).Concat([4093, 20_011]))
        {
            if (randK && length == 0)
            {
                continue;
            }
            QuantizerDesign design = randK ? RandK(Math.Max(1, length / 5), length) : Bernoulli(0.2);
            float[] v = Vector(length, length);
            byte[] expected = CodecFixtures.Scalar.Encode(v, design, key);
            float[] decoded = CodecFixtures.Scalar.Decode(expected);
            foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
            {
                Assert.True(expected.AsSpan().SequenceEqual(codec.Encode(v, design, key)), $"{design.Spec.Label} d={length}: {codec.Path} differs.");
                Assert.True(decoded.AsSpan().SequenceEqual(codec.Decode(expected)), $"{design.Spec.Label} d={length}: {codec.Path} decodes differently.");
                var chunked = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, length)];
                Assert.True(codec.TryEncodeCore(v, design, key, chunked, out int written, chunkLength: 16));
                Assert.True(expected.AsSpan().SequenceEqual(chunked.AsSpan(0, written)));
            }
            var parallel = new GradientCodec(new CodecOptions { MaxDegreeOfParallelism = 2, ParallelMinimumLength = 1, ParallelChunkLength = 1024 });
            Assert.True(expected.AsSpan().SequenceEqual(parallel.Encode(v, design, key)));
        }
    }

    // ---- statistics (spec §6 item 21) -------------------------------------------------------------------------

    private const int Draws = 4000;
    private const double Sigmas = 5;

    /// <summary>A fixed vector with magnitudes over four decades and both signs.</summary>
    private static readonly float[] s_statisticsVector = [.. Enumerable.Range(0, 24).Select(j => (float)((j % 2 == 0 ? 1 : -1) * Math.Pow(10, (j % 4) - 2) * (1 + (j / 7.0))))];

    public static TheoryData<string> Sparsifiers() => ["bernoulli:0.1", "bernoulli:0.37", "bernoulli:0.9", "randk:1", "randk:5", "randk:19", "randk:24"];

    private static QuantizerDesign DesignOf(string scheme) =>
        Quantizers.Design(Schemes.Parse(scheme, 1), s_model, s_statisticsVector.Length);

    private static double OmegaOf(QuantizerDesign design) => design.Spec is BernoulliSparsification b
        ? (1 / Effective(b.KeepProbability)) - 1
        : ((SparsifierSpec)design.Spec).Omega(s_statisticsVector.Length);

    [Theory]
    [MemberData(nameof(Sparsifiers))]
    public void MonteCarloOverKeys_IsUnbiased_AndHasErrorOmegaTimesNormSquared(string scheme)
    {
        float[] v = s_statisticsVector;
        int d = v.Length;
        QuantizerDesign design = DesignOf(scheme);
        double omega = OmegaOf(design);
        var mean = new double[d];
        var squaredErrors = new double[Draws];
        var decoded = new float[d];
        byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, d)];
        for (int draw = 0; draw < Draws; draw++)
        {
            int written = s_codec.Encode(v, design, new RoundingKey(2026, draw, 11), payload);
            s_codec.Decode(payload.AsSpan(0, written), decoded);
            double error = 0;
            for (int j = 0; j < d; j++)
            {
                mean[j] += decoded[j];
                double e = (double)decoded[j] - v[j];
                error += e * e;
            }
            squaredErrors[draw] = error;
        }
        for (int j = 0; j < d; j++)
        {
            mean[j] /= Draws;
            // Var C_j = ω v_j² exactly (both sparsifiers' marginals), plus float32 rounding of the sent value.
            double standardError = Math.Abs(v[j]) * Math.Sqrt(omega / Draws);
            double tolerance = (Sigmas * standardError) + (1e-6 * Math.Abs(v[j]) * (omega + 1));
            Assert.True(Math.Abs(mean[j] - v[j]) <= tolerance, $"{scheme}: E[C(v)]_{j} ≈ {mean[j]:G9}, v_j = {v[j]:G9}, tolerance {tolerance:G3}.");
        }
        double normSquared = v.Sum(x => (double)x * x);
        double mse = squaredErrors.Average();
        double spread = Math.Sqrt(squaredErrors.Sum(e => (e - mse) * (e - mse)) / (Draws - 1) / Draws);
        double expected = omega * normSquared;
        Assert.True(
            Math.Abs(mse - expected) <= (Sigmas * spread) + (1e-6 * normSquared * (omega + 1)),
            $"{scheme}: E‖C(v) − v‖² ≈ {mse:G6} ± {spread:G3}, ω‖v‖² = {expected:G6}.");
    }

    [Fact]
    public void RandK_KeepsEachCoordinateWithProbabilityKOverD()
    {
        // Selection sampling makes every k-subset equally likely, so each coordinate is kept w.p. k/d.
        const int d = 13, k = 4;
        QuantizerDesign design = RandK(k, d);
        var counts = new int[d];
        float[] ones = [.. Enumerable.Repeat(1f, d)];
        for (int draw = 0; draw < Draws; draw++)
        {
            byte[] payload = s_codec.Encode(ones, design, new RoundingKey(99, draw, 0));
            for (int j = 0; j < d; j++)
            {
                counts[j] += Kept(payload, j) ? 1 : 0;
            }
        }
        double p = (double)k / d;
        double standardError = Math.Sqrt(p * (1 - p) * Draws);
        Assert.All(counts, count => Assert.InRange(count, (p * Draws) - (Sigmas * standardError), (p * Draws) + (Sigmas * standardError)));
    }

    [Fact]
    public void EncodingAudit_OfASparsePayload_ExpectsOmegaTimesMeanSquare()
    {
        float[] v = Vector(5000, 17);
        QuantizerDesign design = Bernoulli(0.25);
        byte[] payload = s_codec.Encode(v, design, new RoundingKey(1, 1, 1));
        EncodingAudit audit = EncodingAudit.Measure(s_codec, v, payload, new float[v.Length]);
        double meanSquare = v.Average(x => (double)x * x);
        Assert.Equal(3 * meanSquare, audit.ExpectedRoundingVariance, 9);
        Assert.Equal(audit.MeanSquaredError, audit.RoundingVariance);
        Assert.Equal(0, audit.TruncationRate);
        Assert.InRange(audit.MeanSquaredError, 0.5 * audit.ExpectedRoundingVariance, 2 * audit.ExpectedRoundingVariance);
    }

    // ---- encoder input ----------------------------------------------------------------------------------------

    [Fact]
    public void NonFiniteInput_IsRejectedAtTheFirstBadIndex_KeptOrNot()
    {
        foreach (QuantizerDesign design in new[] { Bernoulli(0.01), Bernoulli(1), RandK(1, 300), RandK(300, 300) })
        {
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[] v = Vector(300, 1);
                v[137] = bad;
                v[250] = float.NaN;
                foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
                {
                    ArgumentException error = Assert.Throws<ArgumentException>(() => codec.Encode(v, design, default));
                    Assert.Contains("Coordinate 137 ", error.Message, StringComparison.Ordinal);
                }
            }
        }
        ArgumentException overflow = Assert.Throws<ArgumentException>(() => s_codec.Encode([float.MaxValue, float.MaxValue, -float.MaxValue, float.MaxValue], RandK(1, 4), default));
        Assert.Contains("does not fit in float32", overflow.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeZero_IsTheEncodingOfZeros_AndDecodesToZero()
    {
        foreach (SparsifierSpec spec in new SparsifierSpec[] { new BernoulliSparsification(0.3), new RandKSparsification(7) })
        {
            var payload = new byte[GradientCodec.GetMaxEncodedLength(spec, 50)];
            int written = GradientCodec.EncodeZero(spec, 50, payload);
            QuantizerDesign design = Quantizers.Design(spec, s_model, 50);
            Assert.Equal(s_codec.Encode(new float[50], design, default), payload[..written]);
            Assert.All(s_codec.Decode(payload.AsSpan(0, written)), x => Assert.True(SameBits(x, 0f)));
        }
    }

    // ---- malformed payloads -----------------------------------------------------------------------------------

    private static byte[] Reseal(byte[] payload)
    {
        uint crc = Crc32C.Append(Crc32C.Compute(payload.AsSpan(0, 56)), payload.AsSpan(PayloadHeader.Size));
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(56), crc);
        return payload;
    }

    private static void Expect(byte[] payload, string fragment, Func<byte[], byte[]> mutate, bool reseal = true)
    {
        byte[] copy = mutate((byte[])payload.Clone());
        if (reseal)
        {
            Reseal(copy);
        }
        CodecFormatException error = Assert.Throws<CodecFormatException>(() => s_codec.Decode(copy));
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedBernoulliPayloads_AreRejectedWithTheirReason()
    {
        // d = 10: bitmap of 2 bytes with 6 padding bits.
        float[] v = [1, -2, 0.5f, 0, 3, -0.25f, 4, -1, 2, 0.125f];
        byte[] payload = s_codec.Encode(v, Bernoulli(0.5), new RoundingKey(3, 0, 1));
        int bitmapEnd = PayloadHeader.Size + 2;
        Assert.Equal(0xC2, payload[PayloadHeader.Size]);
        Expect(payload, "popcount", p => Set(p, PayloadHeader.Size, 0xC3));
        Expect(payload, "popcount", p => Set(p, PayloadHeader.Size, 0x42));
        Expect(payload, "padding bits", p => Set(p, PayloadHeader.Size + 1, 0x80));
        Expect(payload, "out of range", p => WriteDouble(p, 24, 1.5));
        Expect(payload, "out of range", p => WriteDouble(p, 24, 0));
        Expect(payload, "out of range", p => WriteDouble(p, 24, double.NaN));
        Expect(payload, "multiple of 2^−24", p => WriteDouble(p, 24, 0.3));
        Expect(payload, "non-finite", p => WriteSingle(p, bitmapEnd + 4, float.NaN));
        Expect(payload, "non-finite", p => WriteSingle(p, bitmapEnd, float.NegativeInfinity));
        Expect(payload, "trailing", p => [.. p, 0], reseal: false);
        Expect(payload, "payload length", p => [.. WriteUInt32(p, 16, 15), 0]);
        Expect(payload, "payload length", p => WriteUInt32(p, 16, 1));
        Expect(payload, "truncated", p => p[..^1], reseal: false);
        Expect(payload, "CRC-32C", p => Set(p, bitmapEnd + 1, (byte)(p[bitmapEnd + 1] ^ 4)), reseal: false);
        Expect(payload, "version 1", p => Set(p, 4, 1));
        Expect(payload, "version 3", p => Set(p, 4, 3));
        Expect(payload, "scale 1", p => WriteSingle(p, 20, 0));
        Expect(payload, "bits byte is 32", p => Set(p, 6, 1));
        Expect(payload, "carries no threshold or model", p => Set(p, 8, 1));
        Expect(payload, "carries no threshold or model", p => WriteDouble(p, 32, 1));
        Expect(payload, "Reserved", p => Set(p, 10, 1));

        // A NaN value leaves a running sum untouched.
        byte[] nan = Reseal(WriteSingle((byte[])payload.Clone(), bitmapEnd, float.NaN));
        float[] sum = [.. Enumerable.Repeat(0.5f, 10)];
        Assert.Throws<CodecFormatException>(() => s_codec.DecodeAccumulate(nan, sum, 1));
        Assert.All(sum, x => Assert.Equal(0.5f, x));
    }

    [Fact]
    public void MalformedRandKPayloads_AreRejectedWithTheirReason()
    {
        byte[] payload = s_codec.Encode([1.5f, -2, 0.25f, 4, -1, 0.5f, 3], RandK(3, 7), new RoundingKey(5, 2, 0));
        Expect(payload, "must be equal", p => WriteDouble(p, 24, 2));
        Expect(payload, "out of range", p => WriteDouble(p, 24, 8));
        Expect(payload, "out of range", p => WriteDouble(p, 24, 2.5));
        Expect(payload, "out of range", p => WriteDouble(p, 24, 0));
        Expect(payload, "popcount", p => Set(p, PayloadHeader.Size, 0x55));
        Expect(payload, "padding bits", p => Set(p, PayloadHeader.Size, 0xD4));
        Expect(payload, "must be equal", p => [.. WriteUInt32(p, 16, 17), 0, 0, 0, 0]);
        Expect(payload, "non-finite", p => WriteSingle(p, PayloadHeader.Size + 1 + 8, float.PositiveInfinity));
        Expect(payload, "Unknown scheme byte 9", p => Set(p, 5, 9));
        Expect(payload, "version 1", p => Set(p, 4, 1));
    }

    [Fact]
    public void Version2_IsVersion1PlusTheSparsifiers_SoOldSchemesReadUnderEitherNumber()
    {
        foreach ((string scheme, int bits) in new[] { ("tnq", 3), ("qsgd", 4), ("sign", 1), ("fp", 32) })
        {
            QuantizerDesign design = CodecFixtures.Design(scheme, bits);
            byte[] payload = s_codec.Encode(CodecFixtures.Gradient(100, 3, design), design, new RoundingKey(1, 2, 3));
            Assert.Equal(1, payload[4]);
            byte[] asVersion2 = Reseal(Set((byte[])payload.Clone(), 4, 2));
            Assert.Equal(2, GradientCodec.ReadHeader(asVersion2).Version);
            Assert.Equal(s_codec.Decode(payload), s_codec.Decode(asVersion2));
        }
    }

    [Property(MaxTest = 400)]
    public Property MutatedSparsePayloads_RaiseOnlyCodecFormatException_EvenWithAValidChecksum() =>
        Prop.ForAll(
            (from randK in Gen.Elements(false, true)
             from length in Gen.Choose(1, 70)
             from position in Gen.Choose(0, 1000)
             from value in Gen.Choose(0, 255)
             from operation in Gen.Choose(0, 4)
             from reseal in Gen.Elements(false, true)
             select (RandK: randK, Length: length, Position: position, Value: (byte)value, Operation: operation, Reseal: reseal)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = c.RandK ? RandK(1 + (c.Position % c.Length), c.Length) : Bernoulli(0.4);
                byte[] payload = s_codec.Encode(Vector(c.Length, c.Position), design, new RoundingKey(1, c.Position, 0));
                int at = c.Position % payload.Length;
                byte[] mutated = c.Operation switch
                {
                    0 => Set((byte[])payload.Clone(), at, c.Value),
                    1 => Set((byte[])payload.Clone(), at % PayloadHeader.Size, c.Value),
                    2 => payload[..at],
                    3 => [.. payload, c.Value],
                    _ => Set((byte[])payload.Clone(), at, (byte)(payload[at] ^ (1 << (c.Value & 7)))),
                };
                if (c.Reseal && mutated.Length >= PayloadHeader.Size)
                {
                    Reseal(mutated);
                }
                try
                {
                    PayloadHeader header = GradientCodec.ReadHeader(mutated);
                    var values = new float[header.Dimension];
                    s_codec.Decode(mutated, values);
                    s_codec.DecodeAccumulate(mutated, values, 0.5f);
                    _ = s_codec.DecodedLevels(header);
                    return true.Label("decoded");
                }
                catch (CodecFormatException exception)
                {
                    return (exception.Message.Length > 0).Label(exception.Message);
                }
            });

    private static byte[] Set(byte[] payload, int index, byte value)
    {
        payload[index] = value;
        return payload;
    }

    private static byte[] WriteDouble(byte[] payload, int offset, double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(offset), value);
        return payload;
    }

    private static byte[] WriteSingle(byte[] payload, int offset, float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(offset), value);
        return payload;
    }

    private static byte[] WriteUInt32(byte[] payload, int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(offset), value);
        return payload;
    }

    // ---- the unit sign (spec §4.1) ----------------------------------------------------------------------------

    [Fact]
    public void UnitSign_IsTheSignPayloadWithScaleOne_AndDecodesToPlusMinusOne()
    {
        float[] g = [1, -2, 0, -0.0f, 3, -1, 1, 1, -5, 2, 1e-30f, -1e-30f];
        QuantizerDesign unit = Quantizers.Design(new Sign { Magnitude = SignMagnitude.Unit }, new Laplace(0.25));
        QuantizerDesign meanAbsolute = Quantizers.Design(new Sign(), new Laplace(0.25));
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            byte[] payload = codec.Encode(g, unit, default);
            byte[] reference = codec.Encode(g, meanAbsolute, default);
            Assert.Equal(1f, GradientCodec.ReadHeader(payload).Scale);
            Assert.Equal(1, GradientCodec.ReadHeader(payload).Version);
            // Byte-identical format: only the scale field and the checksum differ.
            Assert.Equal(reference[..20], payload[..20]);
            Assert.Equal(reference[24..56], payload[24..56]);
            Assert.Equal(reference[60..], payload[60..]);
            Assert.Equal(g.Select(x => x >= 0 ? 1f : -1f), codec.Decode(payload)); // −0 ≥ 0: +1, as for sign
        }
    }

    [Fact]
    public void AveragingUnitSignPayloads_AnAllZeroClientAddsNothing()
    {
        // The first counterexample FsCheck found (N = 3, d = 1, seed 2041442072): client 1's gradient is [0], which goes
        // as the all-zero payload (scale 0, docs/wire-format.md) and decodes to +0, not to sign(0) = +1.
        float[][] clients = [[-0.052494574f], [0], [-0.8788201f]];
        QuantizerDesign unit = Quantizers.Design(new Sign { Magnitude = SignMagnitude.Unit }, s_model);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            float third = 1f / 3;
            var sum = new float[1];
            foreach (float[] g in clients)
            {
                codec.DecodeAccumulate(codec.Encode(g, unit, default), sum, third);
            }
            Assert.Equal(-third - third, sum[0]); // (−1 + 0 − 1)/3, not (−1 + 1 − 1)/3

            // An all-±0 unit-sign gradient is the all-zero payload: it leaves the sum untouched, a −0 in it included.
            byte[] zero = codec.Encode([0, -0.0f, -0.0f, 0, 0, 0, 0, 0, 0, -0.0f], unit, default);
            Assert.Equal(0f, GradientCodec.ReadHeader(zero).Scale);
            Assert.All(codec.Decode(zero), value => Assert.True(SameBits(value, 0f)));
            float[] untouched = [-0.0f, 0.25f, -1, 0, 0, 0, 0, 0, 0, 3];
            float[] accumulated = (float[])untouched.Clone();
            codec.DecodeAccumulate(zero, accumulated, 0.5f);
            Assert.Equal(untouched.Select(BitConverter.SingleToUInt32Bits), accumulated.Select(BitConverter.SingleToUInt32Bits));

            // One non-zero coordinate and the ±0 beside it decode as signs again (−0 ≥ 0: +1).
            Assert.Equal([1f, 1f, -1f], codec.Decode(codec.Encode([0, -0.0f, -1e-30f], unit, default)));
        }
    }

    /// <summary>
    /// The server's average of N unit-sign payloads is the mean of the clients' signs (spec §4.1), where a client whose
    /// gradient is all ±0 sends the all-zero payload and adds 0 (docs/wire-format.md, "All-zero vector"), and any other
    /// client adds sign(g_j) = ±1 per coordinate, −0 counting as ≥ 0. All-zero clients are drawn on purpose (about one
    /// in four), not only when a short random vector happens to be all ±0.
    /// </summary>
    [Property(MaxTest = 50)]
    public Property AveragingUnitSignPayloads_GivesTheMeanOfTheSigns() =>
        Prop.ForAll(
            (from clients in Gen.Choose(1, 16)
             from length in Gen.Choose(1, 300)
             from seed in Gen.Choose(0, int.MaxValue)
             from mask1 in Gen.Choose(0, 0xFFFF)
             from mask2 in Gen.Choose(0, 0xFFFF)
             select (Clients: clients, Length: length, Seed: seed, ZeroClients: mask1 & mask2)).ToArbitrary(),
            c =>
            {
                QuantizerDesign unit = Quantizers.Design(new Sign { Magnitude = SignMagnitude.Unit }, s_model);
                var sum = new float[c.Length];
                var expected = new float[c.Length];
                var exact = new double[c.Length];
                float weight = 1f / c.Clients;
                int allZero = 0;
                for (int client = 0; client < c.Clients; client++)
                {
                    float[] g = ((c.ZeroClients >> client) & 1) != 0 ? SignedZeros(c.Length, c.Seed + client) : Vector(c.Length, c.Seed + client);
                    s_codec.DecodeAccumulate(s_codec.Encode(g, unit, default), sum, weight);
                    if (g.All(x => x == 0))
                    {
                        allZero++;
                        continue;
                    }
                    for (int j = 0; j < c.Length; j++)
                    {
                        float sign = g[j] >= 0 ? 1f : -1f;
                        expected[j] += weight * sign;
                        exact[j] += sign / c.Clients;
                    }
                }
                // Bit-exact against the same float32 additions in client order; within 1e-6 of the exact mean (the
                // worst case over every N ≤ 16 and every sequence of −1, 0, +1 contributions is 1.5e-7).
                return (expected.AsSpan().SequenceEqual(sum) && sum.Zip(exact).All(p => Math.Abs(p.First - p.Second) <= 1e-6))
                    .Label($"N={c.Clients} d={c.Length} all-zero clients={allZero}");
            });

    private static float[] SignedZeros(int length, int seed)
    {
        var random = new Random(seed);
        var v = new float[length];
        for (int j = 0; j < length; j++)
        {
            v[j] = random.Next(2) == 0 ? 0 : -0.0f;
        }
        return v;
    }
}
