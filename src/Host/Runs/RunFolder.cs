using System.Globalization;
using System.Text.Json;
using Verified.Host.Service;
using Verified.Simulation.Experiments;

namespace Verified.Host.Runs;

/// <summary>
/// The files of a <c>verified run</c> output folder that let it be resumed, beside <c>metrics.csv</c>,
/// <c>summary.json</c> and the plots:
/// <code>
/// DIR/run.json                  written first: format, the options that repeat the invocation, the plan, provenance
/// DIR/checkpoint/run-I.bin      the state of plan run I (0-based, run.json's "runs" order) at its last checkpoint
/// DIR/checkpoint/run-I.bin.tmp  a checkpoint being written (renamed over run-I.bin once on disk)
/// </code>
/// A run's checkpoint is deleted once the run has finished (or diverged) and summary.json says so, so at most one
/// exists at a time. Every name is built from constants and a plan index.
/// </summary>
internal sealed class RunFolder(string directory)
{
    /// <summary>The format of run.json this build writes and resumes.</summary>
    public const int Format = 1;

    /// <summary>The output directory (absolute).</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Path of <c>run.json</c>.</summary>
    public string ManifestPath => Path.Combine(Directory, "run.json");

    /// <summary>Path of <c>summary.json</c>.</summary>
    public string SummaryPath => Path.Combine(Directory, "summary.json");

    /// <summary>Path of <c>metrics.csv</c>.</summary>
    public string MetricsPath => Path.Combine(Directory, "metrics.csv");

    /// <summary>The checkpoint directory.</summary>
    public string CheckpointDirectory => Path.Combine(Directory, "checkpoint");

    /// <summary>The checkpoint of plan run <paramref name="index"/>.</summary>
    public string Checkpoint(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return Path.Combine(CheckpointDirectory, string.Create(CultureInfo.InvariantCulture, $"run-{index}.bin"));
    }

    /// <summary>
    /// Writes the checkpoint of plan run <paramref name="index"/> atomically: into a temporary file in the same
    /// directory (a rename across file systems would not be atomic), flushed to disk, then renamed over the old one; a
    /// crash leaves the old checkpoint or the new one, never half of one.
    /// </summary>
    public void WriteCheckpoint(int index, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        AtomicFile.Write(Checkpoint(index), write);
    }

    /// <summary>Removes the checkpoint of a plan run that has ended (and its temporary file, if a write was cut short).</summary>
    public void DeleteCheckpoint(int index)
    {
        // File.Delete throws when the directory is missing (a run that never checkpointed, or removed it below).
        if (!System.IO.Directory.Exists(CheckpointDirectory))
        {
            return;
        }
        File.Delete(Checkpoint(index));
        File.Delete(Checkpoint(index) + ".tmp");
        // A folder whose runs have all ended keeps no empty checkpoint directory.
        if (!System.IO.Directory.EnumerateFileSystemEntries(CheckpointDirectory).Any())
        {
            System.IO.Directory.Delete(CheckpointDirectory);
        }
    }

    /// <summary>Writes run.json through a file beside it, flushed to disk before the rename (it is what a resume reads).</summary>
    public void WriteManifest(RunManifestJson manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        AtomicFile.Write(ManifestPath, stream => JsonSerializer.Serialize(stream, manifest, HostJson.Context.RunManifestJson));
    }
}

/// <summary><c>run.json</c>: what a resume needs to repeat the invocation, and where the work comes from.</summary>
/// <param name="Format"><see cref="RunFolder.Format"/>.</param>
/// <param name="Options">The resolved options.</param>
/// <param name="Plan">The plan's name (<c>single</c> or a preset).</param>
/// <param name="Runs">The plan's runs in order, as label and seed, for people (the plan is rebuilt from the options).</param>
/// <param name="Provenance">The first invocation's provenance, with every resume since (<see cref="Provenance.Resumes"/>).</param>
internal sealed record RunManifestJson(int Format, RunOptionsJson Options, string Plan, string[] Runs, Provenance Provenance);

/// <summary>
/// The options that shape a <c>verified run</c> invocation, resolved (defaults, config file and command line applied):
/// run.json's and summary.json's <c>options</c>, and what <c>--config</c> reads back.
/// </summary>
/// <param name="Spec">The template spec, with the service spec's field names (a spec file for <c>--config</c>).</param>
/// <param name="Preset">The preset, or null for a single run.</param>
/// <param name="Seeds">Seeds per configuration.</param>
/// <param name="Baseline">Whether a single run also runs full precision.</param>
/// <param name="Data">The IDX directory given with <c>--data</c>, or null for the npm copy.</param>
/// <param name="CaptureGradients"><c>--capture-gradients</c>.</param>
/// <param name="CaptureLimitMb"><c>--capture-limit-mb</c>.</param>
/// <param name="CheckpointEvery"><c>--checkpoint-every</c>.</param>
internal sealed record RunOptionsJson(
    ExperimentSpec Spec, string? Preset, int Seeds, bool Baseline, string? Data, int CaptureGradients, int CaptureLimitMb, int CheckpointEvery)
{
    /// <summary>The JSON names of the fields, in order.</summary>
    public static readonly IReadOnlyList<string> Fields = ["spec", "preset", "seeds", "baseline", "data", "captureGradients", "captureLimitMb", "checkpointEvery"];

    /// <summary>
    /// Reads an <c>options</c> object. Every field must be there (this build writes them all), with the right JSON type;
    /// the spec is read by <see cref="SpecReader"/>, the service's reader, without the service's limits.
    /// </summary>
    /// <exception cref="FormatException">A field is missing, unknown or of the wrong type, or the spec is invalid;
    /// the message names it.</exception>
    public static RunOptionsJson Read(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"'options' is a JSON {json.ValueKind.ToString().ToLowerInvariant()}, not an object.");
        }
        foreach (JsonProperty property in json.EnumerateObject())
        {
            if (!Fields.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new FormatException($"'options.{property.Name}' is not a field of the options; they are {string.Join(", ", Fields)}.");
            }
        }
        JsonElement Field(string name) => json.TryGetProperty(name, out JsonElement value)
            ? value
            : throw new FormatException($"'options.{name}' is missing.");
        int Integer(string name) => Field(name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out int result)
            ? result
            : throw new FormatException($"'options.{name}' = {Field(name).GetRawText()} is not an integer.");
        string? Text(string name) => Field(name) switch
        {
            { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            var value => throw new FormatException($"'options.{name}' = {value.GetRawText()} is not a string or null."),
        };
        bool baseline = Field("baseline") is { ValueKind: JsonValueKind.True or JsonValueKind.False } b
            ? b.GetBoolean()
            : throw new FormatException($"'options.baseline' = {Field("baseline").GetRawText()} is not true or false.");
        return new RunOptionsJson(
            ReadSpec(Field("spec"), "options.spec"), Text("preset"), Integer("seeds"), baseline, Text("data"),
            Integer("captureGradients"), Integer("captureLimitMb"), Integer("checkpointEvery"));
    }

    /// <summary>A spec object by the service's <see cref="SpecReader"/> (unknown fields, wrong types and invalid values are errors).</summary>
    /// <exception cref="FormatException">The spec has problems: all of them, in one line.</exception>
    public static ExperimentSpec ReadSpec(JsonElement json, string where)
    {
        // No service limits here: the command line caps neither rounds × clients nor threads.
        (ExperimentSpec? spec, Dictionary<string, string[]> errors) = SpecReader.Read(json, long.MaxValue, int.MaxValue);
        return spec ?? throw new FormatException($"{where}: {string.Join(" ", errors.SelectMany(e => e.Value))}");
    }
}
