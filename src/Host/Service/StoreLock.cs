namespace Verified.Host.Service;

/// <summary>
/// One service per store: an exclusive OS lock (<c>flock</c> on Unix, a share-none open on Windows) on the database
/// file itself, held open for the life of the service. A second <c>verified serve</c> on the same store would take the
/// first one's running jobs for orphans; with the lock it refuses to start instead. The lock is on the file's open
/// description, not on a name: deleting or replacing a file does not release it (a separate <c>.lock</c> file could be
/// deleted and recreated by the next server, which would then lock the new file). The kernel releases it when the
/// process dies, even by SIGKILL. SQLite's own locks are POSIX record locks, which do not interact with <c>flock</c>
/// on Linux; the file stays open here until the service ends, so closing it cannot drop SQLite's locks early.
/// </summary>
internal sealed class StoreLock : IDisposable
{
    // ERROR_SHARING_VIOLATION on Windows. On Unix .NET reports flock's EWOULDBLOCK with the raw errno as HResult:
    // EAGAIN is 11 on Linux, 35 on macOS and the BSDs.
    private const int SharingViolation = unchecked((int)0x80070020);

    private readonly FileStream _file;

    /// <exception cref="StoreUnavailableException">Another process holds the store, or its file cannot be created or opened.</exception>
    public StoreLock(string storePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(storePath);
        Path = System.IO.Path.GetFullPath(storePath);
        string directory = System.IO.Path.GetDirectoryName(Path)!;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new StoreUnavailableException($"the store's folder {directory} cannot be created: {exception.Message}", exception);
        }
        // A write-ahead log without its database means the database was deleted or moved, perhaps under a service
        // that still runs on it (the lock went with the deleted file): creating a new one here would replay that log
        // into it and take the other service's jobs.
        if (!File.Exists(Path) && (File.Exists(Path + "-wal") || File.Exists(Path + "-shm")))
        {
            throw new StoreUnavailableException(
                $"the store {Path} is missing but its {Path}-wal or -shm file exists: the database was deleted or moved, perhaps while a verified serve still uses it; restore the file, or stop that service and delete the -wal and -shm files to start an empty store.",
                null);
        }
        try
        {
            // Open or create: SQLite takes an empty file for an empty database.
            _file = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception) when (IsLocked(exception))
        {
            throw new StoreUnavailableException($"The store {Path} is in use by another verified serve (it holds a lock on the file).", exception);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new StoreUnavailableException($"the store {Path} cannot be opened for writing: {exception.Message}", exception);
        }
    }

    private static bool IsLocked(IOException exception) =>
        exception.HResult == SharingViolation
        || (OperatingSystem.IsLinux() && exception.HResult == 11)
        || ((OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()) && exception.HResult == 35);

    /// <summary>The locked database file.</summary>
    public string Path { get; }

    public void Dispose() => _file.Dispose();
}

/// <summary>The store cannot be used: locked by another service, or its file or folder cannot be written.</summary>
internal sealed class StoreUnavailableException(string message, Exception? inner) : IOException(message, inner);
