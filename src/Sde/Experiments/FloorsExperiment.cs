using System.Collections.Immutable;
using Verified.Theory;
using Verified.Theory.Sde;

namespace Verified.Sde;

/// <summary>
/// <c>floors</c>: stationary loss of DSGD, DCSGD (Bernoulli q = 0.5, 0.25 and rand-2 of 10) and DSignSGD, discrete and
/// Euler–Maruyama, against <c>LossFloors</c> (spec §4.4 items 1, 2, 4; §6 items 23–24), and spec §4.4's table of
/// simulated values reproduced at its settings (also through the codec), and DCSGD's stability limit: the SDE's
/// ηωλ/N &lt; 2 against the discrete 2 − ηλ.
/// </summary>
public sealed class FloorsExperiment : ISdeExperiment
{
    /// <inheritdoc />
    public string Name => "floors";

    /// <inheritdoc />
    public string Description => "Stationary loss vs σ for DSGD, DCSGD and DSignSGD (discrete, through the codec, and SDE) against LossFloors, and DCSGD's stability limit (spec §4.4 items 1, 2, 4; §6 item 24).";

    /// <summary>The stability ratios ηωλ/N of part 3: two stable, one between the discrete limit 2 − ηλ and the SDE's 2, two beyond both.</summary>
    public static ImmutableArray<double> StabilityRatios { get; } = [0.5, 1, 1.95, 2.5, 3];

    /// <summary>The noise scales of the sweep (per sample, B = 1).</summary>
    public static ImmutableArray<double> Sigmas { get; } = [0.25, 0.5, 1, 2];

    /// <inheritdoc />
    public SdeReport Run(SdeExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var claims = new List<SdeClaim>();
        var tables = new List<SdeTable>();
        var series = new List<SdeSeries>();
        int index = 0;

        // Part 1: spec §4.4's table (d = 1, λ = 1, η = 0.01, N = 4, σ = 1, 4·10^5 steps).
        const double eta = 0.01;
        const double lambda = 1;
        int specSteps = options.Quick ? 100_000 : 400_000;
        int specReplicas = options.Quick ? 4 : 8;
        var specRows = new List<string[]>();
        var trajectories = new List<SdeLine>();
        (string Label, SdeMethod Method, NoiseModel Noise, string SpecSimulated, string SpecPredicted)[] specCases =
        [
            ("DSGD", SdeMethod.Dsgd, NoiseModel.Gaussian(1), "6.11e-4", "6.25e-4 (SDE); 6.28e-4 (discrete)"),
            ("DCSGD, Bernoulli q = 0.5 (ω = 1)", SdeMethod.Dcsgd(new BernoulliSparsification(0.5)), NoiseModel.Gaussian(1), "1.230e-3", "1.252e-3"),
            ("DSignSGD, Gaussian", SdeMethod.DSignSgd, NoiseModel.Gaussian(1), "7.93e-4", "7.83e-4"),
            ("DSignSGD, Cauchy (ν = 1)", SdeMethod.DSignSgd, NoiseModel.StudentT(1, 1), "9.90e-4", "9.82e-4"),
        ];
        foreach (var c in specCases)
        {
            var problem = new QuadraticProblem(1, lambda, 4, 1, c.Noise);
            var discreteRun = new TestBedRun(problem, c.Method, Integrator.Discrete, eta, specSteps, 2_000, specReplicas, RecordEvery: 1000);
            TestBedResult discrete = ExperimentKit.Run(options, index++, discreteRun);
            TestBedResult? sde = c.Noise.Variance is double.PositiveInfinity && c.Method is not DSignSgdMethod
                ? null
                : ExperimentKit.Run(options, index++, discreteRun with { Integrator = Integrator.EulerMaruyama });
            // The same algorithm with every upload through the real codec (bernoulli:0.5, usign or fp payloads).
            TestBedResult wire = ExperimentKit.Run(options, index++, discreteRun with { Integrator = Integrator.Codec });
            (double predicted, double discreteExact, double allowance, string note) = Predict(c.Method, problem, eta, eta);
            specRows.Add(
            [
                c.Label,
                Fmt.I($"{Fmt.S(discrete.StationaryLoss)} ± {Fmt.S(discrete.StationaryStandardError)}"),
                Fmt.I($"{Fmt.S(wire.StationaryLoss)} ± {Fmt.S(wire.StationaryStandardError)}"),
                sde is null ? "—" : Fmt.I($"{Fmt.S(sde.StationaryLoss)} ± {Fmt.S(sde.StationaryStandardError)}"),
                Fmt.S(predicted),
                double.IsNaN(discreteExact) ? "—" : Fmt.S(discreteExact),
                c.SpecSimulated,
                c.SpecPredicted,
            ]);
            claims.Add(ExperimentKit.FloorClaim($"spec table: {c.Label}, discrete floor = LossFloors", discrete, predicted, allowance, note));
            claims.Add(ExperimentKit.FloorClaim($"spec table: {c.Label}, through the codec, floor = LossFloors", wire, predicted, allowance, note));
            if (sde is not null)
            {
                claims.Add(ExperimentKit.FloorClaim($"spec table: {c.Label}, SDE (EM h = η) floor = LossFloors", sde, predicted, allowance, note));
            }
            if (!double.IsNaN(discreteExact))
            {
                claims.Add(ExperimentKit.FloorClaim($"spec table: {c.Label}, discrete floor = exact discrete floor", discrete, discreteExact, 0, "exact recursion, no allowance"));
            }
            trajectories.Add(ExperimentKit.Line(discrete, c.Label + " (discrete)"));
        }
        tables.Add(Fmt.Table(
            Fmt.I($"Spec §4.4 table: d = 1, λ = 1, η = 0.01, N = 4, σ = 1, {specSteps:N0} steps × {specReplicas} replicas (mean ± batch-means SE)"),
            ["method", "discrete", "discrete through the codec", "SDE (EM, h = η)", "predicted (LossFloors)", "exact discrete", "spec simulated", "spec predicted"],
            specRows));
        series.Add(new SdeSeries("spec-table-trajectories", "Loss trajectories of DSGD, DCSGD and DSignSGD on the quadratic, discrete and SDE", "t = kη", "loss f(x_k), replica mean", [.. trajectories], LogY: true));

        // Part 2: the σ sweep, d = 10, N = 4.
        const int dimension = 10;
        const int agents = 4;
        int steps = options.Quick ? 30_000 : 100_000;
        int burnIn = options.Quick ? 3_000 : 5_000;
        int replicas = options.Quick ? 2 : 4;
        (string Label, SdeMethod Method)[] methods =
        [
            ("DSGD", SdeMethod.Dsgd),
            ("DCSGD Bernoulli q = 0.5", SdeMethod.Dcsgd(new BernoulliSparsification(0.5))),
            ("DCSGD Bernoulli q = 0.25", SdeMethod.Dcsgd(new BernoulliSparsification(0.25))),
            ("DCSGD rand-2 of 10", SdeMethod.Dcsgd(new RandKSparsification(2))),
            ("DSignSGD", SdeMethod.DSignSgd),
        ];
        var rows = new List<string[]>();
        var lines = new List<SdeLine>();
        foreach (var m in methods)
        {
            var measured = new List<(double Sigma, double Floor, double Se, double Em, double EmSe, double Predicted)>();
            foreach (double sigma in Sigmas)
            {
                var problem = new QuadraticProblem(dimension, lambda, agents, 1, NoiseModel.Gaussian(sigma));
                var run = new TestBedRun(problem, m.Method, Integrator.Discrete, eta, steps, burnIn, replicas, RecordEvery: 1000);
                TestBedResult discrete = ExperimentKit.Run(options, index++, run);
                TestBedResult sde = ExperimentKit.Run(options, index++, run with { Integrator = Integrator.EulerMaruyama });
                (double predicted, double discreteExact, double allowance, string note) = Predict(m.Method, problem, eta, eta);
                double omega = m.Method is DSignSgdMethod ? double.NaN : m.Method.Omega(dimension);
                rows.Add(
                [
                    m.Label,
                    double.IsNaN(omega) ? "—" : Fmt.N(omega),
                    Fmt.N(sigma),
                    Fmt.I($"{Fmt.S(discrete.StationaryLoss)} ± {Fmt.S(discrete.StationaryStandardError)}"),
                    Fmt.I($"{Fmt.S(sde.StationaryLoss)} ± {Fmt.S(sde.StationaryStandardError)}"),
                    Fmt.S(predicted),
                    double.IsNaN(discreteExact) ? "—" : Fmt.S(discreteExact),
                    Fmt.Pct((discrete.StationaryLoss / predicted) - 1),
                ]);
                claims.Add(ExperimentKit.FloorClaim(Fmt.I($"{m.Label}, σ = {sigma}: discrete floor = LossFloors"), discrete, predicted, allowance, note));
                claims.Add(ExperimentKit.FloorClaim(Fmt.I($"{m.Label}, σ = {sigma}: SDE (EM) floor = LossFloors"), sde, predicted, allowance, note));
                measured.Add((sigma, discrete.StationaryLoss, discrete.StationaryStandardError, sde.StationaryLoss, sde.StationaryStandardError, predicted));
            }
            double[] x = [.. measured.Select(r => r.Sigma)];
            lines.Add(new SdeLine(m.Label + " discrete", [.. x], [.. measured.Select(r => r.Floor)], [.. measured.Select(r => r.Se)]));
            lines.Add(new SdeLine(m.Label + " SDE", [.. x], [.. measured.Select(r => r.Em)], [.. measured.Select(r => r.EmSe)]));
            lines.Add(new SdeLine(m.Label + " LossFloors", [.. x], [.. measured.Select(r => r.Predicted)], [.. measured.Select(_ => 0.0)]));

            // The σ-exponent: 2 for DSGD/DCSGD (floor ∝ σ²), 1 for DSignSGD (∝ σ).
            (double slope, double slopeSe) = Statistics.LogLogSlope(x, [.. measured.Select(r => r.Floor)], [.. measured.Select(r => r.Se)]);
            double[] predictedFloors = [.. measured.Select(r => r.Predicted)];
            (double predictedSlope, _) = Statistics.LogLogSlope(x, predictedFloors, new double[x.Length]);
            double slopeAllowance = m.Method is DSignSgdMethod
                ? (ExperimentKit.SignAllowance(eta, eta, new QuadraticProblem(dimension, lambda, agents, 1, NoiseModel.Gaussian(Sigmas[0])))
                   + ExperimentKit.SignAllowance(eta, eta, new QuadraticProblem(dimension, lambda, agents, 1, NoiseModel.Gaussian(Sigmas[^1]))))
                  / Math.Log(Sigmas[^1] / Sigmas[0])
                : 0;
            claims.Add(SdeClaim.Within(
                $"{m.Label}: slope of log floor vs log σ (discrete)",
                slope,
                predictedSlope,
                (ExperimentKit.Z * slopeSe) + slopeAllowance,
                Fmt.I($"weighted least squares on log floor, SE = {Fmt.S(slopeSe)} from the floors' SEs; tolerance = {ExperimentKit.Z}·SE + {Fmt.S(slopeAllowance)} (the allowance's change over σ / ln(σmax/σmin))")));
        }
        tables.Add(Fmt.Table(
            Fmt.I($"Stationary loss vs σ: d = {dimension}, λ = 1, η = 0.01, N = {agents}, B = 1, Gaussian noise, {steps:N0} steps (burn-in {burnIn:N0}) × {replicas} replicas"),
            ["method", "ω", "σ", "discrete", "SDE (EM, h = η)", "predicted (LossFloors)", "exact discrete", "discrete vs predicted"],
            rows));
        series.Add(new SdeSeries("floors-vs-sigma", "Stationary loss against the gradient noise σ: measured and predicted floors", "σ (per sample)", "stationary loss", [.. lines], LogX: true, LogY: true));

        // Part 3: DCSGD's stability limit (spec §4.4 item 2, §6 item 24). With N = 1 and Bernoulli(q) the expected
        // second moment obeys v' = ((1 − ηλ)² + η²ωλ²/N)v + …, so the discrete run is stable iff ηωλ/N < 2 − ηλ,
        // while the SDE's limit is ηωλ/N < 2: at ηλ = 0.1 the two differ by 0.1, and r = 1.95 falls between them.
        // (At N = 1 the factor applied to a kept coordinate, 1 − ηλ/q, has modulus > 1 exactly when r > 2 − ηλ, so the
        // median path grows too and the growth statistic sees it.)
        (int stabilitySteps, int stabilityBurnIn, int stabilityReplicas, int stabilityWindows) = (1_224, 200, options.Quick ? 8 : 16, 2);
        const double stabilityEta = 0.1;
        const int stabilityDimension = 20;
        var stabilityRows = new List<string[]>();
        foreach (double ratio in StabilityRatios)
        {
            // ω = r·N/(ηλ), q = 1/(1 + ω).
            double omega = ratio / (stabilityEta * lambda);
            var compressor = new BernoulliSparsification(1 / (1 + omega));
            var problem = new QuadraticProblem(stabilityDimension, lambda, 1, 1, NoiseModel.Gaussian(1));
            var run = new TestBedRun(problem, SdeMethod.Dcsgd(compressor), Integrator.Discrete, stabilityEta, stabilitySteps, stabilityBurnIn,
                stabilityReplicas, RecordEvery: 100, MomentWindows: stabilityWindows);
            TestBedResult result = ExperimentKit.Run(options, index++, run);
            double growth = result.MedianSecondMoment(stabilityWindows) / result.MedianSecondMoment(0);
            StationaryLoss sdeFloor = LossFloors.Dcsgd(stabilityEta, stabilityDimension, 1, lambda, omega, problem.AgentNoise);
            double contraction = Math.Pow(1 - (stabilityEta * lambda), 2) + (stabilityEta * stabilityEta * omega * lambda * lambda);
            bool discreteStable = contraction < 1;
            string growthNote = Fmt.I($"G = M(W={result.MomentWindowLengths[stabilityWindows]:N0})/M(W={result.MomentWindowLengths[0]:N0}), the median block mean of ‖x‖²/d over {stabilityReplicas} replicas (as heavy-tails); discrete second-moment factor (1 − ηλ)² + η²ωλ²/N = {Fmt.S(contraction)}");
            if (discreteStable)
            {
                claims.Add(SdeClaim.AtMost(Fmt.I($"stability, ηωλ/N = {ratio}: discrete DCSGD settles (growth G)"), growth, 1, HeavyTailsExperiment.GrowthThreshold,
                    growthNote + Fmt.I($"; settles when G ≤ {HeavyTailsExperiment.GrowthThreshold}")));
                claims.Add(ExperimentKit.FloorClaim(Fmt.I($"stability, ηωλ/N = {ratio}: floor = LossFloors.Dcsgd"), result, sdeFloor.Value,
                    Discretisation.LinearRelativeExcess(stabilityEta, stabilityEta, lambda, 1, omega), "exact discrete excess ηλ/(2 − ηλ − ηωλ/N)"));
            }
            else
            {
                claims.Add(SdeClaim.Exceeds(Fmt.I($"stability, ηωλ/N = {ratio}: discrete DCSGD does not settle (growth G)"), growth, HeavyTailsExperiment.GrowthThreshold,
                    growthNote + Fmt.I($"; LossFloors (SDE): {(sdeFloor.Diverges ? sdeFloor.Divergence.ToString() : "finite " + Fmt.S(sdeFloor.Value) + ", the O(ηλ) gap of spec §6 item 24")}")));
            }
            stabilityRows.Add(
            [
                Fmt.N(ratio),
                Fmt.N(omega),
                Fmt.S(1 / (1 + omega)),
                sdeFloor.Diverges ? Fmt.I($"∞ ({sdeFloor.Divergence})") : Fmt.S(sdeFloor.Value),
                discreteStable ? "stable" : "unstable",
                Fmt.I($"{Fmt.S(result.StationaryLoss)} ± {Fmt.S(result.StationaryStandardError)}"),
                Fmt.S(growth),
            ]);
        }
        tables.Add(Fmt.Table(
            Fmt.I($"DCSGD stability limit: d = {stabilityDimension}, λ = 1, η = {stabilityEta}, N = 1, σ = 1, Bernoulli q = 1/(1 + ω), {stabilitySteps - stabilityBurnIn:N0} steps after a burn-in of {stabilityBurnIn} × {stabilityReplicas} replicas; SDE limit ηωλ/N < 2, discrete limit < 2 − ηλ = 1.9"),
            ["ηωλ/N", "ω", "q", "SDE floor (LossFloors)", "discrete recursion", "measured loss", "growth G"],
            stabilityRows));

        return new SdeReport(
            Name,
            Description,
            [
                Fmt.P("seed", options.Seed),
                Fmt.P("quick", options.Quick),
                Fmt.P("λ", lambda),
                Fmt.P("η (= h, the SDE step)", eta),
                Fmt.P("spec table", Fmt.I($"d = 1, N = 4, σ = 1, {specSteps:N0} steps, burn-in 2,000, {specReplicas} replicas")),
                Fmt.P("σ sweep", Fmt.I($"d = {dimension}, N = {agents}, B = 1, σ ∈ {{{string.Join(", ", Sigmas)}}}, {steps:N0} steps, burn-in {burnIn:N0}, {replicas} replicas")),
                Fmt.P("standard error", "batch means: 20 batches per replica, SE = sd(batch means)/√(20R)"),
                Fmt.P("stability limit", Fmt.I($"d = 20, N = 1, η = 0.1, ηωλ/N ∈ {{{string.Join(", ", StabilityRatios)}}}")),
                Fmt.P("tolerance", "5·SE + the discretisation allowance (Discretisation: exact hλ/(2 − hλ − ηωλ/N) for DSGD/DCSGD; 2×(first-order + cubic-drift) for DSignSGD)"),
            ],
            [.. tables],
            [.. series],
            [.. claims]);
    }

    /// <summary>The SDE floor (LossFloors), the exact discrete/EM floor where there is one, the relative allowance and its note.</summary>
    internal static (double Predicted, double DiscreteExact, double Allowance, string Note) Predict(SdeMethod method, QuadraticProblem p, double eta, double h)
    {
        NoiseModel noise = p.AgentNoise;
        if (method is DSignSgdMethod)
        {
            double allowance = ExperimentKit.SignAllowance(eta, h, p);
            return (LossFloors.DSignSgd(eta, p.Dimension, p.Agents, noise), double.NaN, allowance,
                "DSignSGD: 2 × first-order discretisation and cubic-drift excess, Discretisation.SignRelativeExcess");
        }
        double omega = method.Omega(p.Dimension);
        StationaryLoss floor = omega == 0
            ? LossFloors.Dsgd(eta, p.Dimension, p.Agents, noise)
            : LossFloors.Dcsgd(eta, p.Dimension, p.Agents, p.Curvature, omega, noise);
        double excess = Discretisation.LinearRelativeExcess(eta, h, p.Curvature, p.Agents, omega);
        return (floor.Value, floor.Value * (1 + excess), excess, "exact discrete/EM excess hλ/(2 − hλ − ηωλ/N)");
    }
}
