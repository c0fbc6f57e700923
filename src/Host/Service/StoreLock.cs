using System.Globalization;

namespace Verified.Host.Service;

/// <summary>
/// One service per store: held for the life of the service, as an exclusive lock on <c>name.db.lock</c> next to the
/// database. A second <c>verified serve</c> on the same store would take the first one's running jobs for orphans;
/// with the lock it refuses to start instead. The kernel releases the lock when the process dies, even by SIGKILL.
/// </summary>
internal sealed class StoreLock : IDisposable
{
    private readonly FileStream _file;

    /// <exception cref="IOException">Another process holds the store.</exception>
    public StoreLock(string storePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(storePath);
        Path = storePath + ".lock";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        try
        {
            _file = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new IOException($"The store {storePath} is in use by another verified serve (it holds {Path}).", exception);
        }
        _file.SetLength(0);
        byte[] pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        _file.Write(pid);
        _file.Flush();
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    public void Dispose() => _file.Dispose();
}
