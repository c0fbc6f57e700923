using MathNet.Numerics.Distributions;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace IntegrationTests;

/// <summary>
/// The synthetic gradient noise of issue 6: its distribution (CDF at fixed points within 5 standard errors), its
/// determinism in (seed, round, client), and its validation messages.
/// </summary>
public sealed class GradientNoiseTests
{
    private const int Samples = 400_000;

    private static float[] Draw(GradientNoise noise, long seed = 11, int round = 3, int client = 5)
    {
        var values = new float[Samples];
        noise.AddTo(values, seed, round, client);
        return values;
    }

    public static TheoryData<string> StudentKinds => new() { "student-t:1", "student-t:1.5", "student-t:2", "student-t:3", "student-t:10" };

    [Theory]
    [MemberData(nameof(StudentKinds))]
    public void StudentT_MatchesItsCdf(string kind)
    {
        const double scale = 0.5;
        GradientNoise noise = GradientNoise.Parse(kind, scale);
        float[] values = Draw(noise);
        double nu = noise.Model!.DegreesOfFreedom;
        foreach (double x in new[] { -3.0, -1, -0.25, 0, 0.1, 0.7, 2, 6 })
        {
            double expected = StudentT.CDF(0, 1, nu, x);
            double measured = values.Count(v => v <= x * scale) / (double)Samples;
            double standardError = Math.Sqrt(expected * (1 - expected) / Samples);
            Assert.True(Math.Abs(measured - expected) <= (5 * standardError) + 1e-6,
                $"{kind}: P(T ≤ {x}) measured {measured:R}, expected {expected:R} (5 s.e. = {5 * standardError:R})");
        }
    }

    [Fact]
    public void Gaussian_HasMeanZeroAndVarianceSigmaSquared()
    {
        const double sigma = 0.2;
        float[] values = Draw(GradientNoise.Parse("gaussian", sigma));
        double mean = values.Average(v => (double)v);
        double variance = values.Average(v => (double)v * v) - (mean * mean);
        Assert.True(Math.Abs(mean) <= 5 * sigma / Math.Sqrt(Samples), $"mean {mean:R}");
        // Var of the sample variance of a normal is 2σ⁴/n.
        Assert.True(Math.Abs(variance - (sigma * sigma)) <= 5 * Math.Sqrt(2.0 / Samples) * sigma * sigma, $"variance {variance:R}");
    }

    [Fact]
    public void Noise_IsAPureFunctionOfSeedRoundAndClient_AndAdds()
    {
        GradientNoise noise = GradientNoise.Parse("student-t:1.5", 0.01);
        Assert.Equal(Draw(noise), Draw(noise));
        Assert.NotEqual(Draw(noise), Draw(noise, client: 6));
        Assert.NotEqual(Draw(noise), Draw(noise, round: 4));
        Assert.NotEqual(Draw(noise), Draw(noise, seed: 12));

        var gradient = Enumerable.Range(0, 1000).Select(i => i * 1e-3f).ToArray();
        var noisy = (float[])gradient.Clone();
        noise.AddTo(noisy, 11, 3, 5);
        var pure = new float[1000];
        noise.AddTo(pure, 11, 3, 5);
        for (int j = 0; j < gradient.Length; j++)
        {
            Assert.Equal(gradient[j] + pure[j], noisy[j]);
        }
    }

    [Fact]
    public void None_LeavesTheGradientAlone()
    {
        var gradient = new[] { 1f, -2f, 3f };
        GradientNoise.Parse("none", 0).AddTo(gradient, 1, 2, 3);
        Assert.Equal([1f, -2f, 3f], gradient);
        Assert.True(GradientNoise.None.IsNone);
        Assert.Equal("none", GradientNoise.None.Kind);
    }

    [Fact]
    public void Cauchy_StaysFinite()
    {
        float[] values = Draw(GradientNoise.Parse("student-t:1", 1));
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData("student-t:0", 1, "not a noise model")]
    [InlineData("student-t:x", 1, "not a noise model")]
    [InlineData("laplace", 1, "use none, gaussian or student-t")]
    [InlineData("gaussian", 0, "--noise-scale")]
    [InlineData("student-t:1.5", double.NaN, "finite number > 0")]
    public void Parse_RejectsBadInput_SayingWhatIsAllowed(string kind, double scale, string expected)
    {
        FormatException error = Assert.Throws<FormatException>(() => GradientNoise.Parse(kind, scale));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExperimentSpec_ReportsBadNoiseAsTheNoiseField()
    {
        var spec = new ExperimentSpec { Noise = "student-t:1.5", NoiseScale = -1 };
        ExperimentSpecError error = Assert.Single(spec.Validate());
        Assert.Equal("noise", error.Field);
        Assert.Contains("--noise-scale", error.Message, StringComparison.Ordinal);

        var valid = new ExperimentSpec { Noise = "student-t:1.5", NoiseScale = 0.01 };
        Assert.Empty(valid.Validate());
        Assert.Equal("student-t:1.5", valid.ToSimulationConfig().Noise.Kind);
    }
}
