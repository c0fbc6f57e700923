using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>
/// The vector sparse kernels (<c>SparseVectorKernel</c>) against the scalar reference (<c>SparseCodec</c>), the oracle:
/// on every path a Bernoulli or rand-k payload has the scalar path's bytes, leaves the bytes after it untouched, decodes
/// and accumulates to the scalar path's float32 bit patterns, and a NaN, ±∞ or overflowing input raises the scalar
/// path's exception, for random gradients, dimensions (tiny, around multiples of 16 and 64, up to 140,000), keys, q
/// and k (k close to d included).
/// </summary>
public class SparsePathProperties
{
    private static readonly Laplace s_model = new(0.01);

    private static readonly Gen<int> s_dimensions = Gen.Frequency(
        (4, Gen.Choose(0, 40)),
        (4, from blocks in Gen.Choose(1, 80)
            from width in Gen.Elements(16, 64)
            from offset in Gen.Choose(-2, 2)
            select Math.Max(0, (blocks * width) + offset)),
        (4, Gen.Choose(41, 5000)),
        (1, Gen.Choose(60_000, 140_000)));

    private static readonly Gen<double> s_keepProbabilities = Gen.OneOf(
        Gen.Elements(1.0, 0.999, 0.5, 0.37, 0.25, 0.1, 0.01, 1e-4, 1e-7, 2.9e-8),
        Gen.Choose(1, 1 << 24).Select(n => n / (double)(1 << 24)),
        Gen.Choose(0, int.MaxValue).Select(n => n / (double)int.MaxValue));

    /// <summary>k for d: 1, d, just below d (the end of the vector keeps everything), or anywhere in 1..d.</summary>
    private static Gen<int> Kept(int d) => Gen.OneOf(
        Gen.Elements(1, d, Math.Max(1, d - 1), Math.Max(1, d - 15), Math.Max(1, d - 16), Math.Max(1, d - 17)),
        Gen.Choose(1, Math.Max(1, Math.Min(d, 64))),
        Gen.Choose(1, Math.Max(1, d)));

    /// <summary>A sparsifier case: the design, the vector's length and seed, and the key.</summary>
    private sealed record Case(bool RandK, double Q, int K, int Length, int Seed, RoundingKey Key)
    {
        public QuantizerDesign Design => RandK
            ? Quantizers.Design(new RandKSparsification(K), s_model, Length)
            : Quantizers.Design(new BernoulliSparsification(Q), s_model);

        public override string ToString() => RandK ? $"randk:{K} d={Length} seed={Seed} {Key}" : $"bernoulli:{Q:R} d={Length} seed={Seed} {Key}";
    }

    private static Arbitrary<Case> Cases() =>
        (from randK in Gen.Elements(false, true)
         from length in s_dimensions
         let d = randK ? Math.Max(1, length) : length
         from k in Kept(d)
         from q in s_keepProbabilities
         from seed in Gen.Choose(0, int.MaxValue)
         from keySeed in Gen.Choose(int.MinValue, int.MaxValue)
         from round in Gen.Choose(int.MinValue, int.MaxValue)
         from client in Gen.Choose(0, 1000)
         select new Case(randK, q, k, d, seed, new RoundingKey((ulong)(uint)keySeed * 0x9E3779B97F4A7C15UL, round, client))).ToArbitrary();

    /// <summary>Finite values of every kind: ±0, subnormals, magnitudes from 1e-30 to 1e30 (none overflows /q or ·d/k).</summary>
    private static float[] Gradient(int length, int seed)
    {
        var random = new Random(seed);
        var v = new float[length];
        for (int j = 0; j < length; j++)
        {
            v[j] = random.Next(10) switch
            {
                0 => 0,
                1 => -0.0f,
                2 => float.Epsilon * random.Next(1, 1000) * (random.Next(2) == 0 ? 1 : -1),
                3 => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 31))),
                _ => (float)((random.NextDouble() - 0.5) * 0.1),
            };
        }
        return v;
    }

    private static bool SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        MemoryMarshal.AsBytes(a).SequenceEqual(MemoryMarshal.AsBytes(b));

    [Property(MaxTest = 300)]
    public Property EveryPath_WritesTheScalarBytes_AndDecodesAndAccumulatesLikeScalar() =>
        Prop.ForAll(Cases(), c =>
        {
            QuantizerDesign design = c.Design;
            float[] v = Gradient(c.Length, c.Seed);
            byte[] expected = CodecFixtures.Scalar.Encode(v, design, c.Key);
            float[] decoded = CodecFixtures.Scalar.Decode(expected);
            var random = new Random(c.Seed);
            float[] start = [.. Enumerable.Range(0, c.Length).Select(_ => random.Next(4) == 0 ? -0.0f : (float)(random.NextDouble() - 0.5))];
            float weight = random.Next(2) == 0 ? 0.125f : -1f / 3;
            float[] accumulated = (float[])start.Clone();
            CodecFixtures.Scalar.DecodeAccumulate(expected, accumulated, weight);
            int room = GradientCodec.GetMaxEncodedLength(design.Spec, c.Length) + 5;
            foreach (GradientCodec codec in CodecFixtures.CodecPerPath.Skip(1))
            {
                var destination = new byte[room];
                destination.AsSpan().Fill(0xAB);
                if (!codec.TryEncode(v, design, c.Key, destination, out int written)
                    || !expected.AsSpan().SequenceEqual(destination.AsSpan(0, written)))
                {
                    return false.Label($"{codec.Path} encodes differently");
                }
                if (destination.AsSpan(written).ContainsAnyExcept((byte)0xAB))
                {
                    return false.Label($"{codec.Path} wrote past the payload's {written} bytes");
                }
                if (!SameBits(decoded, codec.Decode(expected)))
                {
                    return false.Label($"{codec.Path} decodes differently");
                }
                float[] sum = (float[])start.Clone();
                codec.DecodeAccumulate(expected, sum, weight);
                if (!SameBits(accumulated, sum))
                {
                    return false.Label($"{codec.Path} accumulates differently");
                }
            }
            return true.ToProperty();
        });

    /// <summary>The scalar path's outcome, bytes or exception, against every other path's.</summary>
    private static string Outcome(GradientCodec codec, float[] v, QuantizerDesign design, RoundingKey key)
    {
        try
        {
            return Convert.ToHexString(codec.Encode(v, design, key));
        }
        catch (ArgumentException exception)
        {
            return $"{exception.GetType().Name}: {exception.Message}";
        }
    }

    [Property(MaxTest = 300)]
    public Property EveryPath_RaisesTheScalarError_ForNaNInfinityAndOverflow_WhicheverComesFirst() =>
        Prop.ForAll(
            Cases(),
            Gen.ArrayOf(Gen.Choose(0, int.MaxValue), 4).ToArbitrary(),
            Gen.Choose(0, 3).ToArbitrary(),
            (c, positions, badKinds) =>
            {
                float[] v = Gradient(c.Length, c.Seed);
                if (v.Length > 0)
                {
                    // Huge values, which overflow float32 when kept and divided by q < 1 or multiplied by d/k > 1,
                    // some at a random density, then up to `badKinds` NaN or ±∞ at random places before or after them.
                    var random = new Random(c.Seed);
                    double density = random.Next(3) switch { 0 => 0, 1 => 1.0 / v.Length, _ => random.NextDouble() * 0.1 };
                    for (int j = 0; j < v.Length; j++)
                    {
                        if (random.NextDouble() < density)
                        {
                            v[j] = random.Next(2) == 0 ? float.MaxValue : -3e38f;
                        }
                    }
                    for (int i = 0; i < badKinds; i++)
                    {
                        v[positions[i] % v.Length] = (positions[i] % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
                    }
                }
                string expected = Outcome(CodecFixtures.Scalar, v, c.Design, c.Key);
                foreach (GradientCodec codec in CodecFixtures.CodecPerPath.Skip(1))
                {
                    string actual = Outcome(codec, v, c.Design, c.Key);
                    if (actual != expected)
                    {
                        return false.Label($"{codec.Path}: {Shorten(actual)}, scalar: {Shorten(expected)}");
                    }
                }
                return true.Label(Shorten(expected));
            });

    private static string Shorten(string outcome) => outcome.Length > 200 ? outcome[..200] + "…" : outcome;

    [Property(MaxTest = 60)]
    public Property EncodeZero_OnTheFastestPath_IsTheScalarEncodingOfZeros() =>
        Prop.ForAll(Cases(), c =>
        {
            QuantizerDesign design = c.Design;
            var payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, c.Length)];
            int written = GradientCodec.EncodeZero(design.Spec, c.Length, payload);
            byte[] expected = CodecFixtures.Scalar.Encode(new float[c.Length], design, default);
            return expected.AsSpan().SequenceEqual(payload.AsSpan(0, written)).Label($"{CodecPaths.Best} vs scalar");
        });

    [Theory]
    [InlineData(false, 0.25, 0)]
    [InlineData(false, 0.37, 0)]
    [InlineData(true, 0, 1024)]
    [InlineData(true, 0, 300_000)]
    public void EveryPath_WritesTheScalarBytes_AtAMillionCoordinates(bool randK, double q, int k)
    {
        // d = 2^20 + 5: many rand-k spans and keeps, and a tail after the last whole block. About 64 of rand-k's first
        // draws are rejected and redrawn (low word < 2^32 mod n, expected Σ (2^32 mod n)/2^32 ≈ d²/2^34); at k = 300,000
        // a redraw often turns a skip into a keep, which the random cases (d ≤ 140,000) seldom reach.
        const int d = (1 << 20) + 5;
        var c = new Case(randK, q, k, d, 11, new RoundingKey(2026, 7, 3));
        float[] v = Gradient(d, c.Seed);
        byte[] expected = CodecFixtures.Scalar.Encode(v, c.Design, c.Key);
        float[] decoded = CodecFixtures.Scalar.Decode(expected);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath.Skip(1))
        {
            Assert.True(expected.AsSpan().SequenceEqual(codec.Encode(v, c.Design, c.Key)), $"{c}: {codec.Path} encodes differently.");
            Assert.True(SameBits(decoded, codec.Decode(expected)), $"{c}: {codec.Path} decodes differently.");
        }
    }
}
