using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Driver = Verified.Codec.Kernels.VectorKernel<
    Verified.Codec.Kernels.Vector512Isa,
    System.Runtime.Intrinsics.Vector512<float>,
    System.Runtime.Intrinsics.Vector512<int>,
    System.Runtime.Intrinsics.Vector512<uint>>;
using VecF = System.Runtime.Intrinsics.Vector512<float>;
using VecI = System.Runtime.Intrinsics.Vector512<int>;
using VecU = System.Runtime.Intrinsics.Vector512<uint>;

namespace Verified.Codec.Kernels;

/// <summary>
/// The 16-lane path (AVX-512F/BW): <see cref="VectorKernel{TIsa, TF, TI, TU}"/> over <see cref="Vector512Isa"/> (one
/// vector per two groups of 8 codes), plus its own sum of squares. Bit-exact twin of <see cref="ScalarKernel"/>.
/// </summary>
internal static class Vector512Kernel
{
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported && Avx2.IsSupported;

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

    /// <summary>Σ g² in the canonical order: 16 double lanes = 2 vectors (why per width: <see cref="Vector128Kernel.SumOfSquares"/>).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> gradient)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        Vector512<double> lanes0 = Vector512<double>.Zero;
        Vector512<double> lanes1 = Vector512<double>.Zero;
        int j = 0;
        for (; j + 16 <= gradient.Length; j += 16)
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
}

/// <summary>The 16-lane steps of <see cref="VectorKernel{TIsa, TF, TI, TU}"/>.</summary>
internal readonly unsafe partial struct Vector512Isa : IVectorIsa<VecF, VecI, VecU>
{
    private const int Lanes = 16;

    public static VecU Indices => VecU.Indices;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Load(ref float source, int index) => Vector512.LoadUnsafe(ref source, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(VecF value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Broadcast(int value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU Broadcast(uint value) => Vector512.Create(value);

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
    public static VecU ShiftRightLogical(VecU value, int count) => Vector512.ShiftRightLogical(value, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU AsUInt32(VecF value) => value.AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF AsSingle(VecU value) => value.AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI AsInt32(VecU value) => value.AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF MinNative(VecF left, VecF right) => Vector512.MinNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF MaxNative(VecF left, VecF right) => Vector512.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecU MaxUInt32(VecU left, VecU right) => Vector512.Max(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI LessThan(VecF left, VecF right) => Vector512.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI ConvertToInt32Native(VecF value) => Vector512.ConvertToInt32Native(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Clamp(VecI value, VecI last) => Vector512.Max(Vector512.Min(value, last), VecI.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI Gather(int* table, VecI index) => Vector512.Create(Avx2.GatherVector256(table, index.GetLower(), 4), Avx2.GatherVector256(table, index.GetUpper(), 4));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF ConvertToSingle(VecI value) => Vector512.ConvertToSingle(value);

    /// <summary>One <c>vpermps</c> for ≤ 16 entries, the two-table <c>vpermt2ps</c> for ≤ 32, two 8-lane gathers
    /// beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Lookup(VecF table0, VecF table1, float* table, int size, VecI index)
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

    public static uint MaxAcross(VecU value)
    {
        Vector256<uint> half = Vector256.Max(value.GetLower(), value.GetUpper());
        Vector128<uint> quarter = Vector128.Max(half.GetLower(), half.GetUpper());
        return Math.Max(Math.Max(quarter.GetElement(0), quarter.GetElement(1)), Math.Max(quarter.GetElement(2), quarter.GetElement(3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NonNegativeBits(VecF value) => Vector512.GreaterThanOrEqual(value, VecF.Zero).ExtractMostSignificantBits();

    /// <summary>16 int codes → 16 bytes in one <c>vpmovdb</c> (truncating; codes are &lt; 256).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> NarrowToBytes(VecI first, VecI second) => Avx512F.ConvertToVector128Byte(first);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecI WidenBytes(Vector128<byte> codes) => Avx512F.ConvertToVector512Int32(codes);
}
