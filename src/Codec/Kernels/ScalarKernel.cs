using System.Runtime.CompilerServices;

namespace Verified.Codec.Kernels;

/// <summary>
/// The scalar reference: plain loops that define what every vector path must reproduce byte for byte. Also the
/// fallback on CPUs without the vector instructions, and the tail handler of the vector kernels.
/// </summary>
/// <remarks>
/// <para>Ranges start at a coordinate that is a multiple of 8, so they start on a byte boundary of the packed stream.
/// Codes are packed least significant bit first: code j occupies bits [j·b, j·b + b) of the stream, and stream bit i
/// is bit (i mod 8) of byte ⌊i/8⌋. For b = 3:</para>
/// <code>
/// byte 0: c2₁c2₀ c1₂c1₁c1₀ c0₂c0₁c0₀   (bit 7 … bit 0)
/// byte 1: c5₀ c4₂c4₁c4₀ c3₂c3₁c3₀ c2₂
/// byte 2: c7₂c7₁c7₀ c6₂c6₁c6₀ c5₂c5₁
/// </code>
/// <para>The rounding counter of coordinate j is counterBase + j (mod 2^32): 0 + j for a whole-vector payload, the
/// segment's first coordinate + j for a segment of a version-3 payload, so a segment draws the uniforms of its global
/// coordinates and no two segments of one upload share one (docs/wire-format.md, "Segmented payloads").</para>
/// <para>Every kernel returns the largest |g| bit pattern (bits &amp; 0x7FFFFFFF) of its range: ≥ 0x7F800000 means a
/// NaN or ±∞ was seen, 0 means the range was all zero.</para>
/// </remarks>
internal static class ScalarKernel
{
    public const uint AbsMask = 0x7FFFFFFFu;

    /// <summary>Truncated schemes: code = stochastic rounding of clamp(g, L_0, L_s) on the grid.</summary>
    public static uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed)
    {
        var writer = new BitWriter(packed, start, table.Bits);
        uint max = 0;
        float low = table.Low;
        float high = table.High;
        for (int j = start; j < end; j++)
        {
            float g = gradient[j];
            max = Math.Max(max, BitConverter.SingleToUInt32Bits(g) & AbsMask);
            float x = Math.Min(Math.Max(g, low), high);
            writer.Write(Round(table, x, k0, k1, unchecked(counterBase + (uint)j)));
        }
        writer.Flush();
        return max;
    }

    /// <summary>QSGD/NUQSGD: code = sign·2^{b−1} + stochastic rounding of min(|g|·(1/‖v‖), 1) on the magnitudes.</summary>
    public static uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed)
    {
        var writer = new BitWriter(packed, start, table.Bits);
        uint max = 0;
        uint signBit = 1u << (table.Bits - 1);
        for (int j = start; j < end; j++)
        {
            float g = gradient[j];
            uint magnitudeBits = BitConverter.SingleToUInt32Bits(g) & AbsMask;
            max = Math.Max(max, magnitudeBits);
            float r = Math.Min(BitConverter.UInt32BitsToSingle(magnitudeBits) * inverseNorm, 1.0f);
            uint code = Round(table, r, k0, k1, unchecked(counterBase + (uint)j));
            writer.Write(g < 0 ? code | signBit : code);
        }
        writer.Flush();
        return max;
    }

    /// <summary>Sign: code 1 for g ≥ 0, 0 for g &lt; 0 (index into the levels {−m, +m}).</summary>
    public static uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        var writer = new BitWriter(packed, start, 1);
        uint max = 0;
        for (int j = start; j < end; j++)
        {
            float g = gradient[j];
            max = Math.Max(max, BitConverter.SingleToUInt32Bits(g) & AbsMask);
            writer.Write(g >= 0 ? 1u : 0u);
        }
        writer.Flush();
        return max;
    }

    /// <summary>Full precision: the floats themselves.</summary>
    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        uint max = 0;
        for (int j = start; j < end; j++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(gradient[j]);
            max = Math.Max(max, bits & AbsMask);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(packed[(4 * j)..], bits);
        }
        return max;
    }

    /// <summary>Stochastic rounding of x ∈ [L_0, L_s] with the uniform of counter <paramref name="counter"/> (class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Round(LevelTable table, float x, uint k0, uint k1, uint counter)
    {
        int cell = Cell(table.Grid, x);
        float above = x - table.Lower[cell - 1];
        float u = RoundingKey.UniformFromBits(RoundingKey.Bits24(k0, k1, counter));
        return (uint)(cell - 1) + (u * table.Width[cell - 1] < above ? 1u : 0u);
    }

    /// <summary>The smallest k in 1..s with grid[k] ≥ x (binary search).</summary>
    public static int Cell(float[] grid, float x)
    {
        int low = 1;
        int high = grid.Length - 1;
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            if (grid[middle] < x)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    /// <summary>destination[j − start] = table[code_j] for j in [start, end).</summary>
    public static void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination)
    {
        var reader = new BitReader(packed, start, bits);
        for (int j = start; j < end; j++)
        {
            destination[j] = table[(int)reader.Read()];
        }
    }

    /// <summary>sum[j] += table[code_j], the table already multiplied by the weight.</summary>
    public static void DecodeAccumulate(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> weightedTable, Span<float> sum)
    {
        var reader = new BitReader(packed, start, bits);
        for (int j = start; j < end; j++)
        {
            sum[j] += weightedTable[(int)reader.Read()];
        }
    }

    /// <summary>Σ_j g_j² in the canonical order of docs/wire-format.md: 16 running sums, lane j mod 16, then a fixed tree.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> gradient)
    {
        Span<double> lanes = stackalloc double[16];
        lanes.Clear();
        for (int j = 0; j < gradient.Length; j++)
        {
            double g = gradient[j];
            lanes[j & 15] += g * g;
        }
        return CombineLanes(lanes);
    }

    /// <summary>((l0 + l1) + (l2 + l3)) + … : the fixed pairwise tree over 16 partial sums.</summary>
    public static double CombineLanes(Span<double> lanes)
    {
        for (int width = 8; width >= 1; width >>= 1)
        {
            for (int i = 0; i < width; i++)
            {
                lanes[i] = lanes[2 * i] + lanes[(2 * i) + 1];
            }
        }
        return lanes[0];
    }

    /// <summary>Writes b-bit codes LSB first from a byte-aligned position; every byte it touches is assigned, not OR-ed.</summary>
    private ref struct BitWriter
    {
        private readonly Span<byte> _destination;
        private readonly int _bits;
        private int _position;
        private ulong _buffer;
        private int _count;

        public BitWriter(Span<byte> destination, int startCoordinate, int bits)
        {
            _destination = destination;
            _bits = bits;
            _position = (int)((long)startCoordinate * bits >> 3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Write(uint code)
        {
            _buffer |= (ulong)code << _count;
            _count += _bits;
            while (_count >= 8)
            {
                _destination[_position++] = (byte)_buffer;
                _buffer >>= 8;
                _count -= 8;
            }
        }

        public void Flush()
        {
            if (_count > 0)
            {
                _destination[_position] = (byte)_buffer;
            }
        }
    }

    /// <summary>Reads b-bit codes LSB first from a byte-aligned position.</summary>
    private ref struct BitReader
    {
        private readonly ReadOnlySpan<byte> _source;
        private readonly int _bits;
        private readonly uint _mask;
        private int _position;
        private ulong _buffer;
        private int _count;

        public BitReader(ReadOnlySpan<byte> source, int startCoordinate, int bits)
        {
            _source = source;
            _bits = bits;
            _mask = (uint)((1L << bits) - 1);
            _position = (int)((long)startCoordinate * bits >> 3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Read()
        {
            while (_count < _bits)
            {
                _buffer |= (ulong)_source[_position++] << _count;
                _count += 8;
            }
            uint code = (uint)_buffer & _mask;
            _buffer >>= _bits;
            _count -= _bits;
            return code;
        }
    }
}
