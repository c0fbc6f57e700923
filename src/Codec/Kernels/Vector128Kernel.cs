using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Driver = Verified.Codec.Kernels.VectorKernel<
    Verified.Codec.Kernels.Vector128Isa,
    System.Runtime.Intrinsics.Vector128<float>,
    System.Runtime.Intrinsics.Vector128<int>,
    System.Runtime.Intrinsics.Vector128<uint>>;
using VecF = System.Runtime.Intrinsics.Vector128<float>;
using VecI = System.Runtime.Intrinsics.Vector128<int>;
using VecU = System.Runtime.Intrinsics.Vector128<uint>;

namespace Verified.Codec.Kernels;

/// <summary>
/// The 4-lane path: <see cref="VectorKernel{TIsa, TF, TI, TU}"/> over <see cref="Vector128Isa"/> (two vectors per
/// group of 8 codes), plus its own sum of squares. Bit-exact twin of <see cref="ScalarKernel"/>.
/// </summary>
internal static class Vector128Kernel
{
    /// <summary>SSE4.1 arithmetic, AVX's <c>vpermilps</c> and AVX2's gathers.</summary>
    public static bool IsSupported => Avx2.IsSupported;

    public static uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Driver.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed);

    public static uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Driver.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    public static uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Driver.EncodeSign(gradient, start, end, packed);

    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Driver.EncodeFull(gradient, start, end, packed);

    public static void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate) =>
        Driver.Decode(packed, bits, start, end, table, destination, accumulate);

    /// <summary>Σ g² in the canonical order of <see cref="ScalarKernel.SumOfSquares"/>: 16 double lanes = 8 vectors.</summary>
    /// <remarks>Specialised per width, not in the driver: the canonical order fixes 16 double partial sums (lane j mod
    /// 16), which is 8, 4 or 2 double vectors depending on the width; a generic driver would have to hold a
    /// width-dependent number of accumulators, which means memory, not registers.</remarks>
    public static double SumOfSquares(ReadOnlySpan<float> gradient)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
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
        Span<double> lanes = stackalloc double[16];
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
}

/// <summary>The 4-lane steps of <see cref="VectorKernel{TIsa, TF, TI, TU}"/>.</summary>
internal readonly unsafe partial struct Vector128Isa : IVectorIsa<VecF, VecI, VecU>
{
    private const int Lanes = 4;

    public static VecU Indices => VecU.Indices;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Load(ref float source, int index) => Vector128.LoadUnsafe(ref source, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Load(float* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(VecF value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Broadcast(int value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU Broadcast(uint value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Add(VecF left, VecF right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Subtract(VecF left, VecF right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Multiply(VecF left, VecF right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Add(VecI left, VecI right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Subtract(VecI left, VecI right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI And(VecI left, VecI right) => left & right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Or(VecI left, VecI right) => left | right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU Add(VecU left, VecU right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU Multiply(VecU left, VecU right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU And(VecU left, VecU right) => left & right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU Xor(VecU left, VecU right) => left ^ right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU ShiftRightLogical(VecU value, int count) => Vector128.ShiftRightLogical(value, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU AsUInt32(VecF value) => value.AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF AsSingle(VecU value) => value.AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI AsInt32(VecU value) => value.AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF MinNative(VecF left, VecF right) => Vector128.MinNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF MaxNative(VecF left, VecF right) => Vector128.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU MaxUInt32(VecU left, VecU right) => Vector128.Max(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI LessThan(VecF left, VecF right) => Vector128.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI IncrementWhereLess(VecI value, VecF left, VecF right) => value - Vector128.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF SelectWhereLess(VecF left, VecF right, VecF whereTrue, VecF whereFalse) => Vector128.ConditionalSelect(Vector128.LessThan(left, right), whereTrue, whereFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI ConvertToInt32Native(VecF value) => Vector128.ConvertToInt32Native(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Clamp(VecI value, VecI last) => Vector128.Max(Vector128.Min(value, last), VecI.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Gather(int* table, VecI index) => Avx2.GatherVector128(table, index, 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF ConvertToSingle(VecI value) => Vector128.ConvertToSingle(value);

    /// <summary>One <c>vpermilps</c> for ≤ 4 entries, two and a blend for ≤ 8 (it reads only the low 2 index bits), a
    /// gather beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Lookup(VecF table0, VecF table1, float* table, int size, VecI index)
    {
        if (size <= Lanes)
        {
            return Avx.PermuteVar(table0, index);
        }
        if (size <= 2 * Lanes)
        {
            return Vector128.ConditionalSelect(
                Vector128.GreaterThan(index, Vector128.Create(Lanes - 1)).AsSingle(),
                Avx.PermuteVar(table1, index),
                Avx.PermuteVar(table0, index));
        }
        return Avx2.GatherVector128(table, index, 4);
    }

    /// <summary>A gather (this width keeps the bucket guess; the 4-ary search is the 16-lane path's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF LookupTable(float* table, int size, VecI index) => Avx2.GatherVector128(table, index, 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Select(VecI mask, VecF whereTrue, VecF whereFalse) => Vector128.ConditionalSelect(mask.AsSingle(), whereTrue, whereFalse);

    public static uint MaxAcross(VecU value) =>
        Math.Max(Math.Max(value.GetElement(0), value.GetElement(1)), Math.Max(value.GetElement(2), value.GetElement(3)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NonNegativeBits(VecF value) => Vector128.GreaterThanOrEqual(value, VecF.Zero).ExtractMostSignificantBits();

    /// <summary>2 × 4 int codes → 8 shorts → 8 bytes (truncating narrows; codes are &lt; 256).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> NarrowToBytes(VecI first, VecI second)
    {
        Vector128<short> shorts = Vector128.Narrow(first, second);
        return Vector128.Narrow(shorts, shorts).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI WidenBytes(Vector128<byte> codes) => Sse41.ConvertToVector128Int32(codes);
}
