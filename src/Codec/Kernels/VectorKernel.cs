using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Verified.Codec.Kernels;

/// <summary>
/// The vector encoder and decoder, written once for every width: <typeparamref name="TIsa"/> supplies the
/// width-specific steps (<see cref="IVectorIsa{TF, TI, TU}"/>). Bit-exact twin of <see cref="ScalarKernel"/>: the same
/// float32 operations in the same order, lane by lane; only the cell search differs (a count of compares or a
/// branch-free binary search), because the cell is defined mathematically, not by the algorithm.
/// </summary>
/// <remarks>
/// <para>The loop unit is a block of max(8, Lanes) coordinates, a whole number of vectors and of 8-code groups: BMI2
/// <c>pext</c> packs 8 codes of b bits into b whole bytes (<see cref="BitPacking"/>), so a block never ends inside a
/// byte. 4 lanes: two vectors per group; 8 lanes: one vector per group; 16 lanes: one vector, two groups. What is left
/// after the last whole block goes to the scalar kernel (bit packing depends on the position, so the overlapping
/// final vector of elementwise maps does not apply).</para>
/// <para>Ranges start on a multiple of 8 coordinates (the callers' chunks are multiples of 16), so every block starts
/// on a byte boundary of the packed stream.</para>
/// </remarks>
internal static unsafe class VectorKernel<TIsa, TF, TI, TU>
    where TIsa : struct, IVectorIsa<TF, TI, TU>
    where TF : unmanaged
    where TI : unmanaged
    where TU : unmanaged
{
    /// <summary>Up to this many interior points a count of compares beats the binary search (measured on Zen 4).</summary>
    private const int CompareCountLimit = 15;

    // Lanes, and whether a block is two vectors (4 lanes) or two groups (16 lanes), are written as
    // Unsafe.SizeOf<TF>() expressions rather than properties: the importer folds SizeOf to a constant and drops the dead
    // branch before inlining, whereas a property is an inline candidate like any other, and in these large loops the
    // JIT's inline budget ran out and left such calls (and the dead branch) in the hot loop (measured: QSGD b = 3
    // encode at 490 M/s instead of 1,780 M/s).

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
        var constants = new Constants(table, inverseNorm, k0, k1);
        TU max = default;
        int j = start;
        fixed (float* interior = table.Interior, lower = table.Lower, width = table.Width)
        fixed (int* bucketStart = table.BucketStart)
        {
            var tables = new Tables(table, interior, lower, width, bucketStart);
            for (; j + (Unsafe.SizeOf<TF>() == 64 ? 16 : 8) <= end; j += Unsafe.SizeOf<TF>() == 64 ? 16 : 8)
            {
                TI first = Code<TRule>(ref source, j, constants, tables, ref max);
                TI second = Unsafe.SizeOf<TF>() == 16 ? Code<TRule>(ref source, j + 4, constants, tables, ref max) : first;

                // Block codes → one per byte (8 or 16 bytes) → pext per group of 8 → b bytes per group. The wide
                // 8-byte store is allowed while it stays inside this range; the next group overwrites its excess.
                Vector128<ulong> codes = TIsa.NarrowToBytes(first, second).AsUInt64();
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codes.ToScalar(), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
                if (Unsafe.SizeOf<TF>() == 64)
                {
                    BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codes.GetElement(1), bits, laneMask), bits, offset + 8 <= byteEnd);
                    offset += bits;
                }
            }
        }
        uint tail = TRule.IsNormScaled
            ? ScalarKernel.EncodeNormScaled(gradient, j, end, table, inverseNorm, k0, k1, packed)
            : ScalarKernel.EncodeTruncated(gradient, j, end, table, k0, k1, packed);
        return Math.Max(tail, TIsa.MaxAcross(max));
    }

    /// <summary>The codes of coordinates j .. j + Lanes: the per-element math of <see cref="ScalarKernel.Round"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TI Code<TRule>(ref float source, int j, in Constants constants, in Tables tables, ref TU max)
        where TRule : struct, IRoundingRule
    {
        TF g = TIsa.Load(ref source, j);
        TU magnitude = TIsa.And(TIsa.AsUInt32(g), constants.AbsMask);
        max = TIsa.MaxUInt32(max, magnitude);
        TF x = TRule.IsNormScaled
            ? TIsa.MinNative(TIsa.Multiply(TIsa.AsSingle(magnitude), constants.Inverse), constants.One)
            : TIsa.MinNative(TIsa.MaxNative(g, constants.Low), constants.High);

        TI index = CellIndex(x, tables);
        TF above = TIsa.Subtract(x, TIsa.Lookup(tables.Lower0, tables.Lower1, tables.Lower, tables.Size, index));
        TF cellWidth = TIsa.Lookup(tables.Width0, tables.Width1, tables.Width, tables.Size, index);

        // code = (k − 1) + [u·W_k < x − L_{k−1}]; the compare mask is −1 where true.
        TF u = Uniform(TIsa.Add(TIsa.Broadcast((uint)j), TIsa.Indices), constants.Key0, constants.Key1, constants.Scale24);
        TI code = TIsa.Subtract(index, TIsa.LessThan(TIsa.Multiply(u, cellWidth), above));
        if (TRule.IsNormScaled)
        {
            code = TIsa.Or(code, TIsa.And(TIsa.LessThan(g, default), constants.SignBit));
        }
        return code;
    }

    /// <summary>
    /// idx = #{interior points &lt; x} = k − 1: a compare per point for small grids (the mask is −1 where true); a
    /// bucket guess and one or two corrections for large grids (<see cref="LevelTable.Bucket"/>); else a branch-free
    /// binary search over the +∞-padded interior points (<see cref="LevelTable.SearchSize"/> a power of two).
    /// </summary>
    /// <remarks>
    /// The bucket guess is used only where the binary search would gather: there its log2(s) gathers form one
    /// dependent chain (8 at b = 8), while the guess is one gather plus one per correction (at most
    /// <see cref="LevelTable.MaximumCorrections"/>). Where permutes hold the table (s ≤ 2·Lanes) the binary search
    /// stays: it never touches memory.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TI CellIndex(TF x, in Tables tables)
    {
        TI index = default;
        if (tables.InteriorCount <= CompareCountLimit)
        {
            for (int i = 0; i < tables.InteriorCount; i++)
            {
                index = TIsa.Subtract(index, TIsa.LessThan(TIsa.Broadcast(tables.Interior[i]), x));
            }
            return index;
        }
        if (tables.BucketStart != null && tables.SearchSize > 2 * (Unsafe.SizeOf<TF>() / sizeof(float)))
        {
            TF t = TIsa.Multiply(TIsa.Subtract(x, tables.BucketLow), tables.BucketScale);
            index = TIsa.Gather(tables.BucketStart, TIsa.Clamp(TIsa.ConvertToInt32Native(t), tables.LastBucket));
            for (int i = 0; i < tables.BucketCorrections; i++)
            {
                TF point = TIsa.Lookup(tables.Interior0, tables.Interior1, tables.Interior, tables.SearchSize, index);
                index = TIsa.Subtract(index, TIsa.LessThan(point, x));
            }
            return index;
        }
        for (int step = tables.SearchSize >> 1; step > 0; step >>= 1)
        {
            TF probe = TIsa.Lookup(tables.Interior0, tables.Interior1, tables.Interior, tables.SearchSize, TIsa.Add(index, TIsa.Broadcast(step - 1)));
            index = TIsa.Add(index, TIsa.And(TIsa.LessThan(probe, x), TIsa.Broadcast(step)));
        }
        return index;
    }

    /// <summary>The counter-based uniform of <see cref="RoundingKey"/> for Lanes consecutive coordinates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF Uniform(TU index, TU key0, TU key1, TF scale24)
    {
        TU h = Finalize(TIsa.Xor(Finalize(TIsa.Xor(index, key0)), key1));
        return TIsa.Multiply(TIsa.ConvertToSingle(TIsa.AsInt32(TIsa.ShiftRightLogical(h, 8))), scale24);
    }

    /// <summary>MurmurHash3's fmix32 per lane (<see cref="RoundingKey.Finalize"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TU Finalize(TU h)
    {
        h = TIsa.Xor(h, TIsa.ShiftRightLogical(h, 16));
        h = TIsa.Multiply(h, TIsa.Broadcast(0x85EBCA6Bu));
        h = TIsa.Xor(h, TIsa.ShiftRightLogical(h, 13));
        h = TIsa.Multiply(h, TIsa.Broadcast(0xC2B2AE35u));
        return TIsa.Xor(h, TIsa.ShiftRightLogical(h, 16));
    }

    /// <summary>Sign: bit i of a compare mask is coordinate j + i's code, exactly the 1-bit packing, LSB first.</summary>
    public static uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte destination = ref MemoryMarshal.GetReference(packed);
        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        TU max = default;
        int j = start;
        for (; j + (Unsafe.SizeOf<TF>() == 64 ? 16 : 8) <= end; j += Unsafe.SizeOf<TF>() == 64 ? 16 : 8)
        {
            TF g = TIsa.Load(ref source, j);
            max = TIsa.MaxUInt32(max, TIsa.And(TIsa.AsUInt32(g), absMask));
            ulong positive = TIsa.NonNegativeBits(g);
            if (Unsafe.SizeOf<TF>() == 16)
            {
                TF upper = TIsa.Load(ref source, j + 4);
                max = TIsa.MaxUInt32(max, TIsa.And(TIsa.AsUInt32(upper), absMask));
                positive |= TIsa.NonNegativeBits(upper) << 4;
            }
            if (Unsafe.SizeOf<TF>() == 64)
            {
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, j >> 3), (ushort)positive);
            }
            else
            {
                Unsafe.Add(ref destination, j >> 3) = (byte)positive;
            }
        }
        return Math.Max(ScalarKernel.EncodeSign(gradient, j, end, packed), TIsa.MaxAcross(max));
    }

    /// <summary>Full precision: a copy that also finds the largest |g| bit pattern.</summary>
    public static uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed)
    {
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref float destination = ref Unsafe.As<byte, float>(ref MemoryMarshal.GetReference(packed));
        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        TU max = default;
        int j = start;
        for (; j + (Unsafe.SizeOf<TF>() / sizeof(float)) <= end; j += Unsafe.SizeOf<TF>() / sizeof(float))
        {
            TF g = TIsa.Load(ref source, j);
            max = TIsa.MaxUInt32(max, TIsa.And(TIsa.AsUInt32(g), absMask));
            TIsa.Store(g, ref destination, j);
        }
        return Math.Max(ScalarKernel.EncodeFull(gradient, j, end, packed), TIsa.MaxAcross(max));
    }

    /// <summary>destination[j] = table[code_j] (<paramref name="accumulate"/>: sum[j] += table[code_j]).</summary>
    /// <remarks>BMI2 <c>pdep</c> spreads a group's b bytes to 8 codes, one per byte; the ISA widens them to int lanes
    /// and looks the values up.</remarks>
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
            // The decoder's table is 256 floats, so the two registers are always readable.
            TF values0 = TIsa.Load(values), values1 = TIsa.Load(values + (Unsafe.SizeOf<TF>() / sizeof(float)));
            for (; j + (Unsafe.SizeOf<TF>() == 64 ? 16 : 8) <= end; j += Unsafe.SizeOf<TF>() == 64 ? 16 : 8)
            {
                ulong codes0 = BitPacking.Unpack8(BitPacking.Load(ref Unsafe.Add(ref source, offset), bits, offset + 8 <= readable), bits, laneMask);
                offset += bits;
                Vector128<byte> codes;
                if (Unsafe.SizeOf<TF>() == 64)
                {
                    ulong codes1 = BitPacking.Unpack8(BitPacking.Load(ref Unsafe.Add(ref source, offset), bits, offset + 8 <= readable), bits, laneMask);
                    offset += bits;
                    codes = Vector128.Create(codes0, codes1).AsByte();
                }
                else
                {
                    codes = Vector128.CreateScalar(codes0).AsByte();
                }
                Emit(ref output, j, TIsa.Lookup(values0, values1, values, tableSize, TIsa.WidenBytes(codes)), accumulate);
                if (Unsafe.SizeOf<TF>() == 16)
                {
                    TI upper = TIsa.WidenBytes(Vector128.CreateScalar(codes0 >> 32).AsByte());
                    Emit(ref output, j + 4, TIsa.Lookup(values0, values1, values, tableSize, upper), accumulate);
                }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Emit(ref float output, int j, TF value, bool accumulate)
    {
        if (accumulate)
        {
            value = TIsa.Add(TIsa.Load(ref output, j), value);
        }
        TIsa.Store(value, ref output, j);
    }

    /// <summary>The broadcast constants of one encode call.</summary>
    private readonly struct Constants
    {
        public readonly TU AbsMask;
        public readonly TF Low;
        public readonly TF High;
        public readonly TF Inverse;
        public readonly TF One;
        public readonly TI SignBit;
        public readonly TU Key0;
        public readonly TU Key1;
        public readonly TF Scale24;

        // Inlined so the JIT can keep the fields in registers (a struct whose address escapes to a call is not).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Constants(LevelTable table, float inverseNorm, uint k0, uint k1)
        {
            AbsMask = TIsa.Broadcast(ScalarKernel.AbsMask);
            Low = TIsa.Broadcast(table.Low);
            High = TIsa.Broadcast(table.High);
            Inverse = TIsa.Broadcast(inverseNorm);
            One = TIsa.Broadcast(1.0f);
            SignBit = TIsa.Broadcast(1 << (table.Bits - 1));
            Key0 = TIsa.Broadcast(k0);
            Key1 = TIsa.Broadcast(k1);
            Scale24 = TIsa.Broadcast(RoundingKey.Scale24);
        }
    }

    /// <summary>The pinned level tables and their first 2·Lanes entries in registers (tables are padded to 32 floats).</summary>
    private readonly struct Tables
    {
        public readonly float* Interior;
        public readonly float* Lower;
        public readonly float* Width;
        public readonly TF Interior0, Interior1;
        public readonly TF Lower0, Lower1;
        public readonly TF Width0, Width1;
        public readonly int SearchSize;
        public readonly int Size;
        public readonly int InteriorCount;
        public readonly int* BucketStart;
        public readonly TF BucketLow;
        public readonly TF BucketScale;
        public readonly TI LastBucket;
        public readonly int BucketCorrections;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Tables(LevelTable table, float* interior, float* lower, float* width, int* bucketStart)
        {
            int lanes = Unsafe.SizeOf<TF>() / sizeof(float);
            Interior = interior;
            Lower = lower;
            Width = width;
            Interior0 = TIsa.Load(interior);
            Interior1 = TIsa.Load(interior + lanes);
            Lower0 = TIsa.Load(lower);
            Lower1 = TIsa.Load(lower + lanes);
            Width0 = TIsa.Load(width);
            Width1 = TIsa.Load(width + lanes);
            SearchSize = table.SearchSize;
            Size = table.Intervals;
            InteriorCount = table.Intervals - 1;
            BucketStart = bucketStart;
            BucketLow = TIsa.Broadcast(table.Low);
            BucketScale = TIsa.Broadcast(table.BucketScale);
            LastBucket = TIsa.Broadcast(table.LastBucket);
            BucketCorrections = table.BucketCorrections;
        }
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
