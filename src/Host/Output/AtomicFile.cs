namespace Verified.Host;

/// <summary>Whole-file writes that a crash, kill -9 or full disk cannot leave half done.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <c>path.tmp</c> beside it, flushed to disk, then renamed over it: a reader
    /// (a resume, a second process, the user mid-run) sees the old file or the new one, never part of one. Creates the
    /// folder if it is missing.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="write">Writes the contents to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            write(stream);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
