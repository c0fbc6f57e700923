using System.Text.Json.Serialization;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Service;

/// <summary>
/// Where a run is: <c>queued → running → succeeded | failed | cancelled</c>. A stop or a crash sends a running job
/// back to <see cref="Queued"/>; it resumes from its last checkpoint.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))]
internal enum RunStatus
{
    /// <summary>Waiting for a worker (new, or interrupted and resumable).</summary>
    [JsonStringEnumMemberName("queued")]
    Queued,

    /// <summary>A worker holds it.</summary>
    [JsonStringEnumMemberName("running")]
    Running,

    /// <summary>All rounds done.</summary>
    [JsonStringEnumMemberName("succeeded")]
    Succeeded,

    /// <summary>It could not run or diverged; <see cref="RunRecord.Error"/> says why.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Cancelled before it finished.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,
}

/// <summary>The store's spelling of <see cref="RunStatus"/>.</summary>
internal static class RunStatuses
{
    public static string ToText(this RunStatus status) => status switch
    {
        RunStatus.Queued => "queued",
        RunStatus.Running => "running",
        RunStatus.Succeeded => "succeeded",
        RunStatus.Failed => "failed",
        RunStatus.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static bool TryParse(string? text, out RunStatus status)
    {
        foreach (RunStatus candidate in Enum.GetValues<RunStatus>())
        {
            if (string.Equals(candidate.ToText(), text, StringComparison.OrdinalIgnoreCase))
            {
                status = candidate;
                return true;
            }
        }
        status = default;
        return false;
    }

    public static bool IsFinal(this RunStatus status) => status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;
}

/// <summary>One run as stored.</summary>
/// <param name="Id">The run id (1, 2, …).</param>
/// <param name="Spec">What to run.</param>
/// <param name="Status">Where it is.</param>
/// <param name="CreatedAt">When it was submitted.</param>
/// <param name="StartedAt">When a worker first claimed it.</param>
/// <param name="FinishedAt">When it reached a final status.</param>
/// <param name="RoundsCompleted">The last round whose metrics were stored.</param>
/// <param name="CheckpointRound">The round of the last checkpoint written (0: none).</param>
/// <param name="Attempts">How many times a worker claimed it (more than one after a stop or a crash).</param>
/// <param name="CancelRequested">A cancel was asked for.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Outcome">The final figures, once succeeded.</param>
/// <param name="Provenance">Where it comes from (build, data, machine), once a worker has claimed it.</param>
internal sealed record RunRecord(
    long Id,
    ExperimentSpec Spec,
    RunStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int RoundsCompleted,
    int CheckpointRound,
    int Attempts,
    bool CancelRequested,
    string? Error,
    RunOutcome? Outcome,
    Provenance? Provenance = null);

/// <summary>A finished run's figures (from <see cref="RunSummary"/>).</summary>
internal sealed record RunOutcome(
    int Dimension,
    int Rounds,
    double? FinalAccuracy,
    double? FinalLoss,
    long TotalBytes,
    long Float32Bytes,
    double CompressionRatio,
    double BitsPerCoordinate,
    long FitFallbacks = 0)
{
    public static RunOutcome From(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new(summary.Dimension, summary.Rounds, Finite(summary.FinalAccuracy), Finite(summary.FinalLoss), summary.TotalBytes, summary.Float32Bytes,
            summary.CompressionRatio, summary.BitsPerCoordinate, summary.FitFallbacks);
    }

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

/// <summary>
/// One round's metrics as the API shows them: the columns of <c>metrics.csv</c> (see <see cref="Runs.RunReport.Columns"/>)
/// that are not the spec's; non-finite values (no audit that round, α = ∞ for schemes that do not truncate) are null.
/// <see cref="AveragedBiasSquared"/> and <see cref="AveragedVariance"/> split the error of the server's average of the
/// round's uploads (audit rounds only; null in rows stored before schema version 3).
/// </summary>
internal sealed record RoundRow(
    int Round,
    double TrainingLoss,
    long UploadBytes,
    long TotalBytes,
    double? TestAccuracy,
    double? TestLoss,
    int Uploads,
    double? ModelScale,
    double? Alpha,
    double? PredictedMse,
    double? MeasuredMse,
    double? PredictedRoundingVariance,
    double? MeasuredRoundingVariance,
    double? ExpectedRoundingVariance,
    double? PredictedTruncationRate,
    double? MeasuredTruncationRate,
    double? PredictedTruncationMse,
    double? MeasuredTruncationMse,
    double? AveragedBiasSquared,
    double? AveragedVariance,
    double ElapsedSeconds)
{
    public static RoundRow From(RoundMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        UploadStatistics u = metrics.Uploads;
        return new(metrics.Round, metrics.TrainingLoss, metrics.UploadBytes, metrics.TotalBytes, Finite(metrics.TestAccuracy), Finite(metrics.TestLoss),
            u.Uploads, Finite(u.ModelScale), Finite(u.Alpha), Finite(u.PredictedMse), Finite(u.MeasuredMse), Finite(u.PredictedRoundingVariance),
            Finite(u.MeasuredRoundingVariance), Finite(u.ExpectedRoundingVariance), Finite(u.PredictedTruncationRate), Finite(u.MeasuredTruncationRate),
            Finite(u.PredictedTruncationMse), Finite(u.MeasuredTruncationMse), Finite(u.AveragedBiasSquared), Finite(u.AveragedVariance), metrics.ElapsedSeconds);
    }

    /// <summary>Back to the simulation's record (null statistics become NaN), for the CSV writer and the plots.</summary>
    public RoundMetrics ToMetrics(string label) => new(
        label,
        Round,
        TrainingLoss,
        UploadBytes,
        TotalBytes,
        TestAccuracy,
        TestLoss,
        new UploadStatistics(
            Uploads,
            ModelScale ?? double.NaN,
            Alpha ?? double.NaN,
            PredictedRoundingVariance ?? double.NaN,
            PredictedTruncationMse ?? double.NaN,
            PredictedTruncationRate ?? double.NaN,
            MeasuredMse ?? double.NaN,
            MeasuredRoundingVariance ?? double.NaN,
            ExpectedRoundingVariance ?? double.NaN,
            MeasuredTruncationRate ?? double.NaN,
            MeasuredTruncationMse ?? double.NaN)
        {
            AveragedBiasSquared = AveragedBiasSquared ?? double.NaN,
            AveragedVariance = AveragedVariance ?? double.NaN,
        },
        ElapsedSeconds);

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}
