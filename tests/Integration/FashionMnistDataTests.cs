using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

namespace IntegrationTests;

/// <summary>A fact that needs Debian's Fashion-MNIST (<c>apt-get install dataset-fashion-mnist</c>; <c>.ci/run</c> installs it).</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!Directory.Exists(FashionMnistData.DebianDirectory))
        {
            Skip = $"Fashion-MNIST not installed: apt-get install -y {FashionMnistData.DebianPackage} ({FashionMnistData.DebianDirectory}).";
        }
    }
}

/// <summary><c>--dataset fashion-mnist</c>: Debian's copy, checked by SHA-256, with errors that say how to install it.</summary>
public sealed class FashionMnistDataTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-fashion-");

    public void Dispose() => _directory.Delete(recursive: true);

    [FashionMnistFact]
    public void DebiansFiles_MatchTheirChecksums_AndLoadWithTheirHeaders()
    {
        ImageDataSet data = NamedDataSets.Load(NamedDataSets.FashionMnist);

        Assert.Equal((60000, 28, 28), (data.Train.Images.Count, data.Train.Images.Rows, data.Train.Images.Columns));
        Assert.Equal(10000, data.Test.Count);
        Assert.Equal(10, data.ClassCount);
        // The first labels of Fashion-MNIST: ankle boot, T-shirt, T-shirt, dress, T-shirt (training); 9, 2, 1, 1, 6 (test).
        Assert.Equal(new byte[] { 9, 0, 0, 3, 0 }, data.Train.Labels.Values[..5].ToArray());
        Assert.Equal(new byte[] { 9, 2, 1, 1, 6 }, data.Test.Labels.Values[..5].ToArray());
    }

    [Fact]
    public void AMissingCopy_SaysHowToInstallIt()
    {
        string missing = Path.Combine(_directory.FullName, "absent");

        var exception = Assert.Throws<DataSetNotFoundException>(() => FashionMnistData.Load(missing));

        Assert.Contains("does not exist", exception.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y dataset-fashion-mnist", exception.Message, StringComparison.Ordinal);
        Assert.Contains("--data DIR", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingFile_OrADamagedOne_IsNamed_AndNothingIsLoaded()
    {
        // Four IDX files of the right names but not Debian's content.
        File.WriteAllBytes(Path.Combine(_directory.FullName, "train-images-idx3-ubyte.gz"), IdxTestFiles.Gzip(IdxTestFiles.Images(20, 28, 28)));
        File.WriteAllBytes(Path.Combine(_directory.FullName, "train-labels-idx1-ubyte.gz"), IdxTestFiles.Gzip(IdxTestFiles.Labels(20, 10)));
        File.WriteAllBytes(Path.Combine(_directory.FullName, "t10k-images-idx3-ubyte.gz"), IdxTestFiles.Gzip(IdxTestFiles.Images(10, 28, 28)));

        var missing = Assert.Throws<DataSetNotFoundException>(() => FashionMnistData.Load(_directory.FullName));
        Assert.Contains(Path.Combine(_directory.FullName, "t10k-labels-idx1-ubyte.gz") + " is missing", missing.Message, StringComparison.Ordinal);

        File.WriteAllBytes(Path.Combine(_directory.FullName, "t10k-labels-idx1-ubyte.gz"), IdxTestFiles.Gzip(IdxTestFiles.Labels(10, 10)));
        var damaged = Assert.Throws<DataSetNotFoundException>(() => FashionMnistData.Load(_directory.FullName));
        Assert.Contains("train-images-idx3-ubyte.gz has SHA-256", damaged.Message, StringComparison.Ordinal);
        Assert.Contains("--reinstall", damaged.Message, StringComparison.Ordinal);

        // The same files are a valid unchecked IDX data set, as --data DIR reads them.
        Assert.Equal(20, IdxDirectory.Load(_directory.FullName).Train.Images.Count);
    }

    [Theory]
    [InlineData("mnist", true)]
    [InlineData("fashion-mnist", true)]
    [InlineData("cifar-10", false)]
    [InlineData("MNIST", false)]
    public void TheSpecsDataset_IsOneOfTheNamedSets(string dataset, bool valid)
    {
        var errors = new ExperimentSpec { Dataset = dataset }.Validate();

        Assert.Equal(valid, errors.IsEmpty);
        if (!valid)
        {
            ExperimentSpecError error = Assert.Single(errors);
            Assert.Equal("dataset", error.Field);
            Assert.Equal($"dataset = '{dataset}' is not a data set: use mnist or fashion-mnist.", error.Message);
        }
    }

    [Fact]
    public void ADatasetOutsideTheNamedOnes_IsRefusedByTheCommandLine()
    {
        var (exit, _, error) = Cli.Run("run", "--dataset", "cifar-10", "--rounds", "1");

        Assert.Equal(Verified.Host.Cli.VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains("cifar-10", error, StringComparison.Ordinal);
        Assert.Contains("fashion-mnist", error, StringComparison.Ordinal);
    }
}
