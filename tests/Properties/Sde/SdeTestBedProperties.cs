using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MathNet.Numerics.Distributions;
using Verified.Sde;
using Verified.Theory;
using Verified.Theory.Sampling;
using Verified.Theory.Sde;

namespace PropertyTests;

/// <summary>
/// The quadratic test bed of src/Sde and its samplers (Theory's Sampling/): the samplers against MathNet, the
/// discrete DSGD floor against LossFloors.DsgdDiscrete, Euler–Maruyama's deterministic part against the ODE, and determinism.
/// Monte-Carlo tolerances are 5 standard errors on fixed seeds (spec §6 conventions).
/// </summary>
public sealed class SdeTestBedProperties
{
    private const double Z = 5;

    [Fact]
    public void Gaussian_HasMeanZeroVarianceOneKurtosisThree()
    {
        var random = new SdeRandom(11);
        const int n = 400_000;
        double s1 = 0, s2 = 0, s4 = 0;
        for (int i = 0; i < n; i++)
        {
            double z = random.NextGaussian();
            s1 += z;
            s2 += z * z;
            s4 += z * z * z * z;
        }
        // SE of the mean 1/√n, of the variance √(2/n), of E z⁴ √(96/n) (Var z⁴ = 105 − 9).
        Assert.InRange(s1 / n, -Z / Math.Sqrt(n), Z / Math.Sqrt(n));
        Assert.InRange(s2 / n, 1 - (Z * Math.Sqrt(2.0 / n)), 1 + (Z * Math.Sqrt(2.0 / n)));
        Assert.InRange(s4 / n, 3 - (Z * Math.Sqrt(96.0 / n)), 3 + (Z * Math.Sqrt(96.0 / n)));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.75)]
    [InlineData(1.0)]
    [InlineData(2.5)]
    [InlineData(10.0)]
    public void Gamma_HasMeanAndVarianceShape(double shape)
    {
        var random = new SdeRandom(12);
        const int n = 200_000;
        double s1 = 0, s2 = 0;
        for (int i = 0; i < n; i++)
        {
            double g = random.NextGamma(shape);
            s1 += g;
            s2 += g * g;
        }
        double mean = s1 / n;
        double variance = (s2 / n) - (mean * mean);
        // Var(Gamma) = a; Var of the sample variance ≈ (μ₄ − a²)/n with μ₄ = 3a² + 6a.
        Assert.InRange(mean, shape - (Z * Math.Sqrt(shape / n)), shape + (Z * Math.Sqrt(shape / n)));
        double varianceSe = Math.Sqrt(((3 * shape * shape) + (6 * shape) - (shape * shape)) / n);
        Assert.InRange(variance, shape - (Z * varianceSe), shape + (Z * varianceSe));
    }

    /// <summary>The empirical CDF at fixed points is within 5 binomial SEs of MathNet's Student-t CDF.</summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    [InlineData(10.0)]
    public void StudentT_MatchesMathNetCdf(double nu)
    {
        var random = new SdeRandom(13);
        const int n = 200_000;
        double[] points = [-10, -3, -1, -0.3, 0, 0.5, 2, 6];
        var below = new int[points.Length];
        for (int i = 0; i < n; i++)
        {
            double t = random.NextStudentT(nu);
            for (int p = 0; p < points.Length; p++)
            {
                if (t <= points[p])
                {
                    below[p]++;
                }
            }
        }
        for (int p = 0; p < points.Length; p++)
        {
            double expected = StudentT.CDF(0, 1, nu, points[p]);
            double se = Math.Sqrt(expected * (1 - expected) / n);
            Assert.InRange((double)below[p] / n, expected - (Z * se) - 1e-9, expected + (Z * se) + 1e-9);
        }
    }

    [Property(MaxTest = 60)]
    public Property SignDriftTable_MatchesSignDrift() =>
        Prop.ForAll(
            Gen.Elements(1.0, 1.5, 2.0, 3.0, 10.0, double.PositiveInfinity).SelectMany(
                _ => Gen.Choose(-60_000, 60_000), (nu, g) => (nu, g: g / 1000.0)).ToArbitrary(),
            input =>
            {
                var noise = NoiseModel.StudentT(1.3, input.nu);
                double table = SignDriftTable.For(noise).Evaluate(input.g);
                return (Math.Abs(table - noise.SignMean(input.g)) < 1e-6).Label($"m({input.g}) ν={input.nu}: {table} vs {noise.SignMean(input.g)}");
            });

    [Fact]
    public void DiscreteDsgdFloor_EqualsLossFloorsDsgdDiscrete()
    {
        var problem = new QuadraticProblem(8, 2, 4, 2, NoiseModel.Gaussian(1.5));
        var run = new TestBedRun(problem, SdeMethod.Dsgd, Integrator.Discrete, 0.05, 60_000, 1_000, 4);
        TestBedResult result = QuadraticTestBed.Run(run, 21);
        double exact = LossFloors.DsgdDiscrete(0.05, 8, 4, 2, problem.AgentNoise).Value;
        Assert.InRange(result.StationaryLoss, exact - (Z * result.StationaryStandardError), exact + (Z * result.StationaryStandardError));
        // ηλ = 0.1 makes the SDE floor 5 % lower: the test distinguishes the two.
        Assert.True(Math.Abs(result.StationaryLoss - LossFloors.Dsgd(0.05, 8, 4, problem.AgentNoise).Value) > 2 * Z * result.StationaryStandardError);
    }

    [Fact]
    public void LinearLossCurve_ConvergesToTheExactDiscreteFloor()
    {
        var noise = NoiseModel.Gaussian(0.7);
        double[] curve = Discretisation.LinearLossCurve(0.05, 2, 4, 8, 0, noise.Variance, 1, 20_000, 20_000);
        Assert.Equal(LossFloors.DsgdDiscrete(0.05, 8, 4, 2, noise).Value, curve[^1], 12);
        double sde = LossFloors.Dcsgd(0.05, 8, 4, 2, 3, noise).Value;
        double[] compressed = Discretisation.LinearLossCurve(0.05, 2, 4, 8, 3, noise.Variance, 1, 20_000, 20_000);
        Assert.Equal(sde * (1 + Discretisation.LinearRelativeExcess(0.05, 0.05, 2, 4, 3)), compressed[^1], 12);
    }

    /// <summary>With σ = 0 Euler–Maruyama is Euler on dx/dt = −λx: x_k = x₀(1 − hλ)^k, within hλ²t/2·x₀e^{−λt}·(1 + O(h)) of x₀e^{−λt}.</summary>
    [Theory]
    [InlineData(0.01)]
    [InlineData(0.001)]
    public void EulerMaruyamaWithoutNoise_FollowsTheOde(double h)
    {
        const double lambda = 1.5;
        var problem = new QuadraticProblem(3, lambda, 2, 1, NoiseModel.Gaussian(0));
        int steps = (int)Math.Round(2 / h);
        // (DCSGD's SDE keeps a diffusion ηω‖∇f‖²/N without noise, so only DSGD's is an ODE.)
        foreach (SdeMethod method in new[] { SdeMethod.Dsgd })
        {
            var run = new TestBedRun(problem, method, Integrator.EulerMaruyama, 0.01, steps, 0, 1, InitialValue: 1, SdeStep: h, RecordEvery: steps / 4);
            TestBedResult result = QuadraticTestBed.Run(run, 1);
            for (int k = 0; k < result.Times.Length; k++)
            {
                double t = result.Times[k];
                double ode = 0.5 * lambda * 3 * Math.Exp(-2 * lambda * t);
                // f = ½λd x² with x the Euler iterate: relative error of x² ≤ 2·(hλ²t/2)(1 + hλ) + O(h²).
                double bound = ode * ((h * lambda * lambda * t * (1 + (h * lambda))) + (10 * h * h));
                Assert.InRange(result.MeanLoss[k], ode - bound, ode + bound);
            }
        }
        // DSignSGD without noise: dx/dt = −sign(λx), so x(t) = x₀ − t while positive.
        var sign = new TestBedRun(problem, SdeMethod.DSignSgd, Integrator.EulerMaruyama, 0.01, steps / 4, 0, 1, InitialValue: 1, SdeStep: h, RecordEvery: steps / 8);
        TestBedResult signResult = QuadraticTestBed.Run(sign, 1);
        for (int k = 0; k < signResult.Times.Length; k++)
        {
            double x = 1 - signResult.Times[k];
            Assert.Equal(0.5 * lambda * 3 * x * x, signResult.MeanLoss[k], 9);
        }
    }

    [Fact]
    public void Run_IsDeterministicGivenSeed_AndIndependentOfThreadCount()
    {
        var problem = new QuadraticProblem(5, 1, 3, 1, NoiseModel.StudentT(1, 3));
        foreach (SdeMethod method in new[] { SdeMethod.Dsgd, SdeMethod.Dcsgd(new RandKSparsification(2)), SdeMethod.DSignSgd })
        {
            foreach (Integrator integrator in new[] { Integrator.Discrete, Integrator.EulerMaruyama })
            {
                var run = new TestBedRun(problem, method, integrator, 0.01, 3_000, 500, 6, InitialValue: 0.3, RecordEvery: 100, MomentWindows: 2);
                TestBedResult one = QuadraticTestBed.Run(run, 99, maxDegreeOfParallelism: 1);
                TestBedResult many = QuadraticTestBed.Run(run, 99, maxDegreeOfParallelism: 4);
                TestBedResult again = QuadraticTestBed.Run(run, 99);
                TestBedResult other = QuadraticTestBed.Run(run, 100);
                foreach (TestBedResult r in new[] { many, again })
                {
                    int firstDiff = Enumerable.Range(0, one.MeanLoss.Length).FirstOrDefault(i => one.MeanLoss[i] != r.MeanLoss[i], -1);
                    Assert.True(firstDiff < 0, $"{method.Label} {integrator}: index {firstDiff}: {(firstDiff < 0 ? 0 : one.MeanLoss[firstDiff])} vs {(firstDiff < 0 ? 0 : r.MeanLoss[firstDiff])}");
                }
                Assert.Equal(one.StationaryLoss, many.StationaryLoss);
                Assert.Equal(one.MedianSecondMoment(0), many.MedianSecondMoment(0));
                Assert.NotEqual(one.StationaryLoss, other.StationaryLoss);
            }
        }
    }

    [Fact]
    public void StepLoop_DoesNotAllocate()
    {
        var problem = new QuadraticProblem(16, 1, 4, 1, NoiseModel.StudentT(1, 3));
        var random = new SdeRandom(5);
        var x = new double[16];
        foreach (SdeMethod method in new[] { SdeMethod.Dsgd, SdeMethod.Dcsgd(new BernoulliSparsification(0.5)), SdeMethod.DSignSgd })
        {
            foreach (Integrator integrator in new[] { Integrator.Discrete, Integrator.EulerMaruyama })
            {
                Stepper stepper = Stepper.Create(new TestBedRun(problem, method, integrator, 0.01, 10, 0, 1));
                void Steps()
                {
                    for (int k = 0; k < 1000; k++)
                    {
                        stepper.Step(x, random);
                    }
                }
                // Warm up past the tiering thresholds, then take the least of three measured loops: the runtime may
                // allocate now and then on this thread (tiering, OSR, call counting) while other tests run, but a
                // per-step allocation shows up in every loop. CI saw 2704 bytes once from a single measured loop.
                for (int round = 0; round < 4; round++)
                {
                    Steps();
                }
                long allocated = long.MaxValue;
                for (int round = 0; round < 3; round++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    Steps();
                    allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
                }
                Assert.True(allocated == 0, $"{method.Label} {integrator}: {allocated} bytes allocated by 1000 steps.");
            }
        }
    }

    [Fact]
    public void SdeOfInfiniteVarianceNoise_IsRefused()
    {
        var problem = new QuadraticProblem(2, 1, 2, 1, NoiseModel.StudentT(1, 2));
        var run = new TestBedRun(problem, SdeMethod.Dsgd, Integrator.EulerMaruyama, 0.01, 100, 0, 1);
        ArgumentException error = Assert.Throws<ArgumentException>(() => QuadraticTestBed.Run(run, 1));
        Assert.Contains("Var = ∞", error.Message, StringComparison.Ordinal);
    }
}
