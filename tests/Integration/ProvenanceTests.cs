using System.Text.Json;
using Verified.Host.Cli;
using Verified.Simulation.Data;

namespace IntegrationTests;

/// <summary>
/// The provenance every result carries (README, "Provenance"): summary.json of <c>verified run</c> holds every field
/// with plausible values, and the data files' SHA-256 is what the test computes itself. The service's stored runs are
/// checked in <c>Service/ServiceProvenanceTests</c>.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ProvenanceTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-provenance-");

    public void Dispose() => _directory.Delete(recursive: true);

    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = VerifiedCli.Run(args, output, error, handleSignals: false);
        return (exitCode, output.ToString(), error.ToString());
    }

    [MnistFact]
    public void RunSummary_HoldsEveryProvenanceField()
    {
        string outDir = Path.Combine(_directory.FullName, "run");
        DateTimeOffset before = DateTimeOffset.UtcNow;
        (int exitCode, _, string error) = Run(
            "run", "--model", "mlp", "--clients", "2", "--rounds", "2", "--evaluate-every", "2", "--no-baseline", "--threads", "1", "--workers", "2",
            "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet");
        DateTimeOffset after = DateTimeOffset.UtcNow;
        Assert.True(exitCode == 0, error);

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        JsonElement provenance = summary.RootElement.GetProperty("provenance");
        ProvenanceAssert.Plausible(provenance, IdxDirectory.Locate(MnistDataTests.DataDirectory!), before, after);
        Assert.Equal(
            $"verified run --model mlp --clients 2 --rounds 2 --evaluate-every 2 --no-baseline --threads 1 --workers 2 --data {MnistDataTests.DataDirectory} --out {outDir} --quiet",
            provenance.GetProperty("command").GetString());
        Assert.Equal(1, provenance.GetProperty("threads").GetInt32());
        Assert.Equal(2, provenance.GetProperty("workers").GetInt32());
    }
}
