using Verified.Theory;

namespace PropertyTests;

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
    public void SchemesParse_BuildsEveryNamedScheme_AndRefusesWhatItCannot()
    {
        foreach (SchemeDefinition definition in Schemes.All)
        {
            string scheme = definition.Syntax.Replace(":Q", ":0.25", StringComparison.Ordinal).Replace(":K", ":7", StringComparison.Ordinal);
            QuantizerSpec spec = Schemes.Parse(scheme, 3);
            Assert.Same(definition, spec.Definition);
            Assert.Equal(definition.Name, spec.Name);
            Assert.True(Schemes.TryFind(scheme, out SchemeDefinition? found, out _));
            Assert.Same(definition, found);
        }
        Assert.Equal(new BernoulliSparsification(0.25), Schemes.Parse("bernoulli:0.25", 3));
        Assert.Equal(new RandKSparsification(7), Schemes.Parse("randk:7", 3));
        Assert.Equal(new Sign { Magnitude = SignMagnitude.Unit }, Schemes.Parse("usign", 3));
        Assert.Equal("usign", Schemes.Parse("usign", 3).Name);
        foreach (string bad in new[] { "bernoulli", "bernoulli:0", "bernoulli:1.5", "bernoulli:x", "randk", "randk:0", "randk:-3", "randk:2.5" })
        {
            string message = Assert.Throws<ArgumentException>(() => Schemes.Parse(bad, 3)).Message;
            Assert.Contains(bad.StartsWith("randk", StringComparison.Ordinal) ? "randk:K" : "bernoulli:Q", message, StringComparison.Ordinal);
        }
        Assert.Contains("takes no parameter", Assert.Throws<ArgumentException>(() => Schemes.Parse("tnq:3", 3)).Message, StringComparison.Ordinal);
        Assert.Contains("bernoulli:Q, randk:K", Assert.Throws<ArgumentException>(() => Schemes.Parse("zip", 3)).Message, StringComparison.Ordinal);
        Assert.Equal(new TruncatedUniform(2, Threshold.Relaxed), Schemes.Parse("tuq", 2, Threshold.Relaxed));
        Assert.Equal(new Sign(), Schemes.Parse("sign", 42));
        Assert.Contains("use one of fp, qsgd", Assert.Throws<ArgumentException>(() => Schemes.Parse("zip", 3)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Schemes.Parse("qsgd", 1));
        Assert.Contains("takes no threshold", Assert.Throws<ArgumentException>(() => Schemes.Parse("qsgd", 3, Threshold.Fixed(1))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SparsifierAndSignSpecs_ValidateInConstructorAndInit()
    {
        foreach (double q in new[] { 0, -0.1, 1.0000001, double.NaN, double.PositiveInfinity })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new BernoulliSparsification(q));
            Assert.Throws<ArgumentOutOfRangeException>(() => new BernoulliSparsification(0.5) with { KeepProbability = q });
        }
        Assert.Equal(1, new BernoulliSparsification(1).KeepProbability);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandKSparsification(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandKSparsification(3) with { Kept = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sign { Magnitude = (SignMagnitude)7 });
        Assert.Equal(SignMagnitude.MeanAbsolute, new Sign().Magnitude);
        Assert.NotEqual(new Sign(), new Sign { Magnitude = SignMagnitude.Unit });
    }

    [Fact]
    public void SparsifierDesigns_AreHonest_AndRandKChecksKAgainstD()
    {
        var laplace = new Laplace(0.5);
        double secondMoment = 2 * 0.5 * 0.5;
        QuantizerDesign bernoulli = Quantizers.Design(new BernoulliSparsification(0.2), laplace);
        Assert.Empty(bernoulli.Levels);
        Assert.Equal(double.PositiveInfinity, bernoulli.Alpha);
        Assert.Equal(0, bernoulli.TruncationMse);
        Assert.Equal(4 * secondMoment, bernoulli.RoundingVariance, 12);
        Assert.Equal(bernoulli.RoundingVariance, bernoulli.RoundingVarianceBound);
        Assert.Equal(bernoulli.RoundingVariance, bernoulli.Error);
        QuantizerDesign randK = Quantizers.Design(new RandKSparsification(25), laplace, 100);
        Assert.Equal(3 * secondMoment, randK.RoundingVariance, 12);
        Assert.Equal(100, randK.Dimension);
        Assert.Contains("pass the dimension", Assert.Throws<ArgumentException>(() => Quantizers.Design(new RandKSparsification(25), laplace)).Message, StringComparison.Ordinal);
        Assert.Contains("k must be at most d", Assert.Throws<ArgumentOutOfRangeException>(() => Quantizers.Design(new RandKSparsification(25), laplace, 24)).Message, StringComparison.Ordinal);
        Assert.Equal(1 + (32 * 0.25), new RandKSparsification(25).ExpectedBitsPerCoordinate(100), 12);
        Assert.Equal("bernoulli-0.2", bernoulli.Spec.Label);
        Assert.Equal("randk-25", randK.Spec.Label);
    }

    [Fact]
    public void UnitSign_HasMagnitudeOne_AndTheBiasOfUnitSigns()
    {
        var laplace = new Laplace(0.25);
        QuantizerDesign unit = Quantizers.Design(new Sign { Magnitude = SignMagnitude.Unit }, laplace);
        QuantizerDesign meanAbsolute = Quantizers.Design(new Sign(), laplace);
        Assert.Equal([-1.0, 1.0], unit.Levels.ToArray());
        Assert.Equal([-0.25, 0.25], meanAbsolute.Levels.ToArray());
        // E[(sign(g) − g)²] = 1 − 2E|g| + E[g²] = 1 − 0.5 + 0.125.
        Assert.Equal(0.625, unit.TruncationMse, 12);
        Assert.Equal("usign", unit.Spec.Label);
    }
}
