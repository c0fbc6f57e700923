using System.Collections.Immutable;
using System.Globalization;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;
using Verified.Theory;

namespace Verified.Host.Cli;

/// <summary>
/// Why an arm lands where it does, from the codec audit columns of metrics.csv (rounds with an audit only, all seeds):
/// how often the design truncates against how often its fitted model says it should (P1 §2.3, P2 §3.2: the designed
/// α assumes the model's tail), how much truncation error that leaves against the design's M(α), whether the rounding
/// noise is what the design predicts, and the server average's error split into squared bias (what truncation or sign
/// removes and averaging cannot restore) and variance (what averaging over clients and rounds shrinks).
/// </summary>
/// <param name="Label">The arm.</param>
/// <param name="AuditedRounds">Audited (round, seed) rows behind the means.</param>
/// <param name="PredictedTruncationRate">Mean P(|g| &gt; α) under the fitted model.</param>
/// <param name="MeasuredTruncationRate">Mean fraction of coordinates beyond the outer level.</param>
/// <param name="TruncationMseRatio">Mean measured (1/d)Σ(|g| − α)₊² over mean predicted M(α); NaN when nothing is predicted.</param>
/// <param name="RoundingVarianceRatio">Mean measured rounding variance over its exact expectation given the gradient (≈ 1 for a correct codec).</param>
/// <param name="BiasSquared">Mean ‖b‖²/‖ḡ‖² of the server's average of a round's uploads.</param>
/// <param name="Variance">Mean rounding variance of that average over ‖ḡ‖².</param>
internal sealed record LabelMechanism(
    string Label, int AuditedRounds, double PredictedTruncationRate, double MeasuredTruncationRate,
    double TruncationMseRatio, double RoundingVarianceRatio, double BiasSquared, double Variance)
{
    /// <summary>The mechanism of every label with audited rounds, in the order of <paramref name="labels"/> (full precision, which loses nothing, is left out).</summary>
    public static ImmutableArray<LabelMechanism> Of(IReadOnlyList<(ExperimentSpec Spec, RoundMetrics Metrics)> rows, IEnumerable<string> labels)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(labels);
        var audited = rows.Where(r => r.Spec.Scheme != Schemes.FullPrecision.Name && double.IsFinite(r.Metrics.Uploads.MeasuredMse)).GroupBy(r => r.Metrics.Label).ToDictionary(g => g.Key, g => g.Select(r => r.Metrics.Uploads).ToArray());
        return
        [
            .. labels.Where(audited.ContainsKey).Select(label =>
            {
                UploadStatistics[] u = audited[label];
                static double Ratio(double measured, double predicted) => predicted > 0 ? measured / predicted : double.NaN;
                return new LabelMechanism(
                    label,
                    u.Length,
                    MeanOfFinite(u.Select(s => s.PredictedTruncationRate)),
                    MeanOfFinite(u.Select(s => s.MeasuredTruncationRate)),
                    Ratio(MeanOfFinite(u.Select(s => s.MeasuredTruncationMse)), MeanOfFinite(u.Select(s => s.PredictedTruncationMse))),
                    Ratio(MeanOfFinite(u.Select(s => s.MeasuredRoundingVariance)), MeanOfFinite(u.Select(s => s.ExpectedRoundingVariance))),
                    MeanOfFinite(u.Select(s => s.AveragedBiasSquared)),
                    MeanOfFinite(u.Select(s => s.AveragedVariance)));
            }),
        ];
    }

    /// <summary>The mean of the finite values (a run that diverged leaves NaN or ∞ in its last audits); NaN when none is.</summary>
    private static double MeanOfFinite(IEnumerable<double> values) => Statistics.Mean(values.Where(double.IsFinite));

    /// <summary>The table of <paramref name="mechanisms"/> (<see cref="Of"/>), as Markdown or as aligned text.</summary>
    public static void Write(TextWriter output, IReadOnlyList<LabelMechanism> mechanisms, bool markdown)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(mechanisms);
        static string Percent(double value) => double.IsFinite(value) ? (100 * value).ToString(value < 0.001 ? "0.0000" : "0.00", CultureInfo.InvariantCulture) : "–";
        static string Times(double value) => double.IsFinite(value) ? value.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";
        string[] header =
        [
            "label", "audited rounds", "truncated %, predicted", "truncated %, measured", "truncation MSE, measured ÷ M(α)",
            "rounding var., measured ÷ exact", "average: bias² % of ‖ḡ‖²", "average: variance % of ‖ḡ‖²",
        ];
        List<string[]> lines =
        [
            .. mechanisms.Select(m => (string[])
            [
                m.Label,
                m.AuditedRounds.ToString(CultureInfo.InvariantCulture),
                Percent(m.PredictedTruncationRate),
                Percent(m.MeasuredTruncationRate),
                Times(m.TruncationMseRatio),
                Times(m.RoundingVarianceRatio),
                Percent(m.BiasSquared),
                Percent(m.Variance),
            ]),
        ];
        TextTable.Write(output, header, lines, markdown);
    }
}
