using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Codec.Kernels;

namespace PropertyTests.Codec;

/// <summary>
/// The 16-lane kernel's 4-ary search tree (<see cref="LevelTable.SearchTree"/>) finds the scalar binary search's cell,
/// and the cell's two levels, on grids the designs never produce: random, very uneven, every size from 33 to 255 cells,
/// so odd and even depths and the padded last cells are all reached. Checked at every grid point, its float
/// neighbours and random points in between.
/// </summary>
public class SearchTreeProperties
{
    [Property(MaxTest = 200)]
    public Property Vector512Kernel_EncodesRandomLargeGridsLikeScalar() =>
        Prop.ForAll(
            (from intervals in Gen.Choose(LevelTable.MinimumBucketedIntervals, 255)
             from seed in Gen.Choose(0, int.MaxValue)
             from spread in Gen.Choose(0, 4)
             select (Intervals: intervals, Seed: seed, Spread: spread)).ToArbitrary(),
            c =>
            {
                if (!Vector512Kernel.IsSupported)
                {
                    return;
                }
                var random = new Random(c.Seed);
                // Gaps spanning up to 10^spread in ratio (spread ≤ 4: the grid spans at most 255·10^4 smallest gaps, so
                // every level stays distinct in float32, whose spacing there is ≤ 0.25 of the smallest gap; at 10^6 the
                // levels could collapse and LevelTable.FromLevels rejected the grid about once in six runs). From uniform
                // grids to grids where a few cells hold almost the whole range (where equal-width buckets give up).
                var levels = new double[c.Intervals + 1];
                for (int i = 1; i < levels.Length; i++)
                {
                    levels[i] = levels[i - 1] + Math.Pow(10, c.Spread * random.NextDouble());
                }
                double offset = -levels[^1] * random.NextDouble();
                int bits = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)c.Intervals);
                LevelTable table = LevelTable.FromLevels(bits, [.. levels.Select(level => level + offset)], "random levels");
                Assert.NotNull(table.SearchTree);

                var gradient = new List<float>();
                foreach (float level in table.Grid)
                {
                    gradient.AddRange([MathF.BitDecrement(level), level, MathF.BitIncrement(level)]);
                }
                for (int i = 0; i < 64; i++)
                {
                    gradient.Add((float)(table.Low + ((table.High - table.Low) * ((1.2 * random.NextDouble()) - 0.1))));
                }
                float[] values = [.. gradient];
                int length = (int)WireFormat.PackedLength(values.Length, bits);
                byte[] expected = new byte[length];
                byte[] actual = new byte[length];
                uint k0 = (uint)random.Next(), k1 = (uint)random.Next();
                uint expectedMax = ScalarKernel.EncodeTruncated(values, 0, values.Length, table, k0, k1, 0, expected);
                uint actualMax = Vector512Kernel.EncodeTruncated(values, 0, values.Length, table, k0, k1, 0, actual);
                Assert.Equal(expectedMax, actualMax);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"s = {c.Intervals}, seed {c.Seed}, spread {c.Spread}: the tree search encodes differently from scalar.");
            });

    [Theory]
    [InlineData("tuq", 8)]
    [InlineData("tnq", 8)]
    [InlineData("tbq", 8)]
    [InlineData("qsgd", 8)]
    [InlineData("nuqsgd", 8)]
    [InlineData("tuq", 6)]
    [InlineData("qsgd", 7)]
    public void LargeGrids_OfTheDesigns_GetASearchTree(string scheme, int bits)
    {
        // Guards the fast path's coverage: without a tree the path tests would not exercise the 4-ary search at all.
        LevelTable table = LevelTable.ForDesign(CodecFixtures.Design(scheme, bits));
        Assert.NotNull(table.SearchTree);
    }
}
