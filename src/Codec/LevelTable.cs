using System.Collections.Immutable;
using System.Globalization;
using Verified.Theory;

namespace Verified.Codec;

/// <summary>
/// A design's levels prepared for the kernels, in float32: the grid a coordinate is rounded on, and for every cell
/// k = 1..s its lower level and width. Built once per design and shared by every call and thread.
/// </summary>
/// <remarks>
/// <para>Truncated schemes round x = clamp(g, L_0, L_s) on L = (float)levels. QSGD/NUQSGD round r = min(|g|·(1/‖v‖), 1)
/// on the float magnitudes M = (float)ℓ_j and put the sign in the top bit of the code.</para>
/// <para>The cell of x is k = 1 + #{i ∈ 1..s−1 : L_i &lt; x}, the smallest k with L_k ≥ x. The code is
/// k − 1 + [u·W_k &lt; x − L_{k−1}] with W_k = L_k − L_{k−1} evaluated in float32. When x is a level L_k the two float
/// differences are the same operation, so u·W_k &lt; W_k for every u &lt; 1 and the level is kept exactly.</para>
/// </remarks>
internal sealed class LevelTable
{
    /// <summary>Tables are padded to at least this many floats so a 16-lane permute never reads past them.</summary>
    public const int MinimumPadding = 32;

    private LevelTable(int bits, int intervals, float[] grid)
    {
        Bits = bits;
        Intervals = intervals;
        Grid = grid;
        int padded = Math.Max(MinimumPadding, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)intervals));
        Lower = new float[padded];
        Width = new float[padded];
        Interior = new float[padded];
        Interior.AsSpan().Fill(float.PositiveInfinity);
        for (int k = 1; k <= intervals; k++)
        {
            Lower[k - 1] = grid[k - 1];
            Width[k - 1] = grid[k] - grid[k - 1];
        }
        for (int i = 1; i < intervals; i++)
        {
            Interior[i - 1] = grid[i];
        }
        SearchSize = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)intervals);
        if (intervals >= MinimumBucketedIntervals)
        {
            SearchTree = BuildSearchTree(grid, intervals, SearchSize);
            (BucketStart, BucketScale, BucketCorrections) = BuildBuckets(grid, intervals);
            LastBucket = BucketStart is null ? 0 : BucketStart.Length - 1;
        }
    }

    /// <summary>b, bits per code on the wire.</summary>
    public int Bits { get; }

    /// <summary>s, the number of cells of the grid.</summary>
    public int Intervals { get; }

    /// <summary>The s + 1 grid points in float32, ascending.</summary>
    public float[] Grid { get; }

    /// <summary>Lower[k − 1] = L_{k−1}, padded with zeros.</summary>
    public float[] Lower { get; }

    /// <summary>Width[k − 1] = L_k − L_{k−1} in float32, padded with zeros.</summary>
    public float[] Width { get; }

    /// <summary>The interior points L_1..L_{s−1}, padded with +∞ (the sorted array the cell search counts in).</summary>
    public float[] Interior { get; }

    /// <summary>The smallest power of two ≥ s: the span of the branch-free binary search over <see cref="Interior"/>.</summary>
    public int SearchSize { get; }

    /// <summary>
    /// The bucket guess of the cell search, or <c>null</c> when the grid is small (permutes or compares are cheaper) or
    /// too uneven for equal-width buckets: BucketStart[q] = #{interior points in buckets &lt; q}, see <see cref="Bucket"/>.
    /// </summary>
    public int[]? BucketStart { get; }

    /// <summary>The float32 factor of <see cref="Bucket"/>: bucket count / (L_s − L_0), rounded to float.</summary>
    public float BucketScale { get; }

    /// <summary>The most interior points in one bucket: how many compare-and-step corrections the guess needs.</summary>
    public int BucketCorrections { get; }

    /// <summary>
    /// The branch-free binary search over <see cref="Interior"/> regrouped as a 4-ary search for the 16-lane kernel, or
    /// <c>null</c> for small grids (s &lt; <see cref="MinimumBucketedIntervals"/>). See <see cref="BuildSearchTree"/>.
    /// </summary>
    public float[]? SearchTree { get; }

    /// <summary>Each table of <see cref="SearchTree"/> takes at least this many floats (one 16-lane register).</summary>
    public const int SearchTreeBlock = 16;

    /// <summary>The last bucket's number (bucket count − 1).</summary>
    public int LastBucket { get; }

    /// <summary>Lowest grid point (the clamp's lower bound).</summary>
    public float Low => Grid[0];

    /// <summary>Highest grid point (the clamp's upper bound).</summary>
    public float High => Grid[^1];

    /// <summary>Grids with at least this many cells get a bucket guess: b ≥ 6, where every vector width's binary search
    /// would gather on each of its log2(s) dependent steps.</summary>
    public const int MinimumBucketedIntervals = 33;

    /// <summary>At most this many buckets (16 KiB of int32, inside L1 next to the level tables).</summary>
    public const int MaximumBuckets = 4096;

    /// <summary>At most this many corrections: beyond it the binary search's log2(s) steps are as cheap.</summary>
    public const int MaximumCorrections = 2;

    /// <summary>
    /// The bucket of x ∈ [L_0, L_s]: min(⌊(x − L_0)·scale⌋, last), in float32. The vector kernels compute exactly these
    /// float operations, so a level and the coordinate equal to it fall in the same bucket.
    /// </summary>
    /// <remarks>
    /// <para>(x − L_0)·scale is monotone in x (round-to-nearest keeps order) and so is the truncation, so for x in bucket
    /// q every interior point of a lower bucket is &lt; x and every point of a higher one is &gt; x. Hence
    /// #{interior points &lt; x} = BucketStart[q] + #{points in bucket q that are &lt; x}, and at most
    /// <see cref="BucketCorrections"/> steps "index += [Interior[index] &lt; x]" reach it; the +∞ padding of
    /// <see cref="Interior"/> stops the steps at s − 1.</para>
    /// </remarks>
    public static int Bucket(float x, float low, float scale, int last) => Math.Min((int)((x - low) * scale), last);

    /// <summary>
    /// Builds <see cref="SearchTree"/>: the probes of the binary search over <see cref="Interior"/> (depth
    /// log2(<see cref="SearchSize"/>)), grouped so that one step decides two levels at once.
    /// </summary>
    /// <remarks>
    /// <para>Layout: float 0 is the root probe, used only when the depth is odd (one binary step first); then, per 4-ary
    /// step with n nodes (1, 4, 16, 64 at depth 8; 2, 8, 32 at depth 7; 1, 4, 16 at depth 6), three tables of
    /// max(n, 16) floats: for node m
    /// (the index decided so far) P1[m] &lt; P2[m] &lt; P3[m], the binary search's probe at m (P2) and at its two children
    /// (P1, P3). The step is m ← 4m + [P1 &lt; x] + [P2 &lt; x] + [P3 &lt; x]; after the last step m = #{interior points &lt; x}
    /// = k − 1. Two binary levels per step halve the dependent chain of lookups and compares.</para>
    /// <para>The search also yields the cell's two levels: L_{k−1} is the largest probe below x (L_0 when there is
    /// none) and L_k the smallest one not below, because a lower-bound binary search over a power-of-two span probes
    /// the answer's position whenever it is below the span's last entry — here the position of L_s, which is why the
    /// padding holds L_s rather than +∞ (nothing compares below a coordinate x ≤ L_s either way). Before the last step
    /// those two are the probes that bound node m's range, so two more tables of the last step's size hold them
    /// (Floor[m] at position 4m − 1, L_0 for m = 0; Ceiling[m] at position 4m + 3): the last step picks L_{k−1} from
    /// Floor, P1, P2, P3 and L_k from P1, P2, P3, Ceiling, and the steps before it carry no levels at all. The
    /// kernel's width L_k − L_{k−1} is then the same float32 subtraction as <see cref="Width"/>.</para>
    /// </remarks>
    private static float[] BuildSearchTree(float[] grid, int intervals, int searchSize)
    {
        int depth = System.Numerics.BitOperations.Log2((uint)searchSize);
        // The binary search's probe at a position of Interior (L_0 before the first), and its probe after `level`
        // decisions with prefix p: Interior[(2p + 1)·2^(depth − level − 1) − 1].
        float ProbeAt(int position) => position < 0 ? grid[0] : position < intervals - 1 ? grid[position + 1] : grid[intervals];
        float Probe(int level, int prefix) => ProbeAt((((2 * prefix) + 1) * (1 << (depth - level - 1))) - 1);

        int first = depth & 1;
        int lastBlock = Math.Max(1 << (depth - 2), SearchTreeBlock);
        int length = SearchTreeBlock + (2 * lastBlock);
        for (int level = first; level < depth; level += 2)
        {
            length += 3 * Math.Max(1 << level, SearchTreeBlock);
        }
        var tree = new float[length];
        tree.AsSpan().Fill(grid[intervals]);
        tree[0] = Probe(0, 0);
        int offset = SearchTreeBlock;
        for (int level = first; level < depth; level += 2)
        {
            int nodes = 1 << level;
            int block = Math.Max(nodes, SearchTreeBlock);
            for (int m = 0; m < nodes; m++)
            {
                tree[offset + m] = Probe(level + 1, 2 * m);
                tree[offset + block + m] = Probe(level, m);
                tree[offset + (2 * block) + m] = Probe(level + 1, (2 * m) + 1);
            }
            offset += 3 * block;
        }
        // The last step's Floor and Ceiling tables (remarks).
        for (int m = 0; m < 1 << (depth - 2); m++)
        {
            tree[offset + m] = ProbeAt((4 * m) - 1);
            tree[offset + lastBlock + m] = ProbeAt((4 * m) + 3);
        }
        return tree;
    }

    private static (int[]? Start, float Scale, int Corrections) BuildBuckets(float[] grid, int intervals)
    {
        float low = grid[0];
        float span = grid[^1] - grid[0];
        // Equal-width buckets fit uniform and moderately companded grids; the first count that leaves at most
        // MaximumCorrections points per bucket wins (fewer buckets, smaller table in cache).
        for (int count = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)intervals); count <= MaximumBuckets; count *= 2)
        {
            float scale = count / span;
            if (!float.IsFinite(scale))
            {
                break;
            }
            var perBucket = new int[count];
            for (int i = 1; i < intervals; i++)
            {
                perBucket[Bucket(grid[i], low, scale, count - 1)]++;
            }
            int corrections = perBucket.Max();
            if (corrections > MaximumCorrections)
            {
                continue;
            }
            var start = new int[count];
            for (int q = 1; q < count; q++)
            {
                start[q] = start[q - 1] + perBucket[q - 1];
            }
            return (start, scale, corrections);
        }
        return (null, 0, 0);
    }

    /// <summary>The encoder's table for a design of a level-based scheme (truncated, QSGD, NUQSGD).</summary>
    /// <exception cref="ArgumentException">The design's levels are not what its spec promises, or collapse in float32.</exception>
    public static LevelTable ForDesign(QuantizerDesign design)
    {
        QuantizerSpec spec = design.Spec;
        if (spec is NormScaledSpec normScaled)
        {
            return FromLevels(normScaled.Bits, NormScaled.Magnitudes(normScaled), "the magnitudes of " + spec.Name);
        }
        if (spec is TruncatedSpec truncated)
        {
            if (design.Levels.Length != truncated.Intervals + 1)
            {
                CodecThrow.ArgumentException_Design(nameof(design), string.Create(
                    CultureInfo.InvariantCulture,
                    $"The design has {design.Levels.Length} levels, but {spec.Name} with b = {truncated.Bits} needs 2^b = {truncated.Intervals + 1}."));
            }
            if (!(design.Alpha > 0) || !double.IsFinite(design.Alpha) || design.Levels[0] != -design.Alpha || design.Levels[^1] != design.Alpha)
            {
                CodecThrow.ArgumentException_Design(nameof(design), "The design's levels must run from −α to α with α finite and > 0.");
            }
            if (WireFormat.ModelProblem(WireFormat.ModelOf(design.Model), design.Model.Scale, design.Model.TailShape ?? 0, design.Alpha) is { } problem)
            {
                CodecThrow.ArgumentException_Design(nameof(design), "The design cannot be sent: " + problem);
            }
            return FromLevels(truncated.Bits, design.Levels, "the levels of " + spec.Name);
        }
        throw new ArgumentException($"Scheme {spec.Name} has no level table.", nameof(design));
    }

    /// <summary>A table over the given ascending levels; used by the encoder and by the decoder's tests.</summary>
    public static LevelTable FromLevels(int bits, ImmutableArray<double> levels, string what)
    {
        var grid = new float[levels.Length];
        for (int i = 0; i < grid.Length; i++)
        {
            grid[i] = (float)levels[i];
            if (!float.IsFinite(grid[i]) || (i > 0 && !(grid[i] > grid[i - 1])))
            {
                CodecThrow.ArgumentException_Design("design", string.Create(
                    CultureInfo.InvariantCulture,
                    $"{what} are not finite and strictly increasing in float32 (level {i} = {levels[i]}): the model's scale is out of float range or the levels are too close."));
            }
        }
        return new LevelTable(bits, levels.Length - 1, grid);
    }
}
