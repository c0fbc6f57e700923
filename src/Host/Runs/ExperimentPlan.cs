using System.Collections.Immutable;
using Verified.Simulation.Experiments;
using Verified.Theory;

namespace Verified.Host.Runs;

/// <summary>
/// The runs one <c>verified run</c> invocation makes: a single scheme with its full-precision baseline, or a preset
/// that reproduces one of the papers' figures, each repeated over consecutive seeds.
/// </summary>
/// <param name="Name">What the plan is: <c>single</c> or one of <see cref="Presets"/>.</param>
/// <param name="Runs">The specs, in the order they run.</param>
internal sealed record ExperimentPlan(string Name, ImmutableArray<ExperimentSpec> Runs)
{
    /// <summary>The presets, by name.</summary>
    public static readonly ImmutableArray<string> Presets = ["fig-accuracy", "fig-tradeoff", "heavy-tails", "papers-accuracy", "papers-tradeoff", "papers-model", "papers-scaling"];

    /// <summary>
    /// The presets of the fair re-measurement (docs/results.md): each arm fixes its scheme, bits, segments, fit, threshold
    /// and error feedback, so the options that set those are not used with them; the rest of the template (data set,
    /// clients, batch, learning rate, noise, …) applies to every arm.
    /// </summary>
    public static readonly ImmutableArray<string> PaperPresets = ["papers-accuracy", "papers-tradeoff", "papers-model", "papers-scaling"];

    /// <summary>
    /// What a preset runs by default where the command line and a --config file say nothing: papers-accuracy 300 rounds
    /// × 5 seeds, papers-tradeoff 300 × 3, papers-model (AlexNet) 200 × 3, papers-scaling 200 × 3; the older presets
    /// take the run defaults.
    /// </summary>
    public static PresetDefaults DefaultsOf(string preset) => preset switch
    {
        "papers-accuracy" => new PresetDefaults(300, 5, null),
        "papers-tradeoff" => new PresetDefaults(300, 3, null),
        "papers-model" => new PresetDefaults(200, 3, "alexnet"),
        "papers-scaling" => new PresetDefaults(200, 3, null),
        _ => new PresetDefaults(null, null, null),
    };

    /// <summary>The schemes of the heavy-tails preset besides full precision: the two remedies and the unbiased baseline.</summary>
    public static readonly ImmutableArray<string> HeavyTailSchemes = [Schemes.Sign.Name, Schemes.Qsgd.Name, Schemes.TruncatedNonUniform.Name];

    /// <summary>
    /// The schemes the figures compare (P2 §3.5: the truncated schemes against QSGD and NQSGD): every scheme of the
    /// vocabulary that takes a bit width.
    /// </summary>
    public static readonly ImmutableArray<string> FigureSchemes = [.. Schemes.All.Where(s => s.TakesBits).Select(s => s.Name)];

    /// <summary>The bit widths of the trade-off figure.</summary>
    public static readonly ImmutableArray<int> TradeoffBits = [2, 3, 4, 5];

    /// <summary>
    /// The plan for <paramref name="preset"/> (null: the single run of <paramref name="template"/>), over
    /// <paramref name="seeds"/> seeds starting at the template's.
    /// </summary>
    /// <param name="preset">null or one of <see cref="Presets"/>.</param>
    /// <param name="template">Every field but scheme and bits comes from it (and, for a single run, those too).</param>
    /// <param name="seeds">How many seeds. Range: 1..100.</param>
    /// <param name="baseline">A single run also runs full precision with the same settings (unless it is fp).</param>
    public static ExperimentPlan Create(string? preset, ExperimentSpec template, int seeds, bool baseline)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(seeds, 100);
        ExperimentSpec fp = FullPrecisionOf(template);
        IEnumerable<ExperimentSpec> configurations = preset switch
        {
            null => baseline && template.Scheme != "fp" ? [template, fp] : [template],
            // P1 §2.5 / P2 §3.5: test accuracy against rounds, every scheme at 3 bits, and full precision.
            "fig-accuracy" => [fp, .. FigureSchemes.Select(s => WithScheme(template, s, 3)), WithScheme(template, "sign")],
            // P2: final accuracy against total uploaded bits, b = 2..5 for each scheme; full precision as the reference.
            "fig-tradeoff" => [fp, .. FigureSchemes.SelectMany(s => TradeoffBits.Select(b => WithScheme(template, s, b)))],
            // P3 against P1/P2 (issue 6): under the template's gradient noise, full precision, sign compression, unbiased
            // QSGD and truncated TNQSGD at the template's bits.
            "heavy-tails" => [fp, .. HeavyTailSchemes.Select(s => WithScheme(template, s))],
            "papers-accuracy" => PapersAccuracy(template),
            "papers-tradeoff" => [fp, .. TradeoffBits.SelectMany(b => PerTensorArms(template, b))],
            "papers-model" => [fp, .. PapersModelArms(template)],
            "papers-scaling" => [fp, .. PapersScalingArms(template)],
            _ => throw new ArgumentException($"Unknown preset '{preset}': use {string.Join(" or ", Presets)}.", nameof(preset)),
        };
        ImmutableArray<ExperimentSpec> runs = [.. Enumerable.Range(0, seeds).SelectMany(i => configurations.Select(c => c with { Seed = template.Seed + i }))];
        return new ExperimentPlan(preset ?? "single", runs);
    }

    /// <summary>
    /// Figure 1 of the fair re-measurement (P1 §2.5, P2 §3.5: accuracy against rounds at 3 bits): full precision; QSGD
    /// and NUQSGD whole and per tensor; TNQSGD whole (one Laplace fit of the whole upload, the earlier default), then per
    /// tensor with the Laplace fit, with the fit chosen per tensor (auto), with error feedback, and with the averaged
    /// threshold (each one change from per tensor with Laplace); TUQSGD and TBQSGD per tensor with auto.
    /// </summary>
    private static IEnumerable<ExperimentSpec> PapersAccuracy(ExperimentSpec template)
    {
        const int bits = 3;
        ExperimentSpec Arm(string scheme, string segments, string fit = ExperimentSpec.DefaultFit, bool errorFeedback = false, string threshold = ExperimentSpec.DefaultThreshold) =>
            FullPrecisionOf(template) with { Scheme = scheme, Bits = bits, Segments = segments, Fit = fit, ErrorFeedback = errorFeedback, Threshold = threshold };
        yield return FullPrecisionOf(template);
        foreach (string unbiased in new[] { Schemes.Qsgd.Name, Schemes.Nuqsgd.Name })
        {
            yield return Arm(unbiased, ExperimentSpec.DefaultSegments);
            yield return Arm(unbiased, PerTensor);
        }
        yield return Arm(Schemes.TruncatedNonUniform.Name, ExperimentSpec.DefaultSegments);
        yield return Arm(Schemes.TruncatedNonUniform.Name, PerTensor);
        yield return Arm(Schemes.TruncatedNonUniform.Name, PerTensor, fit: BestFit);
        yield return Arm(Schemes.TruncatedNonUniform.Name, PerTensor, errorFeedback: true);
        yield return Arm(Schemes.TruncatedNonUniform.Name, PerTensor, threshold: "averaged");
        yield return Arm(Schemes.TruncatedUniform.Name, PerTensor, fit: BestFit);
        yield return Arm(Schemes.TruncatedBiScaled.Name, PerTensor, fit: BestFit);
    }

    /// <summary>Figure 2's arms at <paramref name="bits"/>: QSGD and NUQSGD per tensor, the truncated schemes per tensor with auto.</summary>
    private static IEnumerable<ExperimentSpec> PerTensorArms(ExperimentSpec template, int bits) =>
        new[] { Schemes.Qsgd.Name, Schemes.Nuqsgd.Name, Schemes.TruncatedNonUniform.Name, Schemes.TruncatedUniform.Name, Schemes.TruncatedBiScaled.Name }
            .Select(scheme => FullPrecisionOf(template) with
            {
                Scheme = scheme,
                Bits = bits,
                Segments = PerTensor,
                Fit = Schemes.TryFind(scheme, out SchemeDefinition? definition, out _) && definition.Truncates ? BestFit : ExperimentSpec.DefaultFit,
            });

    /// <summary>The papers' model's arms (3 bits): NUQSGD, TUQSGD and TNQSGD per tensor (the truncated ones with auto).</summary>
    private static IEnumerable<ExperimentSpec> PapersModelArms(ExperimentSpec template) =>
        PerTensorArms(template, 3).Where(s => s.Scheme is "nuqsgd" or "tuq" or "tnq");

    /// <summary>The keep probabilities of the scaling preset's unbiased sparsifier: compression variance ω = 1/q − 1 = 1 and 3.</summary>
    public static readonly ImmutableArray<double> ScalingKeepProbabilities = [0.5, 0.25];

    /// <summary>The square-root rule's κ in the scaling preset: (η, B) → (κη, κ²B).</summary>
    public const int SignScalingFactor = 2;

    /// <summary>
    /// The SDE paper's scaling rules on a network (P3; spec §4.5), each arm at the template's learning rate η and batch B
    /// unless it says otherwise:
    /// <list type="bullet">
    /// <item>DCSGD with Bernoulli sparsification at q (ω = 1/q − 1), first at (η, B), then with the rule that recovers
    /// DSGD(η, B, N) at the same η and the same number of steps: B' = (1 + ω)B = B/q. The rule's invariant is
    /// η(1 + ω)/(BN) (spec §4.5); it scales the batch only.</item>
    /// <item>DSignSGD (unit signs) at (η, B), then with its square-root rule (κη, κ²B), κ = <see cref="SignScalingFactor"/>:
    /// in the SDE's time t = kη the drift and the squared diffusion both grow by κ, so with s = κt the SDE is unchanged:
    /// step k of the rule sits at the original's time κ²kη, and in r rounds it should reach what (η, B) reaches in κ²r
    /// (in the linear regime |∇f| ≪ σ of spec §4.4; far from it sign's drift is −sign(∇f), and the gain per round is κ).</item>
    /// </list>
    /// Momentum, weight decay and the rest come from the template unchanged (the SDEs are derived for plain SGD).
    /// </summary>
    private static IEnumerable<ExperimentSpec> PapersScalingArms(ExperimentSpec template)
    {
        ExperimentSpec fp = FullPrecisionOf(template);
        foreach (double keep in ScalingKeepProbabilities)
        {
            string scheme = "bernoulli:" + keep.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            yield return fp with { Scheme = scheme };
            yield return fp with { Scheme = scheme, BatchSize = (int)Math.Round(template.BatchSize / keep) };
        }
        yield return fp with { Scheme = Schemes.UnitSign.Name };
        yield return fp with
        {
            Scheme = Schemes.UnitSign.Name,
            LearningRate = SignScalingFactor * template.LearningRate,
            BatchSize = SignScalingFactor * SignScalingFactor * template.BatchSize,
        };
    }

    /// <summary>The segmentation of the per-tensor arms: one design per parameter tensor, as the papers' compressors.</summary>
    public const string PerTensor = "tensor";

    /// <summary>The fit of the per-tensor truncated arms: Laplace or Lomax per upload and tensor, by BIC.</summary>
    public const string BestFit = "auto";

    /// <summary>
    /// The full-precision reference of <paramref name="template"/>: plain float32 as one whole vector, so segments, error
    /// feedback, threshold and fit go back to their defaults (fp takes no threshold, and its uploads lose nothing to feed
    /// back or to segment).
    /// </summary>
    public static ExperimentSpec FullPrecisionOf(ExperimentSpec template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return template with
        {
            Scheme = Schemes.FullPrecision.Name,
            ErrorFeedback = false,
            Threshold = ExperimentSpec.DefaultThreshold,
            Fit = ExperimentSpec.DefaultFit,
            Segments = ExperimentSpec.DefaultSegments,
        };
    }

    /// <summary>
    /// <paramref name="template"/> with another scheme (and bits): error feedback and segments carry over to every scheme;
    /// a threshold, fit or segmentation the scheme cannot take (a threshold on qsgd, relaxed on tnq, averaged on tbq,
    /// lomax on sign, segments on a sparsifier) goes back to its default, so that a preset still runs every scheme it names.
    /// </summary>
    public static ExperimentSpec WithScheme(ExperimentSpec template, string scheme, int? bits = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ExperimentSpec spec = template with { Scheme = scheme, Bits = bits ?? template.Bits };
        ImmutableArray<ExperimentSpecError> errors = spec.Validate();
        if (errors.Any(e => e.Field == "threshold"))
        {
            spec = spec with { Threshold = ExperimentSpec.DefaultThreshold };
        }
        if (errors.Any(e => e.Field == "fit"))
        {
            spec = spec with { Fit = ExperimentSpec.DefaultFit };
        }
        if (errors.Any(e => e.Field == "segments"))
        {
            spec = spec with { Segments = ExperimentSpec.DefaultSegments };
        }
        return spec;
    }
}

/// <summary>A preset's own defaults; null: the run's default.</summary>
internal sealed record PresetDefaults(int? Rounds, int? Seeds, string? Model);
