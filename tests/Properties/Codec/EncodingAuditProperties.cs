using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;
using Verified.Codec.Audit;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace PropertyTests.Codec;

/// <summary>
/// The audit that the simulation reports every k rounds measures what it claims: its rounding variance is one draw
/// whose expectation is its "expected given g" figure, which for Laplace gradients approaches the design's
/// RoundingVariance; its truncation figures are exact counts.
/// </summary>
public sealed class EncodingAuditProperties
{
    private static readonly Gen<(string Scheme, int Bits, int Seed)> s_cases =
        from scheme in Gen.Elements("tuq", "tnq", "tbq", "qsgd", "nuqsgd")
        from bits in Gen.Choose(scheme is "qsgd" or "nuqsgd" ? 2 : 1, 6)
        from seed in Gen.Choose(0, int.MaxValue)
        select (scheme, bits, seed);

    [Property(MaxTest = 25, Replay = PinnedSeed.Replay)]
    public Property MeasuredRoundingVariance_IsWithinFiveStandardErrorsOfItsConditionalExpectation() =>
        Prop.ForAll(s_cases.ToArbitrary(), input =>
        {
            (float[] gradient, QuantizerDesign design, GradientCodec codec, byte[] payload) = Encode(input.Scheme, input.Bits, input.Seed, 20_000);
            EncodingAudit audit = EncodingAudit.Measure(codec, gradient, payload, new float[gradient.Length]);

            // Per coordinate, (ĝ − c)² is (l_k − c)² with probability p = (c − l_{k−1})/Δ and (c − l_{k−1})² otherwise:
            // its variance is summed exactly from the levels, so the standard error of the mean is exact too.
            double[] levels = [.. codec.DecodedLevels(GradientCodec.ReadHeader(payload)).Select(l => (double)l).Distinct().Order()];
            double variance = 0;
            foreach (float g in gradient)
            {
                double c = Math.Clamp(g, levels[0], levels[^1]);
                int k = Math.Max(1, Array.FindIndex(levels, l => l >= c));
                double low = levels[k - 1], high = levels[k], width = high - low;
                double p = width > 0 ? (c - low) / width : 0;
                double up = (high - c) * (high - c), down = (c - low) * (c - low);
                double mean = (p * up) + ((1 - p) * down);
                variance += (p * up * up) + ((1 - p) * down * down) - (mean * mean);
            }
            double standardError = Math.Sqrt(variance) / gradient.Length;
            return (Math.Abs(audit.RoundingVariance - audit.ExpectedRoundingVariance) <= (5 * standardError) + 1e-18)
                .Label($"{input.Scheme}-{input.Bits}: measured {audit.RoundingVariance:G6}, expected {audit.ExpectedRoundingVariance:G6}, SE {standardError:G3}");
        });

    [Property(MaxTest = 25)]
    public Property TruncationFigures_AreExactCounts_AndTheErrorSplitAddsUp() =>
        Prop.ForAll(s_cases.ToArbitrary(), input =>
        {
            (float[] gradient, QuantizerDesign _, GradientCodec codec, byte[] payload) = Encode(input.Scheme, input.Bits, input.Seed, 5_000);
            EncodingAudit audit = EncodingAudit.Measure(codec, gradient, payload, new float[gradient.Length]);

            double outer = audit.OuterLevel;
            double rate = gradient.Count(g => Math.Abs((double)g) > outer) / (double)gradient.Length;
            double truncationMse = gradient.Sum(g => Math.Pow(Math.Max(Math.Abs((double)g) - outer, 0), 2)) / gradient.Length;
            float[] decoded = codec.Decode(payload);
            double mse = gradient.Select((g, j) => Math.Pow(decoded[j] - (double)g, 2)).Sum() / gradient.Length;
            return (audit.TruncationRate == rate).Label($"rate {audit.TruncationRate} vs {rate}")
                .And(Math.Abs(audit.TruncationMse - truncationMse) <= 1e-12 * Math.Max(truncationMse, 1e-30)).Label("truncation mse")
                .And(Math.Abs(audit.MeanSquaredError - mse) <= 1e-12 * mse).Label("mse")
                // ‖ĝ − g‖² = ‖ĝ − c‖² + ‖c − g‖² + 2⟨ĝ − c, c − g⟩, and the cross term is ≥ 0 coordinate-wise:
                // beyond the outer level ĝ = l_s = c, so it is 0; inside, c = g.
                .And(Math.Abs(audit.MeanSquaredError - (audit.RoundingVariance + audit.TruncationMse)) <= 1e-9 * audit.MeanSquaredError).Label("split");
        });

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 2)]
    [InlineData("tbq", 4)]
    public void OnLaplaceGradients_TheConditionalExpectation_ApproachesTheDesignsRoundingVariance(string scheme, int bits)
    {
        (float[] gradient, QuantizerDesign design, GradientCodec codec, byte[] payload) = Encode(scheme, bits, 17, 400_000, fitModel: false);
        EncodingAudit audit = EncodingAudit.Measure(codec, gradient, payload, new float[gradient.Length]);

        // E_g[(l_k − c)(c − l_{k−1})] is the design's RoundingVariance, and E_g[1{|g| > α}] is TailMass(α): averages of
        // d bounded terms, so within 5 standard errors (sd ≤ max Δ²/4 and ≤ 1/2 respectively).
        double maxWidth = design.Levels.Zip(design.Levels.Skip(1), (a, b) => b - a).Max();
        Assert.InRange(audit.ExpectedRoundingVariance - design.RoundingVariance, -5 * maxWidth * maxWidth / 4 / Math.Sqrt(gradient.Length), 5 * maxWidth * maxWidth / 4 / Math.Sqrt(gradient.Length));
        Assert.InRange(audit.TruncationRate - design.Model.TailMass(design.Alpha), -5 * 0.5 / Math.Sqrt(gradient.Length), 5 * 0.5 / Math.Sqrt(gradient.Length));
    }

    [Fact]
    public void SignAndFullPrecision_ReportOnlyTheirError()
    {
        foreach (QuantizerSpec spec in new QuantizerSpec[] { new Sign(), new FullPrecision() })
        {
            float[] gradient = LaplaceSampler.Vector(1000, 0.01, 5);
            var codec = new GradientCodec();
            byte[] payload = codec.Encode(gradient, Quantizers.Design(spec, ModelFit.Laplace(gradient)), new RoundingKey(1, 0, 0));
            EncodingAudit audit = EncodingAudit.Measure(codec, gradient, payload, new float[1000]);
            Assert.Equal(0, audit.RoundingVariance);
            Assert.Equal(0, audit.TruncationRate);
            if (spec is FullPrecision)
            {
                Assert.Equal(0, audit.MeanSquaredError);
            }
            else
            {
                Assert.True(audit.MeanSquaredError > 0);
            }
        }
    }

    [Fact]
    public void AGradientOfAnotherLength_IsAnArgumentError()
    {
        var codec = new GradientCodec();
        float[] gradient = LaplaceSampler.Vector(100, 0.01, 1);
        byte[] payload = codec.Encode(gradient, Quantizers.Design(new TruncatedNonUniform(3), ModelFit.Laplace(gradient)), new RoundingKey(1, 0, 0));
        Assert.Throws<ArgumentException>(() => EncodingAudit.Measure(codec, gradient.AsSpan(0, 99), payload, new float[100]));
        Assert.Throws<CodecFormatException>(() => EncodingAudit.Measure(codec, gradient, payload.AsSpan(0, 70), new float[100]));
    }

    private static (float[] Gradient, QuantizerDesign Design, GradientCodec Codec, byte[] Payload) Encode(string scheme, int bits, int seed, int length, bool fitModel = true)
    {
        float[] gradient = LaplaceSampler.Vector(length, 0.01, seed);
        GradientModel model = fitModel ? ModelFit.Laplace(gradient) : new Laplace(0.01);
        QuantizerDesign design = Quantizers.Design(Schemes.Parse(scheme, bits), model, length);
        var codec = new GradientCodec();
        return (gradient, design, codec, codec.Encode(gradient, design, new RoundingKey((ulong)seed, 1, 2)));
    }
}
