using System.Globalization;

namespace Verified.Host.Service;

/// <summary>
/// The files of the store next to the database: <c>name.artifacts/run-ID/</c> holds a run's checkpoint while it runs,
/// and its <c>metrics.csv</c>, <c>summary.json</c> and plots once it succeeds. Every name is built from a run id (a
/// number) and constants: nothing a request sends reaches the file system.
/// </summary>
internal sealed class ArtifactPaths(string root)
{
    /// <summary>The plots a run has, by the name in <c>/plots/{name}.png</c>.</summary>
    public static readonly IReadOnlyList<string> PlotNames = ["accuracy", "loss"];

    /// <summary>The artifacts directory (absolute).</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The directory of run <paramref name="id"/>.</summary>
    public string RunDirectory(long id)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(id);
        return Path.Combine(Root, string.Create(CultureInfo.InvariantCulture, $"run-{id}"));
    }

    /// <summary>The checkpoint of run <paramref name="id"/>.</summary>
    public string Checkpoint(long id) => Path.Combine(RunDirectory(id), "checkpoint.bin");

    /// <summary>
    /// Writes a checkpoint atomically: to a temporary file, flushed to disk, then renamed over the old one, so a crash
    /// leaves either the old checkpoint or the new one, never half of one.
    /// </summary>
    public void WriteCheckpoint(long id, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        AtomicFile.Write(Checkpoint(id), write);
    }

    /// <summary>Removes the checkpoint of a run that has finished.</summary>
    public void DeleteCheckpoint(long id)
    {
        if (Directory.Exists(RunDirectory(id)))
        {
            File.Delete(Checkpoint(id));
            File.Delete(Checkpoint(id) + ".tmp");
        }
    }
}
