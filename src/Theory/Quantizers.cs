using System.Collections.Immutable;
using Verified.Theory.Numerics;

namespace Verified.Theory;

/// <summary>Designs quantizers: <c>Design(spec, model)</c> gives the threshold, the levels and the predicted error.</summary>
/// <remarks>
/// <para><see cref="Design"/> uses the spec's closed forms where they exist (TNQSGD's α* and levels on Laplace, §2.2,
/// and on Lomax, §3.2(a); TUQSGD's relaxed threshold, §2.3 and §3.2(b)) and the models' closed-form integrals
/// elsewhere. <see cref="DesignNumerically"/> runs the generic path of spec §1.5 on the density alone
/// (quadrature, golden section on log α, bisection for the levels): the oracle every closed form is tested
/// against, and the path a new model gets for free.</para>
/// <para>Pure: the same arguments give the same design, bit for bit.</para>
/// </remarks>
public static class Quantizers
{
    private const double SearchDecadesBelowScale = 6;
    private const double SearchDecadesAboveScale = 15;

    /// <summary>Designs <paramref name="spec"/> for gradients distributed as <paramref name="model"/>.</summary>
    /// <param name="spec">The scheme and its bit width.</param>
    /// <param name="model">The gradient model (usually fitted to the gradient with <see cref="ModelFit"/>).</param>
    /// <param name="dimension">d, the vector length; required by QSGD and NUQSGD, whose error depends on ‖v‖₂.</param>
    /// <exception cref="ArgumentException">QSGD or NUQSGD without a dimension, or a fixed α the model cannot use.</exception>
    public static QuantizerDesign Design(QuantizerSpec spec, GradientModel model, int? dimension = null) =>
        DesignWith(spec, DensityIntegrals.ClosedForm(model), dimension, useClosedForms: true);

    /// <summary>The generic numeric design of spec §1.5 from the density alone; the oracle for <see cref="Design"/>.</summary>
    /// <inheritdoc cref="Design" path="/param"/>
    public static QuantizerDesign DesignNumerically(QuantizerSpec spec, GradientModel model, int? dimension = null) =>
        DesignWith(spec, DensityIntegrals.Numeric(model), dimension, useClosedForms: false);

    private static QuantizerDesign DesignWith(QuantizerSpec spec, DensityIntegrals integrals, int? dimension, bool useClosedForms)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(integrals.Model);
        return spec switch
        {
            FullPrecision => new QuantizerDesign(
                spec, integrals.Model, double.PositiveInfinity, [], LevelUnit.Gradient, 0, 0, 0, 0),
            Sign sign => DesignSign(sign, integrals),
            SparsifierSpec sparsifier => DesignSparsifier(sparsifier, integrals, dimension),
            NormScaledSpec normScaled => DesignNormScaled(normScaled, integrals, RequireDimension(spec, dimension)),
            TruncatedNonUniform tnq => DesignNonUniform(tnq, integrals, useClosedForms),
            TruncatedUniform tuq => DesignUniform(tuq, integrals, useClosedForms),
            TruncatedBiScaled tbq => DesignBiScaled(tbq, integrals),
            _ => throw new ArgumentException($"Unknown scheme {spec.GetType().Name}.", nameof(spec)),
        };
    }

    private static int RequireDimension(QuantizerSpec spec, int? dimension)
    {
        if (dimension is not { } d)
        {
            throw new ArgumentException(
                spec is RandKSparsification
                    ? $"{spec.Name}'s ω = d/k − 1 depends on the vector length: pass the dimension d (≥ k)."
                    : $"{spec.Name}'s error depends on the vector length through ‖v‖₂: pass the dimension d (≥ 1).",
                nameof(dimension));
        }
        return Preconditions.CheckRange(nameof(dimension), d, 1, int.MaxValue);
    }

    // ---- Sign ------------------------------------------------------------------------------------------------

    private static QuantizerDesign DesignSign(Sign spec, DensityIntegrals integrals)
    {
        // Decoded as ±m; E[(m·sign(g) − g)²] = E[g²] − 2mE|g| + m², minimised by m = E|g| (bias E[g²] − m²). The unit
        // sign of DSignSGD (spec §4.1) fixes m = 1.
        double meanAbsolute = integrals.MeanAbsolute;
        double magnitude = spec.Magnitude == SignMagnitude.Unit ? 1 : meanAbsolute;
        double bias = spec.Magnitude == SignMagnitude.Unit
            ? Math.Max(0, integrals.SecondMoment - (2 * meanAbsolute) + 1)
            : Math.Max(0, integrals.SecondMoment - magnitude * magnitude);
        return new QuantizerDesign(
            spec, integrals.Model, double.PositiveInfinity, [-magnitude, magnitude], LevelUnit.Gradient, 0, 0, bias, bias);
    }

    // ---- Bernoulli / rand-k (spec §4.1) ----------------------------------------------------------------------

    /// <summary>
    /// The unbiased sparsifiers: no levels (empty <see cref="QuantizerDesign.Levels"/>), no threshold (α = +∞), and an
    /// error that is all variance, ω·E[g²] per coordinate (E‖C(g) − g‖² = ω‖g‖², spec §6 item 21), reported as both the
    /// rounding variance and its bound, with zero truncation error. rand-k's ω = d/k − 1 needs the dimension.
    /// </summary>
    private static QuantizerDesign DesignSparsifier(SparsifierSpec spec, DensityIntegrals integrals, int? dimension)
    {
        int? d = spec is RandKSparsification randK ? randK.CheckDimension(RequireDimension(spec, dimension)) : null;
        double variance = spec.Omega(d ?? 1) * integrals.SecondMoment;
        return new QuantizerDesign(
            spec, integrals.Model, double.PositiveInfinity, [], LevelUnit.Gradient, variance, variance, 0, variance, dimension: d);
    }

    // ---- QSGD / NUQSGD (spec §1.7) ---------------------------------------------------------------------------

    private static QuantizerDesign DesignNormScaled(NormScaledSpec spec, DensityIntegrals integrals, int dimension)
    {
        ImmutableArray<double> magnitudes = NormScaled.Magnitudes(spec);
        double secondMoment = integrals.SecondMoment;
        // E‖Q − v‖² ≤ ε‖v‖² and E‖v‖² = d·E[g²], so per coordinate the bound is ε·E[g²].
        double bound = NormScaled.VarianceBoundFactor(spec, dimension) * secondMoment;
        // The norm is replaced by its root-mean-square √(d·E[g²]); coordinate g falls in the cell of |g|/‖v‖.
        double norm = Math.Sqrt(dimension * secondMoment);
        double variance = 0;
        for (int k = 1; k < magnitudes.Length; k++)
        {
            variance += 2 * integrals.CellRoundingVariance(norm * magnitudes[k - 1], norm * magnitudes[k]);
        }
        var levels = ImmutableArray.CreateBuilder<double>(2 * magnitudes.Length - 1);
        for (int k = magnitudes.Length - 1; k > 0; k--)
        {
            levels.Add(-magnitudes[k]);
        }
        levels.AddRange(magnitudes);
        return new QuantizerDesign(
            spec, integrals.Model, double.PositiveInfinity, levels.MoveToImmutable(), LevelUnit.Norm,
            bound, variance, 0, variance, dimension: dimension);
    }

    // ---- TNQSGD (spec §1.5, §2.2, §3.2(a)) -------------------------------------------------------------------

    private static QuantizerDesign DesignNonUniform(TruncatedNonUniform spec, DensityIntegrals integrals, bool useClosedForms)
    {
        int s = spec.Intervals;
        GradientModel model = integrals.Model;
        bool optimal = spec.Threshold is OptimalThreshold;
        double alpha;
        ImmutableArray<double> levels;
        if (optimal && useClosedForms && model is Laplace)
        {
            alpha = LaplaceTnq.Alpha(s, model.Scale);
            levels = SymmetricLevels(s, alpha, k => LaplaceTnq.Level(k, s, model.Scale));
        }
        else if (optimal && useClosedForms && model is Lomax lomax)
        {
            alpha = LomaxTnq.Alpha(s, lomax.Scale, lomax.Shape);
            levels = SymmetricLevels(s, alpha, k => LomaxTnq.Level(k, s, lomax.Scale, lomax.Shape));
        }
        else
        {
            // The averaged threshold keeps the level density ∝ p^{1/3} on [−α, α] (for a given α it minimises the
            // rounding variance, whatever the 1/N in front of it) and moves only α: s² → s²N in the objective, so the
            // closed forms hold with s_eff = s√N.
            int clients = AveragedClients(spec.Threshold);
            double effectiveIntervals = s * Math.Sqrt(clients);
            alpha = spec.Threshold switch
            {
                FixedThreshold fixedThreshold => fixedThreshold.Alpha,
                AveragedThreshold when useClosedForms && model is Laplace => LaplaceTnq.AlphaForEffectiveIntervals(effectiveIntervals, model.Scale),
                AveragedThreshold when useClosedForms && model is Lomax averagedLomax =>
                    LomaxTnq.AlphaForEffectiveIntervals(effectiveIntervals, averagedLomax.Scale, averagedLomax.Shape),
                _ => MinimizeThreshold(model, a => CubeRootObjective(integrals, a, s, clients)),
            };
            levels = CubeRootLevels(integrals, alpha, s);
        }
        return Finish(spec, integrals, alpha, levels, CubeRootObjective(integrals, alpha, s));
    }

    /// <summary>I(α)³/(4s²N) + M(α), spec §1.5 (N = 1), with I(α) = 2∫_0^α p^{1/3}.</summary>
    private static double CubeRootObjective(DensityIntegrals integrals, double alpha, int intervals, int clients = 1)
    {
        double cubeRootMass = 2 * integrals.HalfCubeRootMass(alpha);
        return (cubeRootMass * cubeRootMass * cubeRootMass / (4.0 * intervals * intervals * clients)) + integrals.TruncationMse(alpha);
    }

    /// <summary>N of an <see cref="AveragedThreshold"/>, 1 for every other threshold (one upload's objective).</summary>
    private static int AveragedClients(Threshold threshold) => threshold is AveragedThreshold averaged ? averaged.Clients : 1;

    /// <summary>l_k = Λ^{−1}(k) with Λ(g) = s·∫_{−α}^{g} p^{1/3} / I(α), by bisection (spec §1.5 step 3).</summary>
    private static ImmutableArray<double> CubeRootLevels(DensityIntegrals integrals, double alpha, int intervals)
    {
        double halfMass = integrals.HalfCubeRootMass(alpha);
        if (!(halfMass > 0))
        {
            throw new ArgumentException(
                FormattableString.Invariant(
                    $"α = {alpha} leaves no density inside [−α, α] for the levels (the model's support starts at {integrals.Model.SupportStart}); choose α above it."),
                nameof(alpha));
        }
        double start = integrals.Model.SupportStart;
        // By symmetry Λ(g) − s/2 = (s/2)·sign(g)·H(|g|)/H(α), so |l_k| solves H(x) = (|2k − s|/s)·H(α).
        return SymmetricLevels(intervals, alpha, k =>
        {
            int offset = 2 * k - intervals;
            double target = Math.Abs(offset) * halfMass / intervals;
            return Math.Sign(offset) * Minimizer.BisectIncreasing(integrals.HalfCubeRootMass, target, start, alpha);
        });
    }

    // ---- TUQSGD (spec §1.7, §2.3, §3.2(b)) -------------------------------------------------------------------

    private static QuantizerDesign DesignUniform(TruncatedUniform spec, DensityIntegrals integrals, bool useClosedForms)
    {
        int s = spec.Intervals;
        GradientModel model = integrals.Model;
        double squaredIntervals = (double)s * s;
        double alpha = spec.Threshold switch
        {
            FixedThreshold fixedThreshold => fixedThreshold.Alpha,
            RelaxedThreshold when useClosedForms && model is Laplace => RelaxedUniformThreshold.Laplace(s, model.Scale),
            RelaxedThreshold when useClosedForms && model is ParetoTail pareto && squaredIntervals >= pareto.Shape - 2 =>
                RelaxedUniformThreshold.ParetoTail(s, pareto.Scale, pareto.Shape),
            RelaxedThreshold => MinimizeThreshold(model, a => (a * a / squaredIntervals) + integrals.TruncationMse(a)),
            _ => MinimizeThreshold(model, a => UniformObjective(integrals, a, s, AveragedClients(spec.Threshold))),
        };
        ImmutableArray<double> levels = SymmetricLevels(s, alpha, k => alpha * (2 * k - s) / s);
        return Finish(spec, integrals, alpha, levels, UniformObjective(integrals, alpha, s));
    }

    /// <summary>Σ_k P_k(2α/s)²/4 / N + M(α) = (α²/(s²N))·P(|g| ≤ α) + M(α), spec §2.3 (N = 1; exact for uniform cells).</summary>
    private static double UniformObjective(DensityIntegrals integrals, double alpha, int intervals, int clients = 1) =>
        (alpha * alpha / ((double)intervals * intervals * clients) * (1 - integrals.TailMass(alpha))) + integrals.TruncationMse(alpha);

    // ---- TBQSGD (spec §3.4) ----------------------------------------------------------------------------------

    private static QuantizerDesign DesignBiScaled(TruncatedBiScaled spec, DensityIntegrals integrals)
    {
        int s = spec.Intervals;
        GradientModel model = integrals.Model;
        double? fixedAlpha = (spec.Threshold as FixedThreshold)?.Alpha;
        int clients = AveragedClients(spec.Threshold);
        (double Error, double Alpha, double Beta, int OuterCells) best = (double.PositiveInfinity, 0, 0, 0);
        // Every split with n_out even and n_in = s − n_out ≥ 1; n_out = 0 is the uniform quantizer.
        for (int outer = 0; outer < s; outer += 2)
        {
            int inner = s - outer;
            double BestBeta(double alpha) => outer == 0
                ? alpha
                : alpha * Minimizer.Minimize(t => BiScaledObjective(integrals, alpha, alpha * t, inner, outer, clients), 1e-9, 1, ScanPointsInner);
            double alpha = fixedAlpha ?? MinimizeThreshold(
                model, a => BiScaledObjective(integrals, a, BestBeta(a), inner, outer, clients), ScanPointsInner);
            double beta = BestBeta(alpha);
            double error = BiScaledObjective(integrals, alpha, beta, inner, outer, clients);
            if (error < best.Error)
            {
                best = (error, alpha, beta, outer);
            }
        }
        int innerCells = s - best.OuterCells;
        int perSide = best.OuterCells / 2;
        double innerWidth = 2 * best.Beta / innerCells;
        double outerWidth = perSide == 0 ? 0 : (best.Alpha - best.Beta) / perSide;
        ImmutableArray<double> levels = SymmetricLevels(s, best.Alpha, k =>
        {
            // Position of level k measured from the centre, in cells: |2k − s|/2 (a half-integer for odd s).
            int offset = 2 * k - s;
            double cellsFromCentre = Math.Abs(offset) / 2.0;
            double magnitude = cellsFromCentre <= innerCells / 2.0
                ? cellsFromCentre * innerWidth
                : best.Beta + ((cellsFromCentre - (innerCells / 2.0)) * outerWidth);
            return Math.Sign(offset) * magnitude;
        });
        // J is one upload's error (N = 1) whatever objective chose the split, as for the other schemes.
        return Finish(
            spec, integrals, best.Alpha, levels, BiScaledObjective(integrals, best.Alpha, best.Beta, innerCells, best.OuterCells),
            new BiScaledSplit(best.Beta, innerCells, best.OuterCells));
    }

    private const int ScanPointsInner = 49;

    /// <summary>V_B/N + M(α) with V_B = β²P₁/n_in² + (α − β)²P₂/n_out², spec §3.4 (N = 1; exact for its uniform cells).</summary>
    private static double BiScaledObjective(DensityIntegrals integrals, double alpha, double beta, int inner, int outer, int clients = 1)
    {
        double innerMass = 1 - integrals.TailMass(beta);
        double variance = beta * beta * innerMass / ((double)inner * inner);
        if (outer > 0)
        {
            double outerMass = integrals.TailMass(beta) - integrals.TailMass(alpha);
            variance += (alpha - beta) * (alpha - beta) * outerMass / ((double)outer * outer);
        }
        return (variance / clients) + integrals.TruncationMse(alpha);
    }

    /// <summary>
    /// The per-coordinate error of the server's average of N uploads designed as <paramref name="design"/>, when the
    /// clients' truncation errors are coherent (the same sign and size on a coordinate, as when their gradients
    /// agree): rounding variance / N + truncation MSE. The objective an <see cref="AveragedThreshold"/> minimises
    /// (docs/theory.md, "A threshold for the average").
    /// </summary>
    /// <param name="design">A design; its rounding variance and truncation MSE are per upload.</param>
    /// <param name="clients">N. Range: N ≥ 1.</param>
    public static double AveragedError(QuantizerDesign design, int clients)
    {
        ArgumentNullException.ThrowIfNull(design);
        Preconditions.CheckRange(nameof(clients), clients, 1, int.MaxValue);
        return (design.RoundingVariance / clients) + design.TruncationMse;
    }

    // ---- shared ----------------------------------------------------------------------------------------------

    internal static double MinimizeThreshold(GradientModel model, Func<double, double> objective, int scanPoints = Minimizer.DefaultScanPoints)
    {
        double lower = Math.Max(model.SupportStart * (1 + 1e-9), model.Scale * Math.Pow(10, -SearchDecadesBelowScale));
        double upper = model.Scale * Math.Pow(10, SearchDecadesAboveScale);
        return Minimizer.MinimizeOnLogScale(objective, lower, upper, scanPoints);
    }

    /// <summary>s + 1 levels with l_0 = −α and l_s = α exactly and l_{s−k} = −l_k (spec §6 item 2).</summary>
    private static ImmutableArray<double> SymmetricLevels(int intervals, double alpha, Func<int, double> level)
    {
        var levels = new double[intervals + 1];
        levels[0] = -alpha;
        levels[intervals] = alpha;
        for (int k = 1; k < intervals; k++)
        {
            levels[k] = 2 * k < intervals ? level(k) : -levels[intervals - k];
            if (2 * k == intervals)
            {
                levels[k] = 0;
            }
        }
        return ImmutableArray.Create(levels);
    }

    private static QuantizerDesign Finish(
        QuantizerSpec spec,
        DensityIntegrals integrals,
        double alpha,
        ImmutableArray<double> levels,
        double highResolutionError,
        BiScaledSplit? split = null)
    {
        double bound = 0;
        double variance = 0;
        for (int k = 1; k < levels.Length; k++)
        {
            double width = levels[k] - levels[k - 1];
            bound += integrals.Mass(levels[k - 1], levels[k]) * width * width / 4;
            variance += integrals.CellRoundingVariance(levels[k - 1], levels[k]);
        }
        return new QuantizerDesign(
            spec, integrals.Model, alpha, levels, LevelUnit.Gradient, bound, variance, integrals.TruncationMse(alpha),
            highResolutionError, split);
    }
}
