using Verified.Simulation.Data;

namespace IntegrationTests;

public sealed class ClientPartitionTests
{
    private static readonly byte[] s_labels = Enumerable.Range(0, 1000).Select(i => (byte)((i * 7) % 10)).ToArray();

    public static TheoryData<string> Splits => new() { "iid", "dirichlet:0.1", "dirichlet:0.5", "dirichlet:100" };

    [Theory]
    [MemberData(nameof(Splits))]
    public void Partition_IsDisjointAndCoversEveryExample(string split)
    {
        ClientPartition partition = SplitSpec.Parse(split).Partition(s_labels, 10, 8, new Random(1));

        Assert.Equal(8, partition.ClientCount);
        int[] all = Enumerable.Range(0, 8).SelectMany(c => partition.Indices(c).ToArray()).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, s_labels.Length), all);
        Assert.All(Enumerable.Range(0, 8), c => Assert.False(partition.Indices(c).IsEmpty));
    }

    [Theory]
    [MemberData(nameof(Splits))]
    public void Partition_IsDeterministicForASeed_AndVariesWithIt(string split)
    {
        SplitSpec spec = SplitSpec.Parse(split);
        int[][] Shares(int seed)
        {
            ClientPartition p = spec.Partition(s_labels, 10, 8, new Random(seed));
            return Enumerable.Range(0, 8).Select(c => p.Indices(c).ToArray()).ToArray();
        }

        Assert.Equal(Shares(3), Shares(3));
        Assert.NotEqual(Shares(3), Shares(4));
    }

    [Fact]
    public void Iid_GivesEqualShares()
    {
        ClientPartition partition = SplitSpec.Iid.Partition(s_labels, 10, 7, new Random(1));
        int[] sizes = Enumerable.Range(0, 7).Select(c => partition.Indices(c).Length).ToArray();
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(",", sizes));
    }

    [Fact]
    public void Dirichlet_SmallAlpha_SkewsLabelsMoreThanLargeAlpha()
    {
        double Skew(double alpha) => MeanLargestClassFraction(SplitSpec.Dirichlet(alpha).Partition(s_labels, 10, 8, new Random(5)));

        // IID shares hold about 1/10 of each class; α = 0.1 concentrates each client on a few classes.
        Assert.True(Skew(0.1) > 0.4, $"α=0.1: {Skew(0.1)}");
        Assert.True(Skew(100) < 0.2, $"α=100: {Skew(100)}");
    }

    [Theory]
    [InlineData("dirichlet:0")]
    [InlineData("dirichlet:-1")]
    [InlineData("dirichlet:abc")]
    [InlineData("noniid")]
    public void Parse_RejectsInvalidSplits(string text) =>
        Assert.Contains("'iid' or 'dirichlet:α'", Assert.Throws<FormatException>(() => SplitSpec.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void DirichletSpec_ValidatesInInit()
    {
        var spec = (DirichletSplit)SplitSpec.Dirichlet(0.5);
        Assert.Throws<ArgumentOutOfRangeException>(() => spec with { Alpha = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => spec with { MinimumPerClient = 0 });
        Assert.Equal("dirichlet:0.5", spec.ToString());
    }

    [Fact]
    public void Sampler_VisitsEveryExampleOncePerEpoch_Deterministically()
    {
        int[] share = [3, 5, 8, 13, 21, 34, 55];
        long[] Draw(int seed)
        {
            var sampler = new ClientBatchSampler(share, new Random(seed));
            var drawn = new long[share.Length * 3];
            for (int i = 0; i < drawn.Length; i += 7)
            {
                sampler.NextBatch(drawn.AsSpan(i, 7));
            }
            Assert.Equal(2, sampler.Epoch);
            return drawn;
        }

        long[] drawn = Draw(9);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            Assert.Equal(share.Select(i => (long)i), drawn.Skip(epoch * 7).Take(7).Order());
        }
        Assert.Equal(drawn, Draw(9));
    }

    private static double MeanLargestClassFraction(ClientPartition partition) =>
        Enumerable.Range(0, partition.ClientCount).Average(c =>
        {
            int[] indices = partition.Indices(c).ToArray();
            return indices.GroupBy(i => s_labels[i]).Max(g => g.Count()) / (double)indices.Length;
        });
}
