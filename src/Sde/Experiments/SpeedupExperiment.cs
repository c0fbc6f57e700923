using System.Collections.Immutable;
using Verified.Theory.Sde;

namespace Verified.Sde;

/// <summary>
/// <c>speedup</c>: DSignSGD's floor against the number of agents N ∈ {1, 2, 4, 8, 16} (spec §4.4 item 4, §6 item 23:
/// "doubling N halves it"): floor·N constant and the slope of log floor against log N ≈ −1.
/// </summary>
public sealed class SpeedupExperiment : ISdeExperiment
{
    /// <inheritdoc />
    public string Name => "speedup";

    /// <inheritdoc />
    public string Description => "DSignSGD floor vs agents N: the 1/N law ηdσ/(4Nκ) (spec §4.4 item 4, §6 item 23).";

    /// <summary>The agent counts.</summary>
    public static ImmutableArray<int> Agents { get; } = [1, 2, 4, 8, 16];

    /// <inheritdoc />
    public SdeReport Run(SdeExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const int dimension = 10;
        const double lambda = 1;
        const double eta = 0.01;
        const double sigma = 1;
        int steps = options.Quick ? 50_000 : 200_000;
        const int burnIn = 2_000;
        int replicas = options.Quick ? 4 : 8;
        var claims = new List<SdeClaim>();
        var rows = new List<string[]>();
        var lines = new List<SdeLine>();
        int index = 0;
        foreach (Integrator integrator in new[] { Integrator.Discrete, Integrator.EulerMaruyama })
        {
            string label = integrator == Integrator.Discrete ? "discrete" : "SDE (EM, h = η)";
            var points = new List<(int N, double Floor, double Se, double Predicted, double Allowance)>();
            foreach (int n in Agents)
            {
                var problem = new QuadraticProblem(dimension, lambda, n, 1, NoiseModel.Gaussian(sigma));
                var run = new TestBedRun(problem, SdeMethod.DSignSgd, integrator, eta, steps, burnIn, replicas, RecordEvery: 1000);
                TestBedResult result = ExperimentKit.Run(options, index++, run);
                double predicted = LossFloors.DSignSgd(eta, dimension, n, problem.AgentNoise);
                double allowance = ExperimentKit.SignAllowance(eta, eta, problem);
                claims.Add(ExperimentKit.FloorClaim(Fmt.I($"DSignSGD {label}, N = {n}: floor = ηdσ/(4Nκ)"), result, predicted, allowance,
                    "2 × first-order discretisation and cubic-drift excess"));
                points.Add((n, result.StationaryLoss, result.StationaryStandardError, predicted, allowance));
                rows.Add(
                [
                    label,
                    Fmt.N(n),
                    Fmt.I($"{Fmt.S(result.StationaryLoss)} ± {Fmt.S(result.StationaryStandardError)}"),
                    Fmt.S(predicted),
                    Fmt.S(result.StationaryLoss * n),
                    Fmt.Pct((result.StationaryLoss / predicted) - 1),
                ]);
            }
            double[] products = [.. points.Select(p => p.Floor * p.N)];
            double meanProduct = products.Average();
            double deviation = products.Max(p => Math.Abs((p / meanProduct) - 1));
            double relativeSe = points.Max(p => p.Se / p.Floor);
            double allowanceSpread = points.Max(p => p.Allowance);
            claims.Add(SdeClaim.Within(
                $"DSignSGD {label}: floor·N constant (max relative deviation from the mean over N)",
                deviation,
                0,
                (ExperimentKit.Z * relativeSe) + allowanceSpread,
                Fmt.I($"tolerance = {ExperimentKit.Z}·(largest relative SE, {Fmt.Percent(relativeSe)}) + the largest relative allowance over N ({Fmt.Percent(allowanceSpread)}); floor·N mean {Fmt.S(meanProduct)}, predicted ηdσ/(4κ) = {Fmt.S(points[0].Predicted)}")));
            (double slope, double slopeSe) = Statistics.LogLogSlope(
                [.. points.Select(p => (double)p.N)], [.. points.Select(p => p.Floor)], [.. points.Select(p => p.Se)]);
            double slopeAllowance = (points[0].Allowance + points[^1].Allowance) / Math.Log(Agents[^1] / (double)Agents[0]);
            claims.Add(SdeClaim.Within(
                $"DSignSGD {label}: slope of log floor vs log N",
                slope,
                -1,
                (ExperimentKit.Z * slopeSe) + slopeAllowance,
                Fmt.I($"weighted least squares on log floor, SE = {Fmt.S(slopeSe)}; tolerance = {ExperimentKit.Z}·SE + {Fmt.S(slopeAllowance)} (the allowances at N = 1 and 16 over ln 16)")));
            lines.Add(new SdeLine("DSignSGD " + label, [.. points.Select(p => (double)p.N)], [.. points.Select(p => p.Floor)], [.. points.Select(p => p.Se)]));
            if (integrator == Integrator.Discrete)
            {
                lines.Add(new SdeLine("ηdσ/(4Nκ)", [.. points.Select(p => (double)p.N)], [.. points.Select(p => p.Predicted)], [.. points.Select(_ => 0.0)]));
            }
        }
        return new SdeReport(
            Name,
            Description,
            [
                Fmt.P("seed", options.Seed),
                Fmt.P("quick", options.Quick),
                Fmt.P("problem", Fmt.I($"d = {dimension}, λ = {lambda}, B = 1, η = h = {eta}, Gaussian σ = {sigma}")),
                Fmt.P("N", string.Join(", ", Agents)),
                Fmt.P("steps", Fmt.I($"{steps:N0} (burn-in {burnIn:N0}) × {replicas} replicas")),
                Fmt.P("tolerance", "5·SE (batch means) + 2 × the first-order discretisation and cubic-drift excess"),
            ],
            [Fmt.Table("DSignSGD floor vs N (mean ± batch-means SE)", ["run", "N", "floor", "ηdσ/(4Nκ)", "floor·N", "vs predicted"], rows)],
            [new SdeSeries("floor-vs-agents", "DSignSGD: stationary loss against the number of agents (the 1/N law)", "agents N", "stationary loss", [.. lines], LogX: true, LogY: true)],
            [.. claims]);
    }
}
