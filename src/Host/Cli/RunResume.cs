using System.Globalization;
using System.Text;
using System.Text.Json;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified run --resume DIR</c>: reads what an interrupted (Ctrl+C, SIGTERM, kill -9, a crash) invocation left in
/// its output folder and works out where to go on: the plan runs that finished or diverged are kept (their summary
/// and rows), the first that did not resumes from its checkpoint (or from round 0 without one), the later ones run.
/// </summary>
/// <remarks>
/// The resumed rows equal an uninterrupted invocation's but for <c>elapsed_seconds</c>, because a checkpoint holds
/// the whole state of a run (<see cref="ExperimentRun.SaveCheckpoint"/>) and is written only after the rows it
/// resumes after are on disk. Problems with DIR or run.json are argument errors (exit 2); a checkpoint or metrics.csv
/// that cannot be used is a failure (exit 1). Each is one line that names the file.
/// </remarks>
internal static class RunResume
{
    /// <summary>Why a resume cannot go on; <see cref="ExitCode"/> is 2 for DIR and run.json, 1 for the rest.</summary>
    internal sealed class ResumeException(string message, int exitCode) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }

    /// <summary>What run.json says.</summary>
    internal sealed record Manifest(RunFolder Folder, RunOptionsJson Options, Provenance Provenance);

    /// <summary>Where the plan goes on.</summary>
    /// <param name="Index">The plan run that resumes (= the plan's length: every run has ended).</param>
    /// <param name="Finished">Runs 0..Index−1 that finished, as summary.json has them.</param>
    /// <param name="Failed">Runs 0..Index−1 that diverged.</param>
    internal sealed record Point(int Index, IReadOnlyList<RunSummary> Finished, IReadOnlyList<RunFailure> Failed);

    /// <summary>Reads DIR/run.json.</summary>
    /// <exception cref="ResumeException">DIR or run.json is missing, unreadable, of another format or another version (exit 2).</exception>
    public static Manifest Load(string directory)
    {
        var folder = new RunFolder(directory);
        if (!Directory.Exists(folder.Directory))
        {
            throw Invalid($"--resume {directory}: no such directory.");
        }
        if (!File.Exists(folder.ManifestPath))
        {
            throw Invalid($"--resume {directory}: {folder.ManifestPath} does not exist; only a folder written by 'verified run' with run.json (this version onward) can be resumed.");
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(folder.ManifestPath));
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out JsonElement format) || !format.TryGetInt32(out int number))
            {
                throw Invalid($"--resume {directory}: {folder.ManifestPath} is not a run.json of 'verified run' (it has no integer 'format').");
            }
            if (number != RunFolder.Format)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"--resume {directory}: {folder.ManifestPath} is format {number}; this verified resumes format {RunFolder.Format} only."));
            }
            RunOptionsJson options = RunOptionsJson.Read(root.TryGetProperty("options", out JsonElement o) ? o : throw new FormatException("'options' is missing."));
            Provenance provenance = (root.TryGetProperty("provenance", out JsonElement p) ? p.Deserialize(HostJson.Context.Provenance) : null)
                ?? throw new FormatException("'provenance' is missing.");
            string version = Provenance.Capture("", DateTimeOffset.UtcNow, []).Version;
            if (provenance.Version != version)
            {
                // A checkpoint resumes bit for bit only in the build of the same release: another may train differently.
                throw Invalid($"--resume {directory}: the run was started by verified {provenance.Version}; this is verified {version}. Resume it with that version, or start it over.");
            }
            return new Manifest(folder, options, provenance);
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            throw Invalid($"--resume {directory}: {folder.ManifestPath} cannot be read: {exception.Message.ReplaceLineEndings(" ")}");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Invalid($"--resume {directory}: {folder.ManifestPath} cannot be read: {exception.Message}");
        }
    }

    /// <summary>The data must be the bytes the run started with (by SHA-256), wherever they are now.</summary>
    /// <exception cref="ResumeException">A file differs or is missing (exit 2).</exception>
    public static void CheckData(Manifest manifest, Provenance now)
    {
        static string Key(ProvenanceFile f) => Path.GetFileName(f.Path);
        var before = manifest.Provenance.DataFiles.ToDictionary(Key, f => f.Sha256, StringComparer.Ordinal);
        var after = now.DataFiles.ToDictionary(Key, f => f.Sha256, StringComparer.Ordinal);
        foreach ((string name, string sha) in before)
        {
            if (!after.TryGetValue(name, out string? current) || current != sha)
            {
                throw Invalid($"--resume {manifest.Folder.Directory}: the data file {name} is not the one the run started with (SHA-256 {sha}); give --data DIR with the same files.");
            }
        }
    }

    /// <summary>
    /// The runs of <paramref name="plan"/> that have ended, from summary.json (none without one: a kill -9 before the
    /// first run ended), and the first that has not.
    /// </summary>
    /// <exception cref="ResumeException">summary.json cannot be read (exit 1).</exception>
    public static Point Find(RunFolder folder, ExperimentPlan plan)
    {
        var finished = new List<RunSummary>();
        var failed = new List<RunFailure>();
        if (!File.Exists(folder.SummaryPath))
        {
            return new Point(0, finished, failed);
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(folder.SummaryPath));
            JsonElement root = document.RootElement;
            JsonElement[] runs = [.. root.GetProperty("runs").EnumerateArray()];
            JsonElement[] failures = [.. root.GetProperty("failedRuns").EnumerateArray()];
            int index = 0;
            for (; index < plan.Runs.Length; index++)
            {
                ExperimentSpec spec = plan.Runs[index];
                bool Same(JsonElement r) => r.GetProperty("label").GetString() == spec.Label && SeedOf(r) == spec.Seed;
                // An interrupted run is in "runs" too, with fewer rounds: it is the one to resume, not a finished one.
                if (runs.FirstOrDefault(r => Same(r) && r.GetProperty("roundsCompleted").GetInt32() == spec.Rounds) is { ValueKind: JsonValueKind.Object } run)
                {
                    finished.Add(Summary(spec, run));
                }
                else if (failures.FirstOrDefault(f => f.GetProperty("label").GetString() == spec.Label && f.GetProperty("seed").GetInt64() == spec.Seed) is { ValueKind: JsonValueKind.Object } failure)
                {
                    failed.Add(new RunFailure(spec, failure.GetProperty("roundsCompleted").GetInt32(), failure.GetProperty("error").GetString() ?? ""));
                }
                else
                {
                    break;
                }
            }
            return new Point(index, finished, failed);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IOException)
        {
            throw new ResumeException($"--resume {folder.Directory}: {folder.SummaryPath} cannot be read: {exception.Message.ReplaceLineEndings(" ")}", VerifiedCli.FailureExitCode);
        }

        static long SeedOf(JsonElement run) => run.GetProperty("config").GetProperty("seed").GetInt64();
    }

    /// <summary>
    /// Checks that metrics.csv starts with exactly the rows of the ended runs and <paramref name="round"/> rows of the
    /// resuming one, in order and whole, and returns their length in bytes and the rows (later rows and a torn last
    /// line are what the resume drops).
    /// </summary>
    /// <exception cref="ResumeException">metrics.csv is missing or holds fewer or other rows (exit 1).</exception>
    public static (long Bytes, List<(ExperimentSpec Spec, RoundMetrics Metrics)> Rows) KeptRows(RunFolder folder, ExperimentPlan plan, Point point, int round)
    {
        ResumeException Broken(string why) => new($"--resume {folder.Directory}: {folder.MetricsPath} {why}", VerifiedCli.FailureExitCode);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(folder.MetricsPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Broken($"cannot be read: {exception.Message}");
        }
        var expected = new List<(ExperimentSpec Spec, int Round)>();
        for (int j = 0; j < point.Index; j++)
        {
            ExperimentSpec spec = plan.Runs[j];
            int rounds = point.Failed.FirstOrDefault(f => f.Spec == spec)?.RoundsCompleted ?? spec.Rounds;
            expected.AddRange(Enumerable.Range(1, rounds).Select(r => (spec, r)));
        }
        if (point.Index < plan.Runs.Length)
        {
            expected.AddRange(Enumerable.Range(1, round).Select(r => (plan.Runs[point.Index], r)));
        }

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < RunReport.Columns.Length; i++)
        {
            index[RunReport.Columns[i]] = i;
        }
        var rows = new List<(ExperimentSpec, RoundMetrics)>(expected.Count);
        int start = 0;
        for (int line = 0; line <= expected.Count; line++)
        {
            // Whole lines only: one that does not end in '\n' is the tail of a write cut short.
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
            {
                throw line == 0
                    ? Broken("has no header line.")
                    : Broken(string.Create(CultureInfo.InvariantCulture,
                        $"has {line - 1} whole row(s), but the runs that ended and the checkpoint need {expected.Count} (the next is {expected[line - 1].Spec.Label} seed {expected[line - 1].Spec.Seed} round {expected[line - 1].Round})."));
            }
            string text = Encoding.UTF8.GetString(bytes, start, end - start);
            if (line == 0)
            {
                if (text != RunReport.CsvHeader)
                {
                    throw Broken("does not start with the header this verified writes.");
                }
            }
            else
            {
                (ExperimentSpec spec, int round) want = expected[line - 1];
                string[] cells = text.Split(',');
                if (cells.Length != RunReport.Columns.Length || cells[index["label"]] != want.spec.Label ||
                    cells[index["seed"]] != want.spec.Seed.ToString(CultureInfo.InvariantCulture) || cells[index["round"]] != want.round.ToString(CultureInfo.InvariantCulture))
                {
                    throw Broken(string.Create(CultureInfo.InvariantCulture,
                        $"line {line + 1} is not {want.spec.Label} seed {want.spec.Seed} round {want.round}, the row the plan and the checkpoint expect there."));
                }
                try
                {
                    rows.Add((want.spec, PlotCommand.Parse(cells, index).Metrics));
                }
                catch (FormatException exception)
                {
                    throw Broken(string.Create(CultureInfo.InvariantCulture, $"line {line + 1}: {exception.Message}"));
                }
            }
            start = end + 1;
        }
        return (start, rows);
    }

    /// <summary>A finished run's summary as summary.json has it (timings as written; they are not part of the results).</summary>
    private static RunSummary Summary(ExperimentSpec spec, JsonElement run)
    {
        double? Optional(string name) => run.GetProperty(name) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;
        TimeSpan Seconds(JsonElement parent, string name) =>
            parent.GetProperty(name) is { ValueKind: JsonValueKind.Number } v ? TimeSpan.FromSeconds(v.GetDouble()) : TimeSpan.Zero;
        JsonElement time = run.GetProperty("timeSeconds");
        TimeSpan forwardBackward = Seconds(time, "forwardBackward"), flatten = Seconds(time, "flatten"), design = Seconds(time, "design"),
            encode = Seconds(time, "encode"), decode = Seconds(time, "decode"), audit = Seconds(time, "audit"), step = Seconds(time, "step");
        TimeSpan training = forwardBackward + flatten + design + encode + decode + audit + step;
        // RunTimings.Rounds is the rounds the timings cover (a resumed run's last leg); summary.json keeps it as rounds/s.
        int timed = (int)Math.Round((Optional("roundsPerSecond") ?? 0) * training.TotalSeconds);
        var timings = new RunTimings(timed, forwardBackward, flatten, design, encode, decode, audit, step, Seconds(time, "evaluate"), Seconds(run, "wallSeconds"));
        return new RunSummary(
            spec,
            run.GetProperty("dimension").GetInt32(),
            run.GetProperty("roundsCompleted").GetInt32(),
            Optional("finalAccuracy"),
            Optional("finalLoss"),
            run.GetProperty("totalBytes").GetInt64(),
            run.GetProperty("float32Bytes").GetInt64(),
            timings)
        {
            FitFallbacks = run.GetProperty("fitFallbacks").GetInt64(),
        };
    }

    private static ResumeException Invalid(string message) => new(message, VerifiedCli.InvalidArgumentsExitCode);
}
