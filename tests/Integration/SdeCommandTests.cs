using System.Collections.Immutable;
using System.Text.Json;
using Verified.Codec;
using Verified.Host.Cli;
using Verified.Sde;

namespace IntegrationTests;

/// <summary>
/// `verified sde` end to end: each experiment through the verb in-process at --quick settings (its tolerances are
/// still 5 standard errors of that run plus the stated discretisation allowance; the full settings run in the verb,
/// 15–70 s each, see docs/sde.md), every claim passing; JSON shape, output files and option errors.
/// </summary>
public sealed class SdeCommandTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "verified-sde-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = VerifiedCli.Run(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("floors")]
    [InlineData("heavy-tails")]
    [InlineData("scaling")]
    [InlineData("speedup")]
    [InlineData("theorem1")]
    public void Experiment_QuickSettings_AllClaimsPass(string experiment)
    {
        string directory = Path.Combine(_directory, experiment);
        (int exitCode, string output, string error) = Run("sde", "--experiment", experiment, "--quick", "--json", "--out", directory);
        Assert.True(exitCode == 0, error + output);
        JsonElement root = JsonDocument.Parse(output).RootElement;
        Assert.True(root.GetProperty("passed").GetBoolean());
        JsonElement report = Assert.Single(root.GetProperty("experiments").EnumerateArray());
        Assert.Equal(experiment, report.GetProperty("name").GetString());
        JsonElement[] claims = [.. report.GetProperty("claims").EnumerateArray()];
        Assert.NotEmpty(claims);
        Assert.All(claims, c => Assert.True(c.GetProperty("passed").GetBoolean(), c.GetProperty("name").GetString()));
        Assert.NotEmpty(report.GetProperty("tables").EnumerateArray());
        string[] files = [.. report.GetProperty("files").EnumerateArray().Select(f => f.GetString()!)];
        Assert.Contains(files, f => f.EndsWith(".png", StringComparison.Ordinal));
        Assert.All(files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)), FigureAssert.PngAndSvg);
        Assert.Contains(files, f => f.EndsWith(".svg", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".csv", StringComparison.Ordinal));
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0, f));
    }

    [Fact]
    public void TextOutput_PrintsParametersTablesAndOneVerdictPerClaim()
    {
        (int exitCode, string output, string error) = Run("sde", "--experiment", "speedup", "--quick", "--out", _directory);
        Assert.True(exitCode == 0, error);
        Assert.Contains("DSignSGD floor vs N", output, StringComparison.Ordinal);
        Assert.Contains("PASS  DSignSGD discrete: slope of log floor vs log N", output, StringComparison.Ordinal);
        Assert.Contains("wrote 3 file(s) to " + _directory, output, StringComparison.Ordinal);
        Assert.Equal(14, output.Split('\n').Count(l => l.StartsWith("  PASS  ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("--experiment", "floor", "--experiment 'floor' is not known: use one of floors, heavy-tails, scaling, speedup, theorem1, all.")]
    [InlineData("--seed", "-3", "--seed '-3' is out of range")]
    public void InvalidOption_ExitsWith2_NamingTheOption(string option, string value, string message)
    {
        (int exitCode, _, string error) = Run("sde", option, value, "--out", _directory);
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_HoldsTheFiveExperimentsByName()
    {
        Assert.Equal(["floors", "heavy-tails", "scaling", "speedup", "theorem1"], SdeExperiments.All.Select(e => e.Name));
        Assert.All(SdeExperiments.All, e => Assert.Same(e, SdeExperiments.ByName[e.Name]));
    }

    [Fact]
    public void Theorem1_FarFromTheOptimum_TwoBitTruncationExceedsTheBound_AndThePathInequalityStillHolds()
    {
        // The finding docs/sde.md reports: with ∇F(θ₀) = 10γ, beyond every α, truncation clips the descent direction
        // ((A3) fails while descending), and the 2-bit schemes' left side passes E_DSGD + E_TQ. The path-by-path
        // descent inequality, which needs only η ≤ 1/L, holds throughout.
        var settings = new Theorem1Settings { Dimension = 64, Rounds = 1000, InitialGradient = Theorem1Experiment.FarStart };
        ImmutableArray<Theorem1Row> rows = Theorem1Check.Run(settings, new GradientCodec());
        Assert.All(rows.Where(r => r.Spec.BitsPerCoordinate == 2), r => Assert.True(r.GradientNormAverage > r.Bound, $"{r.Label}: {r.GradientNormAverage} ≤ {r.Bound}"));
        Assert.All(rows, r => Assert.True(r.WorstPathwiseSlack >= 0, $"{r.Label}: slack {r.WorstPathwiseSlack}"));
        Assert.True(rows.Single(r => r.Label == "fp").GradientNormAverage < rows.Single(r => r.Label == "fp").Bound);
    }

    [Fact]
    public void Theorem1_RejectsAStepAbove1OverL()
    {
        var settings = new Theorem1Settings { LearningRate = 0.5, Curvature = 4 };
        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(() => Theorem1Check.Run(settings, new GradientCodec()));
        Assert.Contains("needs η ≤ 1/L", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedClaim_ExitsWith1_AndIsPrintedAsAFinding()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new System.CommandLine.RootCommand { SdeCommand.Create(output, error, [new OneFailingClaim()]) };
        int exitCode = root.Parse(["sde", "--experiment", "failing", "--out", _directory]).Invoke();

        Assert.Equal(1, exitCode);
        Assert.Contains("  FAIL  the floor", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("  PASS  the slope", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("verified sde: finding: failing: claim 'the floor' failed: measured 2", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("the slope", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AnInterruption_FinishesTheRunningExperiment_WritesIt_AndExits130()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var interruption = new CancellationTokenSource();
        // The "signal" arrives while the first experiment runs: it finishes and is written, the second never starts.
        var first = new Interrupting("first", interruption);
        var second = new Interrupting("second", interruption);
        var root = new System.CommandLine.RootCommand { SdeCommand.Create(output, error, [first, second], interruption.Token) };
        int exitCode = root.Parse(["sde", "--experiment", "all", "--out", _directory]).Invoke();

        Assert.Equal(130, exitCode);
        Assert.Equal(1, first.Runs);
        Assert.Equal(0, second.Runs);
        Assert.True(Directory.Exists(Path.Combine(_directory, "first")));
        Assert.False(Directory.Exists(Path.Combine(_directory, "second")));
        Assert.Contains("interrupted after 1 of 2 experiment(s)", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>An experiment that cancels the interruption token while it runs, as a Ctrl+C would.</summary>
    private sealed class Interrupting(string name, CancellationTokenSource interruption) : ISdeExperiment
    {
        public int Runs { get; private set; }

        public string Name => name;

        public string Description => "cancels the token";

        public SdeReport Run(SdeExperimentOptions options)
        {
            Runs++;
            interruption.Cancel();
            return new(Name, Description, [], [], [], [SdeClaim.Within("a claim", 1, 1, 0.1, "test")]);
        }
    }

    /// <summary>An experiment whose first claim fails and second passes, to test the verb's verdict handling.</summary>
    private sealed class OneFailingClaim : ISdeExperiment
    {
        public string Name => "failing";

        public string Description => "one failing claim";

        public SdeReport Run(SdeExperimentOptions options) => new(
            Name,
            Description,
            [],
            [],
            [],
            [SdeClaim.Within("the floor", 2, 1, 0.5, "test"), SdeClaim.Within("the slope", 1, 1, 0.1, "test")]);
    }
}
