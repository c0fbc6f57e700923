using Verified.Codec;
using Verified.Theory;

namespace PropertyTests.Codec;

/// <summary>Runs alone: the per-thread allocation counter also sees the runtime's own work while other tests run.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone
{
}

/// <summary>The hot paths allocate nothing once a design's table and the decoder's levels are cached.</summary>
[Collection(nameof(RunsAlone))]
public class CodecAllocationProperties
{
    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 3)]
    [InlineData("tbq", 4)]
    [InlineData("qsgd", 5)]
    [InlineData("nuqsgd", 8)]
    [InlineData("sign", 1)]
    [InlineData("fp", 32)]
    [InlineData("bernoulli", 0)]
    [InlineData("randk", 1000)]
    public void EncodeDecodeAndDecodeAccumulate_AllocateNothing_OnEveryPath(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] gradient = CodecFixtures.Gradient(10_000, 3, design);
        var decoded = new float[gradient.Length];
        var sum = new float[gradient.Length];
        // Fresh codecs: the shared ones' design caches are also filled (and evicted) by the fuzzing tests running in parallel.
        foreach (GradientCodec codec in CodecPaths.Available.Select(path => new GradientCodec(new CodecOptions { Path = path })))
        {
            // Sized for the worst case: a Bernoulli payload's length depends on the key.
            byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, gradient.Length)];
            void Calls()
            {
                for (int i = 0; i < 5; i++)
                {
                    int written = codec.Encode(gradient, design, new RoundingKey(1, i, 2), payload);
                    codec.Decode(payload.AsSpan(0, written), decoded);
                    codec.DecodeAccumulate(payload.AsSpan(0, written), sum, 0.25f);
                    _ = GradientCodec.ReadHeader(payload.AsSpan(0, written));
                }
            }
            // Warm up past the tiering thresholds, then take the least of three measured rounds: the runtime itself may
            // allocate now and then on this thread (tiering, call counting) while other tests run, but a per-call
            // allocation in the codec shows up in every round.
            for (int round = 0; round < 12; round++)
            {
                Calls();
            }
            long allocated = long.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Calls();
                allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.True(allocated == 0, $"{scheme} b={bits} on {codec.Path}: {allocated} bytes allocated by 5 encode/decode/accumulate calls.");
        }
    }

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tbq", 4)]
    [InlineData("qsgd", 5)]
    [InlineData("sign", 1)]
    [InlineData("fp", 32)]
    public void SegmentedEncodeDecodeAndDecodeAccumulate_AllocateNothing_OnEveryPath(string scheme, int bits)
    {
        // 8 buckets of 1,250 coordinates with 8 different models: the design cache holds them all (capacity 64).
        SegmentLayout layout = SegmentLayout.Buckets(10_000, 1250);
        QuantizerDesign template = CodecFixtures.Design(scheme, bits);
        QuantizerDesign[] designs = [.. Enumerable.Range(0, layout.Count).Select(i => Quantizers.Design(
            template.Spec, template.Model is Lomax lomax ? new Lomax(lomax.Scale * (1 + i), lomax.Shape) : new Laplace(0.01 * (1 + i)), 1250))];
        float[] gradient = CodecFixtures.Gradient(10_000, 3, template);
        var decoded = new float[gradient.Length];
        var sum = new float[gradient.Length];
        foreach (GradientCodec codec in CodecPaths.Available.Select(path => new GradientCodec(new CodecOptions { Path = path })))
        {
            byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(template.Spec, layout)];
            void Calls()
            {
                for (int i = 0; i < 5; i++)
                {
                    int written = codec.EncodeSegments(gradient, designs, layout, new RoundingKey(1, i, 2), payload);
                    codec.Decode(payload.AsSpan(0, written), decoded);
                    codec.DecodeAccumulate(payload.AsSpan(0, written), sum, 0.25f);
                    _ = GradientCodec.ReadSegmentedHeader(payload.AsSpan(0, written));
                }
            }
            for (int round = 0; round < 12; round++)
            {
                Calls();
            }
            long allocated = long.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Calls();
                allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.True(allocated == 0, $"segmented {scheme} b={bits} on {codec.Path}: {allocated} bytes allocated by 5 encode/decode/accumulate calls.");
        }
    }
}
