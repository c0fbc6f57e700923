using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;
using Verified.Theory.Sde;
using Random = System.Random;

namespace PropertyTests;

/// <summary>Spec §6 item 21 and §4.1: the unbiased sparsifiers and their exact ω, by Monte Carlo on fixed seeds.</summary>
public sealed class SdeCompressorProperties
{
    private const int Draws = 4000;

    private static readonly Gen<float[]> s_vectors = Gen.Choose(1, 48).SelectMany(
        length => Gen.ArrayOf(Gen.Choose(-10_000, 10_000).Select(x => x / 100f), length), (_, v) => v);

    private static readonly Gen<SparsifierSpec> s_bernoulli =
        Gen.Choose(20, 1000).Select(SparsifierSpec (q) => new BernoulliSparsification(q / 1000.0));

    [Property(MaxTest = 40, Replay = PinnedSeed.Replay)]
    public Property Bernoulli_IsUnbiased_WithSquaredErrorOmegaNormSquared() =>
        Prop.ForAll(
            s_bernoulli.SelectMany(_ => s_vectors, (c, v) => (c, v)).SelectMany(_ => Gen.Choose(0, int.MaxValue), (p, seed) => (p.c, p.v, seed)).ToArbitrary(),
            input => MonteCarloLaws(input.c, input.v, input.seed));

    [Property(MaxTest = 40, Replay = PinnedSeed.Replay)]
    public Property RandK_IsUnbiased_WithSquaredErrorOmegaNormSquared()
    {
        Gen<(SparsifierSpec, float[], int)> inputs = s_vectors.SelectMany(
            v => Gen.Choose(1, v.Length).SelectMany(_ => Gen.Choose(0, int.MaxValue), (k, seed) => (k, seed)),
            (v, p) => ((SparsifierSpec)new RandKSparsification(p.k), v, p.seed));
        return Prop.ForAll(inputs.ToArbitrary(), input => MonteCarloLaws(input.Item1, input.Item2, input.Item3));
    }

    /// <summary>
    /// Per coordinate Var C_j = ω v_j², so |mean_j − v_j| ≤ 5|v_j|√(ω/n); the squared error's mean is checked against
    /// ω‖v‖² within 5 of its sample standard errors. Float arithmetic adds a relative 1e-5 slack.
    /// </summary>
    private static Property MonteCarloLaws(SparsifierSpec compressor, float[] v, int seed)
    {
        double omega = compressor.Omega(v.Length);
        var random = new Random(seed);
        var output = new float[v.Length];
        var sums = new double[v.Length];
        double errorSum = 0;
        double errorSquaredSum = 0;
        for (int i = 0; i < Draws; i++)
        {
            compressor.Compress(v, output, random);
            double error = 0;
            for (int j = 0; j < v.Length; j++)
            {
                sums[j] += output[j];
                error += (output[j] - (double)v[j]) * (output[j] - (double)v[j]);
            }
            errorSum += error;
            errorSquaredSum += error * error;
        }
        double normSquared = v.Sum(x => (double)x * x);
        bool unbiased = true;
        string worst = "";
        for (int j = 0; j < v.Length; j++)
        {
            double mean = sums[j] / Draws;
            double tolerance = (5 * Math.Abs(v[j]) * Math.Sqrt(omega / Draws)) + (1e-5 * Math.Abs(v[j]));
            if (Math.Abs(mean - v[j]) > tolerance)
            {
                unbiased = false;
                worst = $"coordinate {j}: mean {mean:E5} vs {v[j]:E5} (tolerance {tolerance:E2})";
            }
        }
        double measured = errorSum / Draws;
        double standardError = Math.Sqrt(Math.Max(0, (errorSquaredSum / Draws) - (measured * measured)) / Draws);
        double expected = omega * normSquared;
        double varianceTolerance = (5 * standardError) + (1e-5 * normSquared);
        return unbiased.Label($"E[C(v)] = v ({worst})")
            .And((Math.Abs(measured - expected) <= varianceTolerance)
                .Label($"E‖C(v) − v‖² {measured:E5} vs ω‖v‖² {expected:E5} ± {varianceTolerance:E2} (ω = {omega})"));
    }

    [Property(MaxTest = 100)]
    public Property RandK_KeepsExactlyKCoordinates_ScaledByDOverK() =>
        Prop.ForAll(
            Gen.Choose(1, 64).SelectMany(d => Gen.Choose(1, d), (d, k) => (d, k)).SelectMany(_ => Gen.Choose(0, int.MaxValue), (p, seed) => (p.d, p.k, seed)).ToArbitrary(),
            input =>
            {
                float[] v = Enumerable.Range(1, input.d).Select(j => (float)j).ToArray();
                var output = new float[input.d];
                new RandKSparsification(input.k).Compress(v, output, new Random(input.seed));
                int kept = output.Count(x => x != 0);
                float scale = (float)((double)input.d / input.k);
                bool scaled = output.Select((x, j) => x == 0 || x == v[j] * scale).All(ok => ok);
                return (kept == input.k).Label($"kept {kept} of {input.d}, k = {input.k}").And(scaled.Label("kept coordinates scaled by d/k"));
            });

    [Property(MaxTest = 200)]
    public Property Omegas_AreTheSpecFormulas() =>
        Prop.ForAll(
            Gen.Choose(1, 100_000).SelectMany(d => Gen.Choose(1, d), (d, k) => (d, k)).SelectMany(_ => Gen.Choose(1, 1000), (p, q) => (p.d, p.k, q / 1000.0)).ToArbitrary(),
            input =>
                (new RandKSparsification(input.k).Omega(input.d) == ((double)input.d / input.k) - 1).Label("rand-k: ω = d/k − 1")
                .And((new BernoulliSparsification(input.Item3).Omega(input.d) == (1 / input.Item3) - 1).Label("Bernoulli: ω = 1/q − 1")));

    [Property(MaxTest = 200)]
    public Property QsgdOmega_IsNormScaledVarianceBoundFactor() =>
        Prop.ForAll(
            Gen.Choose(2, 8).SelectMany(_ => Gen.Choose(1, 1_000_000), (b, d) => (b, d)).ToArbitrary(),
            input =>
            {
                var spec = new Qsgd(input.b);
                double omega = CompressorOmega.Qsgd(input.d, spec.Intervals);
                return (omega == NormScaled.VarianceBoundFactor(spec, input.d)).Label($"ω = {omega}");
            });

    [Fact]
    public void QsgdOmega_HandValues()
    {
        Assert.Equal(1.0, CompressorOmega.Qsgd(1, 1));          // min(1, 1)
        Assert.Equal(4.0 / 9, CompressorOmega.Qsgd(4, 3), 15);  // min(4/9, 2/3)
        Assert.Equal(10.0 / 3, CompressorOmega.Qsgd(100, 3), 15); // min(100/9, 10/3)
    }

    [Fact]
    public void Compress_MayWorkInPlace()
    {
        float[] v = [1, 2, 3, 4];
        float[] copy = [.. v];
        new RandKSparsification(2).Compress(v, v, new Random(5));
        var expected = new float[4];
        new RandKSparsification(2).Compress(copy, expected, new Random(5));
        Assert.Equal(expected, v);
    }
}
