using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;
using Verified.Theory.Sde;

namespace PropertyTests;

/// <summary>Spec §4.4 (items 23–24's closed forms) and §4.5 (item 25's invariants): floors and scaling rules.</summary>
public sealed class SdeFloorAndScalingProperties
{
    private static readonly Gen<double> s_rates = Gen.Choose(1, 10_000).Select(x => x / 100_000.0);
    private static readonly Gen<double> s_sigmas = Gen.Choose(1, 100_000).Select(x => x / 1000.0);
    private static readonly Gen<double> s_omegas = Gen.Choose(0, 100_000).Select(x => x / 1000.0);
    private static readonly Gen<double> s_factors = Gen.Choose(-3000, 3000).Select(e => Math.Pow(10, e / 1000.0));
    private static readonly Gen<double> s_degrees = Gen.Frequency(
        (9, Gen.Choose(50, 100_000).Select(x => x / 1000.0)), (1, Gen.Constant(double.PositiveInfinity)));

    // ---- spec §4.4's simulation table: d = 1, λ = 1, η = 0.01, N = 4, σ = 1 ----

    [Fact]
    public void Floors_ReproduceSpecTablePredictions()
    {
        var gaussian = NoiseModel.Gaussian(1);
        Assert.Equal(6.25e-4, LossFloors.Dsgd(0.01, 1, 4, gaussian).Value, 15);
        Assert.Equal(6.28e-4, LossFloors.DsgdDiscrete(0.01, 1, 4, 1, gaussian).Value, 6);
        Assert.Equal(0.01 / (8 * 1.99), LossFloors.DsgdDiscrete(0.01, 1, 4, 1, gaussian).Value, 15);
        double omega = BernoulliSparsification.OmegaFor(0.5);
        Assert.Equal(1.0, omega);
        Assert.Equal(1.252e-3, LossFloors.Dcsgd(0.01, 1, 4, 1, omega, gaussian).Value, 6);
        Assert.Equal(7.83e-4, LossFloors.DSignSgd(0.01, 1, 4, gaussian), 6);
        Assert.Equal(9.82e-4, LossFloors.DSignSgd(0.01, 1, 4, NoiseModel.StudentT(1, 1)), 6);
    }

    [Fact]
    public void Floors_HandComputedValues()
    {
        // DCSGD: η = 0.1, d = 10, N = 2, λ = 5, ω = 3, σ = 2: ratio 0.75, floor 0.1·10·4·4/(8 − 3) = 3.2.
        Assert.Equal(0.75, LossFloors.DcsgdStabilityRatio(0.1, 2, 5, 3), 15);
        Assert.Equal(3.2, LossFloors.Dcsgd(0.1, 10, 2, 5, 3, NoiseModel.Gaussian(2)).Value, 14);
        // DSGD with Student-t ν = 4, σ = 1: Var = 2, floor 0.1·10·2/(4·2) = 0.25.
        Assert.Equal(0.25, LossFloors.Dsgd(0.1, 10, 2, NoiseModel.StudentT(1, 4)).Value, 15);
        // DSignSGD, ν = 2: κ = 1/√2, floor 0.1·10·2/(4·2·(1/√2)) = √2/4.
        Assert.Equal(Math.Sqrt(2) / 4, LossFloors.DSignSgd(0.1, 10, 2, NoiseModel.StudentT(2, 2)), 14);
    }

    [Fact]
    public void Dcsgd_HitsItsStabilityLimitExactlyAtTwo()
    {
        var noise = NoiseModel.Gaussian(1);
        // η = 0.1, λ = 10, N = 2: ηωλ/N = ω/2 reaches 2 at ω = 4.
        StationaryLoss atLimit = LossFloors.Dcsgd(0.1, 1, 2, 10, 4, noise);
        Assert.True(atLimit.Diverges);
        Assert.Equal(Divergence.Unstable, atLimit.Divergence);
        Assert.Equal(double.PositiveInfinity, atLimit.Value);
        StationaryLoss below = LossFloors.Dcsgd(0.1, 1, 2, 10, 3.999, noise);
        Assert.False(below.Diverges);
        Assert.True(below.Value > 100 * LossFloors.Dcsgd(0.1, 1, 2, 10, 0, noise).Value);
        Assert.True(LossFloors.DsgdDiscrete(1, 1, 1, 2, noise).Diverges);
    }

    [Fact]
    public void HeavyTails_BreakDsgdAndDcsgd_NotDSignSgd()
    {
        foreach (double nu in new[] { 0.5, 1, 1.5, 2 })
        {
            var noise = NoiseModel.StudentT(1, nu);
            Assert.Equal(Divergence.InfiniteVariance, LossFloors.Dsgd(0.01, 3, 4, noise).Divergence);
            Assert.Equal(Divergence.InfiniteVariance, LossFloors.Dcsgd(0.01, 3, 4, 1, 1, noise).Divergence);
            Assert.Equal(Divergence.InfiniteVariance, LossFloors.DsgdDiscrete(0.01, 3, 4, 1, noise).Divergence);
            Assert.True(double.IsFinite(LossFloors.DSignSgd(0.01, 3, 4, noise)));
        }
        Assert.False(LossFloors.Dsgd(0.01, 3, 4, NoiseModel.StudentT(1, 2.01)).Diverges);
    }

    [Property(MaxTest = 300)]
    public Property DSignSgd_DoublingAgentsHalvesTheFloor_AndIsLinearInSigma() =>
        Prop.ForAll(
            s_rates.SelectMany(_ => s_sigmas, (eta, s) => (eta, s)).SelectMany(_ => s_degrees, (p, nu) => (p.eta, p.s, nu))
                .SelectMany(_ => Gen.Choose(1, 1000), (p, n) => (p.eta, p.s, p.nu, n)).ToArbitrary(),
            input =>
            {
                var noise = NoiseModel.StudentT(input.s, input.nu);
                double floor = LossFloors.DSignSgd(input.eta, 7, input.n, noise);
                double doubled = LossFloors.DSignSgd(input.eta, 7, 2 * input.n, noise);
                double twiceSigma = LossFloors.DSignSgd(input.eta, 7, input.n, noise with { Scale = 2 * input.s });
                return Close.Relative(doubled, floor / 2, 1e-14).Label("N → 2N halves it")
                    .And(Close.Relative(twiceSigma, 2 * floor, 1e-14).Label("σ → 2σ doubles it"))
                    .And(double.IsFinite(floor).Label("finite for every ν"));
            });

    [Property(MaxTest = 300)]
    public Property Dcsgd_GrowsWithOmega_AndIsDsgdAtZero() =>
        Prop.ForAll(
            s_rates.SelectMany(_ => s_sigmas, (eta, s) => (eta, s)).SelectMany(_ => s_omegas, (p, w) => (p.eta, p.s, w))
                .SelectMany(_ => Gen.Choose(1, 64), (p, n) => (p.eta, p.s, p.w, n)).ToArbitrary(),
            input =>
            {
                const double lambda = 50;
                var noise = NoiseModel.Gaussian(input.s);
                StationaryLoss at = LossFloors.Dcsgd(input.eta, 5, input.n, lambda, input.w, noise);
                StationaryLoss more = LossFloors.Dcsgd(input.eta, 5, input.n, lambda, input.w + 0.5, noise);
                StationaryLoss dsgd = LossFloors.Dsgd(input.eta, 5, input.n, noise);
                double ratio = LossFloors.DcsgdStabilityRatio(input.eta, input.n, lambda, input.w);
                bool monotone = more.Diverges || (!at.Diverges && more.Value > at.Value);
                return monotone.Label($"ω → ω + ½ raises the floor ({at} → {more})")
                    .And((at.Diverges == (ratio >= 2)).Label($"diverges iff ηωλ/N = {ratio} ≥ 2"))
                    .And(Close.Relative(LossFloors.Dcsgd(input.eta, 5, input.n, lambda, 0, noise).Value, dsgd.Value, 1e-15).Label("ω = 0 is DSGD"))
                    .And((!at.Diverges && ratio < 2 ? at.Value >= (1 + input.w) * dsgd.Value * (1 - 1e-15) : true).Label("at least (1 + ω)× DSGD"))
                    .Classify(at.Diverges, "unstable");
            });

    [Property(MaxTest = 300)]
    public Property Dsgd_IsQuadraticInSigma_AndBelowTheDiscreteFloor() =>
        Prop.ForAll(
            s_rates.SelectMany(_ => s_sigmas, (eta, s) => (eta, s)).ToArbitrary(),
            input =>
            {
                var noise = NoiseModel.Gaussian(input.s);
                double floor = LossFloors.Dsgd(input.eta, 3, 2, noise).Value;
                double discrete = LossFloors.DsgdDiscrete(input.eta, 3, 2, 1, noise).Value;
                return Close.Relative(LossFloors.Dsgd(input.eta, 3, 2, noise with { Scale = 2 * input.s }).Value, 4 * floor, 1e-14).Label("σ → 2σ: ×4")
                    .And((discrete >= floor && Close.Relative(discrete, floor * 2 / (2 - input.eta), 1e-12)).Label("discrete = SDE·2/(2 − ηλ)"));
            });

    // ---- spec §4.5 scaling rules ----

    private static readonly Gen<SdeSettings> s_settings =
        s_rates.SelectMany(_ => Gen.Choose(1, 1024), (eta, b) => (eta, b))
            .SelectMany(_ => Gen.Choose(1, 256), (p, n) => (p.eta, p.b, n))
            .SelectMany(_ => s_omegas, (p, w) => new SdeSettings(p.eta, p.b, p.n, w));

    private static readonly (string Name, Func<SdeSettings, double, SdeSettings> Rule, Func<SdeSettings, double> Invariant)[] s_factorRules =
    [
        ("DSGD (κη, κB, N)", ScalingRules.DsgdLinearBatch, ScalingRules.DsgdInvariant),
        ("DSGD (κη, B, κN)", ScalingRules.DsgdLinearAgents, ScalingRules.DsgdInvariant),
        ("DCSGD (κη, κB, N)", ScalingRules.DsgdLinearBatch, ScalingRules.DcsgdInvariant),
        ("DSignSGD (κη, κ²B, N)", ScalingRules.DSignSgdSquareRoot, ScalingRules.DSignSgdInvariant),
        ("DSignSGD (κη, B, κN)", ScalingRules.DSignSgdAgents, ScalingRules.DSignSgdInvariant),
    ];

    private static readonly (string Name, Func<SdeSettings, double, SdeSettings> Rule)[] s_omegaRules =
    [
        ("DCSGD batch", ScalingRules.DcsgdCompensateByBatch),
        ("DCSGD agents", ScalingRules.DcsgdCompensateByAgents),
        ("DCSGD learning rate", ScalingRules.DcsgdCompensateByLearningRate),
    ];

    private static bool Same(SdeSettings a, SdeSettings b, double tolerance) =>
        Close.Relative(a.LearningRate, b.LearningRate, tolerance) && Close.Relative(a.Batch, b.Batch, tolerance)
        && Close.Relative(a.Agents, b.Agents, tolerance) && Close.Absolute(a.Omega, b.Omega, tolerance * Math.Max(1, b.Omega));

    [Property(MaxTest = 300)]
    public Property FactorRules_KeepTheirInvariant_HaveIdentity_AndCompose() =>
        Prop.ForAll(
            s_settings.SelectMany(_ => s_factors, (s, k1) => (s, k1)).SelectMany(_ => s_factors, (p, k2) => (p.s, p.k1, k2))
                .SelectMany(_ => Gen.Choose(0, s_factorRules.Length - 1), (p, r) => (p.s, p.k1, p.k2, r)).ToArbitrary(),
            input =>
            {
                var (name, rule, invariant) = s_factorRules[input.r];
                SdeSettings once = rule(input.s, input.k1);
                return Close.Relative(invariant(once), invariant(input.s), 1e-13).Label($"{name}: invariant kept")
                    .And((rule(input.s, 1) == input.s).Label($"{name}: κ = 1 is the identity"))
                    .And(Same(rule(once, input.k2), rule(input.s, input.k1 * input.k2), 1e-13).Label($"{name}: κ₂ ∘ κ₁ = κ₁κ₂"));
            });

    [Property(MaxTest = 300)]
    public Property OmegaRules_KeepTheDcsgdInvariant_HaveIdentity_AndCompose() =>
        Prop.ForAll(
            s_settings.SelectMany(_ => s_omegas, (s, w1) => (s, w1)).SelectMany(_ => s_omegas, (p, w2) => (p.s, p.w1, w2))
                .SelectMany(_ => Gen.Choose(0, s_omegaRules.Length - 1), (p, r) => (p.s, p.w1, p.w2, r)).ToArbitrary(),
            input =>
            {
                var (name, rule) = s_omegaRules[input.r];
                SdeSettings once = rule(input.s, input.w1);
                return Close.Relative(ScalingRules.DcsgdInvariant(once), ScalingRules.DcsgdInvariant(input.s), 1e-13).Label($"{name}: invariant kept")
                    .And((once.Omega == input.w1).Label($"{name}: ω set"))
                    .And(Same(rule(input.s, input.s.Omega), input.s, 1e-15).Label($"{name}: ω' = ω is the identity"))
                    .And(Same(rule(once, input.w2), rule(input.s, input.w2), 1e-13).Label($"{name}: ω → ω₁ → ω₂ = ω → ω₂"));
            });

    [Property(MaxTest = 200)]
    public Property AddingCompression_RecoversDsgd() =>
        Prop.ForAll(
            s_settings.SelectMany(_ => s_omegas, (s, w) => (s: s with { Omega = 0 }, w)).ToArbitrary(),
            input =>
                Close.Relative(ScalingRules.DcsgdInvariant(ScalingRules.DcsgdCompensateByBatch(input.s, input.w)), ScalingRules.DsgdInvariant(input.s), 1e-13)
                    .Label("B' = (1 + ω)B")
                .And(Close.Relative(ScalingRules.DcsgdCompensateByAgents(input.s, input.w).Agents, (1 + input.w) * input.s.Agents, 1e-15).Label("N' = (1 + ω)N"))
                .And(Close.Relative(ScalingRules.DcsgdCompensateByLearningRate(input.s, input.w).LearningRate, input.s.LearningRate / (1 + input.w), 1e-15)
                    .Label("η' = η/(1 + ω)")));

    [Property(MaxTest = 200)]
    public Property DSignSgd_SquareRootRuleRescalesTime_AgentsRuleDoesNot() =>
        Prop.ForAll(
            s_settings.SelectMany(_ => s_factors, (s, k) => (s, k)).SelectMany(_ => s_degrees, (p, nu) => (p.s, p.k, nu)).ToArbitrary(),
            input =>
            {
                var noise = NoiseModel.StudentT(2.5, input.nu);
                double scale = ScalingRules.DSignSgdTimeScale(input.s, noise);
                return Close.Relative(ScalingRules.DSignSgdTimeScale(ScalingRules.DSignSgdSquareRoot(input.s, input.k), noise), input.k * scale, 1e-13)
                        .Label("(κη, κ²B): time ×κ")
                    .And(Close.Relative(ScalingRules.DSignSgdTimeScale(ScalingRules.DSignSgdAgents(input.s, input.k), noise), scale, 1e-15)
                        .Label("(κη, B, κN): time unchanged"));
            });

    [Fact]
    public void Rules_KeepTheFloorsTheyPredict()
    {
        // Per-sample σ₁ = 4 and B = 16 give σ = 1; under (2η, 2B) and (2η, 4B) the DSGD/DSignSGD floors are unchanged.
        var start = new SdeSettings(0.01, 16, 4);
        static double Sigma(SdeSettings s) => 4 / Math.Sqrt(s.Batch);
        static double DsgdFloor(SdeSettings s) => LossFloors.Dsgd(s.LearningRate, 3, (int)s.Agents, NoiseModel.Gaussian(Sigma(s))).Value;
        static double SignFloor(SdeSettings s) => LossFloors.DSignSgd(s.LearningRate, 3, (int)s.Agents, NoiseModel.Gaussian(Sigma(s)));
        Assert.Equal(DsgdFloor(start), DsgdFloor(ScalingRules.DsgdLinearBatch(start, 2)), 15);
        Assert.Equal(DsgdFloor(start), DsgdFloor(ScalingRules.DsgdLinearAgents(start, 2)), 15);
        Assert.Equal(SignFloor(start), SignFloor(ScalingRules.DSignSgdSquareRoot(start, 2)), 15);
        Assert.Equal(SignFloor(start), SignFloor(ScalingRules.DSignSgdAgents(start, 2)), 15);
        Assert.NotEqual(SignFloor(start), SignFloor(ScalingRules.DsgdLinearBatch(start, 2)), 6);
    }
}
