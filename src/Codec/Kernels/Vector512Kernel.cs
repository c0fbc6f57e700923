using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecF = System.Runtime.Intrinsics.Vector512<float>;
using VecI = System.Runtime.Intrinsics.Vector512<int>;
using VecU = System.Runtime.Intrinsics.Vector512<uint>;

namespace Verified.Codec.Kernels;

/// <summary>
/// The 16-lane path (AVX-512F/BW): one vector per block of 16 coordinates. Bit-exact twin of <see cref="ScalarKernel"/>:
/// the same float32 operations in the same order, lane by lane; the cell search may differ (binary search with
/// permutes) because the cell is defined mathematically, not by the algorithm.
/// </summary>
internal static unsafe class Vector512Kernel
{
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported && Avx2.IsSupported;

    private const int Lanes = 16;

    /// <summary>Up to this many interior points a linear count beats the binary search (measured on Zen 4).</summary>
    private const int CompareCountLimit = 15;

    public static uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, Span<byte> packed) =>
        Encode<TruncatedRule>(gradient, start, end, table, 0, k0, k1, packed);

    public static uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, Span<byte> packed) =>
        Encode<NormScaledRule>(gradient, start, end, table, inverseNorm, k0, k1, packed);

    private static uint Encode<TRule>(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, Span<byte> packed)
        where TRule : struct, IRoundingRule
    {
        int bits = table.Bits;
        ulong laneMask = BitPacking.LaneMask(bits);
        int byteEnd = (int)WireFormat.PackedLength(end, bits);
        int offset = (int)((long)start * bits >> 3);
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte destination = ref MemoryMarshal.GetReference(packed);

        VecU absMask = Vector512.Create(ScalarKernel.AbsMask);
        VecF low = Vector512.Create(table.Low);
        VecF high = Vector512.Create(table.High);
        VecF inverse = Vector512.Create(inverseNorm);
        VecF one = VecF.One;
        VecI signBit = Vector512.Create(1 << (bits - 1));
        VecU key0 = Vector512.Create(k0);
        VecU key1 = Vector512.Create(k1);
        VecU iota = VecU.Indices;
        VecF scale24 = Vector512.Create(RoundingKey.Scale24);
        VecU max = VecU.Zero;
        int j = start;
        fixed (float* interior = table.Interior, lower = table.Lower, width = table.Width)
        {
            int searchSize = table.SearchSize;
            int tableSize = table.Intervals;
            int interiorCount = tableSize - 1;
            VecF interior0 = Vector512.Load(interior), interior1 = Vector512.Load(interior + Lanes);
            VecF lower0 = Vector512.Load(lower), lower1 = Vector512.Load(lower + Lanes);
            VecF width0 = Vector512.Load(width), width1 = Vector512.Load(width + Lanes);
            for (; j + Lanes <= end; j += Lanes)
            {
                VecF g = Vector512.LoadUnsafe(ref source, (nuint)j);
                VecU magnitude = g.AsUInt32() & absMask;
                max = Vector512.Max(max, magnitude);
                VecF x = TRule.IsNormScaled
                    ? Vector512.MinNative(magnitude.AsSingle() * inverse, one)
                    : Vector512.MinNative(Vector512.MaxNative(g, low), high);

                // idx = #{interior points < x} = k − 1: a compare per point for small grids, else a branch-free
                // binary search over the +∞-padded interior points.
                VecI index = VecI.Zero;
                if (interiorCount <= CompareCountLimit)
                {
                    for (int i = 0; i < interiorCount; i++)
                    {
                        index -= Vector512.LessThan(Vector512.Create(interior[i]), x).AsInt32();
                    }
                }
                else
                {
                    for (int step = searchSize >> 1; step > 0; step >>= 1)
                    {
                        VecF probe = Lookup(interior0, interior1, interior, searchSize, index + Vector512.Create(step - 1));
                        index += Vector512.LessThan(probe, x).AsInt32() & Vector512.Create(step);
                    }
                }
                VecF above = x - Lookup(lower0, lower1, lower, tableSize, index);
                VecF cellWidth = Lookup(width0, width1, width, tableSize, index);

                VecF u = Uniform(Vector512.Create((uint)j) + iota, key0, key1, scale24);
                VecI code = index - Vector512.LessThan(u * cellWidth, above).AsInt32();
                if (TRule.IsNormScaled)
                {
                    code |= Vector512.LessThan(g, VecF.Zero).AsInt32() & signBit;
                }

                // 16 codes → 16 bytes (vpmovdb) → two groups of 8 → pext → 2·b bytes.
                Vector128<ulong> codes = Avx512F.ConvertToVector128Byte(code).AsUInt64();
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codes.ToScalar(), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codes.GetElement(1), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
            }
        }
        uint tail = TRule.IsNormScaled
            ? ScalarKernel.EncodeNormScaled(gradient, j, end, table, inverseNorm, k0, k1, packed)
            : ScalarKernel.EncodeTruncated(gradient, j, end, table, k0, k1, packed);
        return Math.Max(tail, MaxAcross(max));
    }

    public static uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte destination = ref MemoryMarshal.GetReference(packed);
        VecU absMask = Vector512.Create(ScalarKernel.AbsMask);
        VecU max = VecU.Zero;
        int j = start;
        for (; j + Lanes <= end; j += Lanes)
        {
            VecF g = Vector512.LoadUnsafe(ref source, (nuint)j);
            max = Vector512.Max(max, g.AsUInt32() & absMask);
            // Bit i of the mask is lane i's code: exactly the 1-bit packing, LSB first.
            ulong positive = Vector512.GreaterThanOrEqual(g, VecF.Zero).ExtractMostSignificantBits();
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, j >> 3), (ushort)positive);
        }
        return Math.Max(ScalarKernel.EncodeSign(gradient, j, end, packed), MaxAcross(max));
    }

    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref float destination = ref Unsafe.As<byte, float>(ref MemoryMarshal.GetReference(packed));
        VecU absMask = Vector512.Create(ScalarKernel.AbsMask);
        VecU max = VecU.Zero;
        int j = start;
        for (; j + Lanes <= end; j += Lanes)
        {
            VecF g = Vector512.LoadUnsafe(ref source, (nuint)j);
            max = Vector512.Max(max, g.AsUInt32() & absMask);
            g.StoreUnsafe(ref destination, (nuint)j);
        }
        return Math.Max(ScalarKernel.EncodeFull(gradient, j, end, packed), MaxAcross(max));
    }

    /// <summary>destination[j] = table[code_j] (<paramref name="accumulate"/>: sum[j] += table[code_j]).</summary>
    public static void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate)
    {
        ulong laneMask = BitPacking.LaneMask(bits);
        int offset = (int)((long)start * bits >> 3);
        int readable = packed.Length;
        ref byte source = ref MemoryMarshal.GetReference(packed);
        ref float output = ref MemoryMarshal.GetReference(destination);
        int tableSize = 1 << bits;
        int j = start;
        fixed (float* values = table)
        {
            VecF values0 = Vector512.Load(values), values1 = Vector512.Load(values + Lanes);
            for (; j + Lanes <= end; j += Lanes)
            {
                ulong group0 = BitPacking.Load(ref Unsafe.Add(ref source, offset), bits, offset + 8 <= readable);
                offset += bits;
                ulong group1 = BitPacking.Load(ref Unsafe.Add(ref source, offset), bits, offset + 8 <= readable);
                offset += bits;
                Vector128<byte> codes = Vector128.Create(BitPacking.Unpack8(group0, bits, laneMask), BitPacking.Unpack8(group1, bits, laneMask)).AsByte();
                VecF value = Lookup(values0, values1, values, tableSize, Avx512F.ConvertToVector512Int32(codes));
                if (accumulate)
                {
                    value = Vector512.LoadUnsafe(ref output, (nuint)j) + value;
                }
                value.StoreUnsafe(ref output, (nuint)j);
            }
        }
        if (accumulate)
        {
            ScalarKernel.DecodeAccumulate(packed, bits, j, end, table, destination);
        }
        else
        {
            ScalarKernel.Decode(packed, bits, j, end, table, destination);
        }
    }

    /// <summary>The 16-lane sum of squares in the canonical order (lane j mod 16, then the fixed tree).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> gradient)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        Vector512<double> lanes0 = Vector512<double>.Zero;
        Vector512<double> lanes1 = Vector512<double>.Zero;
        int j = 0;
        for (; j + Lanes <= gradient.Length; j += Lanes)
        {
            VecF g = Vector512.LoadUnsafe(ref source, (nuint)j);
            Vector512<double> first = Vector512.WidenLower(g);
            Vector512<double> second = Vector512.WidenUpper(g);
            lanes0 += first * first;
            lanes1 += second * second;
        }
        Span<double> lanes = stackalloc double[16];
        lanes0.CopyTo(lanes);
        lanes1.CopyTo(lanes[8..]);
        for (; j < gradient.Length; j++)
        {
            double g = gradient[j];
            lanes[j & 15] += g * g;
        }
        return ScalarKernel.CombineLanes(lanes);
    }

    /// <summary>The counter-based uniform of <see cref="RoundingKey"/> for 16 consecutive coordinates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecF Uniform(VecU index, VecU key0, VecU key1, VecF scale24)
    {
        VecU h = Finalize(Finalize(index ^ key0) ^ key1);
        return Vector512.ConvertToSingle(Vector512.ShiftRightLogical(h, 8).AsInt32()) * scale24;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecU Finalize(VecU h)
    {
        h ^= Vector512.ShiftRightLogical(h, 16);
        h *= Vector512.Create(0x85EBCA6B);
        h ^= Vector512.ShiftRightLogical(h, 13);
        h *= Vector512.Create(0xC2B2AE35);
        return h ^ Vector512.ShiftRightLogical(h, 16);
    }

    /// <summary>table[index] per lane: one permute for ≤ 16 entries, two-table permute for ≤ 32, gathers beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecF Lookup(VecF table0, VecF table1, float* table, int size, VecI index)
    {
        if (size <= Lanes)
        {
            return Avx512F.PermuteVar16x32(table0, index);
        }
        if (size <= 2 * Lanes)
        {
            return Avx512F.PermuteVar16x32x2(table0, index, table1);
        }
        return Vector512.Create(
            Avx2.GatherVector256(table, index.GetLower(), 4),
            Avx2.GatherVector256(table, index.GetUpper(), 4));
    }

    private static uint MaxAcross(VecU max)
    {
        uint result = 0;
        for (int i = 0; i < VecU.Count; i++)
        {
            result = Math.Max(result, max.GetElement(i));
        }
        return result;
    }
}

/// <summary>Which rounding a kernel applies; a type argument so the JIT compiles one loop per rule.</summary>
internal interface IRoundingRule
{
    /// <summary>QSGD/NUQSGD (magnitude relative to ‖v‖ plus a sign bit) rather than a truncated scheme.</summary>
    static abstract bool IsNormScaled { get; }
}

/// <summary>Truncated schemes: clamp to [L_0, L_s], round on the levels.</summary>
internal readonly struct TruncatedRule : IRoundingRule
{
    public static bool IsNormScaled => false;
}

/// <summary>QSGD/NUQSGD: round |g|/‖v‖ on the magnitudes, sign in the top bit.</summary>
internal readonly struct NormScaledRule : IRoundingRule
{
    public static bool IsNormScaled => true;
}
