using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Verified.Codec;
using Verified.Codec.Audit;

using Verified.Theory;

namespace Verified.Host.Audit;

/// <summary>
/// The per-segment part of <c>verified audit</c> (<c>--segments tensor|bucket:N|sizes:…</c>): for the detailed
/// gradient, each segment's fitted model, α, designed and measured truncation rate and the share of its energy that
/// truncation removes; for the round's N captured clients, the bias²/variance split of the server's average for each
/// scheme, every upload segmented as <c>verified run --segments</c> sends it.
/// </summary>
/// <param name="Segmentation">As given (<c>tensor</c>, <c>bucket:4096</c>, …).</param>
/// <param name="Fit">The per-segment fit: laplace, lomax or auto.</param>
/// <param name="Segments">Per segment.</param>
/// <param name="Clients">The uploads averaged (0: the round's other clients were not captured).</param>
/// <param name="Averages">Per scheme, the split of the average of <paramref name="Clients"/> uploads.</param>
internal sealed record SegmentsSection(
    string Segmentation, string Fit, ImmutableArray<SegmentFigures> Segments, int Clients, ImmutableArray<(string Label, AveragedErrorSplit Split)> Averages)
{
    /// <summary>Computes the section for <paramref name="gradient"/> and the round's <paramref name="roundUploads"/>.</summary>
    public static SegmentsSection Compute(
        GradientCodec codec, float[] gradient, SegmentLayout layout, string segmentation, string fit, SegmentFitter fitter,
        IReadOnlyList<QuantizerSpec> specs, IReadOnlyList<float[]> roundUploads, ulong seed, int round)
    {
        ImmutableArray<SegmentFigures> segments = SegmentAudit.PerSegment(codec, gradient, layout, specs, fitter);
        var averages = ImmutableArray.CreateBuilder<(string, AveragedErrorSplit)>();
        if (roundUploads.Count > 0)
        {
            foreach (QuantizerSpec spec in specs)
            {
                averages.Add((spec.Label, SegmentAudit.Average(codec, roundUploads, layout, spec, fitter, seed, round)));
            }
        }
        return new SegmentsSection(segmentation, fit, segments, roundUploads.Count, averages.ToImmutable());
    }

    /// <summary>Σ over segments of the energy truncation removes, over the gradient's energy, for scheme <paramref name="index"/>.</summary>
    public double EnergyRemovedShare(int index)
    {
        double removed = 0, energy = 0;
        foreach (SegmentFigures segment in Segments)
        {
            energy += segment.Energy;
            if (!segment.Schemes.IsEmpty)
            {
                removed += segment.Schemes[index].EnergyRemovedShare * segment.Energy;
            }
        }
        return energy > 0 ? removed / energy : 0;
    }

    /// <summary>The report.md section.</summary>
    public void AppendMarkdown(StringBuilder md)
    {
        ArgumentNullException.ThrowIfNull(md);
        void Line(string text = "") => md.Append(text).Append('\n');
        static string N(double value) => TableNumber.Format(value, 5);
        Line(string.Create(CultureInfo.InvariantCulture, $"## Per segment ({Segmentation}, fit {Fit})"));
        Line();
        Line("Each segment is fitted and designed on its own, as `verified run --segments` sends it. \"removed\" is the share of the");
        Line("segment's energy Σg² that truncation takes, Σ(|g| − α)₊²/Σg²: the bias the papers' one-upload objective weighs");
        Line("like rounding variance, though the server's average keeps it.");
        Line();
        if (Segments.IsEmpty || Segments[0].Schemes.IsEmpty && Segments.All(s => s.Schemes.IsEmpty))
        {
            Line("No segment has a model (all zero).");
            Line();
            return;
        }
        ImmutableArray<SegmentSchemeFigures> labels = Segments.First(s => !s.Schemes.IsEmpty).Schemes;
        Line("| segment | coordinates | model | scale | shape ρ | scheme | α | designed P(|g|>α) | measured | removed |");
        Line("|---|---|---|---|---|---|---|---|---|---|");
        foreach (SegmentFigures segment in Segments)
        {
            string range = string.Create(CultureInfo.InvariantCulture, $"{segment.Start}..{segment.Start + segment.Length - 1}");
            if (segment.Model is null)
            {
                Line($"| {segment.Index} | {range} | all zero | | | | | | | |");
                continue;
            }
            foreach (SegmentSchemeFigures scheme in segment.Schemes)
            {
                Line($"| {segment.Index} | {range} | {segment.Model.Kind} | {N(segment.Model.Scale)} | {N(segment.Model.TailShape ?? double.NaN)} | {scheme.Label} | {N(scheme.Alpha)} | {N(scheme.DesignedTruncationRate)} | {N(scheme.MeasuredTruncationRate)} | {N(scheme.EnergyRemovedShare)} |");
            }
        }
        Line();
        Line("Over the whole gradient:");
        Line();
        Line("| scheme | energy removed by truncation |");
        Line("|---|---|");
        for (int i = 0; i < labels.Length; i++)
        {
            Line($"| {labels[i].Label} | {N(EnergyRemovedShare(i))} |");
        }
        Line();
        if (Clients > 0)
        {
            Line(string.Create(CultureInfo.InvariantCulture, $"## The round's average ({Clients} clients)"));
            Line();
            Line("E‖ĝ − ḡ‖² of the server's average ĝ of the round's captured uploads, split into the squared bias ‖b‖² (truncation,");
            Line("or sign's) and the rounding variance; both exact given the uploads, both over ‖ḡ‖². The variance falls as 1/N, the");
            Line("bias does not (docs/theory.md, \"A threshold for the average\").");
            Line();
            Line("| scheme | bias² / ‖ḡ‖² | variance / ‖ḡ‖² | ‖ḡ‖² |");
            Line("|---|---|---|---|");
            foreach ((string label, AveragedErrorSplit split) in Averages)
            {
                Line($"| {label} | {N(split.RelativeBiasSquared)} | {N(split.RelativeVariance)} | {N(split.MeanSquaredNorm)} |");
            }
            Line();
        }
    }

    /// <summary>The report.json part.</summary>
    public SegmentsJson ToJson() => new(
        Segmentation,
        Fit,
        [.. Segments.Select(s => new AuditSegmentJson(
            s.Index, s.Start, s.Length, s.Model?.Kind, s.Model?.Scale, s.Model?.TailShape, s.Energy,
            [.. s.Schemes.Select(f => new SegmentSchemeJson(f.Label, f.Alpha, f.DesignedTruncationRate, f.MeasuredTruncationRate, f.EnergyRemovedShare))]))],
        [.. Segments.FirstOrDefault(s => !s.Schemes.IsEmpty)?.Schemes.Select((f, i) => new SchemeEnergyJson(f.Label, EnergyRemovedShare(i))) ?? []],
        Clients,
        [.. Averages.Select(a => new AverageSplitJson(a.Label, a.Split.BiasSquared, a.Split.Variance, a.Split.MeanSquaredNorm, a.Split.RelativeBiasSquared, a.Split.RelativeVariance))]);
}

/// <summary>report.json's <c>segments</c>.</summary>
internal sealed record SegmentsJson(
    string Segmentation, string Fit, AuditSegmentJson[] Segments, SchemeEnergyJson[] Totals, int Clients, AverageSplitJson[] Averages);

/// <summary>One segment: its model (null when all zero) and each scheme's figures.</summary>
internal sealed record AuditSegmentJson(
    int Index, int Start, int Length, string? Model, double? Scale, double? Shape, double Energy, SegmentSchemeJson[] Schemes);

/// <summary>One scheme on one segment.</summary>
internal sealed record SegmentSchemeJson(string Label, double Alpha, double DesignedTruncationRate, double MeasuredTruncationRate, double EnergyRemovedShare);

/// <summary>One scheme's share of the whole gradient's energy removed by truncation.</summary>
internal sealed record SchemeEnergyJson(string Label, double EnergyRemovedShare);

/// <summary>One scheme's split of the round's average.</summary>
internal sealed record AverageSplitJson(string Label, double BiasSquared, double Variance, double MeanSquaredNorm, double RelativeBiasSquared, double RelativeVariance);
