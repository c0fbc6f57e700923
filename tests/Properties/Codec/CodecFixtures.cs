using System.Collections.Concurrent;
using Verified.Codec;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace PropertyTests.Codec;

/// <summary>Designs for every scheme and bit width, computed once per test run, and deterministic test gradients.</summary>
internal static class CodecFixtures
{
    private static readonly ConcurrentDictionary<(string Scheme, int Bits), QuantizerDesign> s_designs = new();

    /// <summary>Every (scheme, bits) pair the codec supports: truncated 1..8, QSGD/NUQSGD 2..8, sign, fp.</summary>
    public static IEnumerable<(string Scheme, int Bits)> AllSchemes()
    {
        foreach (string scheme in new[] { "tuq", "tnq", "tbq" })
        {
            for (int bits = 1; bits <= 8; bits++)
            {
                yield return (scheme, bits);
            }
        }
        foreach (string scheme in new[] { "qsgd", "nuqsgd" })
        {
            for (int bits = 2; bits <= 8; bits++)
            {
                yield return (scheme, bits);
            }
        }
        yield return ("sign", 1);
        yield return ("fp", 32);
    }

    public static TheoryData<string, int> SchemeData()
    {
        var data = new TheoryData<string, int>();
        foreach ((string scheme, int bits) in AllSchemes())
        {
            data.Add(scheme, bits);
        }
        return data;
    }

    /// <summary>
    /// The design of a scheme for Laplace(γ = 0.01) gradients (TBQ on a Lomax model, its heavy-tailed home). Not in
    /// <see cref="AllSchemes"/>: usign, bernoulli (q = 0.25) and randk (k = <paramref name="bits"/>, d = 10,000), which
    /// SparseCodecProperties covers.
    /// </summary>
    public static QuantizerDesign Design(string scheme, int bits) => s_designs.GetOrAdd((scheme, bits), static key =>
    {
        (string scheme, int bits) = key;
        var laplace = new Laplace(0.01);
        return scheme switch
        {
            "tuq" => Quantizers.Design(new TruncatedUniform(bits), laplace),
            "tnq" => Quantizers.Design(new TruncatedNonUniform(bits), laplace),
            "tbq" => Quantizers.Design(new TruncatedBiScaled(bits), new Lomax(0.05, 6)),
            "qsgd" => Quantizers.Design(new Qsgd(bits), laplace, 1000),
            "nuqsgd" => Quantizers.Design(new Nuqsgd(bits), laplace, 1000),
            "sign" => Quantizers.Design(new Sign(), laplace),
            "usign" => Quantizers.Design(new Sign { Magnitude = SignMagnitude.Unit }, laplace),
            "bernoulli" => Quantizers.Design(new BernoulliSparsification(0.25), laplace),
            "randk" => Quantizers.Design(new RandKSparsification(bits), laplace, 10_000), // bits = k, for d = 10,000
            _ => Quantizers.Design(new FullPrecision(), laplace),
        };
    });

    /// <summary>
    /// A deterministic gradient: Laplace(0.01) draws, with exact levels, zeros, ±0, values beyond ±α and tiny
    /// subnormals mixed in so that every branch of the rounding is exercised.
    /// </summary>
    public static float[] Gradient(int length, int seed, QuantizerDesign design)
    {
        var random = new Random(seed);
        var gradient = new float[length];
        for (int j = 0; j < length; j++)
        {
            gradient[j] = (float)LaplaceSampler.Next(random, 0.01);
            switch (random.Next(16))
            {
                case 0 when design.Levels.Length > 0 && design.LevelUnit == LevelUnit.Gradient:
                    gradient[j] = (float)design.Levels[random.Next(design.Levels.Length)];
                    break;
                case 1:
                    gradient[j] = 0;
                    break;
                case 2:
                    gradient[j] = -0.0f;
                    break;
                case 3:
                    gradient[j] *= 50;
                    break;
                case 4:
                    gradient[j] = float.Epsilon * random.Next(1, 100);
                    break;
            }
        }
        return gradient;
    }

    /// <summary>A codec per available path, scalar first.</summary>
    public static IReadOnlyList<GradientCodec> CodecPerPath { get; } =
        [.. CodecPaths.Available.Select(path => new GradientCodec(new CodecOptions { Path = path }))];

    public static GradientCodec Scalar => CodecPerPath[0];
}
