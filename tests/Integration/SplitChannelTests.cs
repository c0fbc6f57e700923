using Verified.Codec;
using Verified.Simulation.Training;
using Verified.Theory;

namespace IntegrationTests;

/// <summary>
/// The codec channel's two halves apart, as a cluster runs them: one <see cref="UploadEncoder"/> per client (each in
/// its own "process", with its own codec), payloads and vectors copied as a network would carry them, and one
/// <see cref="UploadAggregator"/> adding them in client order. No libtorch.
/// </summary>
public sealed class SplitChannelTests
{
    private const int Clients = 4;
    private const int Dimension = 1_000;

    public static TheoryData<string, int, bool> Cases { get; } = new()
    {
        { "tnq", 3, false },
        { "tnq", 3, true },
        { "qsgd", 4, false },
        { "sign", 1, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodersApartAndOneServer_GiveTheChannelsSumsAndStatistics_BitForBit(string scheme, int bits, bool errorFeedback)
    {
        QuantizerSpec spec = Schemes.Parse(scheme, bits);
        var options = new CodecChannelOptions { AuditEvery = 2, ErrorFeedbackClients = errorFeedback ? Clients : 0 };
        var channel = new CodecChannel(spec, Dimension, options);
        var encoders = Enumerable.Range(0, Clients).Select(_ => new UploadEncoder(spec, Dimension, options, new GradientCodec())).ToArray();
        var server = new UploadAggregator(Dimension, options.AuditEvery, new GradientCodec());
        var random = new Random(7);
        for (int round = 0; round < 5; round++)
        {
            float[] inProcess = new float[Dimension];
            float[] apart = new float[Dimension];
            var uploads = new (byte[] Payload, float[]? Sent, UploadDescription Description)[Clients];
            long channelBytes = 0, apartBytes = 0;
            float[][] gradients = [.. Enumerable.Range(0, Clients).Select(client => HeavyTailed(random, 0.01 * (client + 1)))];
            for (int client = 0; client < Clients; client++)
            {
                channelBytes += channel.Transmit(gradients[client], new UploadKey(11, round, client), inProcess, 1f / Clients);
            }
            // The clients apart encode in reverse order (as arrivals might come); the server adds in client order.
            for (int client = Clients - 1; client >= 0; client--)
            {
                EncodedUpload upload = encoders[client].Encode(gradients[client], new UploadKey(11, round, client));
                uploads[client] = (upload.Payload.ToArray(), server.IsAuditRound(round) ? upload.Sent.ToArray() : null, upload.Description);
            }
            for (int client = 0; client < Clients; client++)
            {
                (byte[] payload, float[]? sent, UploadDescription description) = uploads[client];
                server.Accept(new UploadKey(11, round, client), payload, description, sent, apart, 1f / Clients);
                apartBytes += payload.Length;
            }

            Assert.Equal(inProcess, apart);
            Assert.Equal(channelBytes, apartBytes);
            Assert.Equal(channel.StatisticsOf(round), server.StatisticsOf(round));
        }
    }

    [Fact]
    public void AnAuditRoundsUpload_WithoutItsVector_IsRefused_SayingWhatIsMissing()
    {
        var spec = new TruncatedNonUniform(3);
        var encoder = new UploadEncoder(spec, Dimension, new CodecChannelOptions());
        var server = new UploadAggregator(Dimension, auditEvery: 10);
        EncodedUpload upload = encoder.Encode(HeavyTailed(new Random(1), 0.01), new UploadKey(1, 20, 3));
        byte[] payload = upload.Payload.ToArray();
        UploadDescription description = upload.Description;

        var error = Assert.Throws<ArgumentException>(() => server.Accept(new UploadKey(1, 20, 3), payload, description, [], new float[Dimension], 0.25f));

        Assert.Contains("Round 20 is audited", error.Message, StringComparison.Ordinal);
        Assert.Contains("client 3", error.Message, StringComparison.Ordinal);
        // Outside audit rounds the vector is not needed.
        server.Accept(new UploadKey(1, 21, 3), payload, description, [], new float[Dimension], 0.25f);
        Assert.Equal(1, server.StatisticsOf(21).Uploads);
    }

    [Fact]
    public void ACorruptedPayload_IsRefusedByTheServer_AndTheSumKeepsWhatItHad()
    {
        var spec = new TruncatedNonUniform(3);
        var encoder = new UploadEncoder(spec, Dimension, new CodecChannelOptions());
        var server = new UploadAggregator(Dimension, auditEvery: 0);
        byte[] payload = encoder.Encode(HeavyTailed(new Random(2), 0.01), new UploadKey(1, 1, 0)).Payload.ToArray();
        payload[payload.Length / 2] ^= 0x40;
        float[] sum = [.. Enumerable.Repeat(0.5f, Dimension)];

        Assert.ThrowsAny<CodecFormatException>(() => server.Accept(new UploadKey(1, 1, 0), payload, default, [], sum, 0.25f));
        Assert.All(sum, v => Assert.Equal(0.5f, v));
    }

    /// <summary>Laplace-like values with a few large coordinates, so truncation has something to cut.</summary>
    private static float[] HeavyTailed(Random random, double scale)
    {
        var values = new float[Dimension];
        for (int j = 0; j < Dimension; j++)
        {
            double u = random.NextDouble() - 0.5;
            double laplace = -scale * Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u)));
            values[j] = (float)(j % 97 == 0 ? 20 * laplace : laplace);
        }
        return values;
    }
}
