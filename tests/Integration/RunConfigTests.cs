using System.Text.Json;
using Verified.Host.Cli;

using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary>
/// <c>verified run --config FILE</c>: a service spec, a summary.json or a run.json gives the run, explicit options
/// override it; a bad file, and options a preset would ignore, are one line and exit 2.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class RunConfigTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-config-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    private static JsonElement OnlyRunConfig(string directory)
    {
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "summary.json")));
        return Assert.Single(summary.RootElement.GetProperty("runs").EnumerateArray()).GetProperty("config").Clone();
    }

    [MnistFact]
    public void AServiceSpec_GivesTheRun_AndExplicitOptionsOverrideIt()
    {
        string spec = PathOf("spec.json");
        // Field names as POST /api/runs takes them (docs/service.md), in any case.
        File.WriteAllText(spec, """{ "scheme": "qsgd", "bits": 4, "model": "mlp", "rounds": 5, "batchSize": 32, "LearningRate": 0.02, "evaluateEvery": 3, "seed": 7 }""");
        string outDir = PathOf("out");

        var (exit, _, error) = Run(
            "run", "--config", spec, "--rounds", "3", "--batch-size", "16", "--no-baseline", "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet");

        Assert.True(exit == 0, error);
        JsonElement config = OnlyRunConfig(outDir);
        Assert.Equal("qsgd", config.GetProperty("scheme").GetString());
        Assert.Equal(4, config.GetProperty("bits").GetInt32());
        Assert.Equal(3, config.GetProperty("rounds").GetInt32()); // the option, not the file's 5
        Assert.Equal(16, config.GetProperty("batchSize").GetInt32()); // --batch-size, the alias of --batch
        Assert.Equal(0.02, config.GetProperty("learningRate").GetDouble());
        Assert.Equal(7, config.GetProperty("seed").GetInt64());
        Assert.Equal(1 + 3, File.ReadAllLines(Path.Combine(outDir, "metrics.csv")).Length);
    }

    [MnistFact]
    public void ASummaryOrRunJson_RepeatsTheRun()
    {
        string first = PathOf("first");
        var (exit, _, error) = Run(
            "run", "--model", "mlp", "--rounds", "4", "--scheme", "tnq", "--error-feedback", "--threshold", "averaged", "--learning-rate", "0.02",
            "--seed", "4", "--evaluate-every", "2", "--audit-every", "2", "--data", MnistDataTests.DataDirectory!, "--out", first, "--quiet");
        Assert.True(exit == 0, error);

        foreach (string file in new[] { "summary.json", "run.json" })
        {
            string again = PathOf("again-" + file);
            (exit, _, error) = Run("run", "--config", Path.Combine(first, file), "--out", again, "--quiet");

            Assert.True(exit == 0, error);
            // The same plan (tnq-3-averaged-ef and its fp baseline), the same rows but for the clock.
            Assert.Equal(MetricsWithoutClock(first), MetricsWithoutClock(again));
        }

        // An option given explicitly wins over the file: another seed, another run.
        string other = PathOf("other");
        (exit, _, error) = Run("run", "--config", Path.Combine(first, "summary.json"), "--seed", "5", "--no-baseline", "--out", other, "--quiet");
        Assert.True(exit == 0, error);
        Assert.Equal(5, OnlyRunConfig(other).GetProperty("seed").GetInt64());
        Assert.True(OnlyRunConfig(other).GetProperty("errorFeedback").GetBoolean());
    }

    [Theory]
    [InlineData(new[] { "--preset", "fig-accuracy", "--scheme", "qsgd", "--bits", "5" }, "--preset fig-accuracy does not use --scheme, --bits:")]
    [InlineData(new[] { "--preset", "fig-tradeoff", "--bits", "2" }, "--preset fig-tradeoff does not use --bits:")]
    [InlineData(new[] { "--preset", "heavy-tails", "--scheme", "tnq", "--no-baseline", "--bits", "4" }, "--preset heavy-tails does not use --scheme, --no-baseline:")]
    [InlineData(new[] { "--preset", "papers-accuracy", "--segments", "whole", "--error-feedback" }, "--preset papers-accuracy does not use --segments, --error-feedback: it runs its own arms")]
    [InlineData(new[] { "--preset", "papers-tradeoff", "--bits", "4", "--fit", "lomax" }, "--preset papers-tradeoff does not use --bits, --fit:")]
    public void APreset_WithOptionsItIgnores_ExitsWithTwo_NamingThem(string[] options, string says)
    {
        string outDir = PathOf("out");
        var (exit, output, error) = Run(["run", .. options, "--out", outDir]);

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("verified run: " + says, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir), "nothing is written");
    }

    [Theory]
    [InlineData("fig-accuracy", """{ "scheme": "qsgd", "bits": 5, "rounds": 3 }""", "does not use the \"scheme\" and \"bits\" of --config")]
    [InlineData("heavy-tails", """{ "scheme": "qsgd", "bits": 5 }""", "does not use the \"scheme\" of --config")]
    [InlineData("fig-tradeoff", """{ "bits": 4 }""", "does not use the \"bits\" of --config")]
    public void APreset_WithASpecFileThatPicksTheScheme_ExitsWithTwo_NamingTheFields(string preset, string spec, string says)
    {
        string file = PathOf("spec.json");
        File.WriteAllText(file, spec);
        string outDir = PathOf("out");
        var (exit, output, error) = Run("run", "--config", file, "--preset", preset, "--out", outDir);

        Assert.True(exit == VerifiedCli.InvalidArgumentsExitCode, error);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains(says, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir), "nothing is written");
    }

    [Fact]
    public void ABadConfigFile_ExitsWithTwo_InOneLine()
    {
        string missing = PathOf("missing.json");
        string notJson = PathOf("not.json");
        File.WriteAllText(notJson, "scheme = tnq");
        string unknown = PathOf("unknown.json");
        File.WriteAllText(unknown, """{ "scheme": "tnq", "batch": 16 }""");
        string invalid = PathOf("invalid.json");
        File.WriteAllText(invalid, """{ "scheme": "tnq", "bits": 9 }""");
        string array = PathOf("array.json");
        File.WriteAllText(array, "[1, 2]");

        foreach ((string file, string says) in new[]
        {
            (missing, $"--config {missing}: no such file."),
            (notJson, $"--config {notJson} is not JSON"),
            (unknown, "'batch' is not a field of an experiment spec"),
            (invalid, "bits = 9 is out of range for tnq"),
            (array, "a JSON array, not an object"),
        })
        {
            string outDir = PathOf("out");
            var (exit, output, error) = Run("run", "--config", file, "--out", outDir);

            Assert.True(exit == VerifiedCli.InvalidArgumentsExitCode, error);
            Assert.Equal("", output);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.Contains(says, error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(outDir), "nothing is written");
        }
    }
}
