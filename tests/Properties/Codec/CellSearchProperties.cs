using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>
/// The vector kernels' cell search (compare count, binary search, bucket guess + corrections) finds the scalar binary
/// search's cell where it is hardest: at every grid point and its float32 neighbours, where one ulp decides the cell.
/// </summary>
public class CellSearchProperties
{
    [Theory]
    [MemberData(nameof(CodecFixtures.SchemeData), MemberType = typeof(CodecFixtures))]
    public void EveryPath_EncodesGridPointsAndNeighboursLikeScalar(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        if (design.Spec is Sign or FullPrecision)
        {
            return;
        }
        LevelTable table = LevelTable.ForDesign(design);
        var gradient = new List<float>();
        if (design.Spec is NormScaledSpec)
        {
            // |g|/‖v‖ lands on a magnitude only through the norm; scale the magnitudes by one large coordinate so
            // that ‖v‖ is (almost) that coordinate and the ratios sweep the grid and its neighbours.
            gradient.Add(1e6f);
            foreach (float m in table.Grid)
            {
                foreach (float x in Neighbours(m * 1e6f))
                {
                    gradient.Add(x);
                    gradient.Add(-x);
                }
            }
        }
        else
        {
            foreach (float level in table.Grid)
            {
                gradient.AddRange(Neighbours(level));
            }
        }
        float[] values = [.. gradient];
        var key = new RoundingKey(7, 1, 2);
        byte[] expected = CodecFixtures.Scalar.Encode(values, design, key);
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath.Skip(1))
        {
            Assert.True(expected.AsSpan().SequenceEqual(codec.Encode(values, design, key)), $"{scheme} b={bits}: path {codec.Path} rounds a grid point or a neighbour differently from scalar.");
        }
    }

    [Theory]
    [InlineData("tuq", 8)]
    [InlineData("tnq", 8)]
    [InlineData("qsgd", 8)]
    public void LargeGrids_OfTheLaplaceDesigns_GetABucketGuess(string scheme, int bits)
    {
        // Guards the fast path's coverage: if these fell back to the binary search, the test above would not exercise
        // the bucket guess at all.
        LevelTable table = LevelTable.ForDesign(CodecFixtures.Design(scheme, bits));
        Assert.NotNull(table.BucketStart);
        Assert.InRange(table.BucketCorrections, 1, LevelTable.MaximumCorrections);
    }

    private static IEnumerable<float> Neighbours(float value) =>
        [MathF.BitDecrement(MathF.BitDecrement(value)), MathF.BitDecrement(value), value, MathF.BitIncrement(value), MathF.BitIncrement(MathF.BitIncrement(value))];
}
