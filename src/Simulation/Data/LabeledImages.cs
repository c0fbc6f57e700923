namespace Verified.Simulation.Data;

/// <summary>One split of a classification data set: images and their labels, checked to agree in count.</summary>
public sealed class LabeledImages
{
    /// <summary>Pairs images with labels.</summary>
    /// <exception cref="IdxFormatException">The counts differ.</exception>
    public LabeledImages(IdxImages images, IdxLabels labels, string source)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Count != labels.Count)
        {
            throw new IdxFormatException($"{source}: {images.Count} images but {labels.Count} labels.");
        }
        Images = images;
        Labels = labels;
        int max = 0;
        foreach (byte label in labels.Values.Span)
        {
            max = Math.Max(max, label);
        }
        ClassCount = max + 1;
    }

    /// <summary>The images.</summary>
    public IdxImages Images { get; }

    /// <summary>The labels, one per image.</summary>
    public IdxLabels Labels { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Images.Count;

    /// <summary>Largest label + 1 (10 for MNIST).</summary>
    public int ClassCount { get; }
}

/// <summary>A training split and a test split of images of the same size.</summary>
public sealed class ImageDataSet
{
    /// <summary>Combines the two splits.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="test">The test split.</param>
    /// <param name="source">Where the data came from (a directory), for reports.</param>
    /// <param name="files">The files the splits were read from (full paths), for provenance; empty for data made in memory.</param>
    /// <exception cref="IdxFormatException">The splits' image sizes differ.</exception>
    public ImageDataSet(LabeledImages train, LabeledImages test, string source, IReadOnlyList<string>? files = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        if (train.Images.Rows != test.Images.Rows || train.Images.Columns != test.Images.Columns)
        {
            throw new IdxFormatException(
                $"{source}: training images are {train.Images.Rows}×{train.Images.Columns} but test images are {test.Images.Rows}×{test.Images.Columns}.");
        }
        Train = train;
        Test = test;
        Source = source;
        Files = files ?? [];
        ClassCount = Math.Max(train.ClassCount, test.ClassCount);
    }

    /// <summary>The training split.</summary>
    public LabeledImages Train { get; }

    /// <summary>The test split.</summary>
    public LabeledImages Test { get; }

    /// <summary>Where the data came from (a directory), for reports.</summary>
    public string Source { get; }

    /// <summary>The files the splits were read from (full paths), so a report can name and hash exactly what was read.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Number of classes over both splits.</summary>
    public int ClassCount { get; }
}
