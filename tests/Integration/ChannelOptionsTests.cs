using System.Text.Json;
using Verified.Codec;
using Verified.Host.Runs;
using Verified.Host.Service;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;
using Verified.Theory;

namespace IntegrationTests;

/// <summary>
/// Error feedback in the codec channel, its checkpointed state, and the spec's errorFeedback, threshold and fit
/// fields (validation, labels, presets, the service's reader); no libtorch.
/// </summary>
public sealed class ChannelOptionsTests
{
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);

    /// <summary>Gradients with a common drift and Laplace noise, so that the uploads lose something every round.</summary>
    private static void FillGradient(Random random, float[] gradient, double scale)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            double u = random.NextDouble() - 0.5;
            double laplace = -Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u)));
            gradient[j] = (float)(scale * (laplace + Math.Sin(j * 0.01)));
        }
    }

    [Theory]
    [InlineData("tnq", 3)]
    [InlineData("tuq", 2)]
    [InlineData("tbq", 3)]
    [InlineData("qsgd", 2)]
    [InlineData("sign", 1)]
    [InlineData("bernoulli:0.1", 1)]
    [InlineData("fp", 32)]
    public void OverManyRounds_DecodedUploadsPlusTheResidual_AreTheGradientsSent(string scheme, int bits)
    {
        const int D = 4096;
        const int Rounds = 60;
        QuantizerSpec spec = Schemes.Parse(scheme, bits);
        var channel = new CodecChannel(spec, D, new CodecChannelOptions { AuditEvery = 7, ErrorFeedbackClients = 3 });
        var random = new Random(11);
        float[] gradient = new float[D];
        float[] received = new float[D];
        float[] residual = new float[D];
        double[] gradients = new double[D], uploads = new double[D], rounding = new double[D], magnitudes = new double[D];

        for (int round = 0; round < Rounds; round++)
        {
            FillGradient(random, gradient, 1e-3 * (1 + (round % 5)));
            Array.Clear(received);
            // weight 1 into a zero sum: the server adds exactly the decoded payload Q(g + e).
            channel.Transmit(gradient, new UploadKey(5, round, 1), received, 1f);
            ReadOnlySpan<float> next = channel.Residual(1);
            for (int j = 0; j < D; j++)
            {
                float sent = gradient[j] + residual[j]; // the same single float addition the channel makes
                // The residual is the sent vector minus what the server decoded, exactly (one float subtraction).
                Assert.Equal(sent - received[j], next[j]);
                gradients[j] += gradient[j];
                uploads[j] += received[j];
                // Each of the two float operations of a round is off by at most u = 2⁻²⁴ of its result.
                rounding[j] += Math.Abs(sent) + Math.Abs(next[j]);
                magnitudes[j] += Math.Abs(gradient[j]) + Math.Abs(received[j]);
                residual[j] = next[j];
            }
        }

        // Σ_r Q(v_r) + e_R − Σ_r g_r telescopes to the rounding of v_r = g_r + e_{r−1} and e_r = v_r − Q(v_r): at most
        // u·Σ_r (|v_r| + |e_r|) per coordinate. The test's own double sums add at most (R + 2)·2⁻⁵³ of the magnitudes.
        double u = Math.ScaleB(1, -24);
        int lost = 0;
        for (int j = 0; j < D; j++)
        {
            double difference = Math.Abs(uploads[j] + residual[j] - gradients[j]);
            double tolerance = (u * rounding[j]) + (Math.ScaleB(1, -52) * (Rounds + 2) * (magnitudes[j] + Math.Abs(residual[j])));
            Assert.True(difference <= tolerance, $"coordinate {j}: |Σ Q + e − Σ g| = {difference:G6} > {tolerance:G6}");
            lost += residual[j] != 0 ? 1 : 0;
        }
        // Full precision loses nothing, so it feeds nothing back; every lossy scheme leaves a residual.
        Assert.True(scheme == "fp" ? lost == 0 : lost > D / 2, $"{lost} nonzero residual coordinates");
        // Residuals are per client: client 0 sent nothing.
        Assert.All(channel.Residual(0).ToArray(), e => Assert.Equal(0f, e));
    }

    [Theory]
    [InlineData("tnq")]
    [InlineData("tuq")]
    [InlineData("tbq")]
    public void TheLomaxFit_DesignsForThePowerLaw_AndAnUploadWithRhoAtMostThreeFallsBackToLaplace_Counted(string scheme)
    {
        const int D = 3000;
        var channel = new CodecChannel(Schemes.Parse(scheme, 3), D, new CodecChannelOptions { Fit = UploadFitKind.Lomax, AuditEvery = 0 });
        var random = new Random(8);
        // |g| = σ((1 − U)^(−1/a) − 1) is Lomax with shape a = ρ − 1: ρ = 6 has a design, ρ = 2.5 has none.
        float[] PowerLaw(double rho) =>
            [.. Enumerable.Range(0, D).Select(_ => (float)((random.Next(2) * 2 - 1) * 0.01 * (Math.Pow(1 - random.NextDouble(), -1 / (rho - 1)) - 1)))];

        channel.Transmit(PowerLaw(6), new UploadKey(1, 0, 0), new float[D], 1f);
        Assert.Equal(0, channel.StatisticsOf(0).FitFallbacks);
        Assert.Equal(0, channel.FitFallbacks);

        channel.Transmit(PowerLaw(2.5), new UploadKey(1, 1, 0), new float[D], 1f);
        channel.Transmit(PowerLaw(6), new UploadKey(1, 1, 1), new float[D], 1f);
        Assert.Equal(1, channel.StatisticsOf(1).FitFallbacks);
        Assert.Equal(1, channel.FitFallbacks);
    }

    [Fact]
    public void TheResiduals_SurviveWriteAndReadState_AndAMismatchIsRefusedWithoutChange()
    {
        const int D = 1000;
        var spec = new TruncatedNonUniform(2);
        var options = new CodecChannelOptions { ErrorFeedbackClients = 2 };
        var saved = new CodecChannel(spec, D, options);
        var random = new Random(4);
        float[] gradient = new float[D];
        for (int round = 0; round < 3; round++)
        {
            for (int client = 0; client < 2; client++)
            {
                FillGradient(random, gradient, 0.01);
                saved.Transmit(gradient, new UploadKey(1, round, client), new float[D], 0.5f);
            }
        }
        using var state = new MemoryStream();
        using (var writer = new BinaryWriter(state, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            saved.WriteState(writer);
        }
        byte[] bytes = state.ToArray();

        var restored = new CodecChannel(spec, D, options);
        restored.ReadState(new BinaryReader(new MemoryStream(bytes)));
        for (int client = 0; client < 2; client++)
        {
            Assert.Equal(saved.Residual(client).ToArray(), restored.Residual(client).ToArray());
        }

        var off = new CodecChannel(spec, D);
        Assert.Contains("error feedback off", Assert.Throws<InvalidDataException>(() => off.ReadState(new BinaryReader(new MemoryStream(bytes)))).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => off.Residual(0));

        var three = new CodecChannel(spec, D, options with { ErrorFeedbackClients = 3 });
        Assert.Contains("2 clients", Assert.Throws<InvalidDataException>(() => three.ReadState(new BinaryReader(new MemoryStream(bytes)))).Message, StringComparison.Ordinal);

        var truncated = new CodecChannel(spec, D, options);
        Assert.Throws<InvalidDataException>(() => truncated.ReadState(new BinaryReader(new MemoryStream(bytes[..^1]))));
        Assert.All(truncated.Residual(0).ToArray(), e => Assert.Equal(0f, e)); // read whole before anything is written
    }

    [Fact]
    public void TheLabel_AddsOneSuffixPerOptionNotAtItsDefault_InOneOrder()
    {
        var spec = new ExperimentSpec();
        Assert.Equal("tnq-3", spec.Label);
        Assert.Equal("tnq-3-averaged", (spec with { Threshold = "averaged" }).Label);
        Assert.Equal("tnq-3-lomax", (spec with { Fit = "lomax" }).Label);
        Assert.Equal("tnq-3-ef", (spec with { ErrorFeedback = true }).Label);
        Assert.Equal("tnq-3-lomax-averaged-ef", (spec with { ErrorFeedback = true, Threshold = "averaged", Fit = "lomax" }).Label);
        Assert.Equal("tuq-2-relaxed", (spec with { Scheme = "tuq", Bits = 2, Threshold = "relaxed" }).Label);
        Assert.Equal("tbq-3-alpha0.05", (spec with { Scheme = "tbq", Threshold = "0.05" }).Label);
        Assert.Equal("sign-ef", (spec with { Scheme = "sign", ErrorFeedback = true }).Label);
        Assert.Equal("bernoulli-0.1-ef", (spec with { Scheme = "bernoulli:0.1", ErrorFeedback = true }).Label);

        // The threshold reaches the quantizer; averaged is over the spec's clients; the options reach the channel.
        Assert.Equal(Threshold.Averaged(8), ((TruncatedNonUniform)(spec with { Threshold = "averaged" }).ToQuantizerSpec()).Threshold);
        Assert.Equal(Threshold.Averaged(4), ((TruncatedNonUniform)(spec with { Threshold = "averaged", Clients = 4 }).ToQuantizerSpec()).Threshold);
        Assert.Equal(Threshold.Fixed(0.05), ((TruncatedBiScaled)(spec with { Scheme = "tbq", Threshold = "0.05" }).ToQuantizerSpec()).Threshold);
        CodecChannelOptions options = (spec with { ErrorFeedback = true, Fit = "lomax", AuditEvery = 3 }).ToChannelOptions(10, [10]);
        Assert.Equal(new CodecChannelOptions { AuditEvery = 3, Fit = UploadFitKind.Lomax, ErrorFeedbackClients = 8 }, options);
        Assert.Equal(0, spec.ToChannelOptions(10, [10]).ErrorFeedbackClients);
    }

    [Fact]
    public void Segments_name_the_label_reach_the_channel_and_are_validated()
    {
        var spec = new ExperimentSpec();
        Assert.Equal("tnq-3-tensor-auto-ef", (spec with { Segments = "tensor", Fit = "auto", ErrorFeedback = true }).Label);
        Assert.Equal("qsgd-3-bucket4096", (spec with { Scheme = "qsgd", Segments = "bucket:4096" }).Label);
        Assert.Equal("tnq-3", (spec with { Segments = "whole" }).Label);

        // tensor: one segment per tensor, the small ones (< 1024 coordinates) as float32.
        UploadSegmentPlan tensor = (spec with { Segments = "tensor" }).ToChannelOptions(5000, [3000, 100, 1900]).Segments!;
        Assert.Equal(SegmentLayout.Sizes(3000, 100, 1900), tensor.Layout);
        Assert.Equal([false, true, false], tensor.FullPrecision.ToArray());
        UploadSegmentPlan buckets = (spec with { Segments = "bucket:2048" }).ToChannelOptions(5000, [5000]).Segments!;
        Assert.Equal(SegmentLayout.Buckets(5000, 2048), buckets.Layout);
        Assert.DoesNotContain(true, buckets.FullPrecision);
        Assert.Null(spec.ToChannelOptions(5000, [5000]).Segments);
        Assert.Throws<ArgumentException>(() => (spec with { Segments = "tensor" }).ToChannelOptions(5000, [3000, 100]));

        Assert.Contains((spec with { Segments = "tensors" }).Validate(), e => e.Field == "segments" && e.Message.Contains("whole, tensor or bucket:N", StringComparison.Ordinal));
        Assert.Contains((spec with { Segments = "bucket:10" }).Validate(), e => e.Field == "segments" && e.Message.Contains("at least 64", StringComparison.Ordinal));
        Assert.Contains((spec with { Segments = "bucket:x" }).Validate(), e => e.Field == "segments");
        Assert.Contains((spec with { Scheme = "randk:100", Segments = "tensor" }).Validate(), e => e.Field == "segments" && e.Message.Contains("sent whole", StringComparison.Ordinal));
        Assert.Empty((spec with { Scheme = "qsgd", Segments = "tensor" }).Validate());
        Assert.Empty((spec with { Scheme = "randk:100", Segments = "whole" }).Validate());
    }

    [Theory]
    [InlineData("qsgd", "averaged", "laplace", "threshold", "does not truncate")]
    [InlineData("fp", "0.1", "laplace", "threshold", "does not truncate")]
    [InlineData("tnq", "relaxed", "laplace", "threshold", "TUQSGD's")]
    [InlineData("tbq", "averaged", "laplace", "threshold", "codec refuses it")]
    [InlineData("tnq", "best", "laplace", "threshold", "optimal, averaged, relaxed")]
    [InlineData("tnq", "-1", "laplace", "threshold", "α > 0")]
    [InlineData("tnq", "optimal", "pareto", "fit", "laplace or lomax")]
    [InlineData("sign", "optimal", "lomax", "fit", "truncating schemes")]
    public void AnInvalidCombination_IsAFieldError_NamingTheField(string scheme, string threshold, string fit, string field, string says)
    {
        var spec = new ExperimentSpec { Scheme = scheme, Threshold = threshold, Fit = fit, ErrorFeedback = true };

        ExperimentSpecError error = Assert.Single(spec.Validate());

        Assert.Equal(field, error.Field);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        Assert.Contains($"{field} = ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheValidCombinations_Validate_AndFieldErrorsComeInFieldOrder()
    {
        Assert.Empty(new ExperimentSpec { Scheme = "tuq", Threshold = "relaxed", Fit = "lomax", ErrorFeedback = true }.Validate());
        Assert.Empty(new ExperimentSpec { Scheme = "tuq", Threshold = "averaged" }.Validate());
        Assert.Empty(new ExperimentSpec { Scheme = "tbq", Threshold = "0.01", Fit = "lomax" }.Validate());
        Assert.Empty(new ExperimentSpec { Scheme = "fp", ErrorFeedback = true }.Validate());
        Assert.Empty(new ExperimentSpec { Scheme = "randk:100", ErrorFeedback = true }.Validate());

        var spec = new ExperimentSpec { Scheme = "qsgd", Bits = 9, Clients = 0, Threshold = "nope", Fit = "nope" };
        Assert.Equal(["bits", "clients", "threshold", "fit"], spec.Validate().Select(e => e.Field));
    }

    [Fact]
    public void ThePlans_CarryTheOptions_ToEverySchemeThatTakesThem_AndFullPrecisionStaysPlain()
    {
        var template = new ExperimentSpec { Rounds = 10, ErrorFeedback = true, Threshold = "averaged", Fit = "lomax" };

        Assert.Equal(["tnq-3-lomax-averaged-ef", "fp"], ExperimentPlan.Create(null, template, 1, baseline: true).Runs.Select(r => r.Label));
        ExperimentPlan accuracy = ExperimentPlan.Create("fig-accuracy", template, 1, baseline: true);
        Assert.Equal(
            ["fp", "qsgd-3-ef", "nuqsgd-3-ef", "tuq-3-lomax-averaged-ef", "tnq-3-lomax-averaged-ef", "tbq-3-lomax-ef", "sign-ef"],
            accuracy.Runs.Select(r => r.Label));
        Assert.All(accuracy.Runs, r => Assert.Empty(r.Validate()));

        // At the defaults the presets are what they were.
        Assert.Equal(
            ["fp", "qsgd-3", "nuqsgd-3", "tuq-3", "tnq-3", "tbq-3", "sign"],
            ExperimentPlan.Create("fig-accuracy", new ExperimentSpec(), 1, baseline: true).Runs.Select(r => r.Label));
    }

    [Fact]
    public void TheServiceReader_TakesTheNewFields_AndNamesEachBadOne()
    {
        static (ExperimentSpec? Spec, Dictionary<string, string[]> Errors) Read(string json)
        {
            using JsonDocument document = JsonDocument.Parse(json);
            return SpecReader.Read(document.RootElement, 1_000_000, 4);
        }

        (ExperimentSpec? spec, Dictionary<string, string[]> errors) = Read("""{"scheme": "tnq", "errorFeedback": true, "threshold": "averaged", "fit": "lomax"}""");
        Assert.Empty(errors);
        Assert.Equal((true, "averaged", "lomax"), (spec!.ErrorFeedback, spec.Threshold, spec.Fit));
        // No "segments": tnq goes per tensor, as `verified run` does (ExperimentSpec.RecommendedSegments).
        Assert.Equal("tnq-3-tensor-lomax-averaged-ef", spec.Label);

        (_, errors) = Read("""{"scheme": "tbq", "errorFeedback": "yes", "threshold": "averaged", "fit": 3}""");
        Assert.Equal(["errorFeedback", "fit", "threshold"], errors.Keys.Order());
        Assert.Contains("true or false", errors["errorFeedback"][0], StringComparison.Ordinal);
        Assert.Contains("codec refuses it", errors["threshold"][0], StringComparison.Ordinal);

        // A spec shown by GET /api/runs/{id} (with its derived label) can be submitted again.
        string shown = JsonSerializer.Serialize(spec, s_web);
        Assert.Contains("\"errorFeedback\":true", shown, StringComparison.Ordinal);
        (ExperimentSpec? again, errors) = Read(shown);
        Assert.Empty(errors);
        Assert.Equal(spec, again);

        // Segments: taken, labelled, validated with the other fields.
        (spec, errors) = Read("""{"scheme": "qsgd", "segments": "tensor"}""");
        Assert.Empty(errors);
        Assert.Equal("qsgd-3-tensor", spec!.Label);
        (_, errors) = Read("""{"scheme": "randk:10", "segments": "bucket:4096"}""");
        Assert.Contains("sent whole", errors["segments"][0], StringComparison.Ordinal);
        (_, errors) = Read("""{"segments": 4096}""");
        Assert.True(errors.ContainsKey("segments"));

        // What a request leaves out: per tensor for the schemes with bits, error feedback for the truncating ones;
        // what it says is kept, defaults or not.
        Assert.Equal(("tensor", true), Uploads("""{}"""));
        Assert.Equal(("tensor", true), Uploads("""{"scheme": "tbq"}"""));
        Assert.Equal(("tensor", false), Uploads("""{"scheme": "nuqsgd"}"""));
        Assert.Equal(("whole", false), Uploads("""{"scheme": "bernoulli:0.5"}"""));
        Assert.Equal(("whole", false), Uploads("""{"scheme": "usign"}"""));
        Assert.Equal(("whole", false), Uploads("""{"scheme": "fp"}"""));
        Assert.Equal(("whole", false), Uploads("""{"scheme": "tnq", "segments": "whole", "errorFeedback": false}"""));
        Assert.Equal(("tensor", true), Uploads("""{"scheme": "qsgd", "errorFeedback": true}"""));

        static (string Segments, bool ErrorFeedback) Uploads(string json)
        {
            (ExperimentSpec? read, Dictionary<string, string[]> problems) = Read(json);
            Assert.Empty(problems);
            return (read!.Segments, read.ErrorFeedback);
        }
    }
}
