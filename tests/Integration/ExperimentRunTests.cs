using Verified.Simulation.Data;
using Verified.Simulation.Experiments;
using Verified.Simulation.Models;
using Verified.Simulation.Training;
using static TorchSharp.torch;

namespace IntegrationTests;

/// <summary>
/// Runs on the real MNIST with every upload through the codec (issue 4, item 8): each scheme learns, a seed fixes
/// the metrics, the bytes are the payloads' lengths, and a checkpoint resumes a run exactly.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ExperimentRunTests
{
    [Fact]
    public void RoundsPerSecond_IsElapsedTimeWithoutEvaluation_NotSummedThreadTime()
    {
        // Two workers: 40 s of forward/backward thread time in 25 s of wall time, 5 s of it evaluating.
        var timings = new RunTimings(
            100, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(25));
        Assert.Equal(100 / 20.0, timings.RoundsPerSecond, 12);
        Assert.Equal(0, (timings with { Wall = TimeSpan.FromSeconds(5) }).RoundsPerSecond);
    }

    private static readonly Lazy<ImageDataSet> s_data = new(() => MnistData.Load(MnistDataTests.DataDirectory!));

    /// <summary>A fast run: the MLP, 8 clients, evaluated at the end, audited every 5 rounds.</summary>
    private static ExperimentSpec Mlp(string scheme, int bits = 3, int rounds = 40) =>
        new() { Scheme = scheme, Bits = bits, Model = "mlp", Rounds = rounds, EvaluateEvery = rounds, AuditEvery = 5 };

    private static List<RoundMetrics> RunAll(ExperimentRun run)
    {
        var rows = new List<RoundMetrics>();
        while (!run.IsComplete)
        {
            rows.Add(run.Step());
        }
        return rows;
    }

    [MnistTheory]
    [InlineData("fp", 32)]
    [InlineData("qsgd", 3)]
    [InlineData("nuqsgd", 3)]
    [InlineData("tuq", 3)]
    [InlineData("tnq", 3)]
    [InlineData("tbq", 3)]
    [InlineData("sign", 1)]
    [InlineData("tnq", 1)]
    public void EveryScheme_FortyMlpRounds_LearnsFarAboveChance(string scheme, int bits)
    {
        using var run = new ExperimentRun(Mlp(scheme, bits), s_data.Value);
        List<RoundMetrics> rows = RunAll(run);

        // Chance is 0.1; full precision reaches about 0.8 in 40 MLP rounds.
        double accuracy = rows[^1].TestAccuracy!.Value;
        Assert.True(accuracy > 0.6, $"{scheme}-{bits}: test accuracy {accuracy}");
        Assert.True(rows[^5..].Average(r => r.TrainingLoss) < rows[..5].Average(r => r.TrainingLoss), $"{scheme}-{bits}: the training loss did not fall");
    }

    [MnistTheory]
    [InlineData("fp", 32)]
    [InlineData("qsgd", 2)]
    [InlineData("nuqsgd", 5)]
    [InlineData("tuq", 3)]
    [InlineData("tnq", 4)]
    [InlineData("tbq", 2)]
    [InlineData("sign", 1)]
    public void ReportedBytes_AreTheWireFormatsPayloadLengths(string scheme, int bits)
    {
        const int Rounds = 3;
        ExperimentSpec spec = Mlp(scheme, bits, Rounds);
        using var run = new ExperimentRun(spec, s_data.Value);
        List<RoundMetrics> rows = RunAll(run);

        // docs/wire-format.md: a payload is the 60-byte header plus ceil(d·b/8) bytes of packed indices, b the
        // scheme's wire bits (32 for fp, 1 for sign); one payload per client per round.
        long payload = 60 + (((long)run.Dimension * bits) + 7) / 8;
        Assert.All(rows, r => Assert.Equal(spec.Clients * payload, r.UploadBytes));
        Assert.Equal(Rounds * spec.Clients * payload, rows[^1].TotalBytes);
        Assert.Equal(Rounds * spec.Clients * payload, run.Summary().TotalBytes);
        Assert.Equal(ModelFactory.ParameterCount(ModelFactory.Create(ModelKind.Mlp, 28, 28, 10, CPU)), run.Dimension);
    }

    [MnistFact]
    public void TheSameSeed_GivesTheSameMetrics_AndAnotherSeedDoesNot()
    {
        List<RoundMetrics> first = RunTnq(seed: 7);
        List<RoundMetrics> second = RunTnq(seed: 7);
        List<RoundMetrics> other = RunTnq(seed: 8);

        Assert.Equal(first.Select(WithoutClock), second.Select(WithoutClock));
        Assert.NotEqual(first.Select(r => r.TrainingLoss), other.Select(r => r.TrainingLoss));

        static List<RoundMetrics> RunTnq(long seed)
        {
            using var run = new ExperimentRun(Mlp("tnq", rounds: 12) with { Seed = seed, EvaluateEvery = 4 }, s_data.Value);
            return RunAll(run);
        }
    }

    [MnistFact]
    public void ACheckpoint_RestoredIntoAFreshRun_ContinuesExactlyAsTheUninterruptedRun()
    {
        ExperimentSpec spec = Mlp("tbq", rounds: 12) with { EvaluateEvery = 3 };
        List<RoundMetrics> uninterrupted;
        using (var run = new ExperimentRun(spec, s_data.Value))
        {
            uninterrupted = RunAll(run);
        }

        using var checkpoint = new MemoryStream();
        using (var first = new ExperimentRun(spec, s_data.Value))
        {
            for (int i = 0; i < 7; i++)
            {
                _ = first.Step();
            }
            first.SaveCheckpoint(checkpoint);
        }
        checkpoint.Position = 0;
        using var resumed = new ExperimentRun(spec, s_data.Value);
        resumed.RestoreCheckpoint(checkpoint);

        Assert.Equal(7, resumed.Round);
        Assert.Equal(uninterrupted[6].TotalBytes, resumed.TotalBytes);
        Assert.Equal(uninterrupted[5].TestAccuracy, resumed.LastEvaluation?.Accuracy);
        Assert.Equal(uninterrupted[7..].Select(WithoutClock), RunAll(resumed).Select(WithoutClock));
    }

    [MnistFact]
    public void WithErrorFeedback_ACheckpointHoldsTheResiduals_AndTheResumedRunIsBitIdentical()
    {
        ExperimentSpec spec = Mlp("tnq", rounds: 12) with { EvaluateEvery = 3, ErrorFeedback = true, Threshold = "averaged" };
        List<RoundMetrics> uninterrupted;
        byte[] finalState;
        using (var run = new ExperimentRun(spec, s_data.Value))
        {
            uninterrupted = RunAll(run);
            finalState = Checkpoint(run);
        }

        byte[] saved;
        using (var first = new ExperimentRun(spec, s_data.Value))
        {
            for (int i = 0; i < 7; i++)
            {
                _ = first.Step();
            }
            saved = Checkpoint(first);
        }
        using var resumed = new ExperimentRun(spec, s_data.Value);
        resumed.RestoreCheckpoint(new MemoryStream(saved));

        Assert.All(uninterrupted, r => Assert.Equal("tnq-3-averaged-ef", r.Label));
        Assert.Equal(uninterrupted[7..].Select(WithoutClock), RunAll(resumed).Select(WithoutClock));
        // θ, momentum, residuals, bytes and the last evaluation: the whole state, byte for byte.
        Assert.Equal(finalState, Checkpoint(resumed));

        // Without the residuals the rounds after a restore would differ: a checkpoint of the other kind is refused.
        using var withoutFeedback = new ExperimentRun(spec with { ErrorFeedback = false }, s_data.Value);
        Assert.Contains("error feedback off", Assert.Throws<InvalidDataException>(() => withoutFeedback.RestoreCheckpoint(new MemoryStream(saved))).Message, StringComparison.Ordinal);
        Assert.Equal(0, withoutFeedback.Round);

        static byte[] Checkpoint(ExperimentRun run)
        {
            using var stream = new MemoryStream();
            run.SaveCheckpoint(stream);
            return stream.ToArray();
        }
    }

    [MnistFact]
    public void ACorruptOrForeignCheckpoint_IsRefused_AndTheRunIsUnchanged()
    {
        ExperimentSpec spec = Mlp("tnq", rounds: 4);
        byte[] saved;
        using (var run = new ExperimentRun(spec, s_data.Value))
        {
            _ = run.Step();
            using var stream = new MemoryStream();
            run.SaveCheckpoint(stream);
            saved = stream.ToArray();
        }

        using var target = new ExperimentRun(spec, s_data.Value);
        byte[] flipped = (byte[])saved.Clone();
        flipped[100] ^= 0x10;
        Assert.Contains("SHA-256", Assert.Throws<InvalidDataException>(() => target.RestoreCheckpoint(new MemoryStream(flipped))).Message, StringComparison.Ordinal);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => target.RestoreCheckpoint(new MemoryStream(saved[..20]))).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => target.RestoreCheckpoint(new MemoryStream(saved[..^1])));
        Assert.Equal(0, target.Round);

        // The CNN has another d: its state is refused by name, before anything is overwritten.
        using var cnn = new ExperimentRun(spec with { Model = "cnn" }, s_data.Value);
        Assert.Contains("parameters", Assert.Throws<InvalidDataException>(() => cnn.RestoreCheckpoint(new MemoryStream(saved))).Message, StringComparison.Ordinal);
        Assert.Equal(0, cnn.Round);
    }

    [MnistFact]
    public void TheAudit_OfRealGradients_MatchesItsConditionalExpectation()
    {
        using var run = new ExperimentRun(Mlp("tnq", rounds: 11) with { AuditEvery = 5 }, s_data.Value);
        List<RoundMetrics> rows = RunAll(run);

        // Rounds whose key round (row − 1) is a multiple of 5 are audited; the others carry NaN.
        Assert.All(rows, r => Assert.Equal((r.Round - 1) % 5 == 0, !double.IsNaN(r.Uploads.MeasuredMse)));
        foreach (RoundMetrics r in rows.Where(r => !double.IsNaN(r.Uploads.MeasuredMse)))
        {
            UploadStatistics u = r.Uploads;
            // Given the gradient, the codec's rounding variance is a mean of d ≈ 10⁵ independent terms: it matches its
            // exact expectation to a few per cent (the property tests check the 5-standard-error law).
            Assert.InRange(u.MeasuredRoundingVariance / u.ExpectedRoundingVariance, 0.95, 1.05);
            Assert.True(u.MeasuredTruncationRate is > 0.0 and < 0.5, $"truncation rate {u.MeasuredTruncationRate}");
            Assert.True(u.MeasuredMse >= u.MeasuredTruncationMse, "the whole error includes the truncation error");
            Assert.True(u.ModelScale > 0 && u.Alpha > u.ModelScale, $"γ̂ = {u.ModelScale}, α = {u.Alpha}");
        }
    }

    private static RoundMetrics WithoutClock(RoundMetrics metrics) => metrics with { ElapsedSeconds = 0 };
}
