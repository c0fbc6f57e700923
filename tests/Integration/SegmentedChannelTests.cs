using Verified.Codec;
using Verified.Simulation.Training;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace IntegrationTests;

/// <summary>
/// The codec channel with segmented uploads (<c>--segments tensor|bucket:N</c>): each segment's own fit and design in
/// one version-3 payload, float32 for small tensors, error feedback and the averaged bias/variance split; no libtorch.
/// </summary>
public sealed class SegmentedChannelTests
{
    // Three "tensors" with scales 100× apart and a small one (a bias) that goes as float32.
    private static readonly int[] TensorSizes = [6000, 200, 4000];

    private static float[] Gradient(int seed)
    {
        var random = new SdeRandom((ulong)seed);
        var gradient = new float[TensorSizes.Sum()];
        int start = 0;
        double[] scales = [1e-2, 3e-1, 1e-4];
        for (int t = 0; t < TensorSizes.Length; t++)
        {
            for (int j = 0; j < TensorSizes[t]; j++)
            {
                gradient[start + j] = (float)random.NextLaplace(scales[t]);
            }
            start += TensorSizes[t];
        }
        return gradient;
    }

    private static CodecChannel Channel(QuantizerSpec spec, UploadSegmentation segmentation, int feedbackClients = 0, int auditEvery = 1) =>
        new(spec, TensorSizes.Sum(), new CodecChannelOptions
        {
            AuditEvery = auditEvery,
            ErrorFeedbackClients = feedbackClients,
            Segments = segmentation.Plan(TensorSizes.Sum(), TensorSizes),
        });

    [Fact]
    public void PerTensor_SendsOneSegmentPerTensor_EachWithItsOwnScale_AndSmallTensorsAsFloat32()
    {
        CodecChannel channel = Channel(new TruncatedNonUniform(3), UploadSegmentation.PerTensor);
        float[] gradient = Gradient(1);
        var sum = new float[gradient.Length];

        long bytes = channel.Transmit(gradient, new UploadKey(7, 0, 0), sum, 1f);

        // The server's sum is exactly the payload decoded: rebuild the payload with the same designs and key.
        var codec = new GradientCodec();
        UploadSegmentPlan plan = channel.Segments!;
        QuantizerDesign[] designs =
        [
            codec.Designs.GetOrDesign(new TruncatedNonUniform(3), ModelFit.Laplace(gradient.AsSpan(0, 6000))),
            Quantizers.Design(new FullPrecision(), new Laplace(1)),
            codec.Designs.GetOrDesign(new TruncatedNonUniform(3), ModelFit.Laplace(gradient.AsSpan(6200, 4000))),
        ];
        byte[] payload = codec.EncodeSegments(gradient, designs, plan.Layout, new RoundingKey(7, 0, 0));
        Assert.Equal(payload.Length, bytes);
        Assert.Equal(codec.Decode(payload), sum);

        var segments = GradientCodec.ReadSegments(payload);
        Assert.Equal(3, segments.Length);
        Assert.Equal(WireScheme.FullPrecision, segments[1].Header.Scheme);
        Assert.Equal(gradient.AsSpan(6000, 200).ToArray(), sum.AsSpan(6000, 200).ToArray());
        Assert.InRange(segments[0].Header.ModelScale / segments[2].Header.ModelScale, 50, 200);
    }

    [Fact]
    public void PerTensor_CutsTheErrorOfMixedScales_FarBelowTheWholeVectorFit()
    {
        float[] gradient = Gradient(2);
        double whole = Mse(gradient, null), tensor = Mse(gradient, UploadSegmentation.PerTensor);

        // One Laplace fit for scales 100× apart sets α for their mix: it truncates the large tensor and crushes the
        // small one into the zero cell; a fit per tensor does neither.
        Assert.True(tensor < whole / 10, $"per tensor {tensor:G4} vs whole {whole:G4}");
    }

    [Fact]
    public void Buckets_CutTheErrorOfAVectorWhoseHalvesDifferInScale()
    {
        // The codec's acceptance case (halves with scales 100× apart, bucket:4096), through the channel: 0.41× the
        // whole-vector MSE was measured with `verified codec encode`; a wrong per-bucket fit or design gives ≥ 1.
        var random = new SdeRandom(9);
        float[] gradient = [.. Enumerable.Range(0, 16384).Select(j => (float)random.NextLaplace(j < 8192 ? 1e-2 : 1e-4))];
        double whole = Mse(gradient, null), buckets = Mse(gradient, UploadSegmentation.Buckets(4096));
        Assert.True(buckets < 0.6 * whole, $"buckets {buckets:G4} vs whole {whole:G4}");
    }

    private static double Mse(float[] gradient, UploadSegmentation? segmentation)
    {
        var channel = new CodecChannel(new TruncatedNonUniform(3), gradient.Length, new CodecChannelOptions
        {
            AuditEvery = 1,
            Segments = segmentation?.Plan(gradient.Length, segmentation.Kind == SegmentationKind.Tensor ? TensorSizes : [gradient.Length]),
        });
        channel.Transmit(gradient, new UploadKey(1, 0, 0), new float[gradient.Length], 1f);
        return channel.StatisticsOf(0).MeasuredMse;
    }

    [Theory]
    [InlineData("tnq")]
    [InlineData("qsgd")]
    [InlineData("sign")]
    public void ErrorFeedback_WithSegments_DecodedUploadsPlusResidual_SumToTheGradientsSent(string scheme)
    {
        QuantizerSpec spec = Schemes.Parse(scheme, 3, null);
        CodecChannel channel = Channel(spec, UploadSegmentation.Buckets(1024), feedbackClients: 1, auditEvery: 0);
        var sent = new double[TensorSizes.Sum()];
        var decoded = new float[sent.Length];
        for (int round = 0; round < 6; round++)
        {
            float[] gradient = Gradient(100 + round);
            for (int j = 0; j < sent.Length; j++)
            {
                sent[j] += gradient[j];
            }
            channel.Transmit(gradient, new UploadKey(3, round, 0), decoded, 1f);
        }
        ReadOnlySpan<float> residual = channel.Residual(0);
        double worst = 0;
        for (int j = 0; j < sent.Length; j++)
        {
            worst = Math.Max(worst, Math.Abs(decoded[j] + residual[j] - sent[j]));
        }
        Assert.True(worst < 1e-5, $"largest |Σ decoded + e − Σ g| = {worst:G3}");
    }

    [Fact]
    public void ANonFiniteCoordinate_InAnyKindOfSegment_NamesItsIndexInTheWholeVector()
    {
        foreach (int index in new[] { 6100, 8000 })
        {
            CodecChannel channel = Channel(new TruncatedNonUniform(3), UploadSegmentation.PerTensor);
            float[] gradient = Gradient(3);
            gradient[index] = float.PositiveInfinity;
            TrainingDivergedException error = Assert.Throws<TrainingDivergedException>(
                () => channel.Transmit(gradient, new UploadKey(1, 4, 2), new float[gradient.Length], 1f));
            Assert.Equal(index, error.Index);
            Assert.Equal(4, error.Round);
        }
    }

    [Fact]
    public void AnAllZeroSegment_GoesAsZeros_AndTheOthersAsUsual()
    {
        CodecChannel channel = Channel(new Qsgd(3), UploadSegmentation.PerTensor);
        float[] gradient = Gradient(4);
        Array.Clear(gradient, 6200, 4000);
        var sum = new float[gradient.Length];
        channel.Transmit(gradient, new UploadKey(1, 0, 0), sum, 1f);
        Assert.All(sum.AsSpan(6200, 4000).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(sum.AsSpan(0, 6000).ToArray(), v => v != 0);
    }

    [Fact]
    public void TheAveragedSplit_IsZeroForFullPrecision_UnbiasedForQsgd_AndBiasedByATightThreshold()
    {
        (double Bias, double Variance) Split(QuantizerSpec spec)
        {
            // Buckets of one scale each (halves of 1e-2 and 1e-3 on bucket boundaries), so that every coordinate is
            // quantized with a fit to its own scale.
            const int d = 10240;
            var channel = new CodecChannel(spec, d, new CodecChannelOptions { AuditEvery = 1, Segments = UploadSegmentation.Buckets(1024).Plan(d, [d]) });
            var sum = new float[d];
            for (int client = 0; client < 4; client++)
            {
                var random = new SdeRandom((ulong)(200 + client));
                float[] gradient = [.. Enumerable.Range(0, d).Select(j => (float)random.NextLaplace(j < d / 2 ? 1e-2 : 1e-3))];
                channel.Transmit(gradient, new UploadKey(5, 0, client), sum, 0.25f);
            }
            UploadStatistics statistics = channel.StatisticsOf(0);
            return (statistics.AveragedBiasSquared, statistics.AveragedVariance);
        }

        Assert.Equal((0, 0), Split(new FullPrecision()));
        (double qsgdBias, double qsgdVariance) = Split(new Qsgd(3));
        Assert.Equal(0, qsgdBias);
        Assert.True(qsgdVariance > 0);
        // α = 10⁻⁴, far below both scales, truncates nearly everything: the bias is most of ‖ḡ‖² and dominates the
        // variance. The optimal α truncates a few percent of the energy (e^{−α/γ} on Laplace).
        (double tightBias, double tightVariance) = Split(new TruncatedNonUniform(3) { Threshold = Threshold.Fixed(1e-4) });
        Assert.True(tightBias > 0.5, $"bias² {tightBias:G3}");
        Assert.True(tightBias > 10 * tightVariance, $"bias² {tightBias:G3}, variance {tightVariance:G3}");
        (double optimalBias, _) = Split(new TruncatedNonUniform(3));
        Assert.True(optimalBias < tightBias / 10, $"optimal α: bias² {optimalBias:G3}");
    }
}
