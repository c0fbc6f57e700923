using Verified.Codec;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;
using Verified.Theory;

namespace IntegrationTests;

/// <summary>The codec channel's edge cases and the experiment spec's validation; no libtorch.</summary>
public sealed class CodecChannelTests
{
    [Fact]
    public void AZeroGradient_GoesAsTheZeroPayload_AndAddsNothing()
    {
        var channel = new CodecChannel(new TruncatedNonUniform(3), 1000);
        float[] sum = [.. Enumerable.Repeat(0.5f, 1000)];

        long bytes = channel.Transmit(new float[1000], new UploadKey(1, 0, 0), sum, 0.125f);

        Assert.Equal(GradientCodec.GetMaxEncodedLength(new TruncatedNonUniform(3), 1000), bytes);
        Assert.All(sum, v => Assert.Equal(0.5f, v));
        Assert.True(double.IsNaN(channel.StatisticsOf(0).ModelScale), "no model is fitted to a zero gradient");
    }

    [Fact]
    public void ANonFiniteGradient_StopsTheRun_NamingRoundClientAndIndex()
    {
        var channel = new CodecChannel(new Qsgd(4), 64);
        float[] gradient = [.. Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i))];
        gradient[41] = float.NaN;

        var error = Assert.Throws<TrainingDivergedException>(() => channel.Transmit(gradient, new UploadKey(1, 17, 5), new float[64], 0.125f));

        Assert.Contains("Round 17, client 5", error.Message, StringComparison.Ordinal);
        Assert.Contains("Coordinate 41", error.Message, StringComparison.Ordinal);
        Assert.Contains("--lr", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<QuantizerSpec, int> DivergedCases { get; } = new()
    {
        { new TruncatedNonUniform(3), 0 },
        { new FullPrecision(), 63 },
        { new Sign(), 7 },
        { new RandKSparsification(10), 30 },
    };

    [Theory]
    [MemberData(nameof(DivergedCases))]
    public void ADivergedGradient_ThrowsTrainingDiverged_WithRoundClientAndFirstNonFiniteIndex(QuantizerSpec spec, int index)
    {
        var channel = new CodecChannel(spec, 64);
        float[] gradient = [.. Enumerable.Range(0, 64).Select(i => (float)Math.Cos(i))];
        gradient[index] = float.PositiveInfinity;
        // A later NaN must not be the one reported: the index is the first non-finite coordinate.
        gradient[63] = index == 63 ? float.NegativeInfinity : float.NaN;

        var error = Assert.Throws<TrainingDivergedException>(() => channel.Transmit(gradient, new UploadKey(3, 9, 2), new float[64], 0.5f));

        Assert.Equal(9, error.Round);
        Assert.Equal(2, error.Client);
        Assert.Equal(index, error.Index);
        Assert.IsAssignableFrom<InvalidOperationException>(error);
    }

    [Theory]
    [InlineData("bernoulli:0.2")]
    [InlineData("randk:500")]
    public void Sparsifiers_GoThroughTheChannel_WithTheirPayloadLengthAndAudit(string scheme)
    {
        var random = new Random(4);
        float[] gradient = [.. Enumerable.Range(0, 5000).Select(_ => (float)((random.NextDouble() - 0.5) * 0.02))];
        QuantizerSpec spec = Schemes.Parse(scheme, 0);
        var channel = new CodecChannel(spec, gradient.Length, auditEvery: 1);
        float[] sum = new float[gradient.Length];

        long bytes = channel.Transmit(gradient, new UploadKey(9, 2, 3), sum, 0.25f);

        var codec = new GradientCodec();
        byte[] payload = codec.Encode(gradient, codec.Designs.GetOrDesign(spec, ModelFit.Laplace(gradient), gradient.Length), new RoundingKey(9, 2, 3));
        Assert.Equal(payload.Length, bytes);
        float[] decoded = codec.Decode(payload);
        Assert.Equal(decoded.Select(x => 0.25f * x), sum);
        Assert.Equal(spec.Label, channel.Name);
        Assert.False(double.IsNaN(channel.StatisticsOf(2).MeasuredRoundingVariance));
        Assert.Contains("k must be at most d", Assert.Throws<ArgumentOutOfRangeException>(() => new CodecChannel(new RandKSparsification(10), 9)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheServerSum_IsTheWeightedDecodedPayload()
    {
        var random = new Random(3);
        float[] gradient = [.. Enumerable.Range(0, 5000).Select(_ => (float)((random.NextDouble() - 0.5) * 0.02))];
        var spec = new TruncatedBiScaled(3);
        var channel = new CodecChannel(spec, gradient.Length, auditEvery: 1);
        float[] sum = new float[gradient.Length];

        channel.Transmit(gradient, new UploadKey(9, 2, 3), sum, 0.25f);

        // The same key through the codec directly gives the same payload, so the same decoded values.
        var codec = new GradientCodec();
        byte[] payload = codec.Encode(gradient, codec.Designs.GetOrDesign(spec, ModelFit.Laplace(gradient)), new RoundingKey(9, 2, 3));
        float[] decoded = codec.Decode(payload);
        for (int j = 0; j < sum.Length; j++)
        {
            Assert.Equal(0.25f * decoded[j], sum[j]);
        }
        UploadStatistics statistics = channel.StatisticsOf(2);
        Assert.Equal(1, statistics.Uploads);
        Assert.False(double.IsNaN(statistics.MeasuredRoundingVariance));
        Assert.Throws<InvalidOperationException>(() => channel.StatisticsOf(3));
    }

    [Fact]
    public void AnInvalidSpec_NamesEveryBadField()
    {
        var spec = new ExperimentSpec
        {
            Scheme = "tnq",
            Bits = 9,
            Clients = 0,
            Rounds = -1,
            Model = "resnet",
            BatchSize = 0,
            LearningRate = -0.1,
            Momentum = 1,
            WeightDecay = -1,
            Split = "dirichlet:-2",
            EvaluateEvery = 0,
            AuditEvery = -1,
            Workers = 0,
            Threads = 0,
        };

        var fields = spec.Validate().Select(e => e.Field).ToArray();

        Assert.Equal(
            ["bits", "clients", "rounds", "model", "batchSize", "learningRate", "momentum", "weightDecay", "split", "evaluateEvery", "auditEvery", "workers", "threads"],
            fields);
        Assert.Contains("bits = 9 is out of range for tnq: it must be an integer from 1 to 8.", spec.Validate().Select(e => e.Message));
        Assert.Equal(["scheme"], (new ExperimentSpec { Scheme = "zip" }).Validate().Select(e => e.Field));
        Assert.Equal(["bits"], (new ExperimentSpec { Scheme = "qsgd", Bits = 1 }).Validate().Select(e => e.Field));
        Assert.Empty((new ExperimentSpec { Scheme = "sign", Bits = 99 }).Validate());
        Assert.Empty((new ExperimentSpec { Scheme = "usign", Bits = 99 }).Validate());
        Assert.Empty((new ExperimentSpec { Scheme = "bernoulli:0.1", Bits = 99 }).Validate());
        Assert.Empty((new ExperimentSpec { Scheme = "randk:1000", Bits = 99 }).Validate());
        Assert.Equal("bernoulli-0.1", new ExperimentSpec { Scheme = "bernoulli:0.1" }.Label);
        // One label: the spec's, however the parameter was written (bernoulli:0.10 used to label as bernoulli-0.10).
        Assert.Equal(Schemes.Parse("bernoulli:0.10", 3).Label, new ExperimentSpec { Scheme = "bernoulli:0.10" }.Label);
        Assert.Equal("tnq-4", new ExperimentSpec { Scheme = "tnq", Bits = 4 }.Label);
        Assert.Equal("usign", new ExperimentSpec { Scheme = "usign" }.Label);
        Assert.Contains("bernoulli:Q", Assert.Single((new ExperimentSpec { Scheme = "bernoulli:7" }).Validate()).Message, StringComparison.Ordinal);
        Assert.Empty(new ExperimentSpec().Validate());
    }
}
