using System.Globalization;
using System.Text.Json;
using Verified.Host;
using Verified.Host.Cli;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;

using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary><c>verified run</c> end to end: its files, its presets and its error exits.</summary>
[Collection(LibtorchTests.Name)]
public sealed class RunCommandTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-run-cli-");

    public void Dispose() => _directory.Delete(recursive: true);

    [MnistFact]
    public void AShortMlpRun_WritesMetricsSummaryAndPlots_AgainstFullPrecision()
    {
        string outDir = Path.Combine(_directory.FullName, "out");
        var (exit, output, error) = Run(
            "run", "--model", "mlp", "--rounds", "20", "--evaluate-every", "10", "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet");

        Assert.True(exit == 0, error);
        string[] lines = File.ReadAllLines(Path.Combine(outDir, "metrics.csv"));
        Assert.Equal(string.Join(',', RunReport.Columns), lines[0]);
        Assert.Equal(1 + (2 * 20), lines.Length);
        Assert.All(lines[1..], l => Assert.Equal(RunReport.Columns.Length, l.Split(',').Length));
        // The default run: TNQSGD per tensor with error feedback (ExperimentSpec.RecommendedSegments/ErrorFeedback).
        Assert.Equal(20, lines.Count(l => l.StartsWith("tnq-3-tensor-ef,", StringComparison.Ordinal)));
        Assert.Equal(20, lines.Count(l => l.StartsWith("fp,", StringComparison.Ordinal)));

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        JsonElement runs = summary.RootElement.GetProperty("runs");
        Assert.Equal(2, runs.GetArrayLength());
        foreach (JsonElement run in runs.EnumerateArray())
        {
            Assert.InRange(run.GetProperty("finalAccuracy").GetDouble(), 0.5, 1);
            Assert.Equal(20, run.GetProperty("roundsCompleted").GetInt32());
            Assert.True(run.GetProperty("totalBytes").GetInt64() > 0);
        }
        Assert.False(summary.RootElement.GetProperty("interrupted").GetBoolean());
        JsonElement quantized = runs.EnumerateArray().Single(r => r.GetProperty("label").GetString() == "tnq-3-tensor-ef").GetProperty("config");
        Assert.Equal(("tensor", true), (quantized.GetProperty("segments").GetString(), quantized.GetProperty("errorFeedback").GetBoolean()));
        JsonElement baseline = runs.EnumerateArray().Single(r => r.GetProperty("label").GetString() == "fp").GetProperty("config");
        Assert.Equal(("whole", false), (baseline.GetProperty("segments").GetString(), baseline.GetProperty("errorFeedback").GetBoolean()));
        // One compression ratio, in the table (float32 bytes over uploaded bytes, as summary.json's compressionRatio);
        // the per-run lines give MB and bits per coordinate, and "vs fp" compares accuracy only.
        string[] printed = output.Split('\n');
        string header = printed.Single(l => l.StartsWith("label ", StringComparison.Ordinal));
        Assert.Matches(@"^label +final accuracy +uploaded MB +bits/coord +float32 ÷ uploaded +vs fp, points$", header);
        Assert.All(printed.Where(l => l.Contains(" seed ", StringComparison.Ordinal)), l => Assert.DoesNotContain("×", l, StringComparison.Ordinal));
        string tnq = printed.Single(l => l.StartsWith("tnq-3-tensor-ef ", StringComparison.Ordinal));
        double ratio = runs.EnumerateArray().Single(r => r.GetProperty("label").GetString() == "tnq-3-tensor-ef").GetProperty("compressionRatio").GetDouble();
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $" {ratio:0.0}× "), tnq, StringComparison.Ordinal);
        // Numbers right-aligned under their headers: each numeric cell ends where its header ends.
        foreach (string column in new[] { "uploaded MB", "bits/coord", "float32 ÷ uploaded", "vs fp, points" })
        {
            int end = header.IndexOf(column, StringComparison.Ordinal) + column.Length;
            Assert.True(end <= tnq.Length && tnq[end - 1] != ' ' && (end == tnq.Length || tnq[end] == ' '), $"{column}: {tnq}");
        }

        foreach (string png in new[] { "accuracy.png", "loss.png" })
        {
            FigureAssert.PngAndSvg(Path.Combine(outDir, png));
        }
    }

    [MnistFact]
    public void AnErrorFeedbackRun_WithTheAveragedThreshold_IsDeterministic_AndSaysWhatWasUsed()
    {
        // The issue's command at 10 rounds instead of 40 (the MLP takes about 0.1 s a round on one loaded core).
        string[] Command(string outDir) =>
        [
            "run", "--model", "mlp", "--rounds", "10", "--scheme", "tnq", "--bits", "3", "--error-feedback", "--threshold", "averaged",
            "--seed", "5", "--no-baseline", "--evaluate-every", "5", "--audit-every", "3", "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet",
        ];
        string first = Path.Combine(_directory.FullName, "first");
        string second = Path.Combine(_directory.FullName, "second");
        var (exit, _, error) = Run(Command(first));
        Assert.True(exit == 0, error);
        (exit, _, error) = Run(Command(second));
        Assert.True(exit == 0, error);

        // Identical but for the wall clock (the last column).
        string[] rows = MetricsWithoutClock(first);
        Assert.Equal(1 + 10, rows.Length);
        Assert.Equal(rows, MetricsWithoutClock(second));
        Assert.All(rows[1..], r => Assert.StartsWith("tnq-3-tensor-averaged-ef,tnq,3,5,", r, StringComparison.Ordinal));
        // The audit columns are filled in audited rounds (key rounds 0, 3, 6, 9), with error feedback on.
        int measured = RunReport.Columns.IndexOf("measured_mse");
        Assert.Equal(4, rows[1..].Count(r => r.Split(',')[measured].Length > 0));

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(first, "summary.json")));
        JsonElement run = Assert.Single(summary.RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal("tnq-3-tensor-averaged-ef", run.GetProperty("label").GetString());
        JsonElement config = run.GetProperty("config");
        Assert.True(config.GetProperty("errorFeedback").GetBoolean());
        Assert.Equal("averaged", config.GetProperty("threshold").GetString());
        Assert.Equal("laplace", config.GetProperty("fit").GetString());
        Assert.Equal(0, run.GetProperty("fitFallbacks").GetInt64());
        Assert.InRange(run.GetProperty("finalAccuracy").GetDouble(), 0.3, 1);
    }

    [Theory]
    [InlineData("qsgd", "averaged", "laplace", "does not truncate")]
    [InlineData("tnq", "relaxed", "laplace", "TUQSGD's")]
    [InlineData("tbq", "averaged", "laplace", "codec refuses it")]
    [InlineData("tnq", "optimal", "normal", "laplace or lomax")]
    [InlineData("sign", "optimal", "lomax", "truncating schemes")]
    public void AnInvalidThresholdOrFit_ExitsWithTwo_NamingIt(string scheme, string threshold, string fit, string says)
    {
        var (exit, _, error) = Run("run", "--scheme", scheme, "--threshold", threshold, "--fit", fit, "--error-feedback", "--out", Path.Combine(_directory.FullName, "out"));

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains(says, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_directory.FullName, "out")), "nothing is written for an invalid spec");
    }

    [Fact]
    public void InvalidOptions_ExitWithTwo_NamingEveryBadOption()
    {
        var (exit, _, error) = Run("run", "--bits", "9", "--clients", "0", "--lr", "-1", "--seeds", "0");

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains("bits = 9", error, StringComparison.Ordinal);
        Assert.Contains("clients = 0", error, StringComparison.Ordinal);
        Assert.Contains("lr = -1", error, StringComparison.Ordinal);
        Assert.Contains("seeds = 0", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingDataDirectory_ExitsWithTwo_AndSaysWhatIsMissing()
    {
        string missing = Path.Combine(_directory.FullName, "no-such-data");
        var (exit, _, error) = Run("run", "--data", missing, "--out", Path.Combine(_directory.FullName, "out"));

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains(missing, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_directory.FullName, "out")), "nothing is written before the data is found");
    }

    [Fact]
    public void ThePresets_PlanThePapersFigures()
    {
        var template = new ExperimentSpec { Rounds = 10, Seed = 5 };

        ExperimentPlan accuracy = ExperimentPlan.Create("fig-accuracy", template, seeds: 3, baseline: true);
        Assert.Equal(3 * 7, accuracy.Runs.Length);
        Assert.Equal(["fp", "qsgd-3", "nuqsgd-3", "tuq-3", "tnq-3", "tbq-3", "sign"], accuracy.Runs.Take(7).Select(r => r.Label));
        Assert.Equal([5L, 6L, 7L], accuracy.Runs.Select(r => r.Seed).Distinct());

        ExperimentPlan tradeoff = ExperimentPlan.Create("fig-tradeoff", template, seeds: 1, baseline: true);
        Assert.Equal(1 + (5 * 4), tradeoff.Runs.Length);
        Assert.All(tradeoff.Runs.Where(r => r.Scheme != "fp"), r => Assert.InRange(r.Bits, 2, 5));
        Assert.All(tradeoff.Runs, r => Assert.Empty(r.Validate()));

        Assert.Equal(["tnq-3", "fp"], ExperimentPlan.Create(null, template, 1, baseline: true).Runs.Select(r => r.Label));
        Assert.Equal(["tnq-3"], ExperimentPlan.Create(null, template, 1, baseline: false).Runs.Select(r => r.Label));

        var noisy = template with { Noise = "student-t:1.5", NoiseScale = 0.01 };
        ExperimentPlan heavyTails = ExperimentPlan.Create("heavy-tails", noisy, seeds: 3, baseline: true);
        Assert.Equal(["fp", "sign", "qsgd-3", "tnq-3"], heavyTails.Runs.Take(4).Select(r => r.Label));
        Assert.Equal(12, heavyTails.Runs.Length);
        Assert.All(heavyTails.Runs, r => Assert.Equal(("student-t:1.5", 0.01), (r.Noise, r.NoiseScale)));
    }

    /// <summary>The fair re-measurement's presets: one change per arm, every arm valid, the template's data set kept.</summary>
    [Fact]
    public void ThePapersPresets_PlanOneChangePerArm_OnTheTemplatesDataSet()
    {
        var template = new ExperimentSpec { Rounds = 10, Seed = 5, Dataset = "fashion-mnist", ErrorFeedback = true, Fit = "lomax" };

        ExperimentPlan accuracy = ExperimentPlan.Create("papers-accuracy", template, seeds: 5, baseline: true);

        string[] arms =
        [
            "fp", "qsgd-3", "qsgd-3-tensor", "nuqsgd-3", "nuqsgd-3-tensor", "tnq-3", "tnq-3-tensor", "tnq-3-tensor-auto",
            "tnq-3-tensor-ef", "tnq-3-tensor-averaged", "tuq-3-tensor-auto", "tbq-3-tensor-auto",
        ];
        Assert.Equal(arms, accuracy.Runs.Take(arms.Length).Select(r => r.Label));
        Assert.Equal(5 * arms.Length, accuracy.Runs.Length);
        Assert.Equal(5, accuracy.Runs.Select(r => r.Seed).Distinct().Count());
        Assert.All(accuracy.Runs, r => Assert.Empty(r.Validate()));
        // The template's error feedback and fit do not leak into arms that do not name them.
        Assert.Single(arms, label => label.Contains("-ef", StringComparison.Ordinal));
        Assert.All(accuracy.Runs, r => Assert.Equal(("fashion-mnist", 10), (r.Dataset, r.Rounds)));

        ExperimentPlan tradeoff = ExperimentPlan.Create("papers-tradeoff", template, seeds: 3, baseline: true);
        Assert.Equal(3 * (1 + (5 * 4)), tradeoff.Runs.Length);
        Assert.All(tradeoff.Runs.Where(r => r.Scheme != "fp"), r => Assert.Equal("tensor", r.Segments));
        Assert.Equal(21, tradeoff.Runs.Select(r => r.Label).Distinct().Count());

        ExperimentPlan model = ExperimentPlan.Create("papers-model", template, seeds: 3, baseline: true);
        Assert.Equal(["fp", "nuqsgd-3-tensor", "tnq-3-tensor-auto", "tuq-3-tensor-auto"], model.Runs.Take(4).Select(r => r.Label).Order());

        // The scaling rules (spec §4.5) change only the batch (DCSGD: B/q) or the learning rate and batch (DSignSGD: κη, κ²B).
        var scalingTemplate = new ExperimentSpec { Seed = 5, BatchSize = 16, LearningRate = 0.02 };
        ExperimentPlan scaling = ExperimentPlan.Create("papers-scaling", scalingTemplate, seeds: 3, baseline: true);
        string[] scalingArms =
        [
            "fp-b16-lr0.02", "bernoulli-0.5-b16-lr0.02", "bernoulli-0.5-lr0.02", "bernoulli-0.25-b16-lr0.02", "bernoulli-0.25-b64-lr0.02",
            "usign-b16-lr0.02", "usign-b64-lr0.04",
        ];
        Assert.Equal(scalingArms, scaling.Runs.Take(scalingArms.Length).Select(r => r.Label));
        Assert.Equal(3 * scalingArms.Length, scaling.Runs.Length);
        Assert.All(scaling.Runs, r => Assert.Empty(r.Validate()));
        Assert.All(scaling.Runs, r => Assert.Equal(scalingTemplate.Momentum, r.Momentum));
        Assert.Equal(["fp", "bernoulli-0.5", "bernoulli-0.5-b64"], ExperimentPlan.Create("papers-scaling", new ExperimentSpec(), 1, true).Runs.Take(3).Select(r => r.Label));

        Assert.Equal(new PresetDefaults(300, 5, null), ExperimentPlan.DefaultsOf("papers-accuracy"));
        Assert.Equal(new PresetDefaults(200, 3, null), ExperimentPlan.DefaultsOf("papers-scaling"));
        Assert.Equal(new PresetDefaults(200, 3, "alexnet"), ExperimentPlan.DefaultsOf("papers-model"));
        Assert.Equal(new PresetDefaults(null, null, null), ExperimentPlan.DefaultsOf("fig-accuracy"));
    }

    [Fact]
    public void AFailedRun_IsListedInTheSummary_WithTheRoundsItCompleted()
    {
        var spec = new ExperimentSpec { Scheme = "qsgd", Rounds = 10, Noise = "student-t:1.5", NoiseScale = 0.01 };
        ExperimentPlan plan = ExperimentPlan.Create(null, spec, 1, baseline: false);
        string directory = Path.Combine(_directory.FullName, "failed");
        using (var report = new RunReport(directory, plan, Provenance.Capture("verified run --scheme qsgd", DateTimeOffset.UtcNow, [])))
        {
            report.Fail(plan.Runs[0], "Round 0, client 0: Coordinate 0 of the gradient is NaN");
        }
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "summary.json")));
        JsonElement failed = Assert.Single(summary.RootElement.GetProperty("failedRuns").EnumerateArray());
        Assert.Equal("qsgd-3", failed.GetProperty("label").GetString());
        Assert.Equal(0, failed.GetProperty("roundsCompleted").GetInt32());
        Assert.Contains("NaN", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, summary.RootElement.GetProperty("finishedRuns").GetInt32());
    }

    /// <summary>Paired by seed: only seeds both labels finished count, and the error is sd(differences)/√pairs.</summary>
    [Fact]
    public void APairedDifference_UsesTheSeedsBothFinished()
    {
        var finals = new Dictionary<(string Label, long Seed), double>
        {
            [("tnq-3", 1)] = 0.90,
            [("tnq-3", 2)] = 0.92,
            [("tnq-3", 3)] = 0.94,
            [("tnq-3", 4)] = 0.10,
            [("fp", 1)] = 0.91,
            [("fp", 2)] = 0.91,
            [("fp", 3)] = 0.91,
            [("fp", 5)] = 0.99,
        };

        PairedDifference paired = PlotCommand.Paired(finals, "tnq-3", "fp")!;

        Assert.Equal(3, paired.Pairs);
        Assert.Equal(0.01, paired.Mean, 12);
        Assert.Equal(0.02 / Math.Sqrt(3), paired.StandardError!.Value, 12);
        Assert.Null(PlotCommand.Paired(finals, "tnq-3", "qsgd-3"));
    }

    /// <summary>
    /// The mechanism table: means over the audited rounds of finished runs only, measured truncation MSE over the mean
    /// predicted M(α), full precision left out; tables.md holds both tables.
    /// </summary>
    [Fact]
    public void Plot_WritesTheAuditMechanism_OfFinishedRunsOnly()
    {
        string Row(string label, string scheme, int seed, int round, string accuracy, string truncationRate, string truncationMse, string bias) =>
            string.Join(',', RunReport.Columns.Select(column => column switch
            {
                "label" => label,
                "scheme" => scheme,
                "bits" => "3",
                "seed" => seed.ToString(CultureInfo.InvariantCulture),
                "round" => round.ToString(CultureInfo.InvariantCulture),
                "test_accuracy" => accuracy,
                "upload_bytes" or "total_bytes" => "100",
                "predicted_truncation_rate" => "0.01",
                "measured_truncation_rate" => truncationRate,
                "predicted_truncation_mse" => "0.5",
                "measured_truncation_mse" => truncationMse,
                "measured_mse" or "measured_rounding_variance" or "expected_rounding_variance" => truncationRate.Length == 0 ? "" : "2",
                "averaged_bias_squared" => bias,
                "averaged_variance" => truncationRate.Length == 0 ? "" : "0.001",
                _ => "1",
            }));
        string file = Path.Combine(_directory.FullName, "audited.csv");
        File.WriteAllLines(file,
        [
            RunReport.CsvHeader,
            Row("tnq-3", "tnq", 1, 0, "", "0.02", "1", "0.1"),
            Row("tnq-3", "tnq", 1, 1, "0.9", "0.04", "2", "0.3"),
            // Seed 2 never finished (no accuracy on its last row): its audit does not count.
            Row("tnq-3", "tnq", 2, 0, "", "0.9", "100", "0.9"),
            Row("fp", "fp", 1, 0, "", "0", "0", "0"),
            Row("fp", "fp", 1, 1, "0.95", "", "", ""),
        ]);

        var (exit, output, error) = Run("plot", file, "--out", Path.Combine(_directory.FullName, "mechanism"));

        Assert.True(exit == 0, error);
        // Predicted 1 %, measured (2 + 4)/2 = 3 %, truncation MSE 1.5 / 0.5 = 3×, rounding 1×, bias² 20 %, variance 0.10 %.
        Assert.Matches(@"tnq-3\s+2\s+1\.00\s+3\.00\s+3\.00×\s+1\.00×\s+20\.00\s+0\.10\n", output.ReplaceLineEndings("\n"));
        Assert.DoesNotMatch(@"fp\s+\d+\s+0\.0000", output);
        string tables = File.ReadAllText(Path.Combine(_directory.FullName, "mechanism", "tables.md"));
        Assert.Contains("| tnq-3 | 1 | 0.9000 ± – | 0.00 | −5.00 (1) |", tables, StringComparison.Ordinal);
        Assert.Contains("| tnq-3 | 2 | 1.00 | 3.00 | 3.00× | 1.00× | 20.00 | 0.10 |", tables, StringComparison.Ordinal);
        // evaluations.csv: the evaluated rounds only, label-ordered.
        Assert.Equal(
            ["label,seed,round,total_bytes,test_accuracy,test_loss", "fp,1,1,100,0.95,1", "tnq-3,1,1,100,0.9,1"],
            File.ReadAllLines(Path.Combine(_directory.FullName, "mechanism", "evaluations.csv")));
    }

    [Fact]
    public void Plot_MergesSeedsFromSeveralFiles_CountingEachRoundOnce_AndNamesABadLine()
    {
        // Files of the first metrics.csv format (22 columns, before averaged_bias_squared and averaged_variance): plot
        // still reads what earlier versions wrote.
        string header = string.Join(',', RunReport.Columns.Where(c => c is not ("averaged_bias_squared" or "averaged_variance")));
        Assert.Equal(22, header.Split(',').Length);
        string Row(string label, string scheme, int bits, int seed, int round, string accuracy, long total) =>
            string.Join(',', [label, scheme, bits.ToString(CultureInfo.InvariantCulture), seed.ToString(CultureInfo.InvariantCulture),
                round.ToString(CultureInfo.InvariantCulture), "0.5", "100", total.ToString(CultureInfo.InvariantCulture), accuracy, "",
                "", "", "", "", "", "", "", "", "", "", "", "1.5"]);
        string first = Path.Combine(_directory.FullName, "a.csv");
        string second = Path.Combine(_directory.FullName, "b.csv");
        File.WriteAllLines(first, [header, Row("tnq-3", "tnq", 3, 1, 1, "", 100), Row("tnq-3", "tnq", 3, 1, 2, "0.9", 200), Row("fp", "fp", 32, 1, 1, "", 1000), Row("fp", "fp", 32, 1, 2, "0.95", 2000)]);
        // Seed 2 of tnq-3, a repeat of seed 1 (ignored: the first file wins), and an interrupted write's tail.
        File.WriteAllLines(second, [header, Row("tnq-3", "tnq", 3, 2, 1, "", 100), Row("tnq-3", "tnq", 3, 2, 2, "0.8", 200), Row("tnq-3", "tnq", 3, 1, 2, "0.1", 200), "tnq-3,tnq,3"]);

        var (exit, output, error) = Run("plot", first, second, "--out", Path.Combine(_directory.FullName, "plots"));

        Assert.True(exit == 0, error);
        // tnq-3's seeds 1 and 2 finished; fp only seed 1, so the paired difference has one pair and no standard error.
        Assert.Matches(@"tnq-3\s+2\s+0\.8500 ± 0\.0707\s+0\.00\s+−5\.00 \(1\)", output);
        Assert.Matches(@"fp\s+1\s+0\.9500 ± –\s+0\.00\n", output.ReplaceLineEndings("\n"));
        Assert.Contains("interrupted write", error, StringComparison.Ordinal);
        FigureAssert.PngAndSvg(Path.Combine(_directory.FullName, "plots", "accuracy.png"));

        // Markdown, against a second baseline (tnq-3) and one that no run has (named on stderr, not compared).
        (exit, output, error) = Run("plot", first, second, "--out", Path.Combine(_directory.FullName, "plots"), "--markdown", "--baseline", "fp", "tnq-3", "qsgd-3");
        Assert.True(exit == 0, error);
        Assert.Contains("| label | seeds | final accuracy (mean ± sd) | uploaded MB | vs fp, points (paired ± se, pairs) | vs tnq-3, points (paired ± se, pairs) |", output, StringComparison.Ordinal);
        Assert.Contains("| fp | 1 | 0.9500 ± – | 0.00 |  | +5.00 (1) |", output, StringComparison.Ordinal);
        Assert.Contains("no finished run is labelled qsgd-3", error, StringComparison.Ordinal);

        File.WriteAllLines(first, [header, "tnq-3,tnq,x"]);
        File.AppendAllLines(first, [Row("fp", "fp", 32, 1, 1, "", 1)]);
        (exit, _, error) = Run("plot", first, "--out", Path.Combine(_directory.FullName, "plots"));
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains("line 2", error, StringComparison.Ordinal);
    }
}
