using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>
/// Segmented payloads (format version 3): golden vectors, the laws that tie a segment to a version-1 payload, rounding
/// independence across segments, round trip and unbiasedness per segment, every path's bytes, and hostile containers.
/// </summary>
public class SegmentedCodecProperties
{
    private static readonly GradientCodec s_codec = new();

    /// <summary>Segment designs for each scheme: every segment gets its own model scale (the point of segmenting).</summary>
    private static QuantizerDesign SegmentDesign(string scheme, int bits, int segment)
    {
        QuantizerDesign template = CodecFixtures.Design(scheme, bits);
        double scale = 0.01 * (1 + (segment % 5));
        GradientModel model = template.Model is Lomax lomax ? new Lomax(lomax.Scale * (1 + (segment % 5)), lomax.Shape) : new Laplace(scale);
        return s_codec.Designs.GetOrDesign(template.Spec, model, template.Spec.DesignNeedsDimension ? 1000 : null);
    }

    private static QuantizerDesign[] Designs(string scheme, int bits, SegmentLayout layout) =>
        [.. Enumerable.Range(0, layout.Count).Select(i => SegmentDesign(scheme, bits, i))];

    private static Arbitrary<(string Scheme, int Bits, int Length, int Bucket, int Seed)> Cases(int maxLength) =>
        (from schemeIndex in Gen.Choose(0, CodecFixtures.AllSchemes().Count() - 1)
         from length in Gen.Choose(0, maxLength)
         from bucket in Gen.Choose(1, 300)
         from seed in Gen.Choose(0, int.MaxValue)
         let scheme = CodecFixtures.AllSchemes().ElementAt(schemeIndex)
         select (scheme.Scheme, scheme.Bits, length, bucket, seed)).ToArbitrary();

    // ---- Golden vectors (docs/wire-format.md, vectors 9 and 10) ----

    private static readonly float[] s_golden9 = [0.1f, -0.3f, 0.7f, -2, 0, 0.45f];

    private const string Golden9 =
        "56465143 03 000000 01000000 06000000 4A000000 39ABB4B9" +
        " 00000000 06000000 3E000000" +
        " 56465143 01 04 02 01 01 00 0000 06000000 02000000 0000803F 9266D686D3A6EC3F 000000000000E03F 0000000000000000 0000000000000000 0BC01E03 2509";

    private static readonly float[] s_golden10 = [0.1f, -0.3f, 0.7f, -2, 5, -1, 0];

    private const string Golden10 =
        "56465143 03 000000 02000000 07000000 92000000 7FC7A317" +
        " 00000000 04000000 3D000000" +
        " 04000000 03000000 3D000000" +
        " 56465143 01 04 02 01 01 00 0000 04000000 01000000 0000803F 9266D686D3A6EC3F 000000000000E03F 0000000000000000 0000000000000000 DA98BF54 25" +
        " 56465143 01 04 02 01 01 00 0000 03000000 01000000 0000803F 9266D686D3A60C40 0000000000000040 0000000000000000 0000000000000000 1EBAE21F 17";

    [Fact]
    public void GoldenVector9_OneSegment_IsGoldenVector2InAContainer()
    {
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(2), new Laplace(0.5));
        byte[] payload = s_codec.EncodeSegments(s_golden9, [design], SegmentLayout.Whole(6), new RoundingKey(7, 1, 2));
        Assert.Equal(Hex(Golden9), Convert.ToHexString(payload));
        Assert.Equal(s_codec.Encode(s_golden9, design, new RoundingKey(7, 1, 2)), payload[(SegmentedHeader.Size + SegmentedHeader.EntrySize)..]);
        Assert.Equal([-0.24347827f, -0.24347827f, 0.24347827f, -0.8953645f, -0.24347827f, 0.24347827f], s_codec.Decode(payload));
    }

    [Fact]
    public void GoldenVector10_TwoSegmentsWithTheirOwnModels_IsWrittenExactlyOnEveryPath()
    {
        QuantizerDesign[] designs =
        [
            Quantizers.Design(new TruncatedNonUniform(2), new Laplace(0.5)),
            Quantizers.Design(new TruncatedNonUniform(2), new Laplace(2)),
        ];
        SegmentLayout layout = SegmentLayout.Sizes(4, 3);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            byte[] payload = codec.EncodeSegments(s_golden10, designs, layout, new RoundingKey(7, 1, 2));
            Assert.Equal(Hex(Golden10), Convert.ToHexString(payload));
            byte[] exact = new byte[payload.Length];
            Assert.True(codec.TryEncodeSegments(s_golden10, designs, layout, new RoundingKey(7, 1, 2), exact, out int written));
            Assert.Equal(payload.Length, written);
            Assert.False(codec.TryEncodeSegments(s_golden10, designs, layout, new RoundingKey(7, 1, 2), new byte[payload.Length - 1], out written));
            Assert.Equal(0, written);
        }
        Assert.Equal(
            [-0.24347827f, -0.24347827f, 0.24347827f, -0.8953645f, 3.581458f, -0.9739131f, -0.9739131f],
            s_codec.Decode(Convert.FromHexString(Hex(Golden10))));
    }

    private static string Hex(string spaced) => spaced.Replace(" ", "", StringComparison.Ordinal);

    // ---- Laws ----

    [Property(MaxTest = 60)]
    public Property OneWholeSegment_HoldsExactlyTheVersion1Payload() =>
        Prop.ForAll(Cases(700), c =>
        {
            QuantizerDesign design = CodecFixtures.Design(c.Scheme, c.Bits);
            float[] gradient = CodecFixtures.Gradient(c.Length, c.Seed, design);
            var key = new RoundingKey((ulong)c.Seed, c.Bucket, 3);
            SegmentLayout layout = SegmentLayout.Whole(c.Length);
            byte[] segmented = s_codec.EncodeSegments(gradient, layout.Count == 0 ? [] : [design], layout, key);
            byte[] whole = s_codec.Encode(gradient, design, key);
            int table = SegmentedHeader.Size + (layout.Count * SegmentedHeader.EntrySize);
            bool sameBytes = c.Length == 0 ? segmented.Length == SegmentedHeader.Size : segmented.AsSpan(table).SequenceEqual(whole);
            return sameBytes.Label($"{c.Scheme} b={c.Bits} d={c.Length}")
                .And(s_codec.Decode(segmented).AsSpan().SequenceEqual(s_codec.Decode(whole)).Label("decodes alike"));
        });

    [Property(MaxTest = 60)]
    public Property EachSegment_IsTheVersion1PayloadOfItsSlice_RoundedWithGlobalCounters() =>
        Prop.ForAll(Cases(900), c =>
        {
            SegmentLayout layout = SegmentLayout.Buckets(c.Length, c.Bucket);
            QuantizerDesign[] designs = Designs(c.Scheme, c.Bits, layout);
            float[] gradient = CodecFixtures.Gradient(c.Length, c.Seed, CodecFixtures.Design(c.Scheme, c.Bits));
            var key = new RoundingKey((ulong)c.Seed, 1, 2);
            byte[] payload = s_codec.EncodeSegments(gradient, designs, layout, key);
            var segments = GradientCodec.ReadSegments(payload);
            float[] decoded = s_codec.Decode(payload);
            bool ok = payload.Length == GradientCodec.GetMaxEncodedLength(designs.Length > 0 ? designs[0].Spec : CodecFixtures.Design(c.Scheme, c.Bits).Spec, layout)
                && segments.Length == layout.Count;
            for (int i = 0; ok && i < layout.Count; i++)
            {
                SegmentRange range = layout[i];
                byte[] expected = new byte[GradientCodec.GetMaxEncodedLength(designs[i].Spec, range.Length)];
                ok &= s_codec.TryEncodeCore(gradient.AsSpan(range.Start, range.Length), designs[i], key, expected, out _, chunkLength: 0, coordinateBase: range.Start);
                ok &= payload.AsSpan(segments[i].Offset, segments[i].ByteLength).SequenceEqual(expected);
                ok &= segments[i].Start == range.Start && segments[i].Length == range.Length;
                ok &= decoded.AsSpan(range.Start, range.Length).SequenceEqual(s_codec.Decode(expected));
            }
            return ok.Label($"{c.Scheme} b={c.Bits} d={c.Length} bucket={c.Bucket}");
        });

    [Property(MaxTest = 40)]
    public Property Decoded_LiesOnEachSegmentsOwnGrid_NextToTheClippedInput() =>
        Prop.ForAll(
            (from schemeIndex in Gen.Choose(0, 23)
             from length in Gen.Choose(1, 600)
             from bucket in Gen.Choose(1, 200)
             from seed in Gen.Choose(0, int.MaxValue)
             let scheme = CodecFixtures.AllSchemes().ElementAt(schemeIndex)
             select (scheme.Scheme, scheme.Bits, length, bucket, seed)).ToArbitrary(),
            c =>
            {
                SegmentLayout layout = SegmentLayout.Buckets(c.length, c.bucket);
                QuantizerDesign[] designs = Designs(c.Scheme, c.Bits, layout);
                // Each segment's values at its own scale: segment i is drawn at scale 0.01·(1 + i mod 5).
                float[] gradient = CodecFixtures.Gradient(c.length, c.seed, designs[0]);
                for (int i = 0; i < layout.Count; i++)
                {
                    for (int j = layout[i].Start; j < layout[i].End; j++)
                    {
                        gradient[j] *= 1 + (i % 5);
                    }
                }
                float[] decoded = s_codec.Decode(s_codec.EncodeSegments(gradient, designs, layout, new RoundingKey((ulong)c.seed, 0, 0)));
                for (int i = 0; i < layout.Count; i++)
                {
                    float[] levels = [.. designs[i].Levels.Select(l => (float)l)];
                    for (int j = layout[i].Start; j < layout[i].End; j++)
                    {
                        float x = Math.Clamp(gradient[j], levels[0], levels[^1]);
                        int k = Rounding.UpperIndex([.. levels.Select(l => (double)l)], x);
                        bool allZero = gradient.AsSpan(layout[i].Start, layout[i].Length).ContainsAnyExcept(0f) is false;
                        if (!(allZero ? decoded[j] == 0 : decoded[j] == levels[k - 1] || decoded[j] == levels[k]))
                        {
                            return false.Label($"{c.Scheme} b={c.Bits} segment {i} coordinate {j}: x = {gradient[j]}, decoded {decoded[j]}");
                        }
                    }
                }
                return true.ToProperty();
            });

    [Fact]
    public void EqualSegments_OfEqualValuesAndDesign_DrawDifferentUniforms()
    {
        QuantizerDesign design = CodecFixtures.Design("tnq", 3);
        float[] half = CodecFixtures.Gradient(512, 11, design);
        float[] gradient = [.. half, .. half];
        byte[] payload = s_codec.EncodeSegments(gradient, [design, design], SegmentLayout.Sizes(512, 512), new RoundingKey(5, 6, 7));
        var segments = GradientCodec.ReadSegments(payload);
        ReadOnlySpan<byte> first = payload.AsSpan(segments[0].Offset + PayloadHeader.Size, segments[0].Header.PayloadLength);
        ReadOnlySpan<byte> second = payload.AsSpan(segments[1].Offset + PayloadHeader.Size, segments[1].Header.PayloadLength);
        Assert.False(first.SequenceEqual(second), "Two equal segments rounded with the same uniforms: the counters repeat across segments.");
        // and the whole vector's codes are those of one v1 payload over 1024 coordinates: the counters are global.
        byte[] whole = s_codec.Encode(gradient, design, new RoundingKey(5, 6, 7));
        Assert.True(whole.AsSpan(PayloadHeader.Size, first.Length).SequenceEqual(first));
        Assert.True(whole.AsSpan(PayloadHeader.Size + first.Length).SequenceEqual(second));
    }

    [Fact]
    public void Rounding_IsUnbiasedInsideEachSegmentsRange_AtScales100xApart()
    {
        // Two segments whose scales are 100× apart, each with the design of its own Laplace fit; points inside [−α_i, α_i].
        const int Half = 32;
        const int Replicates = 3000;
        float[] gradient = new float[2 * Half];
        var random = new Random(20240613);
        for (int j = 0; j < gradient.Length; j++)
        {
            double scale = j < Half ? 0.01 : 1.0;
            double u = random.NextDouble() - 0.5;
            gradient[j] = (float)(-scale * Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u))));
        }
        SegmentLayout layout = SegmentLayout.Sizes(Half, Half);
        QuantizerDesign[] designs =
        [
            s_codec.Designs.GetOrDesign(new TruncatedNonUniform(3), ModelFit.Laplace(gradient.AsSpan(0, Half))),
            s_codec.Designs.GetOrDesign(new TruncatedNonUniform(3), ModelFit.Laplace(gradient.AsSpan(Half))),
        ];
        double[] sum = new double[gradient.Length];
        var decoded = new float[gradient.Length];
        byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(designs[0].Spec, layout)];
        for (int r = 0; r < Replicates; r++)
        {
            s_codec.EncodeSegments(gradient, designs, layout, new RoundingKey(99, r, 1), payload);
            s_codec.Decode(payload, decoded);
            for (int j = 0; j < gradient.Length; j++)
            {
                sum[j] += decoded[j];
            }
        }
        int inside = 0;
        for (int j = 0; j < gradient.Length; j++)
        {
            QuantizerDesign design = designs[j < Half ? 0 : 1];
            float[] levels = [.. design.Levels.Select(l => (float)l)];
            if (gradient[j] < levels[0] || gradient[j] > levels[^1])
            {
                continue;
            }
            inside++;
            int k = Rounding.UpperIndex([.. levels.Select(l => (double)l)], gradient[j]);
            double variance = (levels[k] - (double)gradient[j]) * (gradient[j] - (double)levels[k - 1]);
            double standardError = Math.Sqrt(variance / Replicates);
            double mean = sum[j] / Replicates;
            Assert.True(Math.Abs(mean - gradient[j]) <= (5 * standardError) + (1e-6 * Math.Abs(gradient[j])),
                $"segment {(j < Half ? 0 : 1)} coordinate {j}: x = {gradient[j]}, mean {mean}, 5 SE = {5 * standardError}.");
        }
        Assert.True(inside > Half, $"Only {inside} of {gradient.Length} points fell inside their segment's [−α, α].");
    }

    [Theory]
    [MemberData(nameof(CodecFixtures.SchemeData), MemberType = typeof(CodecFixtures))]
    public void EveryPath_EncodesDecodesAndAccumulatesSegmentsLikeScalar(string scheme, int bits)
    {
        var key = new RoundingKey(42, 3, 5);
        foreach ((int length, int bucket) in new[] { (0, 1), (1, 1), (17, 5), (100, 33), (300, 64), (301, 300), (4093, 1000), (5003, 4096) })
        {
            SegmentLayout layout = SegmentLayout.Buckets(length, bucket);
            QuantizerDesign[] designs = Designs(scheme, bits, layout);
            float[] gradient = CodecFixtures.Gradient(length, length + bucket, CodecFixtures.Design(scheme, bits));
            byte[] expected = CodecFixtures.Scalar.EncodeSegments(gradient, designs, layout, key);
            float[] decoded = CodecFixtures.Scalar.Decode(expected);
            float[] accumulated = [.. Enumerable.Repeat(0.25f, length)];
            CodecFixtures.Scalar.DecodeAccumulate(expected, accumulated, 0.125f);
            foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
            {
                byte[] actual = codec.EncodeSegments(gradient, designs, layout, key);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{scheme} b={bits} d={length} bucket={bucket}: path {codec.Path} encodes differently from scalar.");
                foreach (int chunk in new[] { 8, 16, 40 })
                {
                    byte[] chunked = new byte[expected.Length];
                    Assert.True(codec.TryEncodeSegmentsCore(gradient, designs, layout, key, chunked, out int written, chunk));
                    Assert.True(expected.AsSpan().SequenceEqual(chunked.AsSpan(0, written)), $"{scheme} b={bits} d={length}: path {codec.Path} chunks of {chunk} differ.");
                }
                Assert.True(decoded.AsSpan().SequenceEqual(codec.Decode(actual)), $"{scheme} b={bits} d={length}: path {codec.Path} decodes differently.");
                float[] sum = [.. Enumerable.Repeat(0.25f, length)];
                codec.DecodeAccumulate(actual, sum, 0.125f);
                Assert.True(accumulated.AsSpan().SequenceEqual(sum), $"{scheme} b={bits} d={length}: path {codec.Path} accumulates differently.");
            }
        }
    }

    [Fact]
    public void ParallelSegmentEncoding_EqualsSingleThread()
    {
        var parallel = new GradientCodec(new CodecOptions { MaxDegreeOfParallelism = 2, ParallelMinimumLength = 1024, ParallelChunkLength = 256 });
        SegmentLayout layout = SegmentLayout.Sizes(3000, 5003, 17);
        QuantizerDesign[] designs = Designs("tnq", 4, layout);
        float[] gradient = CodecFixtures.Gradient(layout.Dimension, 3, designs[0]);
        Assert.Equal(CodecFixtures.Scalar.EncodeSegments(gradient, designs, layout, new RoundingKey(1, 2, 3)), parallel.EncodeSegments(gradient, designs, layout, new RoundingKey(1, 2, 3)));
    }

    [Fact]
    public void MixedSchemesPerSegment_AreAllowed_AndInspectable()
    {
        SegmentLayout layout = SegmentLayout.Sizes(10, 20, 30, 40);
        QuantizerDesign[] designs = [CodecFixtures.Design("fp", 32), CodecFixtures.Design("sign", 1), CodecFixtures.Design("qsgd", 4), CodecFixtures.Design("tbq", 3)];
        float[] gradient = CodecFixtures.Gradient(100, 5, designs[3]);
        byte[] payload = s_codec.EncodeSegments(gradient, designs, layout, default);
        SegmentedHeader header = GradientCodec.ReadSegmentedHeader(payload);
        Assert.Equal((4, 100, payload.Length), (header.SegmentCount, header.Dimension, header.TotalLength));
        Assert.Equal([WireScheme.FullPrecision, WireScheme.Sign, WireScheme.Qsgd, WireScheme.TruncatedBiScaled], GradientCodec.ReadSegments(payload).Select(s => s.Header.Scheme));
        Assert.Equal(gradient[..10], s_codec.Decode(payload)[..10]);
        Assert.Equal(3, GradientCodec.ReadVersion(payload));
    }

    [Fact]
    public void Layouts_TileTheVector_AndRejectBadArguments()
    {
        Assert.Equal(0, SegmentLayout.Whole(0).Count);
        Assert.Equal(new SegmentRange(0, 7), SegmentLayout.Whole(7)[0]);
        SegmentLayout buckets = SegmentLayout.Buckets(10, 4);
        Assert.Equal([new SegmentRange(0, 4), new SegmentRange(4, 4), new SegmentRange(8, 2)], Enumerable.Range(0, buckets.Count).Select(i => buckets[i]));
        Assert.Equal(SegmentLayout.Sizes(4, 4, 2), buckets);
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentLayout.Sizes(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentLayout.Buckets(10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentLayout.Whole(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentLayout.Sizes(int.MaxValue - 1, 1));

        QuantizerDesign design = CodecFixtures.Design("tnq", 3);
        float[] gradient = new float[10];
        Assert.Contains("2 designs were given for 3 segments", Assert.Throws<ArgumentException>(() => s_codec.EncodeSegments(gradient, [design, design], buckets, default)).Message, StringComparison.Ordinal);
        Assert.Contains("layout covers 10", Assert.Throws<ArgumentException>(() => s_codec.EncodeSegments(new float[9], [design, design, design], buckets, default)).Message, StringComparison.Ordinal);
        QuantizerDesign randK = CodecFixtures.Design("randk", 3);
        Assert.Contains("cannot be segmented", Assert.Throws<ArgumentException>(() => s_codec.EncodeSegments(gradient, [design, randK, design], buckets, default)).Message, StringComparison.Ordinal);
        Assert.Contains("cannot be segmented", Assert.Throws<ArgumentException>(() => GradientCodec.GetMaxEncodedLength(CodecFixtures.Design("bernoulli", 0).Spec, buckets)).Message, StringComparison.Ordinal);
        gradient[9] = float.NaN;
        Assert.Contains("Coordinate 9 ", Assert.Throws<ArgumentException>(() => s_codec.EncodeSegments(gradient, [design, design, design], buckets, default)).Message, StringComparison.Ordinal);
    }

    // ---- Hostile containers ----

    /// <summary>Three tnq segments of 8, 8 and 4 coordinates: 24 + 36 + (60+3) + (60+3) + (60+2) = 248 bytes.</summary>
    private static byte[] Sample()
    {
        SegmentLayout layout = SegmentLayout.Sizes(8, 8, 4);
        QuantizerDesign[] designs = Designs("tnq", 3, layout);
        return s_codec.EncodeSegments(CodecFixtures.Gradient(20, 4, designs[0]), designs, layout, new RoundingKey(1, 1, 1));
    }

    private static int SegmentOffset(byte[] payload, int index) =>
        SegmentedHeader.Size + ((int)BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)) * SegmentedHeader.EntrySize) + Enumerable.Range(0, index).Sum(i => (int)BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(SegmentedHeader.Size + (12 * i) + 8)));

    /// <summary>Recomputes the container's CRC over header and table (as an attacker or a buggy writer would).</summary>
    private static byte[] SealContainer(byte[] payload)
    {
        if (payload.Length >= SegmentedHeader.Size)
        {
            int count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)), (payload.Length - SegmentedHeader.Size) / 12);
            uint crc = Crc32C.Append(Crc32C.Compute(payload.AsSpan(0, 20)), payload.AsSpan(SegmentedHeader.Size, count * 12));
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(20), crc);
        }
        return payload;
    }

    private static byte[] SealSegment(byte[] payload, int offset, int length)
    {
        Span<byte> segment = payload.AsSpan(offset, length);
        BinaryPrimitives.WriteUInt32LittleEndian(segment[56..], Crc32C.Append(Crc32C.Compute(segment[..56]), segment[PayloadHeader.Size..]));
        return payload;
    }

    private static byte[] Entry(byte[] payload, int index, int field, uint value)
    {
        byte[] copy = (byte[])payload.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(SegmentedHeader.Size + (12 * index) + (4 * field)), value);
        return SealContainer(copy);
    }

    private static void Rejects(byte[] bad, params string[] fragments)
    {
        float[] sum = [.. Enumerable.Repeat(0.5f, 20)];
        CodecFormatException error = Assert.Throws<CodecFormatException>(() => s_codec.DecodeAccumulate(bad, sum, 1));
        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }
        Assert.All(sum, x => Assert.Equal(0.5f, x));
        Assert.Throws<CodecFormatException>(() => GradientCodec.ReadSegmentedHeader(bad));
    }

    [Fact]
    public void MalformedContainers_AreRejected_NamingWhatIsWrong_AndLeaveTheSumUntouched()
    {
        byte[] p = Sample();
        Assert.Equal(248, p.Length);
        int second = SegmentOffset(p, 1);
        int third = SegmentOffset(p, 2);

        Rejects(p[..^1], "version 3", "truncated");
        Rejects(p[..23], "truncated");
        Rejects([.. p, 0], "trailing");
        Rejects(Entry(p, 1, 0, 7), "segment 1 starts at coordinate 7, inside segment 0", "overlap");
        Rejects(Entry(p, 1, 0, 9), "coordinates 8..8 are in no segment");
        Rejects(Entry(p, 2, 1, 3), "cover coordinates 0..18, but d = 20");
        Rejects(Entry(p, 2, 1, 5), "ends at coordinate 21, beyond d = 20");
        Rejects(Entry(p, 0, 1, 0), "length 0");
        Rejects(Entry(Entry(Entry(p, 0, 1, 9), 1, 0, 9), 1, 1, 7), "table entry says 9 coordinates, but its own header says d = 8", "lengths disagree");
        Rejects(Entry(Entry(p, 1, 2, 62), 2, 2, 63), "segment 1", "truncated");
        Rejects(Entry(Entry(p, 1, 2, 64), 2, 2, 61), "segment 1", "trailing");
        Rejects(Entry(p, 1, 2, 64), "take 225 bytes, but its payload length says 224");
        Rejects(Entry(p, 0, 2, 10), "shorter than a segment header");

        byte[] table = (byte[])p.Clone();
        table[SegmentedHeader.Size + 3] ^= 1;
        Rejects(table, "header or segment table is corrupted", "CRC-32C");
        byte[] codes = (byte[])p.Clone();
        codes[third + PayloadHeader.Size] ^= 0x40;
        Rejects(codes, "segment 2 (coordinates 16..19)", "CRC-32C");

        byte[] v2 = (byte[])p.Clone();
        v2[second + 4] = 2;
        Rejects(SealSegment(v2, second, 63), "segment 1 (coordinates 8..15) has format version 2", "version-1 payloads");
        byte[] v3 = (byte[])p.Clone();
        v3[second + 4] = 3;
        Rejects(v3, "format version 3");

        byte[] count = (byte[])p.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(count.AsSpan(8), 21);
        Rejects(SealContainer(count), "21 segments for d = 20");
        byte[] reserved = (byte[])p.Clone();
        reserved[6] = 1;
        Rejects(SealContainer(reserved), "reserved container bytes 5..7");
        byte[] magic = (byte[])p.Clone();
        magic[0] = (byte)'X';
        Rejects(magic, "magic");

        Assert.Contains("ReadSegmentedHeader", Assert.Throws<CodecFormatException>(() => GradientCodec.ReadHeader(p)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => s_codec.Decode(p, new float[19]));
    }

    [Fact]
    public void NonFiniteFullPrecisionSegment_IsNamedByItsGlobalCoordinate_AndLeavesTheSumUntouched()
    {
        SegmentLayout layout = SegmentLayout.Sizes(8, 12);
        QuantizerDesign fp = CodecFixtures.Design("fp", 32);
        byte[] payload = s_codec.EncodeSegments(CodecFixtures.Gradient(20, 1, fp), [fp, fp], layout, default);
        int second = SegmentOffset(payload, 1);
        BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(second + PayloadHeader.Size + 12), float.NaN);
        SealSegment(payload, second, PayloadHeader.Size + 48);
        float[] sum = new float[20];
        Assert.Contains("Coordinate 11 ", Assert.Throws<CodecFormatException>(() => s_codec.DecodeAccumulate(payload, sum, 1)).Message, StringComparison.Ordinal);
        Assert.All(sum, x => Assert.Equal(0f, x));
    }

    [Property(MaxTest = 400)]
    public Property MutatedContainers_RaiseOnlyCodecFormatException_EvenResealed() =>
        Prop.ForAll(
            (from position in Gen.Choose(0, 10_000)
             from value in Gen.Choose(0, 255)
             from operation in Gen.Choose(0, 4)
             from reseal in Gen.Elements(false, true)
             select (Position: position, Value: (byte)value, Operation: operation, Reseal: reseal)).ToArbitrary(),
            c =>
            {
                byte[] payload = Sample();
                int at = c.Position % payload.Length;
                byte[] mutated = c.Operation switch
                {
                    0 => Set(payload, at, c.Value),
                    1 => Set(payload, at % (SegmentedHeader.Size + 36), c.Value),
                    2 => payload[..at],
                    3 => [.. payload, c.Value],
                    _ => Set(payload, at, (byte)(payload[at] ^ (1 << (c.Value & 7)))),
                };
                if (c.Reseal)
                {
                    SealContainer(mutated);
                }
                try
                {
                    SegmentedHeader header = GradientCodec.ReadSegmentedHeader(mutated);
                    var values = new float[header.Dimension];
                    s_codec.Decode(mutated, values);
                    s_codec.DecodeAccumulate(mutated, values, 0.5f);
                    return true.Label($"op={c.Operation} at={at} decoded");
                }
                catch (CodecFormatException exception)
                {
                    return (exception.Message.Length > 0).Label($"op={c.Operation} at={at}");
                }
            });

    private static byte[] Set(byte[] payload, int index, byte value)
    {
        byte[] copy = (byte[])payload.Clone();
        copy[index] = value;
        return copy;
    }
}
