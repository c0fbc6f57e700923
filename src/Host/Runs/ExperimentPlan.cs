using System.Collections.Immutable;
using Verified.Simulation.Experiments;
using Verified.Theory;

namespace Verified.Host.Runs;

/// <summary>
/// The runs one <c>verified run</c> invocation makes: a single scheme with its full-precision baseline, or a preset
/// that reproduces one of the papers' figures, each repeated over consecutive seeds.
/// </summary>
/// <param name="Name">What the plan is: <c>single</c>, <c>fig-accuracy</c>, <c>fig-tradeoff</c> or <c>heavy-tails</c>.</param>
/// <param name="Runs">The specs, in the order they run.</param>
internal sealed record ExperimentPlan(string Name, ImmutableArray<ExperimentSpec> Runs)
{
    /// <summary>The presets, by name.</summary>
    public static readonly ImmutableArray<string> Presets = ["fig-accuracy", "fig-tradeoff", "heavy-tails"];

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
    /// <param name="preset">null, <c>fig-accuracy</c>, <c>fig-tradeoff</c> or <c>heavy-tails</c>.</param>
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
            _ => throw new ArgumentException($"Unknown preset '{preset}': use {string.Join(" or ", Presets)}.", nameof(preset)),
        };
        ImmutableArray<ExperimentSpec> runs = [.. Enumerable.Range(0, seeds).SelectMany(i => configurations.Select(c => c with { Seed = template.Seed + i }))];
        return new ExperimentPlan(preset ?? "single", runs);
    }

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
