using System.Runtime.InteropServices;
using System.Text.Json;
using Verified.Host.Cli;
using Verified.Simulation.Data;
using Verified.Theory.Sampling;

namespace IntegrationTests;

/// <summary>
/// The provenance every result carries (docs/cli.md, "Provenance"): summary.json of <c>verified run</c> and the audit report
/// (JSON and report.md) hold every field with plausible values, and the data files' SHA-256 is what the test computes
/// itself. The service's stored runs are checked in <c>Service/ServiceProvenanceTests</c>.
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

    /// <summary>The build writes "version+commit", with ".dirty" after a commit whose tracked files had changed.</summary>
    [Theory]
    [InlineData("1.0.0+0123456789abcdef0123456789abcdef01234567", "1.0.0", "0123456789abcdef0123456789abcdef01234567", false)]
    [InlineData("1.0.0+0123456789abcdef0123456789abcdef01234567.dirty", "1.0.0", "0123456789abcdef0123456789abcdef01234567", true)]
    [InlineData("1.0.0+unknown", "1.0.0", "unknown", false)]
    [InlineData("1.0.0+unknown.dirty", "1.0.0", "unknown", false)]
    [InlineData("1.0.0+0123456789ABCDEF0123456789abcdef01234567", "1.0.0", "unknown", false)]
    [InlineData("", "unknown", "unknown", false)]
    public void TheBuildsCommit_IsReadWithItsDirtyFlag(string informational, string version, string commit, bool dirty) =>
        Assert.Equal((version, commit, dirty), Verified.Host.Provenance.ParseBuild(informational));

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

    [Fact]
    public void AuditReport_HoldsEveryProvenanceField_InTheJsonAndTheMarkdown()
    {
        string file = Path.Combine(_directory.FullName, "g.f32");
        File.WriteAllBytes(file, MemoryMarshal.AsBytes(LaplaceSampler.Vector(4096, 0.01, 3).AsSpan()).ToArray());
        string outDir = Path.Combine(_directory.FullName, "audit");
        DateTimeOffset before = DateTimeOffset.UtcNow;
        (int exitCode, string output, string error) = Run("audit", "--gradients", file, "--schemes", "tnq", "--bits", "3", "--draws", "2", "--out", outDir, "--json");
        DateTimeOffset after = DateTimeOffset.UtcNow;
        Assert.True(exitCode == 0, error);

        using JsonDocument printed = JsonDocument.Parse(output);
        JsonElement provenance = printed.RootElement.GetProperty("provenance");
        ProvenanceAssert.Plausible(provenance, [file], before, after);
        Assert.StartsWith($"verified audit --gradients {file} --schemes tnq --bits 3 --draws 2", provenance.GetProperty("command").GetString(), StringComparison.Ordinal);
        // An audit has no libtorch or client threads.
        Assert.Equal(JsonValueKind.Null, provenance.GetProperty("threads").ValueKind);
        Assert.Equal(JsonValueKind.Null, provenance.GetProperty("workers").ValueKind);

        string markdown = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("## Provenance", markdown, StringComparison.Ordinal);
        Assert.Contains($"commit `{provenance.GetProperty("commit").GetString()}`", markdown, StringComparison.Ordinal);
        Assert.Contains($"SHA-256 `{ProvenanceAssert.Sha256(file)}`", markdown, StringComparison.Ordinal);
        Assert.Contains($"codec path {provenance.GetProperty("codecPath").GetString()}", markdown, StringComparison.Ordinal);
    }
}
