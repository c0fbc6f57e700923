using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Verified.Codec.Kernels;
using Verified.Theory;

namespace Verified.Codec;

/// <summary>
/// The unbiased sparsifiers on the wire (format version 2, docs/wire-format.md "Sparse payloads"): a d-bit keep bitmap
/// followed by the kept coordinates as float32, already divided by their keep probability. Allocation-free. The loops
/// here are the scalar reference; the vector paths run <see cref="SparseVectorKernel{TIsa, TF, TI, TU}"/>,
/// which writes the same bytes and falls back on these loops for tails, rare lanes and errors.
/// </summary>
/// <remarks>
/// <para>Layout after the 60-byte header:</para>
/// <code>
/// bitmap: ceil(d/8) bytes, bit j = bit (j mod 8) of byte ⌊j/8⌋ (LSB first); 1 = kept; padding bits 0
///         byte 0:  k7 k6 k5 k4 k3 k2 k1 k0      (bit 7 … bit 0)
/// values: n float32 (little-endian), the kept coordinates in increasing j; n = popcount(bitmap)
/// </code>
/// <para>Selection is a pure function of (key, j) (Bernoulli) or of (key, j, kept so far) (rand-k):</para>
/// <list type="bullet">
/// <item>Bernoulli: N = round_half_even(q·2^24) clamped to 1..2^24, q_eff = N·2^−24; keep j iff bits24_j &lt; N, the top
/// 24 bits of the same hash that gives the rounding uniform u_j. P(keep) = q_eff exactly; the header carries q_eff.</item>
/// <item>rand-k: Knuth's selection sampling (Algorithm S): with r coordinates still to keep among the n = d − j left,
/// keep j iff R &lt; r for R uniform on 0..n−1, drawn exactly by Lemire's multiply-and-reject from the full 32-bit hash
/// w_{j,t} = fmix32(fmix32(j ^ k0) ^ k1 ^ (t·0x9E3779B9)), t = 0, 1, … (t = 0 is u_j's hash). P(keep) = r/n exactly, so
/// every k-subset has probability 1/C(d, k).</item>
/// </list>
/// </remarks>
internal static class SparseCodec
{
    /// <summary>2^24: Bernoulli's keep probability is a multiple of 2^−24.</summary>
    public const int KeepResolution = 1 << 24;

    /// <summary>The odd constant that separates rand-k's redraws (⌊2^32/φ⌋).</summary>
    private const uint RedrawStep = 0x9E3779B9u;

    /// <summary>N = q·2^24 rounded half to even, clamped to 1..2^24: the integer keep threshold of q.</summary>
    public static uint KeepThreshold(double keepProbability) =>
        (uint)Math.Clamp(Math.Round(keepProbability * KeepResolution, MidpointRounding.ToEven), 1, KeepResolution);

    /// <summary>q_eff = N·2^−24, the keep probability the encoder realises and the header carries.</summary>
    public static double EffectiveKeepProbability(double keepProbability) => KeepThreshold(keepProbability) / (double)KeepResolution;

    /// <summary>ceil(d/8), the bitmap's bytes.</summary>
    public static int BitmapLength(int dimension) => (int)(((long)dimension + 7) >> 3);

    /// <summary>The largest payload (header included) the spec can produce for d coordinates: every coordinate kept for
    /// Bernoulli, exactly k for rand-k.</summary>
    public static long MaxEncodedLength(SparsifierSpec spec, int dimension)
    {
        long values = dimension;
        if (spec is RandKSparsification randK)
        {
            randK.CheckDimension(dimension);
            values = randK.Kept;
        }
        return PayloadHeader.Size + BitmapLength(dimension) + (4 * values);
    }

    /// <summary>
    /// Encodes <paramref name="gradient"/> (or, with <paramref name="zeros"/>, d zeros) into <paramref name="payload"/>,
    /// which holds at least <see cref="MaxEncodedLength"/> bytes, with <paramref name="kernel"/>'s path, and returns the
    /// bytes written. Nothing after them is touched.
    /// </summary>
    public static int Encode(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, SparsifierSpec spec, uint k0, uint k1, Span<byte> payload, CodecKernel kernel)
    {
        int bitmapLength = BitmapLength(dimension);
        Span<byte> bitmap = payload.Slice(PayloadHeader.Size, bitmapLength);
        Span<byte> values = payload[(PayloadHeader.Size + bitmapLength)..];
        bitmap.Clear();
        int count;
        double parameter;
        if (spec is BernoulliSparsification bernoulli)
        {
            uint threshold = KeepThreshold(bernoulli.KeepProbability);
            parameter = threshold / (double)KeepResolution;
            count = kernel.EncodeBernoulli(gradient, dimension, zeros, threshold, parameter, k0, k1, bitmap, values);
        }
        else
        {
            var randK = (RandKSparsification)spec;
            randK.CheckDimension(dimension);
            parameter = randK.Kept;
            count = kernel.EncodeRandK(gradient, dimension, zeros, randK.Kept, k0, k1, bitmap, values);
        }
        int total = PayloadHeader.Size + bitmapLength + (4 * count);
        var header = new PayloadHeader(
            PayloadHeader.SparseVersion, WireFormat.SchemeOf(spec), WireBits, WireThreshold.None, WireModel.None, dimension,
            total - PayloadHeader.Size, 1, parameter, 0, 0, 0, 0, 0);
        WireFormat.Write(payload, header);
        WireFormat.Seal(payload[..total]);
        return total;
    }

    /// <summary>The bits byte of a sparse payload: 32, the width of one kept value.</summary>
    public const int WireBits = 32;

    /// <summary>
    /// The scalar reference of Bernoulli over coordinates [<paramref name="start"/>, <paramref name="end"/>), after
    /// <paramref name="count"/> values already written; returns the new count. The bitmap must be clear over the range.
    /// </summary>
    internal static int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int start, int end, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values, int count)
    {
        for (int j = start; j < end; j++)
        {
            float g = zeros ? 0 : gradient[j];
            if (!float.IsFinite(g))
            {
                ThrowFirstNonFinite(gradient);
            }
            if (RoundingKey.Bits24(k0, k1, (uint)j) < threshold)
            {
                float value = (float)(g / keepProbability);
                if (!float.IsFinite(value))
                {
                    ThrowOverflow(j, g, "1/q", 1 / keepProbability);
                }
                bitmap[j >> 3] |= (byte)(1 << (j & 7));
                BinaryPrimitives.WriteSingleLittleEndian(values[(4 * count)..], value);
                count++;
            }
        }
        return count;
    }

    /// <summary>The scalar reference of rand-k over the whole vector; returns the kept count (= k).</summary>
    internal static int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values)
    {
        int remaining = kept;
        int count = 0;
        EncodeRandK(gradient, 0, dimension, dimension, zeros, RandKScale(dimension, kept), k0, k1, bitmap, values, ref remaining, ref count);
        return count;
    }

    /// <summary>d/k, the factor rand-k's kept values are multiplied by (in double, then rounded to float32).</summary>
    internal static double RandKScale(int dimension, int kept) => (double)dimension / kept;

    /// <summary>
    /// The scalar reference of rand-k over coordinates [<paramref name="start"/>, <paramref name="end"/>) of d, with
    /// <paramref name="remaining"/> still to keep and <paramref name="count"/> values already written (both updated).
    /// The bitmap must be clear over the range.
    /// </summary>
    internal static void EncodeRandK(
        ReadOnlySpan<float> gradient, int start, int end, int dimension, bool zeros, double scale, uint k0, uint k1, Span<byte> bitmap, Span<byte> values,
        ref int remaining, ref int count)
    {
        for (int j = start; j < end; j++)
        {
            float g = zeros ? 0 : gradient[j];
            if (!float.IsFinite(g))
            {
                ThrowFirstNonFinite(gradient);
            }
            // r = remaining of n = d − j left: r = 0 keeps nothing and r = n keeps everything whatever the draw, so
            // those cases skip it without changing a byte.
            uint left = (uint)(dimension - j);
            bool keep = remaining > 0 && ((uint)remaining == left || Below(k0, k1, (uint)j, left) < (uint)remaining);
            if (keep)
            {
                float value = (float)(g * scale);
                if (!float.IsFinite(value))
                {
                    ThrowOverflow(j, g, "d/k", scale);
                }
                bitmap[j >> 3] |= (byte)(1 << (j & 7));
                BinaryPrimitives.WriteSingleLittleEndian(values[(4 * count)..], value);
                count++;
                remaining--;
            }
        }
    }

    /// <summary>
    /// A uniform integer in 0..n−1 for coordinate j, exactly: ⌊w·n/2^32⌋ of the first hash w_{j,t} whose low product
    /// word is ≥ 2^32 mod n (Lemire 2019, "Fast random integer generation in an interval").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Below(uint k0, uint k1, uint index, uint n)
    {
        unchecked
        {
            uint inner = RoundingKey.Finalize(index ^ k0);
            ulong product = (ulong)RoundingKey.Finalize(inner ^ k1) * n;
            if ((uint)product < n)
            {
                uint reject = (0u - n) % n;
                for (uint t = 1; (uint)product < reject; t++)
                {
                    product = (ulong)RoundingKey.Finalize(inner ^ k1 ^ (t * RedrawStep)) * n;
                }
            }
            return (uint)(product >> 32);
        }
    }

    /// <summary>Checks what the header cannot: bitmap padding, popcount = value count (and = k for rand-k).</summary>
    public static void ValidateBody(in PayloadHeader header, ReadOnlySpan<byte> body)
    {
        int bitmapLength = BitmapLength(header.Dimension);
        ReadOnlySpan<byte> bitmap = body[..bitmapLength];
        int usedBits = header.Dimension & 7;
        if (usedBits != 0 && (bitmap[^1] >> usedBits) != 0)
        {
            CodecThrow.Format(string.Create(CultureInfo.InvariantCulture, $"The {8 - usedBits} padding bits after the last bit of the keep bitmap must be zero; its last byte is {bitmap[^1]:X2}."));
        }
        long ones = 0;
        int i = 0;
        for (; i <= bitmap.Length - 8; i += 8)
        {
            ones += BitOperations.PopCount(BinaryPrimitives.ReadUInt64LittleEndian(bitmap[i..]));
        }
        for (; i < bitmap.Length; i++)
        {
            ones += BitOperations.PopCount(bitmap[i]);
        }
        int values = header.ValueCount;
        if (ones != values)
        {
            CodecThrow.Format(string.Create(CultureInfo.InvariantCulture, $"The keep bitmap marks {ones} coordinates, but the payload carries {values} values: the bitmap's popcount must equal the value count."));
        }
    }

    /// <summary>destination = decode, or destination += weight·decode on the kept coordinates (the others are untouched).</summary>
    public static void Decode(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight, CodecKernel kernel) =>
        kernel.DecodeSparse(header, body, destination, accumulate, weight);

    /// <summary>The scalar reference of <see cref="Decode"/>.</summary>
    internal static void DecodeScalar(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight)
    {
        int bitmapLength = BitmapLength(header.Dimension);
        ReadOnlySpan<byte> bitmap = body[..bitmapLength];
        ReadOnlySpan<byte> values = body[bitmapLength..];
        // Every value is checked before the destination is touched, so a bad payload leaves a running sum intact.
        for (int v = 0; v < values.Length; v += 4)
        {
            float value = BinaryPrimitives.ReadSingleLittleEndian(values[v..]);
            if (!float.IsFinite(value))
            {
                ThrowNonFiniteValue(header, values);
            }
        }
        DecodeRange(bitmap, values, 0, 0, destination, accumulate, weight);
    }

    /// <summary>
    /// The values of the kept coordinates in [<paramref name="start"/>, d) into <paramref name="destination"/>, the
    /// first being value number <paramref name="next"/>; <paramref name="start"/> is a multiple of 8. Without
    /// <paramref name="accumulate"/> the range's other coordinates become +0.
    /// </summary>
    internal static void DecodeRange(ReadOnlySpan<byte> bitmap, ReadOnlySpan<byte> values, int start, int next, Span<float> destination, bool accumulate, float weight)
    {
        if (!accumulate)
        {
            destination[start..].Clear();
        }
        int offset = 4 * next;
        for (int i = start >> 3; i < bitmap.Length; i++)
        {
            uint bits = bitmap[i];
            while (bits != 0)
            {
                int j = (i << 3) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                float value = BinaryPrimitives.ReadSingleLittleEndian(values[offset..]);
                offset += 4;
                if (accumulate)
                {
                    destination[j] += weight * value;
                }
                else
                {
                    destination[j] = value;
                }
            }
        }
    }

    /// <summary>Raises the format error that names the first non-finite value of a sparse payload.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowNonFiniteValue(in PayloadHeader header, ReadOnlySpan<byte> values)
    {
        for (int v = 0; v < values.Length; v += 4)
        {
            float value = BinaryPrimitives.ReadSingleLittleEndian(values[v..]);
            if (!float.IsFinite(value))
            {
                CodecThrow.Format(string.Create(CultureInfo.InvariantCulture, $"Value {v / 4} of the {header.SchemeName} payload is {value}: an encoder never writes a non-finite value."));
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowFirstNonFinite(ReadOnlySpan<float> gradient)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            if (!float.IsFinite(gradient[j]))
            {
                CodecThrow.ArgumentException_NotFinite(nameof(gradient), j, gradient[j]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOverflow(int index, float value, string what, double factor) =>
        CodecThrow.ArgumentException_Design(
            "gradient",
            string.Create(CultureInfo.InvariantCulture, $"Coordinate {index} of the gradient, {value}, times {what} = {factor} does not fit in float32: the kept value cannot be sent."));
}
