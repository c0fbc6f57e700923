using Verified.Theory;

namespace Verified.Properties;

/// <summary>Specs and models validate in constructors and in <c>init</c>, so <c>with</c> cannot make an invalid value.</summary>
public sealed class ValidationTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(-1)]
    public void TruncatedSpecs_RejectBitsOutsideOneToEight(int bits)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedNonUniform(bits));
        Assert.Contains("from 1 to 8", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedUniform(3) with { Bits = bits });
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedBiScaled(bits));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void NormScaledSpecs_NeedASignBitAndALevelBit(int bits)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Qsgd(bits));
        Assert.Contains("from 2 to 8", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nuqsgd(3) with { Bits = bits });
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Models_RejectNonPositiveOrNonFiniteScales(double scale)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Laplace(scale));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gaussian(1) with { Scale = scale });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lomax(scale, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParetoTail(scale, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Threshold.Fixed(scale));
    }

    [Theory]
    [InlineData(3.0)]
    [InlineData(2.5)]
    [InlineData(double.NaN)]
    public void PowerLaws_NeedShapeAboveThree(double shape)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Lomax(1, shape));
        Assert.Contains("> 3", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParetoTail(1, 4) with { Shape = shape });
    }

    [Fact]
    public void RelaxedThreshold_BelongsToTuqOnly()
    {
        Assert.Throws<ArgumentException>(() => new TruncatedNonUniform(3, Threshold.Relaxed));
        Assert.Throws<ArgumentException>(() => new TruncatedBiScaled(3) with { Threshold = Threshold.Relaxed });
        Assert.Equal(Threshold.Relaxed, new TruncatedUniform(3, Threshold.Relaxed).Threshold);
    }

    [Fact]
    public void NormScaledDesigns_NeedADimension()
    {
        var error = Assert.Throws<ArgumentException>(() => Quantizers.Design(new Qsgd(3), new Laplace(1)));
        Assert.Contains("dimension", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BitsConventions_AreOnePerScheme()
    {
        Assert.Equal((3, 7), (new TruncatedNonUniform(3).BitsPerCoordinate, new TruncatedNonUniform(3).Intervals));
        Assert.Equal((3, 3), (new Qsgd(3).BitsPerCoordinate, new Qsgd(3).Intervals));
        Assert.Equal((2, 1), (new Nuqsgd(2).BitsPerCoordinate, new Nuqsgd(2).Intervals));
        Assert.Equal(1, new Sign().BitsPerCoordinate);
        Assert.Equal(32, new FullPrecision().BitsPerCoordinate);
    }

    [Fact]
    public void SignDesign_UsesMeanAbsoluteMagnitude_AndReportsItsBias()
    {
        QuantizerDesign design = Quantizers.Design(new Sign(), new Laplace(2));
        Assert.Equal([-2.0, 2.0], design.Levels.ToArray());
        // |g| ~ Exponential(γ): E[(|g| − γ)²] = γ².
        Assert.Equal(4.0, design.TruncationMse, 12);
        Assert.Equal(0.0, design.RoundingVariance);
    }

    [Fact]
    public void FullPrecisionDesign_HasNoError()
    {
        QuantizerDesign design = Quantizers.Design(new FullPrecision(), new Gaussian(1));
        Assert.Empty(design.Levels);
        Assert.Equal(0.0, design.Error);
        Assert.True(double.IsPositiveInfinity(design.Alpha));
    }

    [Fact]
    public void FixedThreshold_IsUsedAsGiven()
    {
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(3, Threshold.Fixed(2.5)), new Laplace(1));
        Assert.Equal(2.5, design.Alpha);
        Assert.Equal(2 * Math.Exp(-2.5), design.TruncationMse, 14);
    }

    [Fact]
    public void ConvergenceError_RejectsNonPositiveCounts()
    {
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(3), new Laplace(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => design.ConvergenceError(0, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => design.ConvergenceError(10, 0));
        Assert.Equal(10.0 / 8 * design.Error, design.ConvergenceError(10, 8), 15);
    }

    [Fact]
    public void QuantizerSpecCreate_BuildsEveryNamedScheme_AndRefusesWhatItCannot()
    {
        foreach (string name in QuantizerSpec.SchemeNames)
        {
            Assert.Equal(name, QuantizerSpec.Create(name, 3).Name);
        }
        Assert.Equal(new TruncatedUniform(2, Threshold.Relaxed), QuantizerSpec.Create("tuq", 2, Threshold.Relaxed));
        Assert.Equal(new Sign(), QuantizerSpec.Create("sign", 42));
        Assert.Contains("use one of fp, qsgd", Assert.Throws<ArgumentException>(() => QuantizerSpec.Create("zip", 3)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantizerSpec.Create("qsgd", 1));
        Assert.Contains("takes no threshold", Assert.Throws<ArgumentException>(() => QuantizerSpec.Create("qsgd", 3, Threshold.Fixed(1))).Message, StringComparison.Ordinal);
    }
}
