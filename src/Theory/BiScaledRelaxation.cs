using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>
/// TBQSGD's continuous relaxation (spec §3.4): the real-valued cell split n_in : n_out = (β²P₁)^{1/3} : ((α − β)²P₂)^{1/3},
/// which gives V_B* = [(β²P₁)^{1/3} + ((α − β)²P₂)^{1/3}]³/s², minimised with M(α) over (α, β).
/// </summary>
/// <remarks>The integer design of <see cref="Quantizers.Design"/> rounds this to an even n_out; the relaxation is the
/// spec's table and a lower bound on the integer designs' error.</remarks>
/// <param name="Alpha">α at the optimum.</param>
/// <param name="Beta">β at the optimum.</param>
/// <param name="InnerCells">The real-valued n_in.</param>
/// <param name="Error">V_B* + M(α).</param>
public sealed record BiScaledRelaxation(double Alpha, double Beta, double InnerCells, double Error)
{
    /// <summary>Minimises the relaxed objective for <paramref name="model"/> with s = <paramref name="intervals"/> cells.</summary>
    public static BiScaledRelaxation Optimize(GradientModel model, int intervals)
    {
        ArgumentNullException.ThrowIfNull(model);
        Preconditions.CheckRange(nameof(intervals), intervals, 1, int.MaxValue);
        double BestBeta(double alpha) => alpha * Minimizer.Minimize(t => Parts(model, alpha, alpha * t, intervals).Error, 1e-9, 1, 97);
        double alpha = Quantizers.MinimizeThreshold(model, a => Parts(model, a, BestBeta(a), intervals).Error, 97);
        double beta = BestBeta(alpha);
        (double error, double innerShare) = Parts(model, alpha, beta, intervals);
        return new BiScaledRelaxation(alpha, beta, innerShare * intervals, error);
    }

    private static (double Error, double InnerShare) Parts(GradientModel model, double alpha, double beta, int intervals)
    {
        double inner = Math.Cbrt(beta * beta * (1 - model.TailMass(beta)));
        double outer = Math.Cbrt((alpha - beta) * (alpha - beta) * (model.TailMass(beta) - model.TailMass(alpha)));
        double sum = inner + outer;
        double variance = sum * sum * sum / ((double)intervals * intervals);
        return (variance + model.TruncationMse(alpha), sum > 0 ? inner / sum : 1);
    }
}
