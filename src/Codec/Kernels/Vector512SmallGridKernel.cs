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
/// The 16-lane encoder of the small grids (b ≤ 4: at most 16 cells, so every table is one register): a branch-free
/// binary search on permuted probes instead of one compare per interior point, and the codes packed in vector
/// registers instead of <c>vpmovdb</c> and two BMI2 <c>pext</c> per 16 codes. Bit-exact twin of
/// <see cref="ScalarKernel"/>, like <see cref="VectorKernel{TIsa, TF, TI, TU}"/>, whose 16-lane path it replaces for
/// these grids when the CPU has AVX-512 VBMI.
/// </summary>
/// <remarks>
/// <para>The block is 64 coordinates (four vectors): 64 codes of b bits are 8·b whole bytes, written with one masked
/// store. What is left after the last whole block goes to the generic driver (16-lane blocks, then scalar).</para>
/// <para>Why its own kernel and not more steps in <see cref="IVectorIsa{TF, TI, TU}"/>: the packing (byte permutes,
/// multiply-adds, masked store) and the masked adds exist only at this width, and the generic driver's narrower
/// instantiations would gain nothing from them.</para>
/// </remarks>
internal static unsafe class Vector512SmallGridKernel
{
    /// <summary>The widest code this kernel packs; 16 cells also bound the search to one register per table.</summary>
    public const int MaximumBits = 4;

    /// <summary>Coordinates per block: 64 codes of b bits are 8·b bytes.</summary>
    private const int Block = 64;

    public static bool IsSupported => Vector512Kernel.IsSupported && Avx512Vbmi.IsSupported && Avx512BW.VL.IsSupported;

    /// <summary>Whether this kernel encodes <paramref name="table"/> (b ≤ 4 and the CPU has VBMI).</summary>
    public static bool Handles(LevelTable table) => table.Bits <= MaximumBits && IsSupported;

    public static uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        System.Numerics.BitOperations.Log2((uint)table.SearchSize) switch
        {
            0 => Encode<TruncatedRule, SearchDepth0>(gradient, start, end, table, 0, k0, k1, counterBase, packed),
            1 => Encode<TruncatedRule, SearchDepth1>(gradient, start, end, table, 0, k0, k1, counterBase, packed),
            2 => Encode<TruncatedRule, SearchDepth2>(gradient, start, end, table, 0, k0, k1, counterBase, packed),
            3 => Encode<TruncatedRule, SearchDepth3>(gradient, start, end, table, 0, k0, k1, counterBase, packed),
            _ => Encode<TruncatedRule, SearchDepth4>(gradient, start, end, table, 0, k0, k1, counterBase, packed),
        };

    public static uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        System.Numerics.BitOperations.Log2((uint)table.SearchSize) switch
        {
            0 => Encode<NormScaledRule, SearchDepth0>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
            1 => Encode<NormScaledRule, SearchDepth1>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
            2 => Encode<NormScaledRule, SearchDepth2>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
            3 => Encode<NormScaledRule, SearchDepth3>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
            _ => Encode<NormScaledRule, SearchDepth4>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
        };

    /// <remarks>
    /// <para>Cell search: index = #{interior points &lt; x} = k − 1 by the branch-free binary search over
    /// <see cref="LevelTable.Interior"/> (+∞-padded, span <see cref="LevelTable.SearchSize"/> = 2^depth): at the step of
    /// width w the probe is Interior[index + w − 1], read by one <c>vpermps</c> from the register
    /// Interior[w − 1 .. w + 15) (the first step's index is 0, so its probe is a broadcast). Three steps at b = 3
    /// instead of six compares.</para>
    /// <para>Packing 64 codes: two <c>vpermt2b</c> take the low byte of each int lane, in coordinate order; multiply-adds
    /// join neighbours (bytes: c₀ + c₁·2^b, then words: p₀ + p₁·2^2b), so each dword holds 4 codes in its low 4·b bits;
    /// a shift and an or join the two dwords of each qword into its low 8·b bits (b ≤ 4: they stay in the low dword, so
    /// the high one's leftovers are never read); <c>vpermb</c> lines up the low b bytes of the 8 qwords. That is the
    /// packed stream (LSB first, <see cref="ScalarKernel"/>), as <see cref="BitPacking"/>'s <c>pext</c> would give.</para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Encode<TRule, TDepth>(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed)
        where TRule : struct, IRoundingRule
        where TDepth : struct, ISearchDepth
    {
        int bits = table.Bits;
        int blockBytes = 8 * bits;
        int offset = (int)((long)start * bits >> 3);
        ref float source = ref MemoryMarshal.GetReference(gradient);
        int size = 1 << TDepth.Depth;

        VecU absMask = Vector512.Create(ScalarKernel.AbsMask);
        VecF inverse = Vector512.Create(inverseNorm);
        VecF one = Vector512.Create(1.0f);
        VecI signBit = Vector512.Create(1 << (bits - 1));
        VecU key0 = Vector512.Create(k0);
        VecU key1 = Vector512.Create(k1);
        VecI oneInt = Vector512.Create(1);

        // Packing constants (see remarks).
        Vector512<byte> lowBytes = LowByteOfLanes();
        Vector512<byte> firstHalf = Vector512.LessThan(Vector512<byte>.Indices, Vector512.Create((byte)32));
        Vector512<sbyte> pairWeights = Vector512.Create((short)(1 | (1 << (bits + 8)))).AsSByte();
        Vector512<short> quadWeights = Vector512.Create(1 | (1 << ((2 * bits) + 16))).AsInt16();
        Vector512<ulong> octShift = Vector512.Create((ulong)(32 - (4 * bits)));
        Vector512<byte> streamBytes = StreamBytes(bits);
        Vector256<byte> storeMask = Vector256.LessThan(Vector256<byte>.Indices, Vector256.Create((byte)blockBytes));

        VecU counter = Vector512.Create(unchecked(counterBase + (uint)start)) + VecU.Indices;
        VecU sixteen = Vector512.Create(16u);
        VecU max = default;
        int j = start;
        fixed (float* interior = table.Interior, lower = table.Lower, width = table.Width)
        fixed (byte* destination = packed)
        {
            // Probe registers of the steps of width size/2, size/4, size/8, size/16 (Interior is padded to ≥ 32 floats).
            VecF probe1 = Vector512.Create(interior[Math.Max(size / 2, 1) - 1]);
            VecF probe2 = Vector512.Load(interior + (Math.Max(size / 4, 1) - 1));
            VecF probe3 = Vector512.Load(interior + (Math.Max(size / 8, 1) - 1));
            VecF probe4 = Vector512.Load(interior);
            VecI step1 = Vector512.Create(size / 2), step2 = Vector512.Create(size / 4), step3 = Vector512.Create(size / 8), step4 = Vector512.Create(size / 16);
            VecF lowerTable = Vector512.Load(lower);
            // The uniform's 2^−32 (see Code) moves into the widths: (n·2^8)·(W·2^−32) is the real number u·W, so its
            // float32 rounding is the scalar path's u·W as long as W·2^−32 is exact, i.e. not subnormal. Grids with
            // such tiny cells (W < 2^−94) leave the whole range to the driver.
            VecF widthTable = Vector512.Load(width);
            VecF scaledWidthTable = widthTable * Vector512.Create(1.0f / 4294967296.0f);
            int blockEnd = Vector512.EqualsAll(scaledWidthTable * Vector512.Create(4294967296.0f), widthTable) ? end : start;
            for (; j + Block <= blockEnd; j += Block)
            {
                VecI code0 = Code<TRule, TDepth>(Vector512.LoadUnsafe(ref source, (nuint)j), counter, ref max, absMask, inverse, one, signBit, key0, key1, oneInt, probe1, probe2, probe3, probe4, step1, step2, step3, step4, lowerTable, scaledWidthTable);
                VecI code1 = Code<TRule, TDepth>(Vector512.LoadUnsafe(ref source, (nuint)(j + 16)), counter + sixteen, ref max, absMask, inverse, one, signBit, key0, key1, oneInt, probe1, probe2, probe3, probe4, step1, step2, step3, step4, lowerTable, scaledWidthTable);
                VecI code2 = Code<TRule, TDepth>(Vector512.LoadUnsafe(ref source, (nuint)(j + 32)), counter + Vector512.Create(32u), ref max, absMask, inverse, one, signBit, key0, key1, oneInt, probe1, probe2, probe3, probe4, step1, step2, step3, step4, lowerTable, scaledWidthTable);
                VecI code3 = Code<TRule, TDepth>(Vector512.LoadUnsafe(ref source, (nuint)(j + 48)), counter + Vector512.Create(48u), ref max, absMask, inverse, one, signBit, key0, key1, oneInt, probe1, probe2, probe3, probe4, step1, step2, step3, step4, lowerTable, scaledWidthTable);
                counter += Vector512.Create(64u);

                Vector512<byte> codes = Vector512.ConditionalSelect(
                    firstHalf,
                    Avx512Vbmi.PermuteVar64x8x2(code0.AsByte(), lowBytes, code1.AsByte()),
                    Avx512Vbmi.PermuteVar64x8x2(code2.AsByte(), lowBytes, code3.AsByte()));
                Vector512<short> pairs = Avx512BW.MultiplyAddAdjacent(codes, pairWeights);
                Vector512<ulong> quads = Avx512BW.MultiplyAddAdjacent(pairs, quadWeights).AsUInt64();
                Vector512<ulong> octs = quads | Avx512F.ShiftRightLogicalVariable(quads, octShift);
                Vector512<byte> stream = Avx512Vbmi.PermuteVar64x8(octs.AsByte(), streamBytes);
                Avx512BW.VL.MaskStore(destination + offset, storeMask, stream.GetLower());
                offset += blockBytes;
            }
        }
        // Reduce max before the call (a vector live across a call is spilled, see VectorKernel.Encode).
        uint vectorMax = Vector512Isa.MaxAcross(max);
        uint rest = TRule.IsNormScaled
            ? Driver.EncodeNormScaled(gradient, j, end, table, inverseNorm, k0, k1, counterBase, packed)
            : Driver.EncodeTruncated(gradient, j, end, table, k0, k1, counterBase, packed);
        return Math.Max(rest, vectorMax);
    }

    /// <summary>The codes of 16 coordinates: <see cref="ScalarKernel.Round"/> lane by lane, the same float32 operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecI Code<TRule, TDepth>(
        VecF g, VecU counter, ref VecU max, VecU absMask, VecF inverse, VecF one, VecI signBit, VecU key0, VecU key1, VecI oneInt,
        VecF probe1, VecF probe2, VecF probe3, VecF probe4, VecI step1, VecI step2, VecI step3, VecI step4, VecF lowerTable, VecF scaledWidthTable)
        where TRule : struct, IRoundingRule
        where TDepth : struct, ISearchDepth
    {
        VecU magnitude = g.AsUInt32() & absMask;
        max = Vector512.Max(max, magnitude);
        // Truncated schemes skip the clamp to [L_0, L_s]: it cannot change a finite coordinate's code. Above L_s the
        // search ends in the last cell and x − L_{s−1} ≥ W_s > u·W_s (rounding is monotone), so the code is s as for
        // x = L_s; below L_0 the first cell's x − L_0 < 0 ≤ u·W_1, so the code is 0 as for x = L_0. (A NaN or ±∞
        // coordinate fails the encode; its code does not matter.)
        VecF x = TRule.IsNormScaled
            ? Vector512.MinNative(magnitude.AsSingle() * inverse, one)
            : g;

        // Masked adds (ConditionalSelect of a compare): the JIT keeps the compare in a k register.
        VecI index = VecI.Zero;
        if (TDepth.Depth >= 1)
        {
            index = Vector512.ConditionalSelect(Vector512.LessThan(probe1, x).AsInt32(), step1, index);
        }
        if (TDepth.Depth >= 2)
        {
            index = Vector512.ConditionalSelect(Vector512.LessThan(Avx512F.PermuteVar16x32(probe2, index), x).AsInt32(), index + step2, index);
        }
        if (TDepth.Depth >= 3)
        {
            index = Vector512.ConditionalSelect(Vector512.LessThan(Avx512F.PermuteVar16x32(probe3, index), x).AsInt32(), index + step3, index);
        }
        if (TDepth.Depth >= 4)
        {
            index = Vector512.ConditionalSelect(Vector512.LessThan(Avx512F.PermuteVar16x32(probe4, index), x).AsInt32(), index + step4, index);
        }
        VecF above = x - Avx512F.PermuteVar16x32(lowerTable, index);
        VecF scaledWidth = Avx512F.PermuteVar16x32(scaledWidthTable, index);

        // The uniform u = (h >> 8)·2^−24 of RoundingKey, kept as n = h with its low 8 bits cleared (exact in float32,
        // n = u·2^32) and the 2^−32 folded into scaledWidthTable. fmix32 = Mix, then h ^= h >> 16; each final xor
        // merges with the next xor, or with the clear, into one vpternlogd.
        VecU h = Mix(counter ^ key0);
        h = Mix(h ^ Vector512.ShiftRightLogical(h, 16) ^ key1);
        VecF n = Vector512.ConvertToSingle((h ^ Vector512.ShiftRightLogical(h, 16)) & Vector512.Create(0xFFFFFF00u));

        // code = (k − 1) + [u·W_k < x − L_{k−1}], with u·W_k computed as n·(W_k·2^−32): the same real, so the same float.
        VecI code = Vector512.ConditionalSelect(Vector512.LessThan(n * scaledWidth, above).AsInt32(), index + oneInt, index);
        if (TRule.IsNormScaled)
        {
            code = Vector512.ConditionalSelect(Vector512.LessThan(g, VecF.Zero).AsInt32(), code | signBit, code);
        }
        return code;
    }

    /// <summary>MurmurHash3's fmix32 (<see cref="RoundingKey.Finalize"/>) without its last h ^= h >> 16, which the
    /// caller merges with what follows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VecU Mix(VecU h)
    {
        h ^= Vector512.ShiftRightLogical(h, 16);
        h *= Vector512.Create(0x85EBCA6Bu);
        h ^= Vector512.ShiftRightLogical(h, 13);
        h *= Vector512.Create(0xC2B2AE35u);
        return h;
    }

    /// <summary>vpermt2b indices: byte t of the result (t mod 32) is the low byte of lane t of the first vector
    /// (t &lt; 16) or of lane t − 16 of the second: byte 4·t of the 128-byte pair either way.</summary>
    private static Vector512<byte> LowByteOfLanes() => (Vector512<byte>.Indices & Vector512.Create((byte)31)) << 2;

    /// <summary>vpermb indices: output byte o is byte o mod b of qword o / b (the low b bytes of each qword, in order).</summary>
    private static Vector512<byte> StreamBytes(int bits)
    {
        Span<byte> indices = stackalloc byte[64];
        for (int o = 0; o < indices.Length; o++)
        {
            indices[o] = (byte)((8 * (o / bits)) + (o % bits));
        }
        return Vector512.Create<byte>(indices);
    }
}

/// <summary>log2 of <see cref="LevelTable.SearchSize"/> as a type argument: the binary search's steps are unrolled per depth.</summary>
internal interface ISearchDepth
{
    static abstract int Depth { get; }
}

internal readonly struct SearchDepth0 : ISearchDepth
{
    public static int Depth => 0;
}

internal readonly struct SearchDepth1 : ISearchDepth
{
    public static int Depth => 1;
}

internal readonly struct SearchDepth2 : ISearchDepth
{
    public static int Depth => 2;
}

internal readonly struct SearchDepth3 : ISearchDepth
{
    public static int Depth => 3;
}

internal readonly struct SearchDepth4 : ISearchDepth
{
    public static int Depth => 4;
}
