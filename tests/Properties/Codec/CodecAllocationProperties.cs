using Verified.Codec;
using Verified.Theory;

namespace Verified.Properties.Codec;

/// <summary>The hot paths allocate nothing once a design's table and the decoder's levels are cached.</summary>
public class CodecAllocationProperties
{
    [Xunit.Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 3)]
    [InlineData("tbq", 4)]
    [InlineData("qsgd", 5)]
    [InlineData("nuqsgd", 8)]
    [InlineData("sign", 1)]
    [InlineData("fp", 32)]
    public void EncodeDecodeAndDecodeAccumulate_AllocateNothing_OnEveryPath(string scheme, int bits)
    {
        QuantizerDesign design = CodecFixtures.Design(scheme, bits);
        float[] gradient = CodecFixtures.Gradient(10_000, 3, design);
        var decoded = new float[gradient.Length];
        var sum = new float[gradient.Length];
        foreach (GradientCodec codec in CodecFixtures.CodecPerPath)
        {
            byte[] payload = codec.Encode(gradient, design, default);
            void Calls()
            {
                for (int i = 0; i < 5; i++)
                {
                    codec.Encode(gradient, design, new RoundingKey(1, i, 2), payload);
                    codec.Decode(payload, decoded);
                    codec.DecodeAccumulate(payload, sum, 0.25f);
                    _ = GradientCodec.ReadHeader(payload);
                }
            }
            Calls();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Calls();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated == 0, $"{scheme} b={bits} on {codec.Path}: {allocated} bytes allocated by 5 encode/decode/accumulate calls.");
        }
    }
}
