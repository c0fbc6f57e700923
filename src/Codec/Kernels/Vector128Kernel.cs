using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecF = System.Runtime.Intrinsics.Vector128<float>;
using VecI = System.Runtime.Intrinsics.Vector128<int>;
using VecU = System.Runtime.Intrinsics.Vector128<uint>;

namespace Verified.Codec.Kernels;

/// <summary>
/// The 4-lane path (SSE4.1 arithmetic; AVX/AVX2 for the variable permute and gathers): two vectors per group of 8
/// coordinates. Bit-exact twin of <see cref="ScalarKernel"/>; see <see cref="Vector512Kernel"/> for the structure.
/// </summary>
internal static unsafe class Vector128Kernel
{
    public static bool IsSupported => Avx2.IsSupported;

    private const int Lanes = 4;

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
        ref byte destination = ref MemoryMarshal.GetReference(packed);
        var state = new State(table, inverseNorm, k0, k1);
        VecU max = VecU.Zero;
        int j = start;
        fixed (float* interior = table.Interior, lower = table.Lower, width = table.Width)
        {
            var tables = new Tables(interior, lower, width, table.SearchSize, table.Intervals);
            for (; j + 8 <= end; j += 8)
            {
                VecI first = Code<TRule>(gradient, j, state, tables, ref max);
                VecI second = Code<TRule>(gradient, j + Lanes, state, tables, ref max);
                // 2 × 4 codes → 8 bytes → pext → b bytes.
                Vector128<short> shorts = Vector128.Narrow(first, second);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecI Code<TRule>(ReadOnlySpan<float> gradient, int j, in State state, in Tables tables, ref VecU max)
        where TRule : struct, IRoundingRule
    {
        VecF g = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(gradient), (nuint)j);
        VecU magnitude = g.AsUInt32() & Vector128.Create(ScalarKernel.AbsMask);
        max = Vector128.Max(max, magnitude);
        VecF x = TRule.IsNormScaled
            ? Vector128.MinNative(magnitude.AsSingle() * state.Inverse, VecF.One)
            : Vector128.MinNative(Vector128.MaxNative(g, state.Low), state.High);
        VecI index = VecI.Zero;
        for (int step = tables.SearchSize >> 1; step > 0; step >>= 1)
        {
            VecF probe = Lookup(tables.Interior, tables.SearchSize, index + Vector128.Create(step - 1));
            index += Vector128.LessThan(probe, x).AsInt32() & Vector128.Create(step);
        }
        VecF above = x - Lookup(tables.Lower, tables.Size, index);
        VecF cellWidth = Lookup(tables.Width, tables.Size, index);
        VecF u = Uniform(Vector128.Create((uint)j) + VecU.Indices, state.Key0, state.Key1);
        VecI code = index - Vector128.LessThan(u * cellWidth, above).AsInt32();
        if (TRule.IsNormScaled)
        {
            code |= Vector128.LessThan(g, VecF.Zero).AsInt32() & state.SignBit;
        }
        return code;
    }

    public static uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte destination = ref MemoryMarshal.GetReference(packed);
        VecU absMask = Vector128.Create(ScalarKernel.AbsMask);
        VecU max = VecU.Zero;
        int j = start;
        for (; j + 8 <= end; j += 8)
        {
            VecF first = Vector128.LoadUnsafe(ref source, (nuint)j);
            VecF second = Vector128.LoadUnsafe(ref source, (nuint)(j + Lanes));
            max = Vector128.Max(max, Vector128.Max(first.AsUInt32() & absMask, second.AsUInt32() & absMask));
            uint low = Vector128.GreaterThanOrEqual(first, VecF.Zero).ExtractMostSignificantBits();
            uint high = Vector128.GreaterThanOrEqual(second, VecF.Zero).ExtractMostSignificantBits();
            Unsafe.Add(ref destination, j >> 3) = (byte)(low | (high << Lanes));
        }
        return Math.Max(ScalarKernel.EncodeSign(gradient, j, end, packed), MaxAcross(max));
    }

    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref float destination = ref Unsafe.As<byte, float>(ref MemoryMarshal.GetReference(packed));
        VecU absMask = Vector128.Create(ScalarKernel.AbsMask);
        VecU max = VecU.Zero;
        int j = start;
        for (; j + Lanes <= end; j += Lanes)
        {
            VecF g = Vector128.LoadUnsafe(ref source, (nuint)j);
            max = Vector128.Max(max, g.AsUInt32() & absMask);
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
            for (; j + 8 <= end; j += 8)
            {
                ulong group = BitPacking.Load(ref Unsafe.Add(ref source, offset), bits, offset + 8 <= readable);
                offset += bits;
                ulong codes = BitPacking.Unpack8(group, bits, laneMask);
                VecF first = Lookup(values, tableSize, Sse41.ConvertToVector128Int32(Vector128.CreateScalar(codes).AsByte()));
                VecF second = Lookup(values, tableSize, Sse41.ConvertToVector128Int32(Vector128.CreateScalar(codes >> 32).AsByte()));
                if (accumulate)
                {
                    first += Vector128.LoadUnsafe(ref output, (nuint)j);
                    second += Vector128.LoadUnsafe(ref output, (nuint)(j + Lanes));
                }
                first.StoreUnsafe(ref output, (nuint)j);
                second.StoreUnsafe(ref output, (nuint)(j + Lanes));
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
        Span<double> lanes = stackalloc double[16];
        lanes.Clear();
        Vector128<double> l0 = default, l1 = default, l2 = default, l3 = default, l4 = default, l5 = default, l6 = default, l7 = default;
        int j = 0;
        for (; j + 16 <= gradient.Length; j += 16)
        {
            VecF a = Vector128.LoadUnsafe(ref source, (nuint)j);
            VecF b = Vector128.LoadUnsafe(ref source, (nuint)(j + 4));
            VecF c = Vector128.LoadUnsafe(ref source, (nuint)(j + 8));
            VecF d = Vector128.LoadUnsafe(ref source, (nuint)(j + 12));
            l0 += Square(Vector128.WidenLower(a));
            l1 += Square(Vector128.WidenUpper(a));
            l2 += Square(Vector128.WidenLower(b));
            l3 += Square(Vector128.WidenUpper(b));
            l4 += Square(Vector128.WidenLower(c));
            l5 += Square(Vector128.WidenUpper(c));
            l6 += Square(Vector128.WidenLower(d));
            l7 += Square(Vector128.WidenUpper(d));
        }
        l0.CopyTo(lanes);
        l1.CopyTo(lanes[2..]);
        l2.CopyTo(lanes[4..]);
        l3.CopyTo(lanes[6..]);
        l4.CopyTo(lanes[8..]);
        l5.CopyTo(lanes[10..]);
        l6.CopyTo(lanes[12..]);
        l7.CopyTo(lanes[14..]);
        for (; j < gradient.Length; j++)
        {
            double g = gradient[j];
            lanes[j & 15] += g * g;
        }
        return ScalarKernel.CombineLanes(lanes);
    }

    private static Vector128<double> Square(Vector128<double> value) => value * value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecF Uniform(VecU index, VecU key0, VecU key1)
    {
        VecU h = Finalize(Finalize(index ^ key0) ^ key1);
        return Vector128.ConvertToSingle(Vector128.ShiftRightLogical(h, 8).AsInt32()) * Vector128.Create(RoundingKey.Scale24);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecU Finalize(VecU h)
    {
        h ^= Vector128.ShiftRightLogical(h, 16);
        h *= Vector128.Create(0x85EBCA6B);
        h ^= Vector128.ShiftRightLogical(h, 13);
        h *= Vector128.Create(0xC2B2AE35);
        return h ^ Vector128.ShiftRightLogical(h, 16);
    }

    /// <summary>table[index] per lane: a permute for ≤ 4 entries, a gather beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecF Lookup(float* table, int size, VecI index) =>
        size <= Lanes ? Avx.PermuteVar(Vector128.Load(table), index) : Avx2.GatherVector128(table, index, 4);

    private static uint MaxAcross(VecU max)
    {
        uint result = 0;
        for (int i = 0; i < VecU.Count; i++)
        {
            result = Math.Max(result, max.GetElement(i));
        }
        return result;
    }

    private readonly struct State(LevelTable table, float inverseNorm, uint k0, uint k1)
    {
        public readonly VecF Low = Vector128.Create(table.Low);
        public readonly VecF High = Vector128.Create(table.High);
        public readonly VecF Inverse = Vector128.Create(inverseNorm);
        public readonly VecI SignBit = Vector128.Create(1 << (table.Bits - 1));
        public readonly VecU Key0 = Vector128.Create(k0);
        public readonly VecU Key1 = Vector128.Create(k1);
    }

    private readonly struct Tables(float* interior, float* lower, float* width, int searchSize, int size)
    {
        public readonly float* Interior = interior;
        public readonly float* Lower = lower;
        public readonly float* Width = width;
        public readonly int SearchSize = searchSize;
        public readonly int Size = size;
    }
}
