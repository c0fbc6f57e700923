using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Verified.Codec.Audit;
using Verified.Theory;

namespace Verified.Host.Audit;

/// <summary>
/// The files of one <c>verified audit</c>: report.md (for people), report.json (every figure report.md shows, at full
/// precision, and more) and the PNG figures of <see cref="AuditPlots"/>.
/// </summary>
/// <remarks>The detailed sections describe the last audited gradient (for a run: the last captured round); a run adds
/// the drift of the fits, thresholds and error ratios over all its audited rounds.</remarks>
internal sealed class AuditReport(
    string directory, IReadOnlyList<(AuditInput Input, GradientAuditResult Result)> audits, string commandLine, Provenance provenance,
    SegmentsSection? segments = null)
{
    /// <summary>The per-segment section (<c>--segments</c>), for the detailed gradient; null when not asked.</summary>
    public SegmentsSection? Segments { get; } = segments;

    public string Directory { get; } = Path.GetFullPath(directory);

    public IReadOnlyList<(AuditInput Input, GradientAuditResult Result)> Audits { get; } = audits;

    public string MarkdownPath => Path.Combine(Directory, "report.md");

    public string JsonPath => Path.Combine(Directory, "report.json");

    /// <summary>The gradient the detailed sections describe.</summary>
    public (AuditInput Input, GradientAuditResult Result) Detailed => Audits[^1];

    /// <summary>Where the audit comes from; <see cref="Write"/> sets its end time.</summary>
    public Provenance Provenance { get; private set; } = provenance;

    /// <summary>Whether the audit covers several rounds of a run.</summary>
    public bool IsRun => Audits.Count > 1 || Audits[0].Input.Round is not null;

    /// <summary>Writes everything; returns the paths. Plots that fail are reported on <paramref name="error"/>, not thrown.</summary>
    public IReadOnlyList<string> Write(TextWriter error)
    {
        Provenance = Provenance.EndingAt(DateTimeOffset.UtcNow);
        var written = new List<string>();
        IReadOnlyList<string> plots;
        try
        {
            plots = AuditPlots.Write(this);
        }
#pragma warning disable CA1031 // A figure that cannot be drawn must not lose the report; say why and go on.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            error.WriteLine($"verified audit: the figures could not be drawn ({exception.GetType().Name}: {exception.Message}); report.md and report.json are complete.");
            plots = [];
        }
        File.WriteAllText(MarkdownPath, Markdown(plots.Select(Path.GetFileName).ToArray()!), new UTF8Encoding(false));
        File.WriteAllBytes(JsonPath, Json());
        written.Add(MarkdownPath);
        written.Add(JsonPath);
        written.AddRange(plots);
        return written;
    }

    /// <summary>One line for the console.</summary>
    public string Headline()
    {
        GradientAuditResult r = Detailed.Result;
        int flagged = r.Schemes.Sum(s => s.Figures.Count(f => f.Flagged));
        int figures = r.Schemes.Sum(s => s.Figures.Length);
        return string.Create(CultureInfo.InvariantCulture,
            $"verified audit: {AuditInputs.Describe(Detailed.Input)}: chose {r.Fit.Chosen} ({r.Fit.Reason}); {flagged} of {figures} figures outside their bands ({Causes(r)})");
    }

    private static string Causes(GradientAuditResult r)
    {
        var groups = r.Schemes.SelectMany(s => s.Figures).Where(f => f.Flagged).GroupBy(f => f.Cause).Select(g => $"{g.Key}: {g.Count()}").ToArray();
        return groups.Length == 0 ? "none" : string.Join(", ", groups);
    }

    // ---- Markdown ----------------------------------------------------------------------------------------------

    /// <summary>A number as report.md shows it: <see cref="TableNumber"/> at five decimals.</summary>
    public static string Number(double value) => TableNumber.Format(value, 5);

    private static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    private string Markdown(string[] plots)
    {
        (AuditInput input, GradientAuditResult r) = Detailed;
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        string Png(string name) => plots.Contains(name) ? $"![{name}]({name})" : $"({name} could not be drawn)";

        Line($"# Codec audit: {AuditInputs.Describe(input)}");
        Line();
        Line($"Made by `{commandLine}`. Every number below is also in `report.json`, at full precision.");
        Line();
        Line("## Gradient");
        Line();
        Line("| d | mean square (1/d)‖g‖² | draws R | z |");
        Line("|---|---|---|---|");
        Line($"| {Integer(r.Dimension)} | {Number(r.MeanSquare)} | {Integer(r.Options.Draws)} | {Number(r.Options.Z)} |");
        Line();

        Line("## Model fits");
        Line();
        Line("Both models are fitted to |g| and scored on all d coordinates (spec §2.1, §3.2(a)). The Lomax MLE runs on an even");
        Line("stride of the coordinates when d is large (see `lomaxFitSize` in report.json). KS is sup |G_d − G| of |g|; the");
        Line("5% Kolmogorov critical value 1.358/√d assumes a fully specified model and is a lenient reference.");
        Line();
        Line("| model | scale | shape ρ | log-likelihood | BIC | KS distance | KS 5% critical |");
        Line("|---|---|---|---|---|---|---|");
        foreach (ModelFitReport m in r.Fit.Models)
        {
            Line($"| {m.Kind}{(m.Note is null ? "" : " (no design)")} | {Number(m.Scale)} | {(m.Shape is { } s ? Number(s) : "–")} | {Number(m.LogLikelihood)} | {Number(m.Bic)} | {Number(m.KsDistance)} | {Number(r.Fit.KsCriticalValue)} |");
        }
        Line();
        Line("| Hill k | Hill tail index ξ̂ | its SE | implied ρ = ξ̂ + 1 |");
        Line("|---|---|---|---|");
        Line($"| {Integer(r.Fit.Hill.TailCount)} | {Number(r.Fit.Hill.TailIndex)} | {Number(r.Fit.Hill.StandardError)} | {Number(r.Fit.Hill.TailIndex + 1)} |");
        Line();
        Line($"**Chosen: {r.Fit.Chosen}**, {r.Fit.Reason}.{string.Concat(r.Fit.Models.Where(m => m.Note is not null).Select(m => $" {m.Kind}: {m.Note}."))}");
        Line();
        Line(Png("histogram.png"));
        Line();
        Line(Png("qq.png"));
        Line();

        Line("## Measured against predicted");
        Line();
        Line("Per coordinate. *measured*: from R encodings with keys (seed, r, 0). *given g*: its exact expectation over the");
        Line("rounding for this very vector (`ConditionalError`). *predicted*: the design's figure under the chosen model.");
        Line("*codec band*: z·(exact Monte-Carlo SE of the R draws) + float32 rounding allowance; a measurement outside it");
        Line("is the codec's fault. *model band*: z·predicted·sd of given/predicted − 1 from a parametric bootstrap of");
        Line("fit → design under the fitted model, scaled to d; given g outside it is the model fit's fault.");
        Line("The bias ‖E[ĝ] − g‖²/d is estimated as (1/d)‖ḡ − g‖² − V_g/R, whose expectation is exactly the truncation");
        Line("error given g, T_g = (1/d)Σ(|g| − α)₊² (E(1/d)‖ḡ − g‖² = T_g + V_g/R for an unbiased rounding of clip(g)).");
        Line();
        Line("| scheme | figure | measured | given g | predicted | ratio | codec band ± | model band ± | flag |");
        Line("|---|---|---|---|---|---|---|---|---|");
        foreach (SchemeAudit s in r.Schemes)
        {
            foreach (AuditFigure f in s.Figures)
            {
                string flag = f.Flagged ? $"**{f.Cause}**" : "ok";
                // Byte counts are integers; G4 would round them.
                Func<double, string> format = f.Name == AuditFigure.Bytes ? v => Integer((long)v) : Number;
                Line($"| {s.Label} | {f.Name} | {format(f.Measured)} | {format(f.GivenGradient)} | {format(f.Predicted)} | {Number(f.Ratio)} | {Number(CodecBand(f))} | {Number(ModelBand(f))} | {flag} |");
            }
        }
        Line();
        Line(Png("errors.png"));
        Line();

        Line("## Bits and the error bound");
        Line();
        Line("Bytes are the payloads' real lengths (60-byte header + ⌈d·b/8⌉, spec §1.6); the ratio is against float32.");
        Line("J is the design's bound Σ P_kΔ_k²/4 + M(α) (QSGD/NUQSGD: their published bound).");
        Line();
        Line("| scheme | α | bits/coordinate | bytes | ratio vs float32 | measured MSE | J bound | MSE ≤ J | MSE / mean square |");
        Line("|---|---|---|---|---|---|---|---|---|");
        foreach (SchemeAudit s in r.Schemes)
        {
            double mse = s.Figure(AuditFigure.MeanSquaredError)!.Measured;
            Line($"| {s.Label} | {Number(s.Design.Alpha)} | {Number(s.BitsPerCoordinate)} | {Integer(s.Bytes)} | {Number(s.CompressionRatio)} | {Number(mse)} | {Number(s.ErrorBound)} | {(s.WithinErrorBound ? "yes" : "**no**")} | {Number(mse / r.MeanSquare)} |");
        }
        Line();
        Line(Png("tradeoff.png"));
        Line();

        var flagged = r.Schemes.SelectMany(s => s.Figures.Where(f => f.Flagged).Select(f => (s, f))).ToArray();
        Line("## Flags");
        Line();
        if (flagged.Length == 0)
        {
            Line("Every figure is within its band.");
        }
        else
        {
            foreach (var group in flagged.GroupBy(x => x.f.Cause))
            {
                Line($"- **{group.Key}** ({Integer(group.Count())}): {string.Join(", ", group.Select(x => $"{x.s.Label} {x.f.Name}"))}");
            }
            Line();
            Line("*model fit*: the codec did what the rounding must do to this vector, but the vector is not distributed as the");
            Line("model says, so the design's prediction misses. *codec*: the codec's output differs from what its own levels");
            Line("must give for this vector — a codec bug.");
        }
        Line();

        if (IsRun)
        {
            Line("## Drift over rounds");
            Line();
            Line("One row per audited gradient. γ̂: Laplace scale; σ̂, ρ̂: Lomax fit; ξ̂: Hill tail index. For each scheme the");
            Line("threshold α and the MSE ratio measured / predicted.");
            Line();
            string[] labels = [.. Audits[0].Result.Schemes.Select(s => s.Label)];
            // Only the truncated schemes have a threshold.
            string[] truncated = [.. Audits[0].Result.Schemes.Where(s => s.Spec is TruncatedSpec).Select(s => s.Label)];
            Line($"| run | round | client | chosen | γ̂ | σ̂ | ρ̂ | ξ̂ | KS laplace | KS lomax | {string.Join(" | ", truncated.Select(l => $"α {l}"))} | {string.Join(" | ", labels.Select(l => $"ratio {l}"))} |");
            Line($"|{string.Concat(Enumerable.Repeat("---|", 10 + truncated.Length + labels.Length))}");
            foreach ((AuditInput i, GradientAuditResult a) in Audits)
            {
                ModelFitReport laplace = a.Fit.Models[0], lomax = a.Fit.Models[1];
                Line($"| {i.Label} | {(i.Round is { } round ? Integer(round) : "–")} | {(i.Client is { } c ? Integer(c) : "–")} | {a.Fit.Chosen} | {Number(laplace.Scale)} | {Number(lomax.Scale)} | {Number(lomax.Shape ?? double.NaN)} | {Number(a.Fit.Hill.TailIndex)} | {Number(laplace.KsDistance)} | {Number(lomax.KsDistance)} | {string.Join(" | ", a.Schemes.Where(s => s.Spec is TruncatedSpec).Select(s => Number(s.Design.Alpha)))} | {string.Join(" | ", a.Schemes.Select(s => Number(s.Figure(AuditFigure.MeanSquaredError)!.Ratio)))} |");
            }
            Line();
            foreach (string name in new[] { "drift-tail.png", "drift-alpha.png", "drift-ratio.png" })
            {
                Line(Png(name));
                Line();
            }
        }
        Segments?.AppendMarkdown(md);

        Line("## Provenance");
        Line();
        foreach (string line in Provenance.MarkdownLines())
        {
            Line(line);
        }
        return md.ToString();
    }

    /// <summary>The half-width of the codec band: z·SE + tolerance.</summary>
    public static double CodecBand(AuditFigure f) => (f.Z * f.CodecStandardError) + f.CodecTolerance;

    /// <summary>The half-width of the model band: z·SE.</summary>
    public static double ModelBand(AuditFigure f) => f.Z * f.ModelStandardError;

    // ---- JSON --------------------------------------------------------------------------------------------------

    private byte[] Json() => JsonSerializer.SerializeToUtf8Bytes(
        new AuditJson(commandLine, Audits.Count - 1, [.. Audits.Select(a => AuditEntry(a.Input, a.Result))], Provenance, Segments?.ToJson()),
        HostJson.Context.AuditJson);

    private static AuditEntryJson AuditEntry(AuditInput input, GradientAuditResult r) => new(
        input.Path,
        input.Label,
        input.Round,
        input.Client,
        r.Dimension,
        r.MeanSquare,
        new AuditOptionsJson(r.Options.Draws, r.Options.Seed, r.Options.Z, r.Options.BootstrapReplicates, r.Options.BootstrapSize, r.Fit.LomaxFitSize),
        new AuditFitJson(
            r.Fit.Chosen,
            r.Fit.Reason,
            r.Fit.DesignModel.Scale,
            r.Fit.DesignModel.TailShape,
            r.Fit.KsCriticalValue,
            new HillJson(r.Fit.Hill.TailCount, r.Fit.Hill.TailIndex, r.Fit.Hill.StandardError, r.Fit.Hill.TailIndex + 1),
            [.. r.Fit.Models.Select(m => new ModelFitJson(
                m.Kind,
                m.Model is not null,
                m.Scale,
                m.Shape,
                m.Parameters,
                m.LogLikelihood,
                m.Bic,
                m.KsDistance,
                m.Note,
                [.. m.QuantilePairs.Select(p => new[] { p.TailProbability, p.Model, p.Sample })]))]),
        [.. r.Schemes.Select(s => new SchemeAuditJson(
            s.Label,
            s.Spec.Name,
            s.Spec.BitsPerCoordinate,
            s.Design.Alpha,
            [.. s.Levels],
            s.Bytes,
            s.BitsPerCoordinate,
            s.CompressionRatio,
            s.ErrorBound,
            s.WithinErrorBound,
            s.Figure(AuditFigure.MeanSquaredError)!.Measured / r.MeanSquare,
            s.RawSquaredBias,
            s.Draws,
            [.. s.Figures.Select(f => new AuditFigureJson(
                f.Name,
                f.Measured,
                f.GivenGradient,
                f.Predicted,
                f.Ratio,
                f.CodecStandardError,
                f.CodecTolerance,
                CodecBand(f),
                f.ModelStandardError,
                ModelBand(f),
                f.CodecWithin,
                f.ModelWithin,
                f.Flagged,
                f.Cause))]))]);
}

/// <summary>report.json: the command, which audit the detailed sections of report.md describe, every audit, the
/// provenance (its data files are the audited gradient files) and the per-segment section (null when not asked).</summary>
internal sealed record AuditJson(string Command, int DetailedIndex, AuditEntryJson[] Audits, Provenance Provenance, SegmentsJson? Segments);

/// <summary>One audited gradient of <see cref="AuditJson"/>; round and client are null for a lone file.</summary>
internal sealed record AuditEntryJson(
    string File, string Label, int? Round, int? Client, int Dimension, double MeanSquare, AuditOptionsJson Options, AuditFitJson Fit, SchemeAuditJson[] Schemes);

/// <summary>The audit's options, and the coordinates the Lomax MLE ran on.</summary>
internal sealed record AuditOptionsJson(int Draws, ulong Seed, double Z, int BootstrapReplicates, int BootstrapSize, int LomaxFitSize);

/// <summary>The model fits and the chosen one.</summary>
internal sealed record AuditFitJson(
    string Chosen, string Reason, double DesignScale, double? DesignShape, double KsCriticalValue, HillJson Hill, ModelFitJson[] Models);

/// <summary>The Hill estimate of the tail index, and the shape ρ = ξ̂ + 1 it implies.</summary>
internal sealed record HillJson(int TailCount, double TailIndex, double StandardError, double ImpliedShape);

/// <summary>One fitted model; <paramref name="Qq"/> holds [tail probability, model quantile, sample quantile] triples.</summary>
/// <remarks><c>Note</c>: why the model cannot be designed for; absent when it can.</remarks>
internal sealed record ModelFitJson(
    string Kind,
    bool Designable,
    double Scale,
    double? Shape,
    int Parameters,
    double LogLikelihood,
    double Bic,
    double KsDistance,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note,
    double[][] Qq);

/// <summary>One scheme's audit: its design, bytes, error bound and figures.</summary>
internal sealed record SchemeAuditJson(
    string Label,
    string Scheme,
    int Bits,
    double Alpha,
    double[] Levels,
    long Bytes,
    double BitsPerCoordinate,
    double CompressionRatio,
    double ErrorBound,
    bool WithinErrorBound,
    double MseOverMeanSquare,
    double RawSquaredBias,
    int Draws,
    AuditFigureJson[] Figures);

/// <summary>One measured figure against its prediction, with both bands and the verdict.</summary>
internal sealed record AuditFigureJson(
    string Name,
    double Measured,
    double GivenGradient,
    double Predicted,
    double Ratio,
    double CodecStandardError,
    double CodecTolerance,
    double CodecBand,
    double ModelStandardError,
    double ModelBand,
    bool CodecWithin,
    bool ModelWithin,
    bool Flagged,
    string Cause);
