using System.Collections.Immutable;
using System.Globalization;

namespace Verified.Sde;

/// <summary>What every SDE experiment takes: the seed of all its draws, and whether to run at reduced settings.</summary>
/// <param name="Seed">The seed; run r of an experiment's run i draws from a stream derived from (seed, i, r).</param>
/// <param name="Quick">Reduced steps/replicas: tolerances are still k standard errors of that run plus the
/// discretisation allowance, so the verdicts stay valid; only the power (and the precision) drop.</param>
/// <param name="MaxDegreeOfParallelism">Threads over replicas (−1: the runtime's choice); the result does not depend on it.</param>
public sealed record SdeExperimentOptions(ulong Seed = 1, bool Quick = false, int MaxDegreeOfParallelism = -1);

/// <summary>One experiment of the SDE paper's test bed (spec §4.4–4.5, §6 items 23–25).</summary>
public interface ISdeExperiment
{
    /// <summary>The name the CLI uses (<c>floors</c>, <c>heavy-tails</c>, …).</summary>
    string Name { get; }

    /// <summary>One line: what the experiment checks.</summary>
    string Description { get; }

    /// <summary>Runs it; deterministic given <see cref="SdeExperimentOptions.Seed"/> and <see cref="SdeExperimentOptions.Quick"/>.</summary>
    SdeReport Run(SdeExperimentOptions options);
}

/// <summary>
/// A checked claim: <see cref="Measured"/> against <see cref="Predicted"/> (from Theory) within
/// <see cref="Tolerance"/>. For a "does not settle" claim <see cref="Predicted"/> is +∞ and the claim passes when the
/// measured growth exceeds <see cref="Tolerance"/>, the stated threshold; <see cref="Note"/> says which kind and how
/// the tolerance was derived.
/// </summary>
public sealed record SdeClaim(string Name, double Measured, double Predicted, double Tolerance, bool Passed, string Note)
{
    /// <summary>How <see cref="Measured"/> is compared: with <see cref="Predicted"/> ± <see cref="Tolerance"/>, or
    /// with <see cref="Tolerance"/> as a threshold.</summary>
    public SdeComparison Comparison { get; init; }

    /// <summary>|measured − predicted| ≤ tolerance.</summary>
    public static SdeClaim Within(string name, double measured, double predicted, double tolerance, string note) =>
        new(name, measured, predicted, tolerance, Math.Abs(measured - predicted) <= tolerance, note);

    /// <summary>measured &gt; threshold (the quantity grows without bound; predicted +∞).</summary>
    public static SdeClaim Exceeds(string name, double measured, double threshold, string note) =>
        new(name, measured, double.PositiveInfinity, threshold, measured > threshold, note) { Comparison = SdeComparison.Exceeds };

    /// <summary>measured ≤ threshold, with a finite prediction to show beside it.</summary>
    public static SdeClaim AtMost(string name, double measured, double predicted, double threshold, string note) =>
        new(name, measured, predicted, threshold, measured <= threshold, note) { Comparison = SdeComparison.AtMost };
}

/// <summary>The comparison an <see cref="SdeClaim"/> makes.</summary>
public enum SdeComparison
{
    /// <summary>|measured − predicted| ≤ tolerance.</summary>
    Within,

    /// <summary>measured ≤ tolerance (a threshold).</summary>
    AtMost,

    /// <summary>measured &gt; tolerance (a threshold).</summary>
    Exceeds,
}

/// <summary>A table: a title, column headers, and rows of formatted cells (numbers in invariant culture).</summary>
public sealed record SdeTable(string Title, ImmutableArray<string> Columns, ImmutableArray<ImmutableArray<string>> Rows);

/// <summary>One line of a plot: y against x, with an optional ± error per point.</summary>
public sealed record SdeLine(string Label, ImmutableArray<double> X, ImmutableArray<double> Y, ImmutableArray<double> Error);

/// <summary>A plot's worth of lines with axis labels; <see cref="LogY"/>/<see cref="LogX"/> ask for log axes.</summary>
/// <param name="Name">The file name (without extension) of its CSV and figures.</param>
/// <param name="Title">The figure's title, in words.</param>
/// <param name="XLabel">The x axis label.</param>
/// <param name="YLabel">The y axis label.</param>
/// <param name="Lines">The lines.</param>
/// <param name="LogX">Whether x is drawn on a log axis.</param>
/// <param name="LogY">Whether y is drawn on a log axis.</param>
public sealed record SdeSeries(string Name, string Title, string XLabel, string YLabel, ImmutableArray<SdeLine> Lines, bool LogX = false, bool LogY = false);

/// <summary>What an experiment returns: its parameters, tables, plot series and claims.</summary>
public sealed record SdeReport(
    string Experiment,
    string Description,
    ImmutableArray<KeyValuePair<string, string>> Parameters,
    ImmutableArray<SdeTable> Tables,
    ImmutableArray<SdeSeries> Series,
    ImmutableArray<SdeClaim> Claims)
{
    /// <summary>Whether every claim passed.</summary>
    public bool Passed => Claims.All(c => c.Passed);
}

/// <summary>The experiments by name; add one with a line here (the CLI and the tests read this map).</summary>
public static class SdeExperiments
{
    /// <summary>Every experiment, in the order <c>--experiment all</c> runs them.</summary>
    public static ImmutableArray<ISdeExperiment> All { get; } =
        [new FloorsExperiment(), new HeavyTailsExperiment(), new ScalingExperiment(), new SpeedupExperiment(), new Theorem1Experiment()];

    /// <summary>Name → experiment.</summary>
    public static ImmutableDictionary<string, ISdeExperiment> ByName { get; } =
        All.ToImmutableDictionary(e => e.Name, StringComparer.Ordinal);
}

/// <summary>Formatting and small statistics the experiments share.</summary>
internal static class Fmt
{
    public static string N(double value) => double.IsFinite(value)
        ? value.ToString(Math.Abs(value) is >= 1e-3 and < 1e5 or 0 ? "0.#####" : "0.###e+0", CultureInfo.InvariantCulture)
        : double.IsPositiveInfinity(value) ? "∞" : double.IsNegativeInfinity(value) ? "-∞" : "NaN";

    /// <summary>Three significant digits.</summary>
    public static string S(double value) => double.IsFinite(value)
        ? value.ToString(Math.Abs(value) is >= 0.01 and < 1e4 or 0 ? "G4" : "0.###e+0", CultureInfo.InvariantCulture)
        : N(value);

    public static string Pct(double value) => double.IsFinite(value)
        ? (100 * value).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " %"
        : N(value);

    /// <summary>An unsigned percentage.</summary>
    public static string Percent(double value) => (100 * value).ToString("0.00", CultureInfo.InvariantCulture) + " %";

    public static string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static KeyValuePair<string, string> P(string name, object value) =>
        new(name, value switch
        {
            double d => N(d),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        });

    public static SdeTable Table(string title, string[] columns, IEnumerable<string[]> rows) =>
        new(title, [.. columns], [.. rows.Select(r => r.ToImmutableArray())]);
}
