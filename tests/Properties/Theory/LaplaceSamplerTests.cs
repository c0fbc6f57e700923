using Verified.Theory.Sampling;

namespace PropertyTests;

/// <summary>
/// The one Laplace sampler: bit for bit the inversions it replaced (so golden vectors, test vectors and docs/sde.md
/// do not move), and finite at the edge of the uniform where they returned −∞.
/// </summary>
public sealed class LaplaceSamplerTests
{
    /// <summary>The inversion the test, bench and CLI vectors used before LaplaceSampler (−∞ at uniform = 0).</summary>
    private static float FormerVectorDraw(double uniform, double scale)
    {
        double u = uniform - 0.5;
        return (float)(-scale * Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u))));
    }

    /// <summary>The former SdeRandom.NextLaplace on 64 bits.</summary>
    private static double FormerSdeDraw(ulong bits, double scale)
    {
        double magnitude = -scale * Math.Log(1 - ((bits >> 11) * (1.0 / (1UL << 53))));
        return (bits & 1) == 0 ? magnitude : -magnitude;
    }

    [Theory]
    [InlineData(1, 0.01)]
    [InlineData(5, 0.01)]
    [InlineData(17, 0.01)]
    [InlineData(3, 1.0)]
    [InlineData(123, 2.5e-3)]
    public void Vector_IsTheFormerInversion_BitForBit(int seed, double scale)
    {
        const int Length = 200_000;
        float[] values = LaplaceSampler.Vector(Length, scale, seed);
        var random = new Random(seed);
        for (int j = 0; j < Length; j++)
        {
            float expected = FormerVectorDraw(random.NextDouble(), scale);
            Assert.True(
                BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(values[j]),
                $"seed {seed}, j = {j}: {values[j]:R} vs the former {expected:R}");
        }
    }

    [Fact]
    public void FromUniform_IsTheFormerInversion_OnEdgesAndCentre_ExceptAtZero()
    {
        double step = 1.0 / int.MaxValue;
        foreach (double p in new[] { step, 0.5 - step, 0.5, 0.5 + step, 1 - step, 0.25, 0.75, 1.0 / (1UL << 53) })
        {
            float expected = FormerVectorDraw(p, 0.01);
            float actual = (float)LaplaceSampler.FromUniform(p, 0.01);
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
        }
    }

    [Fact]
    public void SdeRandomNextLaplace_IsTheFormerDraw_BitForBit()
    {
        var sampler = new SdeRandom(42);
        var bits = new SdeRandom(42);
        for (int i = 0; i < 200_000; i++)
        {
            double expected = FormerSdeDraw(bits.NextUInt64(), 0.3);
            double actual = sampler.NextLaplace(0.3);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(actual));
        }
    }

    [Fact]
    public void TheEdgeUniform_GivesAFiniteDraw_NotInfinity()
    {
        Assert.True(double.IsNegativeInfinity(FormerVectorDraw(0, 0.01)));
        double edge = LaplaceSampler.FromUniform(0, 0.01);
        Assert.True(double.IsFinite(edge));
        // −γ·ln 2⁻⁵³ = 53γ ln 2, on the negative side, beyond every draw of the open grid.
        Assert.Equal(-0.01 * 53 * Math.Log(2), edge, 12);
        Assert.True(edge < LaplaceSampler.FromUniform(1.0 / (1UL << 53), 0.01));
        Assert.Equal(0.01 * 53 * Math.Log(2), LaplaceSampler.FromUniforms(1, false, 0.01), 12);
        Assert.Equal(-0.01 * 53 * Math.Log(2), LaplaceSampler.FromUniforms(1, true, 0.01), 12);
    }
}
