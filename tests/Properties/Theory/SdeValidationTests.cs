using Verified.Theory;
using Verified.Theory.Sde;

namespace PropertyTests;

/// <summary>The SDE quantities (spec §4) reject out-of-range arguments with the parameter's name and range.</summary>
public sealed class SdeValidationTests
{
    private static void Throws(string parameter, string range, Action action)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(action);
        Assert.Equal(parameter, error.ParamName);
        Assert.Contains(range, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.0000001)]
    [InlineData(double.NaN)]
    public void Bernoulli_RejectsKeepProbabilityOutsideZeroOne(double q)
    {
        Throws("KeepProbability", "(0, 1]", () => _ = new BernoulliSparsification(q));
        Throws("KeepProbability", "(0, 1]", () => _ = new BernoulliSparsification(0.5) with { KeepProbability = q });
        Throws("keepProbability", "(0, 1]", () => BernoulliSparsification.OmegaFor(q));
    }

    [Fact]
    public void RandK_RejectsKOutsideOneToD()
    {
        Throws("Kept", "from 1 to", () => _ = new RandKSparsification(0));
        Throws("Kept", "from 1 to", () => _ = new RandKSparsification(5) with { Kept = 0 });
        Throws("dimension", "from 1 to", () => RandKSparsification.OmegaFor(0, 1));
        Throws("kept", "from 1 to 3", () => RandKSparsification.OmegaFor(3, 4));
        Throws("dimension", "k must be at most d", () => new RandKSparsification(11).Omega(10));
        Throws("dimension", "k must be at most d", () => new RandKSparsification(10).Compress(new float[9], new float[9], new Random(1)));
        Throws("output", "length 9", () => new RandKSparsification(5).Compress(new float[9], new float[10], new Random(1)));
        Throws("output", "length 3", () => new BernoulliSparsification(0.5).Compress(new float[3], new float[4], new Random(1)));
        Throws("levels", "from 1 to", () => CompressorOmega.Qsgd(10, 0));
    }

    [Fact]
    public void Noise_RejectsNegativeScaleAndNonPositiveDegrees()
    {
        Throws("Scale", "≥ 0", () => _ = NoiseModel.Gaussian(-1));
        Throws("Scale", "≥ 0", () => _ = NoiseModel.Gaussian(1) with { Scale = double.PositiveInfinity });
        Throws("DegreesOfFreedom", "> 0", () => _ = NoiseModel.StudentT(1, 0));
        Throws("DegreesOfFreedom", "> 0", () => _ = NoiseModel.StudentT(1, 3) with { DegreesOfFreedom = -2 });
        Throws("sigma", "≥ 0", () => SignDrift.Gaussian(1, -0.1));
        Throws("scale", "≥ 0", () => SignDrift.StudentT(1, -0.1, 3));
        Throws("degreesOfFreedom", "> 0", () => SignDrift.StudentT(1, 1, 0));
        Throws("degreesOfFreedom", "> 0", () => SignDrift.Kappa(double.NaN));
        Throws("gradient", "finite", () => SignDrift.Gaussian(double.NaN, 1));
    }

    [Fact]
    public void Floors_RejectOutOfRangeSettings()
    {
        var noise = NoiseModel.Gaussian(1);
        Throws("learningRate", "> 0", () => LossFloors.Dsgd(0, 1, 1, noise));
        Throws("learningRate", "> 0", () => LossFloors.DSignSgd(-0.1, 1, 1, noise));
        Throws("dimension", "from 1 to", () => LossFloors.Dsgd(0.1, 0, 1, noise));
        Throws("agents", "from 1 to", () => LossFloors.DSignSgd(0.1, 1, 0, noise));
        Throws("curvature", "> 0", () => LossFloors.Dcsgd(0.1, 1, 1, 0, 1, noise));
        Throws("omega", "≥ 0", () => LossFloors.Dcsgd(0.1, 1, 1, 1, -1, noise));
        Throws("value", "≥ 0", () => StationaryLoss.Finite(-1));
        Throws("reason", "Unstable or InfiniteVariance", () => StationaryLoss.Diverging(Divergence.None));
        Assert.Throws<ArgumentNullException>(() => LossFloors.Dsgd(0.1, 1, 1, null!));
    }

    [Fact]
    public void Settings_AndRules_RejectOutOfRangeValues()
    {
        Throws("LearningRate", "> 0", () => _ = new SdeSettings(0, 1, 1));
        Throws("Batch", "> 0", () => _ = new SdeSettings(0.1, 0, 1));
        Throws("Agents", "> 0", () => _ = new SdeSettings(0.1, 1, 1) with { Agents = -1 });
        Throws("Omega", "≥ 0", () => _ = new SdeSettings(0.1, 1, 1, -0.5));
        var settings = new SdeSettings(0.1, 1, 1);
        Throws("factor", "> 0", () => ScalingRules.DsgdLinearBatch(settings, 0));
        Throws("factor", "> 0", () => ScalingRules.DSignSgdSquareRoot(settings, double.NaN));
        Throws("omega", "≥ 0", () => ScalingRules.DcsgdCompensateByBatch(settings, -1));
        Throws("noise", "> 0", () => ScalingRules.DSignSgdTimeScale(settings, NoiseModel.Gaussian(0)));
    }
}
