using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;

namespace Verified.Host.Audit;

/// <summary>One gradient to audit: where it came from and, for a captured run, its label, round and client.</summary>
/// <param name="Path">The .f32 file.</param>
/// <param name="Label">The run's label (e.g. tnq-3-seed1), or the file name for a lone file.</param>
/// <param name="Round">The upload's round key, or null for a lone file.</param>
/// <param name="Client">The client, or null for a lone file.</param>
internal sealed record AuditInput(string Path, string Label, int? Round, int? Client)
{
    /// <summary>Every client's gradient of the same round (a run's capture), for the average's bias/variance split.</summary>
    public ImmutableArray<string> RoundPaths { get; init; } = [];

    /// <summary>The model's parameter tensor sizes from the capture index; empty when not recorded.</summary>
    public ImmutableArray<int> TensorSizes { get; init; } = [];

    /// <summary>The run seed from the capture index (the rounding keys' seed); null for a lone file.</summary>
    public long? Seed { get; init; }
}

/// <summary>Finds the gradients of a captured run (<see cref="GradientCapture"/>'s layout).</summary>
internal static class AuditInputs
{
    /// <summary>
    /// One gradient per captured round of every capture under <paramref name="runDirectory"/> (its <c>gradients/*/</c>,
    /// or the directory itself if it holds an index.json): client <paramref name="client"/>'s, or the lowest client
    /// captured in that round if that one is missing.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No capture index is found.</exception>
    public static ImmutableArray<AuditInput> FromRun(string runDirectory, int client)
    {
        string[] indexes = File.Exists(Path.Combine(runDirectory, "index.json"))
            ? [Path.Combine(runDirectory, "index.json")]
            : Directory.Exists(Path.Combine(runDirectory, "gradients"))
                ? [.. Directory.GetFiles(Path.Combine(runDirectory, "gradients"), "index.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)]
                : [];
        if (indexes.Length == 0)
        {
            throw new DirectoryNotFoundException(
                $"{runDirectory} holds no captured gradients (no gradients/*/index.json): run 'verified run --capture-gradients K --out {runDirectory}' first.");
        }
        var inputs = ImmutableArray.CreateBuilder<AuditInput>();
        foreach (string index in indexes)
        {
            string directory = Path.GetDirectoryName(index)!;
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(index));
            var files = document.RootElement.GetProperty("files").EnumerateArray()
                .Select(f => (Round: f.GetProperty("round").GetInt32(), Client: f.GetProperty("client").GetInt32(), Name: f.GetProperty("file").GetString()!))
                .ToArray();
            string label = Path.GetFileName(directory);
            ImmutableArray<int> sizes = document.RootElement.TryGetProperty("tensorSizes", out JsonElement sizeArray)
                ? [.. sizeArray.EnumerateArray().Select(e => e.GetInt32())]
                : [];
            long? seed = document.RootElement.TryGetProperty("seed", out JsonElement seedValue) ? seedValue.GetInt64() : null;
            foreach (var round in files.GroupBy(f => f.Round).OrderBy(g => g.Key))
            {
                var chosen = round.FirstOrDefault(f => f.Client == client);
                if (chosen.Name is null)
                {
                    chosen = round.OrderBy(f => f.Client).First();
                }
                inputs.Add(new AuditInput(Path.Combine(directory, chosen.Name), label, chosen.Round, chosen.Client)
                {
                    RoundPaths = [.. round.OrderBy(f => f.Client).Select(f => Path.Combine(directory, f.Name))],
                    TensorSizes = sizes,
                    Seed = seed,
                });
            }
        }
        return inputs.ToImmutable();
    }

    /// <summary>A lone file.</summary>
    public static AuditInput FromFile(string path) => new(Path.GetFullPath(path), Path.GetFileNameWithoutExtension(path), null, null);

    /// <summary>"tnq-3-seed1 round 10 client 0", or the file name.</summary>
    public static string Describe(AuditInput input) => input.Round is { } round
        ? string.Create(CultureInfo.InvariantCulture, $"{input.Label} round {round} client {input.Client}")
        : input.Label;
}
