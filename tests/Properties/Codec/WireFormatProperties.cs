using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>The wire format: exact sizes, golden vectors, and hostile bytes that only ever raise CodecFormatException.</summary>
public class WireFormatProperties
{
    private static readonly GradientCodec s_codec = new();

    /// <summary>One golden vector of docs/wire-format.md: inputs, the exact payload, and what it decodes to.</summary>
    public sealed record Golden(string Name, QuantizerDesign Design, float[] Gradient, RoundingKey Key, string Hex, float[] Decoded)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Golden> GoldenVectors() =>
    [
        new Golden(
            "tuq b=3 fixed α=1 laplace(1)",
            Quantizers.Design(new TruncatedUniform(3, Threshold.Fixed(1)), new Laplace(1)),
            [0, 0.5f, -1, 2, -0.25f],
            new RoundingKey(42, 0, 0),
            "56465143 01 03 03 03 01 00 0000 05000000 02000000 0000803F 000000000000F03F 000000000000F03F 0000000000000000 0000000000000000 5BA4C3BF 343E",
            [1f / 7, 5f / 7, -1, 1, -1f / 7]),
        new Golden(
            "tnq b=2 optimal laplace(0.5)",
            Quantizers.Design(new TruncatedNonUniform(2), new Laplace(0.5)),
            [0.1f, -0.3f, 0.7f, -2, 0, 0.45f],
            new RoundingKey(7, 1, 2),
            "56465143 01 04 02 01 01 00 0000 06000000 02000000 0000803F 9266D686D3A6EC3F 000000000000E03F 0000000000000000 0000000000000000 0BC01E03 2509",
            [-0.24347827f, -0.24347827f, 0.24347827f, -0.8953645f, -0.24347827f, 0.24347827f]),
        new Golden(
            "qsgd b=3",
            Quantizers.Design(new Qsgd(3), new Laplace(1), 4),
            [3, -4, 0, 1],
            new RoundingKey(1, 0, 0),
            "56465143 01 01 03 00 00 00 0000 04000000 02000000 2B2BA340 0000000000000000 0000000000000000 0000000000000000 0000000000000000 0673AA51 3202",
            [3.3993464f, -3.3993464f, 0, 1.6996732f]),
        new Golden(
            "sign laplace(0.25)",
            Quantizers.Design(new Sign(), new Laplace(0.25)),
            [1, -2, 0, -0.0f, 3, -1, 1, 1, -5, 2],
            default,
            "56465143 01 06 01 00 00 00 0000 0A000000 02000000 0000803E 0000000000000000 0000000000000000 0000000000000000 0000000000000000 F877A20D DD02",
            [0.25f, -0.25f, 0.25f, 0.25f, 0.25f, -0.25f, 0.25f, 0.25f, -0.25f, 0.25f]),
        new Golden(
            "fp",
            Quantizers.Design(new FullPrecision(), new Laplace(1)),
            [1.5f, -2],
            default,
            "56465143 01 00 20 00 00 00 0000 02000000 08000000 0000803F 0000000000000000 0000000000000000 0000000000000000 0000000000000000 EC4E149B 0000C03F000000C0",
            [1.5f, -2]),
        new Golden(
            "tnq b=3 all zero",
            Quantizers.Design(new TruncatedNonUniform(3), new Laplace(1)),
            [0, 0, 0],
            default,
            "56465143 01 04 03 01 01 00 0000 03000000 02000000 00000000 5754E79A80980940 000000000000F03F 0000000000000000 0000000000000000 D0589711 0000",
            [0, 0, 0]),
        new Golden(
            "bernoulli q=0.5 (version 2)",
            Quantizers.Design(new BernoulliSparsification(0.5), new Laplace(1)),
            [1, -2, 0.5f, 0, 3, -0.25f, 4, -1, 2, 0.125f],
            new RoundingKey(3, 0, 1),
            "56465143 02 07 20 00 00 00 0000 0A000000 0E000000 0000803F 000000000000E03F 0000000000000000 0000000000000000 0000000000000000 FEB5D2C7 C200 000080C0 00000041 000000C0",
            [0, -4, 0, 0, 0, 0, 8, -2, 0, 0]),
        new Golden(
            "randk k=3 d=7 (version 2)",
            Quantizers.Design(new RandKSparsification(3), new Laplace(1), 7),
            [1.5f, -2, 0.25f, 4, -1, 0.5f, 3],
            new RoundingKey(5, 2, 0),
            "56465143 02 08 20 00 00 00 0000 07000000 0D000000 0000803F 0000000000000840 0000000000000000 0000000000000000 0000000000000000 CE2FC650 54 5555153F 555515C0 0000E040",
            [0, 0, (float)(0.25 * 7.0 / 3), 0, (float)(-1 * 7.0 / 3), 0, 7]),
    ];

    private static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(GoldenVectors))]
    public void GoldenVector_IsWrittenExactly_OnEveryPath(Golden golden)
    {
        byte[] expected = Bytes(golden.Hex);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            Assert.Equal(expected, codec.Encode(golden.Gradient, golden.Design, golden.Key));
        }
    }

    [Theory]
    [MemberData(nameof(GoldenVectors))]
    public void GoldenVector_FailsOneByteShort_AndLeavesExtraSpaceUntouched(Golden golden)
    {
        byte[] expected = Bytes(golden.Hex);
        // Exact for every scheme but Bernoulli, whose payload is at most this long (every coordinate kept).
        int needed = GradientCodec.GetMaxEncodedLength(golden.Design.Spec, golden.Gradient.Length);
        Assert.True(golden.Design.Spec is BernoulliSparsification ? needed >= expected.Length : needed == expected.Length);
        var shortBuffer = new byte[needed - 1];
        Assert.False(s_codec.TryEncode(golden.Gradient, golden.Design, golden.Key, shortBuffer, out int none));
        Assert.Equal(0, none);
        Assert.All(shortBuffer, b => Assert.Equal(0, b));
        ArgumentException tooShort = Assert.Throws<ArgumentException>(() => s_codec.Encode(golden.Gradient, golden.Design, golden.Key, shortBuffer));
        Assert.Contains($"needs {needed} bytes", tooShort.Message, StringComparison.Ordinal);
        Assert.Contains($"has {needed - 1}", tooShort.Message, StringComparison.Ordinal);

        var padded = new byte[needed + 3];
        padded.AsSpan().Fill(0xAB);
        Assert.True(s_codec.TryEncode(golden.Gradient, golden.Design, golden.Key, padded, out int written));
        Assert.Equal(expected.Length, written);
        Assert.Equal(expected, padded[..written]);
        Assert.All(padded[written..], b => Assert.Equal(0xAB, b));
    }

    [Theory]
    [MemberData(nameof(GoldenVectors))]
    public void GoldenVector_DecodesToItsValues(Golden golden)
    {
        byte[] payload = Bytes(golden.Hex);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            Assert.Equal(golden.Decoded, codec.Decode(payload));
        }
    }

    [Property(MaxTest = 200)]
    public Property EncodedLength_IsHeaderPlusCeilOfDTimesBitsOver8() =>
        Prop.ForAll(
            (from schemeIndex in Gen.Choose(0, CodecFixtures.AllSchemes().Count() - 1)
             from length in Gen.Choose(0, 2000)
             select (Scheme: CodecFixtures.AllSchemes().ElementAt(schemeIndex), Length: length)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = CodecFixtures.Design(c.Scheme.Scheme, c.Scheme.Bits);
                int expected = PayloadHeader.Size + (((c.Length * design.BitsPerCoordinate) + 7) / 8);
                byte[] payload = s_codec.Encode(CodecFixtures.Gradient(c.Length, c.Length, design), design, default);
                PayloadHeader header = GradientCodec.ReadHeader(payload);
                return (payload.Length == expected
                        && GradientCodec.GetMaxEncodedLength(design.Spec, c.Length) == expected
                        && header.TotalLength == expected
                        && header.Bits == design.BitsPerCoordinate
                        && header.Dimension == c.Length)
                    .Label($"{c.Scheme.Scheme} b={c.Scheme.Bits} d={c.Length}: {payload.Length} bytes, expected {expected}");
            });

    [Fact]
    public void Crc32C_MatchesTheCastagnoliCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(Crc32C.Compute("123456789"u8), Crc32C.Append(Crc32C.Compute("1234"u8), "56789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void NonFiniteInput_IsRejected_NamingTheFirstBadIndex()
    {
        foreach ((string scheme, int bits) in CodecFixtures.AllSchemes())
        {
            QuantizerDesign design = CodecFixtures.Design(scheme, bits);
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[] gradient = CodecFixtures.Gradient(300, 1, design);
                gradient[137] = bad;
                gradient[250] = float.NaN;
                foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
                {
                    ArgumentException error = Assert.Throws<ArgumentException>(() => codec.Encode(gradient, design, default));
                    Assert.Contains("Coordinate 137 ", error.Message, StringComparison.Ordinal);
                }
            }
        }
    }

    [Property(MaxTest = 100)]
    public Property FullPrecisionPayloadWithANonFiniteValue_IsNamed_AndLeavesTheSumUntouched() =>
        Prop.ForAll(
            // The 512-bit decoder checks the values in the checksum's pass over whole 256-byte blocks, then the tail.
            (from length in Gen.OneOf(Gen.Choose(1, 5000), Gen.Choose(1, 12).Select(blocks => 64 * blocks))
             from index in Gen.Choose(0, length - 1)
             from bad in Gen.Elements(float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.UInt32BitsToSingle(0xFFC01234u))
             select (Length: length, Index: index, Bad: bad)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = CodecFixtures.Design("fp", 32);
                float[] gradient = CodecFixtures.Gradient(c.Length, c.Index, design);
                byte[] payload = s_codec.Encode(gradient, design, default);
                bool decodesExactly = s_codec.Decode(payload).AsSpan().SequenceEqual(gradient);
                BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(PayloadHeader.Size + 4 * c.Index), c.Bad);
                Reseal(payload);
                float[] sum = Enumerable.Repeat(0.5f, c.Length).ToArray();
                string expected = $"Coordinate {c.Index} ";
                return (decodesExactly
                        && Assert.Throws<CodecFormatException>(() => s_codec.Decode(payload, new float[c.Length])).Message.Contains(expected, StringComparison.Ordinal)
                        && Assert.Throws<CodecFormatException>(() => s_codec.DecodeAccumulate(payload, sum, 1)).Message.Contains(expected, StringComparison.Ordinal)
                        && sum.All(x => x == 0.5f))
                    .Label($"fp d={c.Length}: {c.Bad} at {c.Index}");
            });

    [Fact]
    public void DecodeIntoAWrongLength_NamesExpectedAndActual()
    {
        QuantizerDesign design = CodecFixtures.Design("tnq", 3);
        byte[] payload = s_codec.Encode(CodecFixtures.Gradient(100, 1, design), design, default);
        ArgumentException error = Assert.Throws<ArgumentException>(() => s_codec.Decode(payload, new float[99]));
        Assert.Contains("length 99", error.Message, StringComparison.Ordinal);
        Assert.Contains("100 coordinates", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => s_codec.DecodeAccumulate(payload, new float[101], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => s_codec.DecodeAccumulate(payload, new float[100], float.NaN));
    }

    [Fact]
    public void WrongVersionTruncationAndCorruption_AreNamedInTheMessage()
    {
        QuantizerDesign design = CodecFixtures.Design("tnq", 3);
        byte[] payload = s_codec.Encode(CodecFixtures.Gradient(64, 1, design), design, default);

        byte[] version = (byte[])payload.Clone();
        version[4] = 3;
        Assert.Contains("version 3", Assert.Throws<CodecFormatException>(() => s_codec.Decode(version)).Message, StringComparison.Ordinal);
        version[4] = 0;
        Assert.Contains("version 0", Assert.Throws<CodecFormatException>(() => s_codec.Decode(version)).Message, StringComparison.Ordinal);
        Assert.Contains("truncated", Assert.Throws<CodecFormatException>(() => s_codec.Decode(payload.AsSpan(0, payload.Length - 1))).Message, StringComparison.Ordinal);
        Assert.Contains("truncated", Assert.Throws<CodecFormatException>(() => s_codec.Decode(payload.AsSpan(0, 10))).Message, StringComparison.Ordinal);
        Assert.Contains("trailing", Assert.Throws<CodecFormatException>(() => s_codec.Decode([.. payload, 0])).Message, StringComparison.Ordinal);
        byte[] corrupted = (byte[])payload.Clone();
        corrupted[^3] ^= 0x10;
        Assert.Contains("CRC-32C", Assert.Throws<CodecFormatException>(() => s_codec.Decode(corrupted)).Message, StringComparison.Ordinal);
        byte[] magic = (byte[])payload.Clone();
        magic[0] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<CodecFormatException>(() => s_codec.Decode(magic)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResealedInconsistentHeaders_AreRejectedWithTheirReason()
    {
        QuantizerDesign design = CodecFixtures.Design("tnq", 3);
        byte[] payload = s_codec.Encode(CodecFixtures.Gradient(64, 1, design), design, default);
        void Expect(string fragment, Action<byte[]> mutate)
        {
            byte[] copy = (byte[])payload.Clone();
            mutate(copy);
            Reseal(copy);
            CodecFormatException error = Assert.Throws<CodecFormatException>(() => s_codec.Decode(copy));
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }
        Expect("Unknown scheme", p => p[5] = 9);
        Expect("bits per coordinate", p => p[6] = 9);
        Expect("payload length", p => BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(16), 25));
        Expect("scale", p => BinaryPrimitives.WriteSingleLittleEndian(p.AsSpan(20), 2));
        Expect("α", p => BinaryPrimitives.WriteDoubleLittleEndian(p.AsSpan(24), 3.0));
        Expect("model scale", p => BinaryPrimitives.WriteDoubleLittleEndian(p.AsSpan(32), -1));
        Expect("model scale", p => BinaryPrimitives.WriteDoubleLittleEndian(p.AsSpan(32), 1e-157));
        Expect("shape ρ", p =>
        {
            p[8] = (byte)WireModel.Lomax;
            BinaryPrimitives.WriteDoubleLittleEndian(p.AsSpan(40), 1e4);
        });
        Expect("Reserved", p => p[11] = 1);
        Expect("padding", p => BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(12), 63));
    }

    [Property(MaxTest = 300)]
    public Property RandomBytes_RaiseOnlyCodecFormatException() =>
        Prop.ForAll(
            (from length in Gen.Choose(0, 200)
             from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), length)
             from keepMagic in Gen.Elements(false, true)
             select KeepMagic(bytes, keepMagic)).ToArbitrary(),
            bytes => DecodesOrFormatError(bytes, reseal: false));

    [Property(MaxTest = 400)]
    public Property MutatedPayloads_RaiseOnlyCodecFormatException_EvenWithAValidChecksum() =>
        Prop.ForAll(
            (from schemeIndex in Gen.Elements(0, 1, 2, 8, 9, 10, 11, 16, 17, 18, 19, 23, 24, 30, 37, 38)
             from length in Gen.Choose(0, 70)
             from position in Gen.Choose(0, 1000)
             from value in Gen.Choose(0, 255)
             from operation in Gen.Choose(0, 4)
             from reseal in Gen.Elements(false, true)
             select (Scheme: CodecFixtures.AllSchemes().ElementAt(schemeIndex), Length: length, Position: position, Value: (byte)value, Operation: operation, Reseal: reseal)).ToArbitrary(),
            c =>
            {
                QuantizerDesign design = CodecFixtures.Design(c.Scheme.Scheme, c.Scheme.Bits);
                byte[] payload = s_codec.Encode(CodecFixtures.Gradient(c.Length, c.Position, design), design, default);
                int at = c.Position % payload.Length;
                byte[] mutated = c.Operation switch
                {
                    0 => Set(payload, at, c.Value),
                    1 => Set(payload, at % PayloadHeader.Size, c.Value),
                    2 => payload[..at],
                    3 => [.. payload, c.Value],
                    _ => Set(payload, at, (byte)(payload[at] ^ (1 << (c.Value & 7)))),
                };
                return DecodesOrFormatError(mutated, c.Reseal).Label($"{c.Scheme.Scheme} b={c.Scheme.Bits} d={c.Length} op={c.Operation} at={at}");
            });

    private static byte[] KeepMagic(byte[] bytes, bool keepMagic)
    {
        if (keepMagic && bytes.Length >= 5)
        {
            PayloadHeader.Magic.CopyTo(bytes);
            bytes[4] = 1;
        }
        return bytes;
    }

    private static byte[] Set(byte[] payload, int index, byte value)
    {
        byte[] copy = (byte[])payload.Clone();
        copy[index] = value;
        return copy;
    }

    private static void Reseal(byte[] payload)
    {
        if (payload.Length >= PayloadHeader.Size)
        {
            uint crc = Crc32C.Append(Crc32C.Compute(payload.AsSpan(0, 56)), payload.AsSpan(PayloadHeader.Size));
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(56), crc);
        }
    }

    /// <summary>Decoding either succeeds (into a span of the announced length) or raises CodecFormatException.</summary>
    private static bool DecodesOrFormatError(byte[] bytes, bool reseal)
    {
        if (reseal)
        {
            Reseal(bytes);
        }
        try
        {
            PayloadHeader header = GradientCodec.ReadHeader(bytes);
            var values = new float[header.Dimension];
            s_codec.Decode(bytes, values);
            s_codec.DecodeAccumulate(bytes, values, 0.5f);
            _ = s_codec.DecodedLevels(header);
            return true;
        }
        catch (CodecFormatException exception)
        {
            return exception.Message.Length > 0;
        }
    }
}
