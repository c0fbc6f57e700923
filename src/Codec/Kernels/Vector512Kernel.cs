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
        Vector512SmallGridKernel.Handles(table)
            ? Vector512SmallGridKernel.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed)
            : Driver.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed);

    public static uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector512SmallGridKernel.Handles(table)
            ? Vector512SmallGridKernel.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed)
            : Driver.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    public static uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Driver.EncodeSign(gradient, start, end, packed);

    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Driver.EncodeFull(gradient, start, end, packed);

    public static void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate) =>
        Driver.Decode(packed, bits, start, end, table, destination, accumulate);

    /// <summary>
    /// Full precision of the whole vector with the packed bytes' CRC-32C appended to <paramref name="crc"/> in the same
    /// pass: each 256-byte block is loaded once, its largest |g| bit pattern taken, stored, and folded into the
    /// checksum while still in registers (<see cref="Crc32C"/> remarks). Returns the largest |g| bit pattern.
    /// </summary>
    /// <remarks>
    /// A copy followed by the checksum reads the payload a second time, and at d = 2^22 its 16 MB come back from
    /// memory: measured on Zen4 (thread CPU time), copy 6,800 M coords/s, copy then checksum 3,700, copy and checksum
    /// in 32 KB blocks 4,500, this single loop 6,600. The folding hides in the time the loop waits for memory.
    /// Without VPCLMULQDQ it is the plain copy, then <see cref="Crc32C.Append"/>.
    /// </remarks>
    public static uint EncodeFullChecksummed(ReadOnlySpan<float> gradient, Span<byte> packed, ref uint crc)
    {
        const int BlockLength = 4 * 16;
        int length = gradient.Length;
        if (!Crc32C.IsFold512Supported || length < BlockLength)
        {
            uint unfoldedMax = Driver.EncodeFull(gradient, 0, length, packed);
            crc = Crc32C.Append(crc, packed[..(4 * length)]);
            return unfoldedMax;
        }
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref float destination = ref Unsafe.As<byte, float>(ref MemoryMarshal.GetReference(packed));
        VecU absMask = Vector512.Create(ScalarKernel.AbsMask);
        VecF g0 = Vector512.LoadUnsafe(ref source);
        VecF g1 = Vector512.LoadUnsafe(ref source, 16);
        VecF g2 = Vector512.LoadUnsafe(ref source, 32);
        VecF g3 = Vector512.LoadUnsafe(ref source, 48);
        VecU max = Vector512.Max(
            Vector512.Max(g0.AsUInt32() & absMask, g1.AsUInt32() & absMask),
            Vector512.Max(g2.AsUInt32() & absMask, g3.AsUInt32() & absMask));
        g0.StoreUnsafe(ref destination);
        g1.StoreUnsafe(ref destination, 16);
        g2.StoreUnsafe(ref destination, 32);
        g3.StoreUnsafe(ref destination, 48);
        Vector512<ulong> x0 = g0.AsUInt64() ^ Crc32C.Fold512Start(~crc);
        Vector512<ulong> x1 = g1.AsUInt64();
        Vector512<ulong> x2 = g2.AsUInt64();
        Vector512<ulong> x3 = g3.AsUInt64();
        Vector512<ulong> fold2048 = Crc32C.Fold2048Constants;
        nuint j = BlockLength;
        for (; j + BlockLength <= (nuint)length; j += BlockLength)
        {
            g0 = Vector512.LoadUnsafe(ref source, j);
            g1 = Vector512.LoadUnsafe(ref source, j + 16);
            g2 = Vector512.LoadUnsafe(ref source, j + 32);
            g3 = Vector512.LoadUnsafe(ref source, j + 48);
            max = Vector512.Max(max, Vector512.Max(
                Vector512.Max(g0.AsUInt32() & absMask, g1.AsUInt32() & absMask),
                Vector512.Max(g2.AsUInt32() & absMask, g3.AsUInt32() & absMask)));
            g0.StoreUnsafe(ref destination, j);
            g1.StoreUnsafe(ref destination, j + 16);
            g2.StoreUnsafe(ref destination, j + 32);
            g3.StoreUnsafe(ref destination, j + 48);
            x0 = Crc32C.Fold(x0, fold2048) ^ g0.AsUInt64();
            x1 = Crc32C.Fold(x1, fold2048) ^ g1.AsUInt64();
            x2 = Crc32C.Fold(x2, fold2048) ^ g2.AsUInt64();
            x3 = Crc32C.Fold(x3, fold2048) ^ g3.AsUInt64();
        }
        crc = ~Crc32C.Fold512State(x0, x1, x2, x3);
        int folded = (int)j;
        uint tailMax = Driver.EncodeFull(gradient, folded, length, packed);
        crc = Crc32C.Append(crc, packed[(4 * folded)..(4 * length)]);
        return Math.Max(Vector512Isa.MaxAcross(max), tailMax);
    }

    /// <summary>
    /// Appends a full-precision payload's values to <paramref name="crc"/> and checks in the same pass that every one is
    /// finite: true when all are. False when one is not, or when this CPU cannot fold (then it only appends, and the
    /// caller checks the values itself, as it did before).
    /// </summary>
    /// <remarks>
    /// The read-side twin of <see cref="EncodeFullChecksummed"/>: decode used to read a 16 MB payload three times
    /// (checksum, finiteness, copy); the finiteness test now hides in the checksum's wait for memory. Nothing is
    /// written before the payload is validated, so a bad payload still leaves a running sum untouched. Measured in a
    /// prototype, thread CPU time, d = 2^22: checksum, check and copy 2,200 M coords/s; this, then the copy, 2,900.
    /// </remarks>
    public static bool AppendChecksumOfFiniteValues(ReadOnlySpan<byte> packed, ref uint crc)
    {
        const int BlockBytes = 4 * 64;
        if (!IsSupported || !Crc32C.IsFold512Supported || packed.Length < BlockBytes)
        {
            crc = Crc32C.Append(crc, packed);
            return false;
        }
        ref byte source = ref MemoryMarshal.GetReference(packed);
        nuint length = (nuint)packed.Length;
        VecU absMask = Vector512.Create(ScalarKernel.AbsMask);
        Vector512<ulong> x0 = Vector512.LoadUnsafe(ref source).AsUInt64();
        Vector512<ulong> x1 = Vector512.LoadUnsafe(ref source, 64).AsUInt64();
        Vector512<ulong> x2 = Vector512.LoadUnsafe(ref source, 128).AsUInt64();
        Vector512<ulong> x3 = Vector512.LoadUnsafe(ref source, 192).AsUInt64();
        VecU max = Vector512.Max(
            Vector512.Max(x0.AsUInt32() & absMask, x1.AsUInt32() & absMask),
            Vector512.Max(x2.AsUInt32() & absMask, x3.AsUInt32() & absMask));
        x0 ^= Crc32C.Fold512Start(~crc);
        Vector512<ulong> fold2048 = Crc32C.Fold2048Constants;
        nuint i = BlockBytes;
        for (; i + BlockBytes <= length; i += BlockBytes)
        {
            Vector512<ulong> v0 = Vector512.LoadUnsafe(ref source, i).AsUInt64();
            Vector512<ulong> v1 = Vector512.LoadUnsafe(ref source, i + 64).AsUInt64();
            Vector512<ulong> v2 = Vector512.LoadUnsafe(ref source, i + 128).AsUInt64();
            Vector512<ulong> v3 = Vector512.LoadUnsafe(ref source, i + 192).AsUInt64();
            max = Vector512.Max(max, Vector512.Max(
                Vector512.Max(v0.AsUInt32() & absMask, v1.AsUInt32() & absMask),
                Vector512.Max(v2.AsUInt32() & absMask, v3.AsUInt32() & absMask)));
            x0 = Crc32C.Fold(x0, fold2048) ^ v0;
            x1 = Crc32C.Fold(x1, fold2048) ^ v1;
            x2 = Crc32C.Fold(x2, fold2048) ^ v2;
            x3 = Crc32C.Fold(x3, fold2048) ^ v3;
        }
        ReadOnlySpan<byte> tail = packed[(int)i..];
        crc = Crc32C.Append(~Crc32C.Fold512State(x0, x1, x2, x3), tail);
        uint largest = Vector512Isa.MaxAcross(max);
        foreach (uint bits in MemoryMarshal.Cast<byte, uint>(tail))
        {
            largest = Math.Max(largest, bits & ScalarKernel.AbsMask);
        }
        // Non-finite ⇔ all exponent bits set ⇔ |g|'s bit pattern ≥ that of +∞.
        return largest < 0x7F800000u;
    }

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
    public static VecI IncrementWhereLess(VecI value, VecF left, VecF right) =>
        Vector512.ConditionalSelect(Vector512.LessThan(left, right).AsInt32(), value + VecI.One, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF SelectWhereLess(VecF left, VecF right, VecF whereTrue, VecF whereFalse) => Vector512.ConditionalSelect(Vector512.LessThan(left, right), whereTrue, whereFalse);

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

    /// <summary>
    /// Up to 16 floats: one <c>vpermps</c>; 32: one <c>vpermt2ps</c>; 64: two and a blend on the index's bit 5. The
    /// table's registers come from L1 as memory operands. A gather beyond.
    /// </summary>
    /// <remarks>On this path's Zen 5 one 8-lane <c>vgatherdps</c> cost about as much as three <c>vpermt2ps</c>
    /// (measured 3.5 ns against ~2.5 ns for two, L1-resident).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF LookupTable(float* table, int size, VecI index)
    {
        if (size <= Lanes)
        {
            return Avx512F.PermuteVar16x32(Vector512.Load(table), index);
        }
        if (size <= 2 * Lanes)
        {
            return Avx512F.PermuteVar16x32x2(Vector512.Load(table), index, Vector512.Load(table + Lanes));
        }
        if (size <= 4 * Lanes)
        {
            return Vector512.ConditionalSelect(
                Vector512.Equals(index & Vector512.Create(2 * Lanes), VecI.Zero).AsSingle(),
                Avx512F.PermuteVar16x32x2(Vector512.Load(table), index, Vector512.Load(table + Lanes)),
                Avx512F.PermuteVar16x32x2(Vector512.Load(table + (2 * Lanes)), index, Vector512.Load(table + (3 * Lanes))));
        }
        return Vector512.Create(
            Avx2.GatherVector256(table, index.GetLower(), 4),
            Avx2.GatherVector256(table, index.GetUpper(), 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecF Select(VecI mask, VecF whereTrue, VecF whereFalse) => Vector512.ConditionalSelect(mask.AsSingle(), whereTrue, whereFalse);

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
