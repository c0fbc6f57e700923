using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecF = System.Runtime.Intrinsics.Vector256<float>;
using VecI = System.Runtime.Intrinsics.Vector256<int>;
using VecU = System.Runtime.Intrinsics.Vector256<uint>;

namespace Verified.Codec.Kernels;

/// <summary>
/// The 8-lane path (AVX2): one vector per group of 8 coordinates. Bit-exact twin of <see cref="ScalarKernel"/>; see
/// <see cref="Vector512Kernel"/> for the structure, which this file repeats at half the width.
/// </summary>
internal static unsafe class Vector256Kernel
{
    public static bool IsSupported => Avx2.IsSupported;

    private const int Lanes = 8;

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

        VecU absMask = Vector256.Create(ScalarKernel.AbsMask);
        VecF low = Vector256.Create(table.Low);
        VecF high = Vector256.Create(table.High);
        VecF inverse = Vector256.Create(inverseNorm);
        VecF one = VecF.One;
        VecI signBit = Vector256.Create(1 << (bits - 1));
        VecU key0 = Vector256.Create(k0);
        VecU key1 = Vector256.Create(k1);
        VecU iota = VecU.Indices;
        VecF scale24 = Vector256.Create(RoundingKey.Scale24);
        VecU max = VecU.Zero;
        int j = start;
        fixed (float* interior = table.Interior, lower = table.Lower, width = table.Width)
        {
            int searchSize = table.SearchSize;
            int tableSize = table.Intervals;
            int interiorCount = tableSize - 1;
            VecF interior0 = Vector256.Load(interior), interior1 = Vector256.Load(interior + Lanes);
            VecF lower0 = Vector256.Load(lower), lower1 = Vector256.Load(lower + Lanes);
            VecF width0 = Vector256.Load(width), width1 = Vector256.Load(width + Lanes);
            for (; j + Lanes <= end; j += Lanes)
            {
                VecF g = Vector256.LoadUnsafe(ref source, (nuint)j);
                VecU magnitude = g.AsUInt32() & absMask;
                max = Vector256.Max(max, magnitude);
                VecF x = TRule.IsNormScaled
                    ? Vector256.MinNative(magnitude.AsSingle() * inverse, one)
                    : Vector256.MinNative(Vector256.MaxNative(g, low), high);

                // idx = #{interior points < x} = k − 1 (see Vector512Kernel).
                VecI index = VecI.Zero;
                if (interiorCount <= CompareCountLimit)
                {
                    for (int i = 0; i < interiorCount; i++)
                    {
                        index -= Vector256.LessThan(Vector256.Create(interior[i]), x).AsInt32();
                    }
                }
                else
                {
                    for (int step = searchSize >> 1; step > 0; step >>= 1)
                    {
                        VecF probe = Lookup(interior0, interior1, interior, searchSize, index + Vector256.Create(step - 1));
                        index += Vector256.LessThan(probe, x).AsInt32() & Vector256.Create(step);
                    }
                }
                VecF above = x - Lookup(lower0, lower1, lower, tableSize, index);
                VecF cellWidth = Lookup(width0, width1, width, tableSize, index);

                VecF u = Uniform(Vector256.Create((uint)j) + iota, key0, key1, scale24);
                VecI code = index - Vector256.LessThan(u * cellWidth, above).AsInt32();
                if (TRule.IsNormScaled)
                {
                    code |= Vector256.LessThan(g, VecF.Zero).AsInt32() & signBit;
                }

                // 8 codes → 8 bytes → pext → b bytes.
                Vector128<short> shorts = Vector256.Narrow(code, code).GetLower();
                ulong codes = Vector128.Narrow(shorts, shorts).AsUInt64().ToScalar();
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codes, bits, laneMask), bits, offset + 8 <= byteEnd);
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
        VecU absMask = Vector256.Create(ScalarKernel.AbsMask);
        VecU max = VecU.Zero;
        int j = start;
        for (; j + Lanes <= end; j += Lanes)
        {
            VecF g = Vector256.LoadUnsafe(ref source, (nuint)j);
            max = Vector256.Max(max, g.AsUInt32() & absMask);
            Unsafe.Add(ref destination, j >> 3) = (byte)Vector256.GreaterThanOrEqual(g, VecF.Zero).ExtractMostSignificantBits();
        }
        return Math.Max(ScalarKernel.EncodeSign(gradient, j, end, packed), MaxAcross(max));
    }

    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref float destination = ref Unsafe.As<byte, float>(ref MemoryMarshal.GetReference(packed));
        VecU absMask = Vector256.Create(ScalarKernel.AbsMask);
        VecU max = VecU.Zero;
        int j = start;
        for (; j + Lanes <= end; j += Lanes)
        {
            VecF g = Vector256.LoadUnsafe(ref source, (nuint)j);
            max = Vector256.Max(max, g.AsUInt32() & absMask);
            g.StoreUnsafe(ref destination, (nuint)j);
        }
        return Math.Max(ScalarKernel.EncodeFull(gradient, j, end, packed), MaxAcross(max));
    }

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
            VecF values0 = Vector256.Load(values), values1 = Vector256.Load(values + Lanes);
            for (; j + Lanes <= end; j += Lanes)
            {
                ulong group = BitPacking.Load(ref Unsafe.Add(ref source, offset), bits, offset + 8 <= readable);
                offset += bits;
                Vector128<byte> codes = Vector128.CreateScalar(BitPacking.Unpack8(group, bits, laneMask)).AsByte();
                VecF value = Lookup(values0, values1, values, tableSize, Avx2.ConvertToVector256Int32(codes));
                if (accumulate)
                {
                    value = Vector256.LoadUnsafe(ref output, (nuint)j) + value;
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

    public static double SumOfSquares(ReadOnlySpan<float> gradient)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        Vector256<double> lanes0 = Vector256<double>.Zero, lanes1 = Vector256<double>.Zero;
        Vector256<double> lanes2 = Vector256<double>.Zero, lanes3 = Vector256<double>.Zero;
        int j = 0;
        for (; j + 16 <= gradient.Length; j += 16)
        {
            VecF first = Vector256.LoadUnsafe(ref source, (nuint)j);
            VecF second = Vector256.LoadUnsafe(ref source, (nuint)(j + 8));
            Vector256<double> a = Vector256.WidenLower(first), b = Vector256.WidenUpper(first);
            Vector256<double> c = Vector256.WidenLower(second), d = Vector256.WidenUpper(second);
            lanes0 += a * a;
            lanes1 += b * b;
            lanes2 += c * c;
            lanes3 += d * d;
        }
        Span<double> lanes = stackalloc double[16];
        lanes0.CopyTo(lanes);
        lanes1.CopyTo(lanes[4..]);
        lanes2.CopyTo(lanes[8..]);
        lanes3.CopyTo(lanes[12..]);
        for (; j < gradient.Length; j++)
        {
            double g = gradient[j];
            lanes[j & 15] += g * g;
        }
        return ScalarKernel.CombineLanes(lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecF Uniform(VecU index, VecU key0, VecU key1, VecF scale24)
    {
        VecU h = Finalize(Finalize(index ^ key0) ^ key1);
        return Vector256.ConvertToSingle(Vector256.ShiftRightLogical(h, 8).AsInt32()) * scale24;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecU Finalize(VecU h)
    {
        h ^= Vector256.ShiftRightLogical(h, 16);
        h *= Vector256.Create(0x85EBCA6B);
        h ^= Vector256.ShiftRightLogical(h, 13);
        h *= Vector256.Create(0xC2B2AE35);
        return h ^ Vector256.ShiftRightLogical(h, 16);
    }

    /// <summary>table[index] per lane: one permute for ≤ 8 entries, two and a blend for ≤ 16, a gather beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecF Lookup(VecF table0, VecF table1, float* table, int size, VecI index)
    {
        if (size <= Lanes)
        {
            return Avx2.PermuteVar8x32(table0, index);
        }
        if (size <= 2 * Lanes)
        {
            return Vector256.ConditionalSelect(
                Vector256.GreaterThan(index, Vector256.Create(Lanes - 1)).AsSingle(),
                Avx2.PermuteVar8x32(table1, index),
                Avx2.PermuteVar8x32(table0, index));
        }
        return Avx2.GatherVector256(table, index, 4);
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
