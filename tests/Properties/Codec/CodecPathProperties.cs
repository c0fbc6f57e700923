using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>Metamorphic laws of the codec: every path, chunking and thread count gives the scalar path's bytes.</summary>
public class CodecPathProperties
{
    private static readonly int[] s_largeLengths = [4093, 65536 + 13];

    [Fact]
    public void EveryVectorPath_IsAvailableOnThisMachine_OrReported()
    {
        // The suite exercises whatever the CPU has; on an AVX-512 machine that is all four paths.
        Assert.Contains(CodecPath.Scalar, CodecPaths.Available);
        Assert.Equal(CodecPaths.Available.Length, CodecFixtures.CodecPerPath.Count);
    }

    [Theory]
    [MemberData(nameof(CodecFixtures.SchemeData), MemberType = typeof(CodecFixtures))]
    public void EveryPath_EncodesAndDecodesLikeScalar_ForLengths0To300AndLarge(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        var key = new RoundingKey(42, 3, 5);
        foreach (int length in Enumerable.Range(0, 301).Concat(s_largeLengths))
        {
            float[] gradient = CodecFixtures.Gradient(length, length, design);
            byte[] expected = CodecFixtures.Scalar.Encode(gradient, design, key);
            float[] decoded = CodecFixtures.Scalar.Decode(expected);
            float[] accumulated = Enumerable.Repeat(0.25f, length).ToArray();
            CodecFixtures.Scalar.DecodeAccumulate(expected, accumulated, 0.125f);
            foreach (GradientCodec codec in CodecFixtures.CodecPerPath.Skip(1))
            {
                byte[] actual = codec.Encode(gradient, design, key);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{scheme} b={bits} d={length}: path {codec.Path} encodes differently from scalar.");
                Assert.True(decoded.AsSpan().SequenceEqual(codec.Decode(actual)), $"{scheme} b={bits} d={length}: path {codec.Path} decodes differently.");
                float[] sum = Enumerable.Repeat(0.25f, length).ToArray();
                codec.DecodeAccumulate(actual, sum, 0.125f);
                Assert.True(accumulated.AsSpan().SequenceEqual(sum), $"{scheme} b={bits} d={length}: path {codec.Path} accumulates differently.");
            }
        }
    }

    [Property(MaxTest = 60)]
    public Property AnyPath_EqualsScalar_ForRandomVectorsKeysAndSchemes() =>
        Prop.ForAll(
            (from schemeIndex in Gen.Choose(0, CodecFixtures.AllSchemes().Count() - 1)
             from length in Gen.Choose(0, 700)
             from seed in Gen.Choose(0, int.MaxValue)
             from round in Gen.Choose(0, 1000)
             select (Scheme: CodecFixtures.AllSchemes().ElementAt(schemeIndex), Length: length, Seed: seed, Round: round)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = CodecFixtures.Design(c.Scheme.Scheme, c.Scheme.Bits);
                float[] gradient = CodecFixtures.Gradient(c.Length, c.Seed, design);
                var key = new RoundingKey((ulong)c.Seed, c.Round, c.Seed % 8);
                byte[] expected = CodecFixtures.Scalar.Encode(gradient, design, key);
                return CodecFixtures.CodecPerPath.All(codec => expected.AsSpan().SequenceEqual(codec.Encode(gradient, design, key)))
                    .Label($"{c.Scheme.Scheme} b={c.Scheme.Bits} d={c.Length}");
            });

    [Property(MaxTest = 100)]
    public Property FullPrecision_EveryPathWritesTheTableChecksum_AndNamesTheSameFirstNonFinite() =>
        Prop.ForAll(
            // The 512-bit path copies and checksums whole 64-coordinate blocks in one loop, then the tail.
            (from length in Gen.OneOf(Gen.Choose(0, 20_000), Gen.Choose(0, 12).Select(blocks => 64 * blocks), Gen.Choose(0, 300))
             from seed in Gen.Choose(0, int.MaxValue)
             from badIndex in Gen.Choose(-1, length - 1)
             from bad in Gen.Elements(float.NaN, float.PositiveInfinity, float.NegativeInfinity)
             select (Length: length, Seed: seed, BadIndex: badIndex, Bad: bad)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = CodecFixtures.Design("fp", 32);
                float[] gradient = CodecFixtures.Gradient(c.Length, c.Seed, design);
                if (c.BadIndex < 0)
                {
                    byte[] expected = CodecFixtures.Scalar.Encode(gradient, design, default);
                    uint checksum = Crc32C.AppendTable(Crc32C.AppendTable(0, expected.AsSpan(0, 56)), expected.AsSpan(PayloadHeader.Size));
                    return (BitConverter.ToUInt32(expected, 56) == checksum
                            && CodecFixtures.CodecPerPath.All(codec => expected.AsSpan().SequenceEqual(codec.Encode(gradient, design, default))))
                        .Label($"fp d={c.Length}");
                }
                gradient[c.BadIndex] = c.Bad;
                gradient[^1] = float.NaN;
                return CodecFixtures.CodecPerPath.All(codec =>
                        Assert.Throws<ArgumentException>(() => codec.Encode(gradient, design, default)).Message.Contains($"Coordinate {c.BadIndex} ", StringComparison.Ordinal))
                    .Label($"fp d={c.Length}: {c.Bad} at {c.BadIndex}");
            });

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 5)]
    [InlineData("tbq", 2)]
    [InlineData("qsgd", 4)]
    [InlineData("nuqsgd", 8)]
    [InlineData("sign", 1)]
    [InlineData("fp", 32)]
    public void ChunkedEncoding_EqualsWholeEncoding_ForEveryPathAndChunkLength(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] gradient = CodecFixtures.Gradient(5003, 7, design);
        var key = new RoundingKey(9, 1, 2);
        byte[] whole = CodecFixtures.Scalar.Encode(gradient, design, key);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            foreach (int chunk in new[] { 8, 16, 24, 40, 1000, 4096 })
            {
                var chunked = new byte[whole.Length];
                Assert.True(codec.TryEncodeCore(gradient, design, key, chunked, out int written, chunk));
                Assert.Equal(whole.Length, written);
                Assert.True(whole.AsSpan().SequenceEqual(chunked), $"{scheme} b={bits}: path {codec.Path} with chunks of {chunk} differs from the whole encoding.");
            }
        }
    }

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("qsgd", 6)]
    [InlineData("sign", 1)]
    public void ParallelEncoding_EqualsSingleThread_ForEveryPath(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] gradient = CodecFixtures.Gradient(20_011, 11, design);
        var key = new RoundingKey(1, 2, 3);
        byte[] single = CodecFixtures.Scalar.Encode(gradient, design, key);
        foreach (CodecPath path in CodecPaths.Available)
        {
            foreach (int threads in new[] { 2, 3 })
            {
                var codec = new GradientCodec(new CodecOptions
                {
                    Path = path,
                    MaxDegreeOfParallelism = threads,
                    ParallelMinimumLength = 1,
                    ParallelChunkLength = 1024,
                });
                Assert.True(single.AsSpan().SequenceEqual(codec.Encode(gradient, design, key)), $"{scheme} b={bits}: {threads} threads on {path} differ.");
            }
        }
    }

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 1)]
    [InlineData("tbq", 5)]
    [InlineData("qsgd", 8)]
    [InlineData("sign", 1)]
    public void ParallelDecoding_EqualsSingleThread_ForEveryPath(string scheme, int bits)
    {
        // d = 20,011 is not a multiple of the chunk or of 8, so the last chunk is short and ends mid-byte.
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] gradient = CodecFixtures.Gradient(20_011, 13, design);
        byte[] payload = CodecFixtures.Scalar.Encode(gradient, design, new RoundingKey(4, 5, 6));
        float[] start = CodecFixtures.Gradient(20_011, 14, design);
        float[] decoded = CodecFixtures.Scalar.Decode(payload);
        float[] accumulated = (float[])start.Clone();
        CodecFixtures.Scalar.DecodeAccumulate(payload, accumulated, 0.125f);
        foreach (CodecPath path in CodecPaths.Available)
        {
            foreach (int threads in new[] { 2, 3 })
            {
                var codec = new GradientCodec(new CodecOptions
                {
                    Path = path,
                    MaxDegreeOfParallelism = threads,
                    ParallelMinimumLength = 1,
                    ParallelChunkLength = 1024,
                });
                Assert.True(decoded.AsSpan().SequenceEqual(codec.Decode(payload)), $"{scheme} b={bits}: decode on {threads} threads, {path} differs.");
                float[] sum = (float[])start.Clone();
                codec.DecodeAccumulate(payload, sum, 0.125f);
                Assert.True(accumulated.AsSpan().SequenceEqual(sum), $"{scheme} b={bits}: decode-accumulate on {threads} threads, {path} differs.");
            }
        }
    }

    [Fact]
    public void Uniform_IsAPureFunctionOfKeyAndIndex()
    {
        var key = new RoundingKey(123, 4, 5);
        Assert.Equal(key.Uniform(17), new RoundingKey(123, 4, 5).Uniform(17));
        Assert.NotEqual(key.Uniform(17), key.Uniform(18));
        Assert.NotEqual(key.Uniform(17), (key with { Client = 6 }).Uniform(17));
        Assert.NotEqual(key.Uniform(17), (key with { Round = 5 }).Uniform(17));
        Assert.InRange(key.Uniform(0), 0f, 1f - RoundingKeyScale);
    }

    private const float RoundingKeyScale = 1.0f / (1 << 24);
}
