using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>
/// An averaged threshold travels as a fixed α (WireFormat.ThresholdOf): a fresh decoder, which has never seen the
/// encoder's design, must rebuild exactly the encoder's levels from the header.
/// </summary>
public sealed class AveragedThresholdCodecTests
{
    [Theory]
    [InlineData("tnq", 3, 8)]
    [InlineData("tnq", 2, 64)]
    [InlineData("tuq", 3, 8)]
    [InlineData("tuq", 5, 2)]
    public void AveragedDesigns_DecodeOnAFreshCodec_ToTheEncodersLevels(string scheme, int bits, int clients)
    {
        float[] gradient = CodecFixtures.Gradient(4099, 7, CodecFixtures.Design("tnq", 3));
        QuantizerSpec spec = Schemes.Parse(scheme, bits, Threshold.Averaged(clients));
        var encoder = new GradientCodec();
        QuantizerDesign design = encoder.Designs.GetOrDesign(spec, ModelFit.Laplace(gradient));
        byte[] payload = encoder.Encode(gradient, design, new RoundingKey(11, 3, 1));

        PayloadHeader header = GradientCodec.ReadHeader(payload);
        Assert.Equal(WireThreshold.Fixed, header.Threshold);
        Assert.Equal(design.Alpha, header.Alpha);
        float[] decoded = new GradientCodec().Decode(payload);
        float[] levels = [.. design.Levels.Select(l => (float)l)];
        for (int j = 0; j < gradient.Length; j++)
        {
            Assert.Contains(decoded[j], levels);
            // Stochastic rounding moves a value inside [−α, α] only to a neighbouring level.
            float clamped = Math.Clamp(gradient[j], (float)-design.Alpha, (float)design.Alpha);
            int upper = Array.FindIndex(levels, l => l >= clamped);
            Assert.True(decoded[j] == levels[upper] || (upper > 0 && decoded[j] == levels[upper - 1]), $"coordinate {j}");
        }
    }

    [Fact]
    public void AveragedTbq_IsRefused_WithTheReason()
    {
        float[] gradient = CodecFixtures.Gradient(1024, 3, CodecFixtures.Design("tnq", 3));
        var codec = new GradientCodec();
        QuantizerDesign design = codec.Designs.GetOrDesign(new TruncatedBiScaled(3, Threshold.Averaged(8)), ModelFit.Laplace(gradient));
        ArgumentException exception = Assert.ThrowsAny<ArgumentException>(() => codec.Encode(gradient, design, new RoundingKey(1, 0, 0)));
        Assert.Contains("split", exception.Message, StringComparison.Ordinal);
    }
}
