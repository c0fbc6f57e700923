using Verified.Theory.Sampling;
using Verified.Theory.Sde;

namespace Verified.Sde;

/// <summary>What the experiments share: seeds per run, floor claims, and the tolerance rule.</summary>
internal static class ExperimentKit
{
    /// <summary>Standard errors in every Monte-Carlo tolerance (spec §6 conventions: z = 5).</summary>
    public const double Z = 5;

    /// <summary>The seed of run <paramref name="index"/> of an experiment (replica r then uses stream r of it).</summary>
    public static ulong SeedOf(SdeExperimentOptions options, int index)
    {
        ulong x = unchecked(options.Seed * 0x9E3779B97F4A7C15UL + (ulong)index);
        return new SdeRandom(x).NextUInt64();
    }

    public static TestBedResult Run(SdeExperimentOptions options, int index, TestBedRun run) =>
        QuadraticTestBed.Run(run, SeedOf(options, index), options.MaxDegreeOfParallelism);

    /// <summary>
    /// The floor claim: |measured − predicted| ≤ Z·SE + |allowance|·predicted, where SE is the run's batch-means
    /// standard error and the allowance is the stated relative discretisation excess.
    /// </summary>
    public static SdeClaim FloorClaim(string name, TestBedResult result, double predicted, double relativeAllowance, string allowanceNote)
    {
        double tolerance = (Z * result.StationaryStandardError) + (Math.Abs(relativeAllowance) * predicted);
        return SdeClaim.Within(name, result.StationaryLoss, predicted, tolerance,
            Fmt.I($"tolerance = {Z}·SE (batch means, SE = {Fmt.S(result.StationaryStandardError)}) + {Fmt.Percent(Math.Abs(relativeAllowance))} of predicted ({allowanceNote})"));
    }

    /// <summary>The stated allowance of DSignSGD floors: twice the first-order excess of <see cref="Discretisation.SignRelativeExcess"/>
    /// (its terms in absolute value), for the higher orders and the non-Gaussian x it ignores.</summary>
    public static double SignAllowance(double eta, double h, QuadraticProblem p)
    {
        NoiseModel noise = p.AgentNoise;
        double kappa = noise.Kappa;
        double c = noise.IsGaussian ? 1.0 / 6 : (noise.DegreesOfFreedom + 1) / (6 * noise.DegreesOfFreedom);
        double first = Math.Abs((h * kappa * p.Curvature / (2 * noise.Scale)) - (eta * kappa * p.Curvature / (2 * p.Agents * noise.Scale)));
        double cubic = 3 * c * eta * p.Curvature / (2 * p.Agents * kappa * noise.Scale);
        return 2 * (first + cubic);
    }

    public static SdeLine Line(TestBedResult result, string? label = null) =>
        new(label ?? result.Run.Label, result.Times, result.MeanLoss, result.LossStandardError);
}
