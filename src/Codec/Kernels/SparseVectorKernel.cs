using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Verified.Codec.Kernels;

/// <summary>
/// What the sparse driver <see cref="SparseVectorKernel{TIsa, TF, TI, TU}"/> needs beyond
/// <see cref="IVectorIsa{TF, TI, TU}"/>: lane masks as bits and back, compress and expand, the double-precision
/// division of Bernoulli's values, and unsigned compares for rand-k's bounded draws. Implemented by the same
/// three width structs; every member is a one-line (or few-line), aggressively inlined wrapper.
/// </summary>
internal unsafe interface ISparseVectorIsa<TF, TI, TU> : IVectorIsa<TF, TI, TU>
    where TF : unmanaged
    where TI : unmanaged
    where TU : unmanaged
{
    static abstract TU Subtract(TU left, TU right);

    /// <summary>All ones in the lanes where left &lt; right as signed integers.</summary>
    static abstract TI LessThan(TI left, TI right);

    /// <summary>All ones in the lanes where left &lt; right as unsigned integers.</summary>
    static abstract TI LessThan(TU left, TU right);

    /// <summary>Bit i = lane i of a compare mask (all ones or zero).</summary>
    static abstract uint MaskBits(TI mask);

    /// <summary>The compare mask whose lane i is all ones where bit i of <paramref name="bits"/> is set.</summary>
    static abstract TI MaskFromBits(uint bits);

    /// <summary>
    /// The lanes of <paramref name="value"/> selected by <paramref name="keep"/> (whose bits are
    /// <paramref name="keepBits"/>), in lane order, in the lowest lanes; the other lanes hold +0 or other lanes of
    /// <paramref name="value"/>.
    /// </summary>
    static abstract TF Compress(TF value, TI keep, uint keepBits);

    /// <summary>The inverse of <see cref="Compress"/>: lane i is the next lowest lane of <paramref name="packed"/> where
    /// bit i is set, +0 where it is not.</summary>
    static abstract TF Expand(TF packed, TI keep, uint keepBits);

    /// <summary>
    /// (float)((double)value / divisor) per lane: widen, divide in double, round to float32, the scalar code's
    /// operations. Only the lower half of the lanes when <paramref name="upperHalf"/> is false (the upper ones are +0).
    /// </summary>
    static abstract TF DivideInDouble(TF value, double divisor, bool upperHalf);

}

/// <summary>
/// The sparsifiers' encoder and decoder for every vector width, byte-identical to the scalar reference in
/// <see cref="SparseCodec"/>, which it calls for tails, for the rare blocks where rand-k keeps or redraws, and for errors.
/// </summary>
/// <remarks>
/// <para>The loop unit is a block of 16 coordinates, whose keep bits are one 16-bit word of the bitmap: one vector of
/// 16 lanes, two of 8 or four of 4.</para>
/// <para><b>Bernoulli.</b> Coordinate j is kept iff bits24_j &lt; N, independently of every other coordinate, so the
/// hash, the compare and the keep bits are lane-parallel exactly as in the quantizers. The kept inputs are compressed
/// into a 32-float stack buffer and leave it 16 at a time, divided by q in double as the scalar code does (widen,
/// divide, narrow: the same IEEE operations per lane): a division then serves 8 kept values, not one block's few, and
/// no store passes the last value, so the bytes after the payload stay untouched.</para>
/// <para><b>rand-k.</b> Knuth's selection sampling (TAOCP vol. 2, §3.4.2, Algorithm S) is sequential: whether j is
/// kept depends on r, the number still to keep. But while r does not change, each decision is lane-parallel:
/// Lemire's bounded draw ("Fast random integer generation in an interval", 2019) keeps j iff the high word of
/// w_j·n_j is &lt; r (n_j = d − j, w_j the first hash), unless the low word is &lt; n_j, the only case in which it may
/// reject and redraw. A block in which no lane may keep (<see cref="KeepBound"/>) or redraw keeps nothing and changes
/// nothing, so it is skipped after one vector of hashes; in the others the scalar code takes over from the first such
/// lane to the end of the block. With k ≪ d that is about k + d²/2^33 blocks. Blocks where r ≥ n − 15 (from r = n
/// on, every coordinate is kept) go to the scalar code whole, and after the k-th keep only the finiteness check
/// remains.</para>
/// <para><b>Errors.</b> The vector loops only track the largest |g| (and, for Bernoulli, |g/q|) bit pattern. When one
/// is NaN or ±∞, the scalar reference redoes the whole vector and raises the error that names the first bad coordinate,
/// whichever kind comes first, exactly as on the scalar path. rand-k checks before each time the scalar code runs, so
/// that an overflow it raises cannot overtake a NaN earlier in the vector.</para>
/// <para><b>Decode.</b> Per block: the 16 keep bits; no bit, 16 zeros (or nothing, accumulating); else the next
/// values expanded into the kept lanes. The last values are read from a zero-padded copy so that no load passes the
/// payload's end.</para>
/// </remarks>
internal static unsafe class SparseVectorKernel<TIsa, TF, TI, TU>
    where TIsa : struct, ISparseVectorIsa<TF, TI, TU>
    where TF : unmanaged
    where TI : unmanaged
    where TU : unmanaged
{
    /// <summary>Coordinates per block: one 16-bit word of the keep bitmap.</summary>
    private const int Block = 16;

    /// <summary>The smallest |x| bit pattern of ±∞ and NaN.</summary>
    private const uint NonFinite = 0x7F800000u;

    // As in VectorKernel: lanes and vectors per block are Unsafe.SizeOf<TF>() expressions, folded to constants by the
    // importer, and the entry points are AggressiveOptimization so that no lane step runs as a tier-0 call. They are
    // also NoInlining: small enough to inline, they were inlined into the CodecKernel override when it tiered up, and
    // that copy ran rand-k encode at ~1,500 M coords/s against ~3,900 for the standalone compilation (d = 2^22, v512;
    // ~3,900 also with DOTNET_TieredPGO=0, which kept the override from inlining it).

    /// <summary>Bernoulli over the whole vector (reference: <see cref="SparseCodec.EncodeBernoulli"/>); returns the count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values)
    {
        CheckLengths(gradient, dimension, zeros, bitmap, values, dimension);
        int lanes = Unsafe.SizeOf<TF>() / sizeof(float);
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte keepWords = ref MemoryMarshal.GetReference(bitmap);
        Span<float> output = MemoryMarshal.Cast<byte, float>(values);
        ref float outputStart = ref MemoryMarshal.GetReference(output);
        TU key0 = TIsa.Broadcast(k0);
        TU key1 = TIsa.Broadcast(k1);
        TI limit = TIsa.Broadcast((int)threshold);
        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        TU inputMax = default;
        TU valueMax = default;
        // The kept inputs, not yet divided: they leave 16 at a time, divided, so a division serves 8 kept values
        // rather than one block's few, and no store passes the last value.
        float* staging = stackalloc float[2 * Block];
        ref float stage = ref Unsafe.AsRef<float>(staging);
        int staged = 0;
        int flushed = 0;
        int j = 0;
        for (; j + Block <= dimension; j += Block)
        {
            uint blockBits = 0;
            for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
            {
                int at = j + (v * lanes);
                // keep iff bits24 < N; both are < 2^24 + 1, so the signed compare is exact.
                TU hash = VectorKernel<TIsa, TF, TI, TU>.Finalize(TIsa.Xor(VectorKernel<TIsa, TF, TI, TU>.Finalize(TIsa.Xor(Counter(at), key0)), key1));
                TI keep = TIsa.LessThan(TIsa.AsInt32(TIsa.ShiftRightLogical(hash, 8)), limit);
                uint bits = TIsa.MaskBits(keep);
                blockBits |= bits << (v * lanes);
                TF g = zeros ? default : TIsa.Load(ref source, at);
                inputMax = TIsa.MaxUInt32(inputMax, TIsa.And(TIsa.AsUInt32(g), absMask));
                TIsa.Store(TIsa.Compress(g, keep, bits), ref stage, staged);
                staged += BitOperations.PopCount(bits);
            }
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref keepWords, j >> 3), (ushort)blockBits);
            if (staged >= Block)
            {
                for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
                {
                    TF value = TIsa.DivideInDouble(TIsa.Load(ref stage, v * lanes), keepProbability, upperHalf: true);
                    valueMax = TIsa.MaxUInt32(valueMax, TIsa.And(TIsa.AsUInt32(value), absMask));
                    TIsa.Store(value, ref outputStart, flushed + (v * lanes));
                }
                for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
                {
                    TIsa.Store(TIsa.Load(ref stage, Block + (v * lanes)), ref stage, v * lanes);
                }
                flushed += Block;
                staged -= Block;
            }
        }
        // The last < 16 kept values (the staging lanes past them may hold other inputs, which must not be divided).
        bool overflow = false;
        for (int i = 0; i < staged; i++)
        {
            float value = (float)(staging[i] / keepProbability);
            overflow |= !float.IsFinite(value);
            output[flushed + i] = value;
        }
        if (overflow || TIsa.MaxAcross(inputMax) >= NonFinite || TIsa.MaxAcross(valueMax) >= NonFinite)
        {
            // A NaN or ±∞ input, or a kept value beyond float32: the scalar reference redoes the whole vector and
            // raises the error that names the first such coordinate (the first in index order, whichever kind).
            bitmap.Clear();
            return SparseCodec.EncodeBernoulli(gradient, 0, dimension, zeros, threshold, keepProbability, k0, k1, bitmap, values, 0);
        }
        return SparseCodec.EncodeBernoulli(gradient, j, dimension, zeros, threshold, keepProbability, k0, k1, bitmap, values, flushed + staged);
    }

    /// <summary>rand-k over the whole vector (reference: <see cref="SparseCodec.EncodeRandK(ReadOnlySpan{float}, int, bool, int, uint, uint, Span{byte}, Span{byte})"/>); returns the count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values)
    {
        // The values are written by the scalar code only, which checks its own bounds.
        CheckLengths(gradient, dimension, zeros, bitmap, values, 0);
        int lanes = Unsafe.SizeOf<TF>() / sizeof(float);
        ref float source = ref MemoryMarshal.GetReference(gradient);
        double scale = SparseCodec.RandKScale(dimension, kept);
        TU key0 = TIsa.Broadcast(k0);
        TU key1 = TIsa.Broadcast(k1);
        TU end = TIsa.Broadcast((uint)dimension);
        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        // |g| bit patterns of the blocks skipped so far, checked before the scalar code runs: an error it raises must
        // not overtake a NaN or ±∞ earlier in the vector.
        TU inputMax = default;
        int remaining = kept;
        int count = 0;
        // The bound on w below which a lane of the current span may keep (see KeepBound), and where it lapses: at the
        // span's end or at the next keep.
        TU bound = default;
        int boundEnd = 0;
        int boundRemaining = -1;
        int j = 0;
        for (; j + Block <= dimension; j += Block)
        {
            if (!zeros)
            {
                for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
                {
                    inputMax = TIsa.MaxUInt32(inputMax, TIsa.And(TIsa.AsUInt32(TIsa.Load(ref source, j + (v * lanes))), absMask));
                }
            }
            // The first lane of the block the scalar code must see: 0 where r = n_j may happen within the block
            // (r ≥ n − 15), else the first lane that may keep or redraw. The bound needs n_j > r in every lane it
            // tests (see KeepBound), which the first condition also ensures.
            int first = 0;
            if (remaining + Block <= dimension - j)
            {
                if (remaining == 0)
                {
                    continue;
                }
                if (j >= boundEnd || remaining != boundRemaining)
                {
                    boundEnd = (int)Math.Min((uint)dimension & ~(uint)(Block - 1), (uint)j + BoundSpan);
                    boundRemaining = remaining;
                    bound = TIsa.Broadcast(KeepBound((uint)remaining, (uint)(dimension - boundEnd + 1)));
                }
                uint attention = 0;
                for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
                {
                    TU counter = Counter(j + (v * lanes));
                    TU hash = VectorKernel<TIsa, TF, TI, TU>.Finalize(TIsa.Xor(VectorKernel<TIsa, TF, TI, TU>.Finalize(TIsa.Xor(counter, key0)), key1));
                    TU left = TIsa.Subtract(end, counter);
                    // May keep: w < bound. May redraw: the product's low word, w·n mod 2^32, is < n.
                    attention |= TIsa.MaskBits(TIsa.Or(TIsa.LessThan(hash, bound), TIsa.LessThan(TIsa.Multiply(hash, left), left))) << (v * lanes);
                }
                if (attention == 0)
                {
                    continue;
                }
                first = BitOperations.TrailingZeroCount(attention);
            }
            if (TIsa.MaxAcross(inputMax) >= NonFinite)
            {
                return RandKFromScratch(gradient, dimension, zeros, kept, k0, k1, bitmap, values);
            }
            SparseCodec.EncodeRandK(gradient, j + first, j + Block, dimension, zeros, scale, k0, k1, bitmap, values, ref remaining, ref count);
        }
        if (TIsa.MaxAcross(inputMax) >= NonFinite)
        {
            return RandKFromScratch(gradient, dimension, zeros, kept, k0, k1, bitmap, values);
        }
        SparseCodec.EncodeRandK(gradient, j, dimension, dimension, zeros, scale, k0, k1, bitmap, values, ref remaining, ref count);
        return count;
    }

    /// <summary>Coordinates that share one <see cref="KeepBound"/>: a division per 64 blocks, and lanes at a span's
    /// start (whose n exceeds the span's least by up to 1,023) raise a needless flag with relative excess &lt; 1024/n.</summary>
    private const uint BoundSpan = 1024;

    /// <summary>
    /// ⌈r·2^32 / n⌉ for the least n of a span: where w·n's high word is &lt; r (a keep), w·n &lt; r·2^32, so
    /// w &lt; r·2^32/n ≤ r·2^32/n_least. One unsigned compare per lane instead of the 64-bit product. Clamped to
    /// 2^32 − 1 when r ≥ n_least; a lane with n &gt; r and w = 2^32 − 1 has high word n − 1 ≥ r, so it does not keep.
    /// </summary>
    private static uint KeepBound(uint remaining, uint leastLeft) =>
        (uint)Math.Min(uint.MaxValue, ((((ulong)remaining) << 32) + leastLeft - 1) / leastLeft);

    /// <summary>A NaN or ±∞ input: the scalar reference redoes the whole vector and raises the error naming it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int RandKFromScratch(ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values)
    {
        bitmap.Clear();
        return SparseCodec.EncodeRandK(gradient, dimension, zeros, kept, k0, k1, bitmap, values);
    }

    /// <summary>Sparse decode (reference: <see cref="SparseCodec.DecodeScalar"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Decode(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight)
    {
        int dimension = header.Dimension;
        int bitmapLength = SparseCodec.BitmapLength(dimension);
        ReadOnlySpan<byte> bitmap = body[..bitmapLength];
        ReadOnlySpan<byte> values = body[bitmapLength..];
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, dimension, nameof(destination));
        int lanes = Unsafe.SizeOf<TF>() / sizeof(float);
        ReadOnlySpan<float> input = MemoryMarshal.Cast<byte, float>(values);
        ref float inputStart = ref MemoryMarshal.GetReference(input);
        int valueCount = input.Length;

        // Every value is checked before the destination is touched, so a bad payload leaves a running sum intact.
        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        TU valueMax = default;
        int i = 0;
        for (; i + lanes <= valueCount; i += lanes)
        {
            valueMax = TIsa.MaxUInt32(valueMax, TIsa.And(TIsa.AsUInt32(TIsa.Load(ref inputStart, i)), absMask));
        }
        bool nonFinite = TIsa.MaxAcross(valueMax) >= NonFinite;
        for (; i < valueCount; i++)
        {
            nonFinite |= !float.IsFinite(input[i]);
        }
        if (nonFinite)
        {
            SparseCodec.ThrowNonFiniteValue(header, values);
        }

        // The last ≤ 16 values, zero padded to 32: a block whose values reach past the last 16 reads them here.
        float* spill = stackalloc float[2 * Block];
        var spillSpan = new Span<float>(spill, 2 * Block);
        spillSpan.Clear();
        int spillStart = Math.Max(0, valueCount - Block);
        input[spillStart..].CopyTo(spillSpan);

        ref float output = ref MemoryMarshal.GetReference(destination);
        ref byte keepWords = ref MemoryMarshal.GetReference(bitmap);
        TF factor = TIsa.Broadcast(weight);
        uint laneMask = (uint)((1UL << lanes) - 1);
        int next = 0;
        int j = 0;
        for (; j + Block <= dimension; j += Block)
        {
            uint bits = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref keepWords, j >> 3));
            if (bits == 0)
            {
                if (!accumulate)
                {
                    for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
                    {
                        TIsa.Store(default, ref output, j + (v * lanes));
                    }
                }
                continue;
            }
            int kept = BitOperations.PopCount(bits);
            ref float packed = ref Unsafe.AsRef<float>(spill);
            if (next + Block <= valueCount)
            {
                packed = ref Unsafe.Add(ref inputStart, next);
            }
            else if (next + kept <= valueCount)
            {
                packed = ref Unsafe.AsRef<float>(spill + (next - spillStart));
            }
            else
            {
                // More keep bits than values (a payload that skipped validation): the scalar code's bounds checks
                // raise the error.
                break;
            }
            int offset = 0;
            for (int v = 0; v < Block * sizeof(float) / Unsafe.SizeOf<TF>(); v++)
            {
                uint laneBits = (bits >> (v * lanes)) & laneMask;
                TI mask = TIsa.MaskFromBits(laneBits);
                TF expanded = TIsa.Expand(TIsa.Load(ref packed, offset), mask, laneBits);
                int at = j + (v * lanes);
                if (accumulate)
                {
                    // sum + weight·value in float32 on the kept lanes only: elsewhere sum + 0 could turn −0 into +0.
                    TF sum = TIsa.Load(ref output, at);
                    TIsa.Store(TIsa.Select(mask, TIsa.Add(sum, TIsa.Multiply(factor, expanded)), sum), ref output, at);
                }
                else
                {
                    TIsa.Store(expanded, ref output, at);
                }
                offset += BitOperations.PopCount(laneBits);
            }
            next += kept;
        }
        SparseCodec.DecodeRange(bitmap, values, j, next, destination, accumulate, weight);
    }

    /// <summary>(index, index + 1, …, index + lanes − 1): the hash counters of Lanes consecutive coordinates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TU Counter(int index) => TIsa.Add(TIsa.Broadcast((uint)index), TIsa.Indices);

    /// <summary>The unchecked loads and stores rely on these; the callers guarantee them.</summary>
    private static void CheckLengths(ReadOnlySpan<float> gradient, int dimension, bool zeros, Span<byte> bitmap, Span<byte> values, int valueCapacity)
    {
        if ((!zeros && gradient.Length < dimension) || bitmap.Length < SparseCodec.BitmapLength(dimension) || values.Length < 4L * valueCapacity)
        {
            throw new ArgumentException(
                $"The sparse kernel needs {dimension} coordinates, a bitmap of {SparseCodec.BitmapLength(dimension)} bytes and room for {valueCapacity} values; it got {gradient.Length}, {bitmap.Length} and {values.Length} bytes.");
        }
    }
}

/// <summary>
/// Lane permutations for compress and expand on the 8- and 4-lane paths, which lack AVX-512's <c>vcompressps</c> and
/// <c>vexpandps</c>: entry m (an 8-bit lane mask) holds 8 lane indices, one per byte, widened to int lanes by
/// <c>vpmovzxbd</c> and applied by <c>vpermps</c> / <c>vpermilps</c>. A 4-lane mask uses the low 4 bytes.
/// </summary>
internal static class SparseLanePermutes
{
    /// <summary>Byte i of entry m: the lane of the (i+1)-th set bit of m (0 past the last).</summary>
    public static readonly ulong[] Compress = Build(expand: false);

    /// <summary>Byte i of entry m: the number of set bits of m below bit i, the packed lane that lane i receives.</summary>
    public static readonly ulong[] Expand = Build(expand: true);

    private static ulong[] Build(bool expand)
    {
        var table = new ulong[256];
        for (int mask = 0; mask < 256; mask++)
        {
            ulong entry = 0;
            int rank = 0;
            for (int lane = 0; lane < 8; lane++)
            {
                if ((mask & (1 << lane)) != 0)
                {
                    entry |= expand ? (ulong)rank << (8 * lane) : (ulong)lane << (8 * rank);
                    rank++;
                }
            }
            table[mask] = entry;
        }
        return table;
    }
}
