using System.Text.Json;
using Verified.Host.Cli;
using Verified.Simulation.Experiments;

using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary>
/// <c>verified run --resume DIR</c> in-process: a run stopped at a chosen round (cancelled, as by Ctrl+C, or crashed,
/// as by kill -9, with a torn last row) and resumed writes the rows an uninterrupted run writes, but for the clock;
/// and every way a folder cannot be resumed is one line with the right exit status.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class RunResumeTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-resume-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    /// <summary>What every test runs: the MLP for 12 rounds, evaluated and audited along the way.</summary>
    private static ExperimentSpec Template(bool errorFeedback, string segments, string fit) => new()
    {
        Model = "mlp",
        Rounds = 12,
        EvaluateEvery = 5,
        AuditEvery = 3,
        ErrorFeedback = errorFeedback,
        Segments = segments,
        Fit = fit,
    };

    private static RunCommand.RunOptions Options(ExperimentSpec template, string outDir, int checkpointEvery, bool baseline = true) =>
        new(template, null, 1, baseline, MnistDataTests.DataDirectory, outDir, Quiet: true, CheckpointEvery: checkpointEvery)
        {
            CommandLine = "verified run (test)",
        };

    private static JsonDocument Summary(string directory) => JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "summary.json")));

    /// <summary>
    /// Stops the plan (tnq-3 then fp) after <paramref name="stopRound"/> of run <paramref name="stopLabel"/>: by
    /// cancelling (Ctrl+C: the round ends, a checkpoint is written, exit 130) or by throwing (a crash: nothing more is
    /// written, and a torn row is appended as kill -9 mid-write would leave), then resumes it.
    /// </summary>
    [MnistTheory]
    [InlineData(false, "whole", "laplace", "tnq-3", 6, 4, false)]
    [InlineData(true, "whole", "laplace", "tnq-3-ef", 9, 4, true)]
    [InlineData(true, "tensor", "auto", "tnq-3-tensor-auto-ef", 7, 3, false)]
    [InlineData(true, "tensor", "auto", "fp", 5, 2, true)]
    [InlineData(false, "whole", "laplace", "tnq-3", 9, 50, true)]
    public void AStoppedRun_Resumed_WritesTheRowsOfAnUninterruptedRun(
        bool errorFeedback, string segments, string fit, string stopLabel, int stopRound, int checkpointEvery, bool crash)
    {
        ExperimentSpec template = Template(errorFeedback, segments, fit);
        string reference = PathOf("reference");
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            Assert.True(RunCommand.Execute(Options(template, reference, checkpointEvery), output, error, CancellationToken.None) == 0, error.ToString());
        }

        string stopped = PathOf("stopped");
        using var stop = new CancellationTokenSource();
        RunCommand.RunOptions options = Options(template, stopped, checkpointEvery) with
        {
            RoundFinished = (spec, metrics) =>
            {
                if (spec.Label == stopLabel && metrics.Round == stopRound)
                {
                    if (crash)
                    {
                        throw new InvalidOperationException("simulated crash");
                    }
                    stop.Cancel();
                }
            },
        };
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            if (crash)
            {
                Assert.Throws<InvalidOperationException>(() => RunCommand.Execute(options, output, error, stop.Token));
                File.AppendAllText(Path.Combine(stopped, "metrics.csv"), $"{stopLabel},tnq,3,1,{stopRound + 1},0.1");
            }
            else
            {
                Assert.Equal(RunCommand.InterruptedExitCode, RunCommand.Execute(options, output, error, stop.Token));
                using JsonDocument interrupted = Summary(stopped);
                Assert.True(interrupted.RootElement.GetProperty("interrupted").GetBoolean());
            }
        }
        // A crash resumes from the last periodic checkpoint (none: from round 0); Ctrl+C checkpoints where it stopped.
        int checkpointRound = crash ? stopRound / checkpointEvery * checkpointEvery : stopRound;
        Assert.Equal(checkpointRound > 0, File.Exists(Path.Combine(stopped, "checkpoint", $"run-{(stopLabel == "fp" ? 1 : 0)}.bin")));

        var (exit, said, problem) = Run("run", "--resume", stopped, "--quiet");

        Assert.True(exit == 0, problem);
        Assert.Contains($"{stopLabel} seed 1 goes on after round {checkpointRound}", said, StringComparison.Ordinal);
        Assert.Equal(MetricsWithoutClock(reference), MetricsWithoutClock(stopped));
        using JsonDocument expected = Summary(reference);
        using JsonDocument actual = Summary(stopped);
        Assert.False(actual.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.Equal(2, actual.RootElement.GetProperty("finishedRuns").GetInt32());
        string[] Results(JsonDocument summary) =>
        [
            .. summary.RootElement.GetProperty("runs").EnumerateArray().Select(r =>
                $"{r.GetProperty("label")} {r.GetProperty("roundsCompleted")} {r.GetProperty("finalAccuracy")} {r.GetProperty("totalBytes")} {r.GetProperty("fitFallbacks")} {r.GetProperty("config")}"),
        ];
        Assert.Equal(Results(expected), Results(actual));
        JsonElement provenance = actual.RootElement.GetProperty("provenance");
        Assert.Equal("verified run (test)", provenance.GetProperty("command").GetString());
        JsonElement resume = Assert.Single(provenance.GetProperty("resumes").EnumerateArray());
        Assert.Equal($"verified run --resume {stopped} --quiet", resume.GetProperty("command").GetString());
        Assert.Equal($"{stopLabel} seed 1", resume.GetProperty("run").GetString());
        Assert.Equal(checkpointRound, resume.GetProperty("fromRound").GetInt32());
        Assert.False(Directory.Exists(Path.Combine(stopped, "checkpoint")), "no checkpoint is left once every run has ended");

        // Nothing is left to resume: said so, exit 0, nothing rewritten.
        (exit, said, _) = Run("run", "--resume", stopped);
        Assert.Equal(0, exit);
        Assert.Contains("nothing to resume", said, StringComparison.Ordinal);
        Assert.Equal(MetricsWithoutClock(reference), MetricsWithoutClock(stopped));
    }

    [MnistFact]
    public void ACorruptCheckpoint_ExitsWithOne_NamingIt()
    {
        string stopped = PathOf("stopped");
        using var stop = new CancellationTokenSource();
        RunCommand.RunOptions options = Options(Template(false, "whole", "laplace"), stopped, checkpointEvery: 2, baseline: false) with
        {
            RoundFinished = (_, metrics) =>
            {
                if (metrics.Round == 4)
                {
                    stop.Cancel();
                }
            },
        };
        Assert.Equal(RunCommand.InterruptedExitCode, RunCommand.Execute(options, TextWriter.Null, TextWriter.Null, stop.Token));
        string checkpoint = Path.Combine(stopped, "checkpoint", "run-0.bin");
        byte[] bytes = File.ReadAllBytes(checkpoint);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(checkpoint, bytes);

        var (exit, output, error) = Run("run", "--resume", stopped);

        Assert.Equal(VerifiedCli.FailureExitCode, exit);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains($"the checkpoint {checkpoint} cannot be restored", error, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void ResumeProblems_AreOneLine_WithExitTwo()
    {
        string missing = PathOf("missing");
        string empty = Directory.CreateDirectory(PathOf("empty")).FullName;
        string future = Directory.CreateDirectory(PathOf("future")).FullName;
        File.WriteAllText(Path.Combine(future, "run.json"), """{ "format": 99, "options": {} }""");
        string broken = Directory.CreateDirectory(PathOf("broken")).FullName;
        File.WriteAllText(Path.Combine(broken, "run.json"), "{ not json");

        foreach ((string[] args, string says) in new (string[], string)[]
        {
            (["run", "--resume", missing], $"--resume {missing}: no such directory."),
            (["run", "--resume", empty], "run.json does not exist"),
            (["run", "--resume", future], "is format 99; this verified resumes format 1 only."),
            (["run", "--resume", broken], "run.json cannot be read"),
            (["run", "--resume", empty, "--rounds", "5", "--seed", "2", "--quiet"], "so --rounds, --seed cannot be given with it"),
            (["run", "--resume", empty, "--config", Path.Combine(empty, "x.json")], "so --config cannot be given with it"),
        })
        {
            var (exit, output, error) = Run(args);
            Assert.True(exit == VerifiedCli.InvalidArgumentsExitCode, error);
            Assert.Equal("", output);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.StartsWith("verified run: ", error, StringComparison.Ordinal);
            Assert.Contains(says, error, StringComparison.Ordinal);
        }
    }
}
