using Verified.Theory;
using Verified.Theory.Sde;

namespace Verified.Sde;

/// <summary>
/// <c>scaling</c>: the scaling rules of spec §4.5 (§6 item 25). Discrete runs under (η, B, N) and under each rule of
/// <see cref="ScalingRules"/> give loss curves that coincide against rescaled time τ (τ = t = kη for DSGD/DCSGD,
/// τ = κ√B·t/σ for DSignSGD), replica-averaged, within Monte-Carlo error plus the O(η) discretisation gap; a change
/// that breaks the invariant (η → 2η alone) is shown to be caught.
/// </summary>
/// <remarks>
/// Statistic: gap(τ) = (C_a(τ) − C_b(τ))/P_a(τ) on the common τ grid (C the replica-mean loss, P_a the predicted curve
/// of the reference setting), measured = max_τ |gap(τ)|. Tolerance = max_τ |P_a − P_b|/P_a (the two settings'
/// discretisation gap: exact second-moment recursions for DSGD/DCSGD, the moment closure of
/// <see cref="Discretisation.SignLossCurve"/> for DSignSGD) + 5·max_τ SE(gap), SE(gap) = √(SE_a² + SE_b²)/P_a with
/// SE the replica-to-replica standard deviation / √R (replicas are independent, so no autocorrelation enters).
/// </remarks>
public sealed class ScalingExperiment : ISdeExperiment
{
    private const double Lambda = 1;
    private const int Dimension = 10;

    /// <inheritdoc />
    public string Name => "scaling";

    /// <inheritdoc />
    public string Description => "Scaling rules (spec §4.5): loss vs rescaled time coincides under (η, B, N) and each rule's settings.";

    private sealed record Setting(string Label, SdeMethod Method, SdeSettings Settings, double Sigma);

    /// <inheritdoc />
    public SdeReport Run(SdeExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int replicas = options.Quick ? 1000 : 4000;
        const double tauEnd = 3;
        var claims = new List<SdeClaim>();
        var rows = new List<string[]>();
        var series = new List<SdeSeries>();
        int index = 0;

        // DSGD and DCSGD: per-sample σ = 1, x₀ = 1 per coordinate (f₀ = 5, 800× DSGD's floor).
        var dsgd = new Setting("DSGD (η, B, N) = (0.01, 1, 4)", SdeMethod.Dsgd, new SdeSettings(0.01, 1, 4), 1);
        SdeMethod bernoulli = SdeMethod.Dcsgd(new BernoulliSparsification(0.5));
        Setting[] dsgdRules =
        [
            new("DSGD linear batch rule ×2", SdeMethod.Dsgd, ScalingRules.DsgdLinearBatch(dsgd.Settings, 2), 1),
            new("DSGD linear agents rule ×2", SdeMethod.Dsgd, ScalingRules.DsgdLinearAgents(dsgd.Settings, 2), 1),
            new("DCSGD q = 0.5 (ω = 1), B' = (1 + ω)B", bernoulli, ScalingRules.DcsgdCompensateByBatch(dsgd.Settings, 1), 1),
            new("DCSGD q = 0.5 (ω = 1), N' = (1 + ω)N", bernoulli, ScalingRules.DcsgdCompensateByAgents(dsgd.Settings, 1), 1),
            new("DCSGD q = 0.5 (ω = 1), η' = η/(1 + ω)", bernoulli, ScalingRules.DcsgdCompensateByLearningRate(dsgd.Settings, 1), 1),
        ];
        var control = new Setting("control: DSGD η → 2η only (breaks η/(BN))", SdeMethod.Dsgd, dsgd.Settings with { LearningRate = 0.02 }, 1);
        var dsgdLines = new List<SdeLine>();
        double largestAllowance = 0;
        foreach (Setting rule in dsgdRules.Append(control))
        {
            var c = Compare(options, ref index, dsgd, rule, replicas, tauEnd, initialValue: 1);
            bool isControl = ReferenceEquals(rule, control);
            if (!isControl)
            {
                largestAllowance = Math.Max(largestAllowance, c.Allowance);
                claims.Add(SdeClaim.Within(Fmt.I($"{rule.Label}: loss vs t coincides with {dsgd.Label}"), c.MaxGap, 0, c.Allowance + (ExperimentKit.Z * c.MaxSe), c.Note));
            }
            else
            {
                claims.Add(SdeClaim.Exceeds(Fmt.I($"{rule.Label}: loss vs t differs from {dsgd.Label}"), c.MaxGap, largestAllowance + (ExperimentKit.Z * c.MaxSe),
                    Fmt.I($"negative control: passes when the gap exceeds the largest rule tolerance's allowance ({Fmt.Percent(largestAllowance)}) + 5·max SE ({Fmt.Percent(c.MaxSe)}); the predicted floor gap is {Fmt.Percent(c.Allowance)}")));
            }
            rows.Add(Row(dsgd, rule, c));
            if (dsgdLines.Count == 0)
            {
                dsgdLines.Add(c.LineA);
            }
            dsgdLines.Add(c.LineB);
        }
        series.Add(new SdeSeries("dsgd-dcsgd-rules", "DSGD and DCSGD scaling rules: loss against rescaled time under each rule's settings", "t = kη", "loss, replica mean", [.. dsgdLines], LogY: true));

        // DSignSGD: σ = 4 so that x₀ = 0.5 starts in the linear regime (|λx√B/σ| ≤ 0.25 at B = 4).
        var sign = new Setting("DSignSGD (η, B, N) = (0.01, 1, 4)", SdeMethod.DSignSgd, new SdeSettings(0.01, 1, 4), 4);
        Setting[] signRules =
        [
            new("DSignSGD square-root rule (2η, 4B, N)", SdeMethod.DSignSgd, ScalingRules.DSignSgdSquareRoot(sign.Settings, 2), 4),
            new("DSignSGD agents rule (2η, B, 2N)", SdeMethod.DSignSgd, ScalingRules.DSignSgdAgents(sign.Settings, 2), 4),
        ];
        var signLines = new List<SdeLine>();
        foreach (Setting rule in signRules)
        {
            var c = Compare(options, ref index, sign, rule, replicas, tauEnd, initialValue: 0.5);
            claims.Add(SdeClaim.Within(Fmt.I($"{rule.Label}: loss vs τ = κ√B·t/σ coincides with {sign.Label}"), c.MaxGap, 0, c.Allowance + (ExperimentKit.Z * c.MaxSe), c.Note));
            rows.Add(Row(sign, rule, c));
            if (signLines.Count == 0)
            {
                signLines.Add(c.LineA);
            }
            signLines.Add(c.LineB);
        }
        series.Add(new SdeSeries("dsignsgd-rules", "DSignSGD scaling rule: loss against rescaled time under each rule's settings", "τ = κ√B·t/σ", "loss, replica mean", [.. signLines], LogY: true));

        return new SdeReport(
            Name,
            Description,
            [
                Fmt.P("seed", options.Seed),
                Fmt.P("quick", options.Quick),
                Fmt.P("problem", Fmt.I($"d = {Dimension}, λ = {Lambda}, Gaussian noise σ per sample (σ/√B per agent)")),
                Fmt.P("DSGD/DCSGD", "σ = 1, x₀ = 1 per coordinate, base (η, B, N) = (0.01, 1, 4), t ∈ [0, 3]"),
                Fmt.P("DSignSGD", "σ = 4, x₀ = 0.5 per coordinate, base (η, B, N) = (0.01, 1, 4), τ ∈ [0, 3]"),
                Fmt.P("replicas", replicas),
                Fmt.P("statistic", "max over the common time grid of |C_a − C_b|/P_a (relative gap of replica-mean loss curves)"),
                Fmt.P("tolerance", "max |P_a − P_b|/P_a (predicted discretisation gap) + 5·max SE of the gap (replica spread/√R)"),
            ],
            [Fmt.Table("Scaling rules: relative gap of replica-mean loss curves over the common time grid",
                ["reference", "rule", "(η, B, N, ω)", "steps", "max |gap|", "max SE", "predicted gap (allowance)", "gap at end"], rows)],
            [.. series],
            [.. claims]);
    }

    private static string[] Row(Setting a, Setting b, Comparison c) =>
    [
        a.Label,
        b.Label,
        Fmt.I($"({Fmt.N(b.Settings.LearningRate)}, {Fmt.N(b.Settings.Batch)}, {Fmt.N(b.Settings.Agents)}, {Fmt.N(b.Settings.Omega)})"),
        Fmt.I($"{c.StepsA} vs {c.StepsB}"),
        Fmt.Percent(c.MaxGap),
        Fmt.Percent(c.MaxSe),
        Fmt.Percent(c.Allowance),
        Fmt.Pct(c.EndGap),
    ];

    private sealed record Comparison(double MaxGap, double MaxSe, double Allowance, double EndGap, int StepsA, int StepsB, SdeLine LineA, SdeLine LineB, string Note);

    private static Comparison Compare(SdeExperimentOptions options, ref int index, Setting a, Setting b, int replicas, double tauEnd, double initialValue)
    {
        double ua = TimeScale(a) * a.Settings.LearningRate;
        double ub = TimeScale(b) * b.Settings.LearningRate;
        double grid = 4 * Math.Max(ua, ub);
        int everyA = Exact(grid / ua);
        int everyB = Exact(grid / ub);
        int points = (int)Math.Round(tauEnd / grid);
        TestBedResult ra = ExperimentKit.Run(options, index++, MakeRun(a, points * everyA, everyA, replicas, initialValue));
        TestBedResult rb = ExperimentKit.Run(options, index++, MakeRun(b, points * everyB, everyB, replicas, initialValue));
        double[] pa = Predicted(a, points * everyA, everyA, initialValue);
        double[] pb = Predicted(b, points * everyB, everyB, initialValue);
        double maxGap = 0, maxSe = 0, allowance = 0;
        for (int k = 1; k <= points; k++)
        {
            double gap = Math.Abs(ra.MeanLoss[k] - rb.MeanLoss[k]) / pa[k];
            double se = Math.Sqrt((ra.LossStandardError[k] * ra.LossStandardError[k]) + (rb.LossStandardError[k] * rb.LossStandardError[k])) / pa[k];
            maxGap = Math.Max(maxGap, gap);
            maxSe = Math.Max(maxSe, se);
            allowance = Math.Max(allowance, Math.Abs(pa[k] - pb[k]) / pa[k]);
        }
        double endGap = (rb.MeanLoss[points] - ra.MeanLoss[points]) / pa[points];
        double[] tau = [.. Enumerable.Range(0, points + 1).Select(k => k * grid)];
        string note = Fmt.I($"tolerance = predicted discretisation gap {Fmt.Percent(allowance)} + 5·max SE {Fmt.Percent(maxSe)}; {replicas} replicas, {points} grid points");
        return new Comparison(maxGap, maxSe, allowance, endGap, points * everyA, points * everyB,
            new SdeLine(a.Label, [.. tau], ra.MeanLoss, ra.LossStandardError),
            new SdeLine(b.Label, [.. tau], rb.MeanLoss, rb.LossStandardError),
            note);
    }

    private static int Exact(double ratio)
    {
        int rounded = (int)Math.Round(ratio);
        return Math.Abs(ratio - rounded) < 1e-9 * ratio
            ? rounded
            : throw new InvalidOperationException($"The time grid does not fall on whole steps (ratio {ratio}).");
    }

    /// <summary>dτ/dt: 1 for DSGD/DCSGD, κ√B/σ for DSignSGD (ScalingRules.DSignSgdTimeScale).</summary>
    private static double TimeScale(Setting s) => s.Method is DSignSgdMethod
        ? ScalingRules.DSignSgdTimeScale(s.Settings, NoiseModel.Gaussian(s.Sigma))
        : 1;

    private static QuadraticProblem Problem(Setting s) =>
        new(Dimension, Lambda, (int)Math.Round(s.Settings.Agents), s.Settings.Batch, NoiseModel.Gaussian(s.Sigma));

    private static TestBedRun MakeRun(Setting s, int steps, int every, int replicas, double initialValue) =>
        new(Problem(s), s.Method, Integrator.Discrete, s.Settings.LearningRate, steps, 0, replicas, initialValue, RecordEvery: every, Batches: 2);

    private static double[] Predicted(Setting s, int steps, int every, double initialValue)
    {
        QuadraticProblem p = Problem(s);
        NoiseModel noise = p.AgentNoise;
        return s.Method is DSignSgdMethod
            ? Discretisation.SignLossCurve(s.Settings.LearningRate, Lambda, p.Agents, Dimension, noise.Scale, noise.Kappa, noise.DegreesOfFreedom, initialValue, steps, every)
            : Discretisation.LinearLossCurve(s.Settings.LearningRate, Lambda, p.Agents, Dimension, s.Method.Omega(Dimension), noise.Variance, initialValue, steps, every);
    }
}
