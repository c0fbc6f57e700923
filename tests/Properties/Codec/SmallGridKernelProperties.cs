using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Codec.Kernels;

namespace PropertyTests.Codec;

/// <summary>
/// The 16-lane small-grid encoder (<see cref="Vector512SmallGridKernel"/>: binary search on permuted probes, codes
/// packed in registers) writes the scalar kernel's bytes on grids the designs never produce: random, very uneven, every
/// cell count up to 2^b − 1 at b = 1..5 (b = 5 checks the hand-over to the generic driver), both rounding rules, ranges
/// that start inside a payload and end inside a 64-coordinate block. Checked at every grid point, its float neighbours
/// and random points around the grid; a NaN or ±∞ coordinate only has to report the same largest |g|.
/// </summary>
public class SmallGridKernelProperties
{
    [Property(MaxTest = 300)]
    public Property Vector512Kernel_EncodesRandomSmallGridsLikeScalar() =>
        Prop.ForAll(
            (from bits in Gen.Choose(1, 5)
             from normScaled in Gen.Elements(false, true)
             from cellFraction in Gen.Choose(0, 1000)
             from seed in Gen.Choose(0, int.MaxValue)
             from spread in Gen.Choose(0, 4)
             from startBlocks in Gen.Choose(0, 3)
             from extra in Gen.Choose(0, 200)
             select (Bits: bits, NormScaled: normScaled && bits > 1, CellFraction: cellFraction, Seed: seed, Spread: spread, Start: 8 * startBlocks, Extra: extra)).ToArbitrary(),
            c =>
            {
                if (!Vector512Kernel.IsSupported)
                {
                    return;
                }
                var random = new Random(c.Seed);
                // Norm-scaled codes keep the top bit for the sign, so their grids have at most 2^(b−1) − 1 cells.
                int maximumCells = c.NormScaled ? (1 << (c.Bits - 1)) - 1 : (1 << c.Bits) - 1;
                int intervals = 1 + (c.CellFraction * (maximumCells - 1) / 1000);
                // Gaps spanning up to 10^spread in ratio, from uniform grids to a few cells holding almost everything;
                // at most 10^4, so that 31 cells stay distinct in float32 after the offset or the scaling to [0, 1].
                var levels = new double[intervals + 1];
                for (int i = 1; i < levels.Length; i++)
                {
                    levels[i] = levels[i - 1] + Math.Pow(10, c.Spread * random.NextDouble());
                }
                // Norm-scaled magnitudes run over [0, 1]; truncated grids anywhere.
                double scale = c.NormScaled ? 1 / levels[^1] : 1;
                double offset = c.NormScaled ? 0 : -levels[^1] * random.NextDouble();
                LevelTable table = LevelTable.FromLevels(c.Bits, [.. levels.Select(level => (level * scale) + offset)], "random levels");
                float inverseNorm = c.NormScaled ? (float)(0.5 + random.NextDouble()) : 0;

                var gradient = new List<float>(new float[c.Start]);
                foreach (float level in table.Grid)
                {
                    float point = c.NormScaled ? level / inverseNorm : level;
                    gradient.AddRange([MathF.BitDecrement(point), point, MathF.BitIncrement(point), -point]);
                }
                gradient.AddRange([0f, -0f]);
                for (int i = 0; i < 64 + c.Extra; i++)
                {
                    gradient.Add((float)(table.Low + ((table.High - table.Low) * ((1.4 * random.NextDouble()) - 0.2))) * (random.Next(2) == 0 ? 1 : -1));
                }
                float[] values = [.. gradient];
                int length = (int)WireFormat.PackedLength(values.Length, c.Bits);
                byte[] expected = new byte[length];
                random.NextBytes(expected);
                byte[] actual = [.. expected];
                uint k0 = (uint)random.Next(), k1 = (uint)random.Next(), counterBase = (uint)random.Next() * 2;
                uint expectedMax = c.NormScaled
                    ? ScalarKernel.EncodeNormScaled(values, c.Start, values.Length, table, inverseNorm, k0, k1, counterBase, expected)
                    : ScalarKernel.EncodeTruncated(values, c.Start, values.Length, table, k0, k1, counterBase, expected);
                uint actualMax = c.NormScaled
                    ? Vector512Kernel.EncodeNormScaled(values, c.Start, values.Length, table, inverseNorm, k0, k1, counterBase, actual)
                    : Vector512Kernel.EncodeTruncated(values, c.Start, values.Length, table, k0, k1, counterBase, actual);
                Assert.Equal(expectedMax, actualMax);
                Assert.True(
                    expected.AsSpan().SequenceEqual(actual),
                    $"b = {c.Bits}, s = {intervals}, norm-scaled {c.NormScaled}, seed {c.Seed}, start {c.Start}: the 16-lane path encodes differently from scalar.");

                // A NaN or ±∞ coordinate fails the encode, so only the largest |g| bit pattern that reports it must agree.
                values[random.Next(c.Start, values.Length)] = random.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
                expectedMax = c.NormScaled
                    ? ScalarKernel.EncodeNormScaled(values, c.Start, values.Length, table, inverseNorm, k0, k1, counterBase, expected)
                    : ScalarKernel.EncodeTruncated(values, c.Start, values.Length, table, k0, k1, counterBase, expected);
                actualMax = c.NormScaled
                    ? Vector512Kernel.EncodeNormScaled(values, c.Start, values.Length, table, inverseNorm, k0, k1, counterBase, actual)
                    : Vector512Kernel.EncodeTruncated(values, c.Start, values.Length, table, k0, k1, counterBase, actual);
                Assert.Equal(expectedMax, actualMax);
            });

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 3)]
    [InlineData("tbq", 3)]
    [InlineData("tnq", 1)]
    [InlineData("tuq", 4)]
    [InlineData("qsgd", 4)]
    public void SmallGrids_OfTheDesigns_TakeTheSmallGridKernel(string scheme, int bits)
    {
        // Guards the property's coverage: the designs' b ≤ 4 tables must reach the new kernel wherever the CPU has VBMI.
        LevelTable table = LevelTable.ForDesign(CodecFixtures.Design(scheme, bits));
        Assert.Equal(Vector512SmallGridKernel.IsSupported, Vector512SmallGridKernel.Handles(table));
    }
}
