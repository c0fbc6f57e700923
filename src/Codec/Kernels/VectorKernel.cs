using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Verified.Codec.Kernels;

/// <summary>
/// The vector encoder and decoder, written once for every width: <typeparamref name="TIsa"/> supplies the
/// width-specific steps (<see cref="IVectorIsa{TF, TI, TU}"/>). Bit-exact twin of <see cref="ScalarKernel"/>: the same
/// float32 operations in the same order, lane by lane; only the cell search differs (a count of compares, a bucket
/// guess with corrections, or a branch-free binary search), because the cell is defined mathematically, not by the
/// algorithm. The sum of squares stays per width (<see cref="Vector128Kernel.SumOfSquares"/>).
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

    // The entry points below are AggressiveOptimization: compiled fully optimized on first use, skipping tier 0.
    // Tier-0 code does not inline, and here every TIsa step is a method, so until tier-up each lane operation was a
    // call (measured, default tiering, thread CPU time over the first second: QSGD b = 3 encode 431 M coords/s
    // against 1,627 fully optimized; sign encode 3,027 against 7,000). The hand-written kernels did not have this
    // problem because Vector512.* are intrinsics even at tier 0. The cost is no PGO for these methods, which the
    // measurements show they do not need. Decode is the exception: fully optimized without PGO, its 8-lane
    // instantiation kept the accumulate flag and the lookup-size branches in the loop and decoded at ~2,800 M coords/s
    // against ~4,800 after tier-up (TNQSGD b = 3, d = 2^22, thread CPU time), so it tiers normally and pays its
    // tier-0 calls only during warm-up.

    public static uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        UsesTreeSearch(table)
            ? EncodeTree<TruncatedRule>(gradient, start, end, table, 0, k0, k1, counterBase, packed)
            : Encode<TruncatedRule>(gradient, start, end, table, 0, k0, k1, counterBase, packed);

    public static uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        UsesTreeSearch(table)
            ? EncodeTree<NormScaledRule>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed)
            : Encode<NormScaledRule>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    /// <summary>
    /// Whether this width encodes <paramref name="table"/> with <see cref="EncodeTree{TRule}"/>: only 16 lanes, where every table
    /// of <see cref="LevelTable.SearchTree"/> (at most 64 floats, b = 8) is read with permutes. Narrower paths would
    /// gather and keep the bucket guess.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool UsesTreeSearch(LevelTable table) =>
        Unsafe.SizeOf<TF>() == 64 && table.SearchTree is not null && table.Intervals - 1 > CompareCountLimit && table.SearchSize <= 16 * (Unsafe.SizeOf<TF>() / sizeof(float));

    /// <remarks>
    /// The per-element math (<see cref="ScalarKernel.Round"/> on Lanes coordinates) and the cell search are written
    /// in this method's body, not in helpers: the JIT's inline budget grows with the root method's own IL, and with
    /// the math in two aggressively inlined helpers it ran out and left the helpers as calls in the hot loop
    /// (measured: TNQSGD b = 3 encode 1,050 M coords/s instead of 1,900). The 4-lane path runs the body twice per
    /// block through the inner loop over <c>v</c>, so the body exists once in IL.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Encode<TRule>(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed)
        where TRule : struct, IRoundingRule
    {
        int bits = table.Bits;
        ulong laneMask = BitPacking.LaneMask(bits);
        int byteEnd = (int)WireFormat.PackedLength(end, bits);
        int offset = (int)((long)start * bits >> 3);
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte destination = ref MemoryMarshal.GetReference(packed);
        int lanes = Unsafe.SizeOf<TF>() / sizeof(float);

        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        TF low = TIsa.Broadcast(table.Low);
        TF high = TIsa.Broadcast(table.High);
        TF inverse = TIsa.Broadcast(inverseNorm);
        TF one = TIsa.Broadcast(1.0f);
        TI signBit = TIsa.Broadcast(1 << (bits - 1));
        TU key0 = TIsa.Broadcast(k0);
        TU key1 = TIsa.Broadcast(k1);
        TF scale24 = TIsa.Broadcast(RoundingKey.Scale24);
        int tableSize = table.Intervals;
        int interiorCount = tableSize - 1;
        int searchSize = table.SearchSize;
        // The bucket guess only where the binary search would gather (s > 2·Lanes): there its log2(s) gathers form
        // one dependent chain (8 at b = 8), the guess is one gather plus ≤ LevelTable.MaximumCorrections. Where
        // permutes hold the table the binary search stays: it never touches memory.
        bool bucketed = table.BucketStart is not null && interiorCount > CompareCountLimit && searchSize > 2 * lanes;
        TF bucketScale = TIsa.Broadcast(table.BucketScale);
        TI lastBucket = TIsa.Broadcast(table.LastBucket);
        int corrections = table.BucketCorrections;
        TU max = default;
        int j = start;
        fixed (float* interior = table.Interior, lower = table.Lower, width = table.Width)
        fixed (int* bucketStart = table.BucketStart)
        {
            // Tables are padded to ≥ 32 floats, so the first 2·Lanes entries are always readable.
            TF interior0 = TIsa.Load(interior), interior1 = TIsa.Load(interior + lanes);
            TF lower0 = TIsa.Load(lower), lower1 = TIsa.Load(lower + lanes);
            TF width0 = TIsa.Load(width), width1 = TIsa.Load(width + lanes);
            for (; j + (Unsafe.SizeOf<TF>() == 64 ? 16 : 8) <= end; j += Unsafe.SizeOf<TF>() == 64 ? 16 : 8)
            {
                TI first = default, second = default;
                for (int v = 0; v < (Unsafe.SizeOf<TF>() == 16 ? 2 : 1); v++)
                {
                    int at = j + (v * lanes);
                    TF g = TIsa.Load(ref source, at);
                    TU magnitude = TIsa.And(TIsa.AsUInt32(g), absMask);
                    max = TIsa.MaxUInt32(max, magnitude);
                    TF x = TRule.IsNormScaled
                        ? TIsa.MinNative(TIsa.Multiply(TIsa.AsSingle(magnitude), inverse), one)
                        : TIsa.MinNative(TIsa.MaxNative(g, low), high);

                    // idx = #{interior points < x} = k − 1: a compare per point for small grids (the mask is −1
                    // where true); the bucket guess (LevelTable.Bucket) and its corrections; else a branch-free
                    // binary search over the +∞-padded interior points (SearchSize a power of two).
                    TI index = default;
                    if (interiorCount <= CompareCountLimit)
                    {
                        for (int i = 0; i < interiorCount; i++)
                        {
                            index = TIsa.Subtract(index, TIsa.LessThan(TIsa.Broadcast(interior[i]), x));
                        }
                    }
                    else if (bucketed)
                    {
                        TF t = TIsa.Multiply(TIsa.Subtract(x, low), bucketScale);
                        index = TIsa.Gather(bucketStart, TIsa.Clamp(TIsa.ConvertToInt32Native(t), lastBucket));
                        for (int i = 0; i < corrections; i++)
                        {
                            index = TIsa.Subtract(index, TIsa.LessThan(TIsa.Lookup(interior0, interior1, interior, searchSize, index), x));
                        }
                    }
                    else
                    {
                        for (int step = searchSize >> 1; step > 0; step >>= 1)
                        {
                            TF probe = TIsa.Lookup(interior0, interior1, interior, searchSize, TIsa.Add(index, TIsa.Broadcast(step - 1)));
                            index = TIsa.Add(index, TIsa.And(TIsa.LessThan(probe, x), TIsa.Broadcast(step)));
                        }
                    }
                    TF above = TIsa.Subtract(x, TIsa.Lookup(lower0, lower1, lower, tableSize, index));
                    TF cellWidth = TIsa.Lookup(width0, width1, width, tableSize, index);

                    // code = (k − 1) + [u·W_k < x − L_{k−1}]; the compare mask is −1 where true.
                    // Counter = counterBase + coordinate (a scalar add per vector, wrapping like the scalar path).
                    TF u = Uniform(TIsa.Add(TIsa.Broadcast(unchecked(counterBase + (uint)at)), TIsa.Indices), key0, key1, scale24);
                    TI code = TIsa.Subtract(index, TIsa.LessThan(TIsa.Multiply(u, cellWidth), above));
                    if (TRule.IsNormScaled)
                    {
                        code = TIsa.Or(code, TIsa.And(TIsa.LessThan(g, default), signBit));
                    }
                    if (v == 0)
                    {
                        first = code;
                    }
                    else
                    {
                        second = code;
                    }
                }

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
        // Reduce max before the tail call: a vector live across a call is spilled, and the JIT put that spill inside
        // the loop (a 64-byte store and reload per iteration; sign encode ran at half speed).
        uint vectorMax = TIsa.MaxAcross(max);
        uint tail = TRule.IsNormScaled
            ? ScalarKernel.EncodeNormScaled(gradient, j, end, table, inverseNorm, k0, k1, counterBase, packed)
            : ScalarKernel.EncodeTruncated(gradient, j, end, table, k0, k1, counterBase, packed);
        return Math.Max(tail, vectorMax);
    }

    /// <summary>
    /// <see cref="Encode{TRule}"/> for the large grids (b ≥ 6) on 16 lanes: the cell search walks
    /// <see cref="LevelTable.SearchTree"/> with permutes instead of gathering, and two vectors go through it side by side.
    /// One loop per search depth (6, 7, 8: s ≤ 64, 128, 256), so every table size in it is a constant.
    /// </summary>
    private static uint EncodeTree<TRule>(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed)
        where TRule : struct, IRoundingRule =>
        System.Numerics.BitOperations.Log2((uint)table.SearchSize) switch
        {
            6 => EncodeTree<TRule, SearchDepth6>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
            7 => EncodeTree<TRule, SearchDepth7>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
            _ => EncodeTree<TRule, SearchDepth8>(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed),
        };

    /// <remarks>
    /// <para>The tree's 4-ary steps (<see cref="LevelTable.SearchTree"/>) find m = k − 1 with permutes from tables in L1;
    /// the last step also picks the cell's two levels L_{k−1}, L_k from its probes and the node's Floor and Ceiling, so
    /// there is no lookup of <see cref="LevelTable.Lower"/>/<see cref="LevelTable.Width"/> and no level is carried
    /// through the steps before it. At b = 8 the old bucket guess cost 8–10 eight-lane gathers per 16 coordinates (one
    /// ~3.5 ns on this Zen 5); this costs none.</para>
    /// <para>Why two vectors per step and four-way steps: the search is one dependent chain of lookup, compare and index
    /// update per step, and its vector instructions fill the out-of-order scheduler, so consecutive iterations hardly
    /// overlap. Measured (b = 8, thread CPU time, loaded machine): one vector and binary steps ~620 M coords/s, two
    /// vectors ~830, two vectors and four-way steps (half the chain, ~10 % more instructions) ~930, and with an even
    /// depth's first step on broadcast probes ~1,000. Picking the levels in the last step only (Floor/Ceiling) instead
    /// of carrying them through every step with six selects per step and vector removes about 12 of ~110 vector
    /// instructions per 16 coordinates. The uniforms are computed before the search, so their independent work is in
    /// flight while the chain waits. The block is 32 coordinates (4 groups of 8 codes); the rest goes to the scalar
    /// kernel.</para>
    /// <para>Like <see cref="Encode{TRule}"/>, the math is in this body (inline budget).</para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint EncodeTree<TRule, TDepth>(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed)
        where TRule : struct, IRoundingRule
        where TDepth : struct, ISearchDepth
    {
        int bits = table.Bits;
        ulong laneMask = BitPacking.LaneMask(bits);
        int byteEnd = (int)WireFormat.PackedLength(end, bits);
        int offset = (int)((long)start * bits >> 3);
        ref float source = ref MemoryMarshal.GetReference(gradient);
        ref byte destination = ref MemoryMarshal.GetReference(packed);
        int lanes = Unsafe.SizeOf<TF>() / sizeof(float);
        bool oddDepth = (TDepth.Depth & 1) != 0;
        // A step with n nodes decides two levels, so the last step has 2^depth / 4 nodes, each of its tables
        // max(nodes, one register) floats.
        int lastNodes = 1 << (TDepth.Depth - 2);
        int lastBlock = Math.Max(lastNodes, LevelTable.SearchTreeBlock);

        TU absMask = TIsa.Broadcast(ScalarKernel.AbsMask);
        TF low = TIsa.Broadcast(table.Low);
        TF high = TIsa.Broadcast(table.High);
        TF inverse = TIsa.Broadcast(inverseNorm);
        TF one = TIsa.Broadcast(1.0f);
        TI signBit = TIsa.Broadcast(1 << (bits - 1));
        TU key0 = TIsa.Broadcast(k0);
        TU key1 = TIsa.Broadcast(k1);
        TF scale24 = TIsa.Broadcast(RoundingKey.Scale24);
        TU max = default;
        int j = start;
        fixed (float* tree = table.SearchTree)
        {
            TF root = TIsa.Broadcast(tree[0]);
            // An even depth starts with a 4-ary step on one node: its three probes, broadcast.
            float* firstStep = tree + LevelTable.SearchTreeBlock;
            TF first1 = TIsa.Broadcast(firstStep[0]);
            TF first2 = TIsa.Broadcast(firstStep[LevelTable.SearchTreeBlock]);
            TF first3 = TIsa.Broadcast(firstStep[2 * LevelTable.SearchTreeBlock]);
            // The last step's P1, P2, P3, Floor and Ceiling tables end the tree.
            float* lastStep = tree + table.SearchTree!.Length - (5 * lastBlock);
            for (; j + (2 * lanes) <= end; j += 2 * lanes)
            {
                TF gA = TIsa.Load(ref source, j), gB = TIsa.Load(ref source, j + lanes);
                TU magnitudeA = TIsa.And(TIsa.AsUInt32(gA), absMask), magnitudeB = TIsa.And(TIsa.AsUInt32(gB), absMask);
                max = TIsa.MaxUInt32(TIsa.MaxUInt32(max, magnitudeA), magnitudeB);
                TF xA = TRule.IsNormScaled
                    ? TIsa.MinNative(TIsa.Multiply(TIsa.AsSingle(magnitudeA), inverse), one)
                    : TIsa.MinNative(TIsa.MaxNative(gA, low), high);
                TF xB = TRule.IsNormScaled
                    ? TIsa.MinNative(TIsa.Multiply(TIsa.AsSingle(magnitudeB), inverse), one)
                    : TIsa.MinNative(TIsa.MaxNative(gB, low), high);

                TF uA = Uniform(TIsa.Add(TIsa.Broadcast(unchecked(counterBase + (uint)j)), TIsa.Indices), key0, key1, scale24);
                TF uB = Uniform(TIsa.Add(TIsa.Broadcast(unchecked(counterBase + (uint)(j + lanes))), TIsa.Indices), key0, key1, scale24);

                // m = the index decided so far. An odd depth takes one binary step on the root first, an even one its
                // first 4-ary step on broadcast probes (one node: no lookup).
                TI mA, mB;
                if (oddDepth)
                {
                    mA = TIsa.IncrementWhereLess(default, root, xA);
                    mB = TIsa.IncrementWhereLess(default, root, xB);
                }
                else
                {
                    mA = TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(default, first1, xA), first2, xA), first3, xA);
                    mB = TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(default, first1, xB), first2, xB), first3, xB);
                }

                // The middle 4-ary steps (at most 16 nodes, one register per table): m ← 4m + [P1 < x] + [P2 < x] + [P3 < x].
                float* step = oddDepth ? firstStep : firstStep + (3 * LevelTable.SearchTreeBlock);
                for (int nodes = oddDepth ? 2 : 4; nodes < lastNodes; nodes *= 4)
                {
                    TF probe1A = TIsa.LookupTable(step, lanes, mA), probe1B = TIsa.LookupTable(step, lanes, mB);
                    TF probe2A = TIsa.LookupTable(step + lanes, lanes, mA), probe2B = TIsa.LookupTable(step + lanes, lanes, mB);
                    TF probe3A = TIsa.LookupTable(step + (2 * lanes), lanes, mA), probe3B = TIsa.LookupTable(step + (2 * lanes), lanes, mB);
                    mA = TIsa.Add(mA, mA);
                    mB = TIsa.Add(mB, mB);
                    mA = TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.Add(mA, mA), probe1A, xA), probe2A, xA), probe3A, xA);
                    mB = TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.Add(mB, mB), probe1B, xB), probe2B, xB), probe3B, xB);
                    step += 3 * lanes;
                }

                // The last step (16, 32 or 64 nodes: a constant here) also picks the levels. The probes are sorted, so
                // the last true compare's probe is L_{k−1} (Floor if none) and the first false one's L_k (Ceiling if none).
                TF p1A = TIsa.LookupTable(lastStep, lastNodes, mA), p1B = TIsa.LookupTable(lastStep, lastNodes, mB);
                TF p2A = TIsa.LookupTable(lastStep + lastBlock, lastNodes, mA), p2B = TIsa.LookupTable(lastStep + lastBlock, lastNodes, mB);
                TF p3A = TIsa.LookupTable(lastStep + (2 * lastBlock), lastNodes, mA), p3B = TIsa.LookupTable(lastStep + (2 * lastBlock), lastNodes, mB);
                TF floorA = TIsa.LookupTable(lastStep + (3 * lastBlock), lastNodes, mA), floorB = TIsa.LookupTable(lastStep + (3 * lastBlock), lastNodes, mB);
                TF ceilingA = TIsa.LookupTable(lastStep + (4 * lastBlock), lastNodes, mA), ceilingB = TIsa.LookupTable(lastStep + (4 * lastBlock), lastNodes, mB);
                mA = TIsa.Add(mA, mA);
                mB = TIsa.Add(mB, mB);
                mA = TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.Add(mA, mA), p1A, xA), p2A, xA), p3A, xA);
                mB = TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.IncrementWhereLess(TIsa.Add(mB, mB), p1B, xB), p2B, xB), p3B, xB);
                // Each select compares again: a compare is one instruction into a mask register, where keeping it
                // for reuse turns it into a vector (vpmovm2d) and the selects into vpternlogd.
                TF belowA = TIsa.SelectWhereLess(p3A, xA, p3A, TIsa.SelectWhereLess(p2A, xA, p2A, TIsa.SelectWhereLess(p1A, xA, p1A, floorA)));
                TF belowB = TIsa.SelectWhereLess(p3B, xB, p3B, TIsa.SelectWhereLess(p2B, xB, p2B, TIsa.SelectWhereLess(p1B, xB, p1B, floorB)));
                TF aboveA = TIsa.SelectWhereLess(p1A, xA, TIsa.SelectWhereLess(p2A, xA, TIsa.SelectWhereLess(p3A, xA, ceilingA, p3A), p2A), p1A);
                TF aboveB = TIsa.SelectWhereLess(p1B, xB, TIsa.SelectWhereLess(p2B, xB, TIsa.SelectWhereLess(p3B, xB, ceilingB, p3B), p2B), p1B);

                // code = (k − 1) + [u·W_k < x − L_{k−1}], as in Encode.
                TI codeA = TIsa.IncrementWhereLess(mA, TIsa.Multiply(uA, TIsa.Subtract(aboveA, belowA)), TIsa.Subtract(xA, belowA));
                TI codeB = TIsa.IncrementWhereLess(mB, TIsa.Multiply(uB, TIsa.Subtract(aboveB, belowB)), TIsa.Subtract(xB, belowB));
                if (TRule.IsNormScaled)
                {
                    codeA = TIsa.Or(codeA, TIsa.And(TIsa.LessThan(gA, default), signBit));
                    codeB = TIsa.Or(codeB, TIsa.And(TIsa.LessThan(gB, default), signBit));
                }

                // 32 codes → 4 groups of 8 → b bytes each (the wide store rule of Encode). At b = 8 a code is its byte:
                // the narrowed vectors are the packed stream.
                Vector128<byte> codesA = TIsa.NarrowToBytes(codeA, codeA);
                Vector128<byte> codesB = TIsa.NarrowToBytes(codeB, codeB);
                if (bits == 8)
                {
                    codesA.StoreUnsafe(ref destination, (nuint)offset);
                    codesB.StoreUnsafe(ref destination, (nuint)(offset + 16));
                    offset += 32;
                    continue;
                }
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codesA.AsUInt64().ToScalar(), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codesA.AsUInt64().GetElement(1), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codesB.AsUInt64().ToScalar(), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
                BitPacking.Store(ref Unsafe.Add(ref destination, offset), BitPacking.Pack8(codesB.AsUInt64().GetElement(1), bits, laneMask), bits, offset + 8 <= byteEnd);
                offset += bits;
            }
        }
        // Reduce max before the tail call (see Encode).
        uint vectorMax = TIsa.MaxAcross(max);
        uint tail = TRule.IsNormScaled
            ? ScalarKernel.EncodeNormScaled(gradient, j, end, table, inverseNorm, k0, k1, counterBase, packed)
            : ScalarKernel.EncodeTruncated(gradient, j, end, table, k0, k1, counterBase, packed);
        return Math.Max(tail, vectorMax);
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
    internal static TU Finalize(TU h)
    {
        h = TIsa.Xor(h, TIsa.ShiftRightLogical(h, 16));
        h = TIsa.Multiply(h, TIsa.Broadcast(0x85EBCA6Bu));
        h = TIsa.Xor(h, TIsa.ShiftRightLogical(h, 13));
        h = TIsa.Multiply(h, TIsa.Broadcast(0xC2B2AE35u));
        return TIsa.Xor(h, TIsa.ShiftRightLogical(h, 16));
    }

    /// <summary>Sign: bit i of a compare mask is coordinate j + i's code, exactly the 1-bit packing, LSB first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        uint vectorMax = TIsa.MaxAcross(max);
        return Math.Max(ScalarKernel.EncodeSign(gradient, j, end, packed), vectorMax);
    }

    /// <summary>Full precision: a copy that also finds the largest |g| bit pattern.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        uint vectorMax = TIsa.MaxAcross(max);
        return Math.Max(ScalarKernel.EncodeFull(gradient, j, end, packed), vectorMax);
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
}

/// <summary>s ≤ 64 (b = 6), for <see cref="VectorKernel{TIsa, TF, TI, TU}"/>'s search tree.</summary>
internal readonly struct SearchDepth6 : ISearchDepth
{
    public static int Depth => 6;
}

/// <summary>s ≤ 128 (b = 7).</summary>
internal readonly struct SearchDepth7 : ISearchDepth
{
    public static int Depth => 7;
}

/// <summary>s ≤ 256 (b = 8).</summary>
internal readonly struct SearchDepth8 : ISearchDepth
{
    public static int Depth => 8;
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
