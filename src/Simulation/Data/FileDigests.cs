using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Verified.Simulation.Data;

/// <summary>
/// SHA-256 of data files, computed once per process: MNIST's four files are 55 MB (about 0.2 s to hash), and both the
/// check of the npm copy (<see cref="MnistData.Verify"/>) and every report's provenance want their digests.
/// </summary>
/// <remarks>
/// A digest is kept under the file's full path, length and last write time, so a file replaced or rewritten since
/// (a new <c>npm ci</c>, another <c>--data</c> copy) is hashed again. Thread-safe.
/// </remarks>
public static class FileDigests
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> s_sha256 = new();

    /// <summary>Lower-case hex SHA-256 of the file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public static string Sha256Hex(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"{file.FullName} does not exist.", file.FullName);
        }
        return s_sha256.GetOrAdd((file.FullName, file.Length, file.LastWriteTimeUtc), static key =>
        {
            using FileStream stream = File.OpenRead(key.Path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });
    }
}
