using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Driver = Verified.Codec.Kernels.VectorKernel<
    Verified.Codec.Kernels.Vector256Isa,
    System.Runtime.Intrinsics.Vector256<float>,
    System.Runtime.Intrinsics.Vector256<int>,
    System.Runtime.Intrinsics.Vector256<uint>>;
using VecF = System.Runtime.Intrinsics.Vector256<float>;
using VecI = System.Runtime.Intrinsics.Vector256<int>;
using VecU = System.Runtime.Intrinsics.Vector256<uint>;

namespace Verified.Codec.Kernels;

/// <summary>
/// The 8-lane path (AVX2): <see cref="VectorKernel{TIsa, TF, TI, TU}"/> over <see cref="Vector256Isa"/> (one vector
/// per group of 8 codes), plus its own sum of squares. Bit-exact twin of <see cref="ScalarKernel"/>.
/// </summary>
internal static class Vector256Kernel
{
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

    /// <summary>Σ g² in the canonical order: 16 double lanes = 4 vectors (why per width: <see cref="Vector128Kernel.SumOfSquares"/>).</summary>
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
}

/// <summary>The 8-lane steps of <see cref="VectorKernel{TIsa, TF, TI, TU}"/>.</summary>
internal readonly unsafe partial struct Vector256Isa : IVectorIsa<VecF, VecI, VecU>
{
    private const int Lanes = 8;

    public static VecU Indices => VecU.Indices;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Load(ref float source, int index) => Vector256.LoadUnsafe(ref source, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(VecF value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Broadcast(int value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU Broadcast(uint value) => Vector256.Create(value);

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
    public static VecU ShiftRightLogical(VecU value, int count) => Vector256.ShiftRightLogical(value, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU AsUInt32(VecF value) => value.AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF AsSingle(VecU value) => value.AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI AsInt32(VecU value) => value.AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF MinNative(VecF left, VecF right) => Vector256.MinNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF MaxNative(VecF left, VecF right) => Vector256.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU MaxUInt32(VecU left, VecU right) => Vector256.Max(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI LessThan(VecF left, VecF right) => Vector256.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI IncrementWhereLess(VecI value, VecF left, VecF right) => value - Vector256.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF SelectWhereLess(VecF left, VecF right, VecF whereTrue, VecF whereFalse) => Vector256.ConditionalSelect(Vector256.LessThan(left, right), whereTrue, whereFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI ConvertToInt32Native(VecF value) => Vector256.ConvertToInt32Native(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Clamp(VecI value, VecI last) => Vector256.Max(Vector256.Min(value, last), VecI.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Gather(int* table, VecI index) => Avx2.GatherVector256(table, index, 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF ConvertToSingle(VecI value) => Vector256.ConvertToSingle(value);

    /// <summary>One <c>vpermps</c> for ≤ 8 entries, two and a blend for ≤ 16, a gather beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Lookup(VecF table0, VecF table1, float* table, int size, VecI index)
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

    /// <summary>A gather (this width keeps the bucket guess; the 4-ary search is the 16-lane path's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF LookupTable(float* table, int size, VecI index) => Avx2.GatherVector256(table, index, 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Select(VecI mask, VecF whereTrue, VecF whereFalse) => Vector256.ConditionalSelect(mask.AsSingle(), whereTrue, whereFalse);

    public static uint MaxAcross(VecU value)
    {
        Vector128<uint> half = Vector128.Max(value.GetLower(), value.GetUpper());
        return Math.Max(Math.Max(half.GetElement(0), half.GetElement(1)), Math.Max(half.GetElement(2), half.GetElement(3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NonNegativeBits(VecF value) => Vector256.GreaterThanOrEqual(value, VecF.Zero).ExtractMostSignificantBits();

    /// <summary>8 int codes → 8 shorts → 8 bytes (truncating narrows; codes are &lt; 256).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> NarrowToBytes(VecI first, VecI second)
    {
        Vector128<short> shorts = Vector256.Narrow(first, first).GetLower();
        return Vector128.Narrow(shorts, shorts).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI WidenBytes(Vector128<byte> codes) => Avx2.ConvertToVector256Int32(codes);
}
