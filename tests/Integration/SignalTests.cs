using System.Diagnostics;
using System.Text.Json;

namespace IntegrationTests;

/// <summary>
/// Real signals to a real <c>verified</c> process: the first SIGINT or SIGTERM ends the current round, keeps every
/// row whole, writes summary.json with <c>"interrupted": true</c> and the plots, and exits 130 or 143.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-signal-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public void ASignal_StopsRunAfterTheRound_WithWholeRowsAndASummary(string signal, int expectedExitCode)
    {
        string outDir = Path.Combine(_directory.FullName, signal);
        string metrics = Path.Combine(outDir, "metrics.csv");
        using Process process = Start(
            "run", "--model", "mlp", "--rounds", "100000", "--no-baseline", "--evaluate-every", "1000",
            "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet");
        var deadline = Stopwatch.StartNew();
        // Wait for a few rounds (4 KiB: the header and about ten rows) before signalling, so it lands mid-training.
        while (Length(metrics) < 4096)
        {
            if (process.HasExited)
            {
                // Read stderr only once the child has exited: reading it while the child runs blocks until it ends.
                Assert.Fail($"verified run exited early ({process.ExitCode}): {process.StandardError.ReadToEnd()}");
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), "no rounds within 3 minutes");
            Thread.Sleep(200);
        }
        Signal(process.Id, signal);
        Assert.True(process.WaitForExit(120_000), "verified run did not stop within 2 minutes of the signal");
        string error = process.StandardError.ReadToEnd();

        Assert.Equal(expectedExitCode, process.ExitCode);
        string[] lines = File.ReadAllLines(metrics);
        int columns = lines[0].Split(',').Length;
        Assert.True(lines.Length >= 6, error);
        Assert.All(lines, line => Assert.Equal(columns, line.Split(',').Length));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.True(summary.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.True(File.Exists(Path.Combine(outDir, "loss.png")), "the plots are drawn after an interruption");
        Assert.Contains("interrupted", error, StringComparison.Ordinal);
    }

    /// <summary>The file's length by stat (no open, so no lock to contend with), 0 while it does not exist.</summary>
    private static long Length(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? file.Length : 0;
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "verified.dll"), .. args])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(start)!;
        // Drain stdout so a full pipe never blocks the child.
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    private static void Signal(int pid, string signal)
    {
        using Process kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
