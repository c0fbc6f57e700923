using System.Globalization;
using System.Text.Json;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified run --config FILE</c>: the spec and options of a run from a file, which options given on the command line
/// then override. Three kinds of file are told apart by their fields:
/// <list type="bullet">
/// <item>a run.json (<c>format</c> and <c>options</c>): every option of the invocation that wrote it;</item>
/// <item>a summary.json (<c>plan</c> and <c>runs</c>): its <c>options</c> (written from this version on), or for an
/// older one the first run's <c>config</c>, as a spec;</item>
/// <item>anything else is a spec as <c>POST /api/runs</c> takes it, read by the service's own reader
/// (<see cref="Service.SpecReader"/>): unknown fields, wrong types and invalid values are errors.</item>
/// </list>
/// </summary>
internal static class RunConfigFile
{
    /// <summary>What a file gives.</summary>
    /// <param name="Spec">The template spec.</param>
    /// <param name="Options">The other options too (a run.json, or a summary.json that has them); null for a spec.</param>
    /// <param name="SpecFields">The fields a spec file names (its top-level keys); empty for a run.json or summary.json,
    /// whose specs are complete records rather than choices, so a preset given with them is not a conflict.</param>
    internal sealed record Contents(ExperimentSpec Spec, RunOptionsJson? Options, IReadOnlySet<string> SpecFields)
    {
        public Contents(ExperimentSpec spec, RunOptionsJson? options)
            : this(spec, options, new HashSet<string>(StringComparer.Ordinal))
        {
        }
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="FormatException">The file is missing, unreadable, not JSON, or not one of the three kinds; the
    /// message is one line that starts with the file's name.</exception>
    public static Contents Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FormatException($"{path}: no such file.", exception);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path} cannot be read: {exception.Message}", exception);
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object: give a spec (the fields of POST /api/runs), a summary.json or a run.json.");
            }
            if (root.TryGetProperty("format", out JsonElement format) && root.TryGetProperty("options", out JsonElement runOptions))
            {
                if (!format.TryGetInt32(out int number) || number != RunFolder.Format)
                {
                    throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"a run.json of format {format.GetRawText()}; this verified reads format {RunFolder.Format}."));
                }
                RunOptionsJson options = RunOptionsJson.Read(runOptions);
                return new Contents(options.Spec, options);
            }
            if (root.TryGetProperty("plan", out _) && root.TryGetProperty("runs", out JsonElement runs))
            {
                if (root.TryGetProperty("options", out JsonElement summaryOptions))
                {
                    RunOptionsJson options = RunOptionsJson.Read(summaryOptions);
                    return new Contents(options.Spec, options);
                }
                // A summary.json of an earlier version: its first run's config is a spec (with the effective bits).
                JsonElement first = runs.ValueKind == JsonValueKind.Array && runs.GetArrayLength() > 0
                    ? runs[0]
                    : throw new FormatException("a summary.json with no finished run and no 'options': nothing to repeat (the run.json beside it has the options).");
                return new Contents(RunOptionsJson.ReadSpec(first.GetProperty("config"), "runs[0].config"), null);
            }
            return new Contents(
                RunOptionsJson.ReadSpec(root, "spec"), null, root.EnumerateObject().Select(field => field.Name).ToHashSet(StringComparer.Ordinal));
        }
        catch (JsonException exception)
        {
            throw new FormatException($"{path} is not JSON: {exception.Message.ReplaceLineEndings(" ")}", exception);
        }
        catch (Exception exception) when (exception is FormatException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{path}: {exception.Message.ReplaceLineEndings(" ")}", exception);
        }
    }
}
