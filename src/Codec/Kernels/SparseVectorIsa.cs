using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Verified.Codec.Kernels;

/// <summary>The 16-lane sparse steps: AVX-512's <c>vcompressps</c>/<c>vexpandps</c> on mask registers.</summary>
internal readonly partial struct Vector512Isa : ISparseVectorIsa<Vector512<float>, Vector512<int>, Vector512<uint>>
{
    private static Vector512<uint> LaneBits => Vector512.Create(1u, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Subtract(Vector512<uint> left, Vector512<uint> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> LessThan(Vector512<int> left, Vector512<int> right) => Vector512.LessThan(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> LessThan(Vector512<uint> left, Vector512<uint> right) => Vector512.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MaskBits(Vector512<int> mask) => (uint)mask.ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MaskFromBits(uint bits) => Vector512.Equals(Vector512.Create(bits) & LaneBits, LaneBits).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Compress(Vector512<float> value, Vector512<int> keep, uint keepBits) =>
        Avx512F.Compress(Vector512<float>.Zero, keep.AsSingle(), value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Expand(Vector512<float> packed, Vector512<int> keep, uint keepBits) =>
        Avx512F.Expand(Vector512<float>.Zero, keep.AsSingle(), packed);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> DivideInDouble(Vector512<float> value, double divisor, bool upperHalf)
    {
        Vector512<double> by = Vector512.Create(divisor);
        Vector512<double> low = Vector512.WidenLower(value) / by;
        Vector512<double> high = upperHalf ? Vector512.WidenUpper(value) / by : Vector512<double>.Zero;
        return Vector512.Narrow(low, high);
    }

}

/// <summary>The 8-lane sparse steps (AVX2): compress and expand through <see cref="SparseLanePermutes"/>.</summary>
internal readonly partial struct Vector256Isa : ISparseVectorIsa<Vector256<float>, Vector256<int>, Vector256<uint>>
{
    private static Vector256<uint> LaneBits => Vector256.Create(1u, 2, 4, 8, 16, 32, 64, 128);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> Subtract(Vector256<uint> left, Vector256<uint> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> LessThan(Vector256<int> left, Vector256<int> right) => Vector256.LessThan(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> LessThan(Vector256<uint> left, Vector256<uint> right) => Vector256.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MaskBits(Vector256<int> mask) => mask.ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MaskFromBits(uint bits) => Vector256.Equals(Vector256.Create(bits) & LaneBits, LaneBits).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Compress(Vector256<float> value, Vector256<int> keep, uint keepBits) =>
        Avx2.PermuteVar8x32(value, PermuteIndices(SparseLanePermutes.Compress, keepBits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Expand(Vector256<float> packed, Vector256<int> keep, uint keepBits) =>
        Avx2.PermuteVar8x32(packed, PermuteIndices(SparseLanePermutes.Expand, keepBits)) & keep.AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> DivideInDouble(Vector256<float> value, double divisor, bool upperHalf)
    {
        Vector256<double> by = Vector256.Create(divisor);
        Vector256<double> low = Vector256.WidenLower(value) / by;
        Vector256<double> high = upperHalf ? Vector256.WidenUpper(value) / by : Vector256<double>.Zero;
        return Vector256.Narrow(low, high);
    }

    /// <summary>Entry <paramref name="bits"/> of a permutation table as 8 int lane indices (<c>vpmovzxbd</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PermuteIndices(ulong[] table, uint bits) =>
        Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), bits)).AsByte());
}

/// <summary>The 4-lane sparse steps: compress and expand through the low half of <see cref="SparseLanePermutes"/>.</summary>
internal readonly partial struct Vector128Isa : ISparseVectorIsa<Vector128<float>, Vector128<int>, Vector128<uint>>
{
    private static Vector128<uint> LaneBits => Vector128.Create(1u, 2, 4, 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<uint> Subtract(Vector128<uint> left, Vector128<uint> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> LessThan(Vector128<int> left, Vector128<int> right) => Vector128.LessThan(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> LessThan(Vector128<uint> left, Vector128<uint> right) => Vector128.LessThan(left, right).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MaskBits(Vector128<int> mask) => mask.ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MaskFromBits(uint bits) => Vector128.Equals(Vector128.Create(bits) & LaneBits, LaneBits).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Compress(Vector128<float> value, Vector128<int> keep, uint keepBits) =>
        Avx.PermuteVar(value, PermuteIndices(SparseLanePermutes.Compress, keepBits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Expand(Vector128<float> packed, Vector128<int> keep, uint keepBits) =>
        Avx.PermuteVar(packed, PermuteIndices(SparseLanePermutes.Expand, keepBits)) & keep.AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> DivideInDouble(Vector128<float> value, double divisor, bool upperHalf)
    {
        Vector128<double> by = Vector128.Create(divisor);
        Vector128<double> low = Vector128.WidenLower(value) / by;
        Vector128<double> high = upperHalf ? Vector128.WidenUpper(value) / by : Vector128<double>.Zero;
        return Vector128.Narrow(low, high);
    }

    /// <summary>The low 4 bytes of entry <paramref name="bits"/> (&lt; 16) as 4 int lane indices (<c>pmovzxbd</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PermuteIndices(ulong[] table, uint bits) =>
        Sse41.ConvertToVector128Int32(Vector128.CreateScalar(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), bits)).AsByte());
}
