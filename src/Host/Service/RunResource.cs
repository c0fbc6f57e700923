using System.Globalization;
using Verified.Simulation.Experiments;

namespace Verified.Host.Service;

/// <summary>A run as <c>GET /api/runs/{id}</c> shows it.</summary>
/// <param name="Id">The run id.</param>
/// <param name="Status">queued, running, succeeded, failed or cancelled.</param>
/// <param name="Spec">What runs (the fields of <c>verified run</c>, with the derived label and effective bits).</param>
/// <param name="Estimate">Its parameter count d, estimated memory and seconds per round (docs/service.md); null if it
/// cannot be estimated.</param>
/// <param name="CreatedAt">Submitted (UTC).</param>
/// <param name="StartedAt">First claimed by a worker.</param>
/// <param name="FinishedAt">Reached a final status.</param>
/// <param name="RoundsCompleted">Rounds whose metrics are stored.</param>
/// <param name="CheckpointRound">Round of the last checkpoint (0: none).</param>
/// <param name="Attempts">Times a worker claimed it (more than one after a stop or a crash).</param>
/// <param name="CancelRequested">A cancel was asked for.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Outcome">Final figures once it succeeded.</param>
/// <param name="Links">Where its metrics, events, plots and cancel live.</param>
/// <param name="Provenance">Build, command (the spec), data files with SHA-256, machine and times; null until a worker
/// claims the run.</param>
internal sealed record RunResource(
    long Id,
    RunStatus Status,
    ExperimentSpec Spec,
    RunEstimate? Estimate,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int RoundsCompleted,
    int CheckpointRound,
    int Attempts,
    bool CancelRequested,
    string? Error,
    RunOutcome? Outcome,
    RunLinks Links,
    Provenance? Provenance)
{
    public static RunResource From(RunRecord run, RunEstimator estimator)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(estimator);
        string self = Location(run.Id);
        return new RunResource(run.Id, run.Status, run.Spec, estimator.TryFor(run.Spec), run.CreatedAt, run.StartedAt, run.FinishedAt, run.RoundsCompleted, run.CheckpointRound,
            run.Attempts, run.CancelRequested, run.Error, run.Outcome,
            new RunLinks(self, self + "/metrics", self + "/events", self + "/cancel", [.. ArtifactPaths.PlotNames.Select(p => $"{self}/plots/{p}.png")]),
            run.Provenance);
    }

    /// <summary>The run's URL path.</summary>
    public static string Location(long id) => string.Create(CultureInfo.InvariantCulture, $"/api/runs/{id}");
}

/// <summary>A run's related URL paths.</summary>
internal sealed record RunLinks(string Self, string Metrics, string Events, string Cancel, IReadOnlyList<string> Plots);

/// <summary>A page of <c>GET /api/runs</c>.</summary>
/// <param name="Runs">The runs, in id order.</param>
/// <param name="Next">The next page's path, when there may be more.</param>
internal sealed record RunList(IReadOnlyList<RunResource> Runs, string? Next);

/// <summary>What <c>GET /health</c> reports.</summary>
/// <param name="Status">ok.</param>
/// <param name="SchemaVersion">The store's schema version.</param>
/// <param name="Workers">Worker loops.</param>
/// <param name="Runs">Runs per status.</param>
internal sealed record HealthReport(string Status, int SchemaVersion, int Workers, IReadOnlyDictionary<string, int> Runs);
