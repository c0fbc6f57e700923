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

    /// <summary>Lowest grid point (the clamp's lower bound).</summary>
    public float Low => Grid[0];

    /// <summary>Highest grid point (the clamp's upper bound).</summary>
    public float High => Grid[^1];

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
