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

    /// <summary>
    /// Issue 14's acceptance script: SIGINT after a few rounds gives exit 130, summary.json with "interrupted": true and
    /// whole rows only; then <c>--resume</c> completes the run (and the full-precision run after it) with the metrics of
    /// an uninterrupted run of the same seed, the clock column aside.
    /// </summary>
    [MnistFact]
    public void SigInt_ThenResume_GivesTheMetricsOfAnUninterruptedRun()
    {
        string[] Command(string outDir) =>
        [
            "run", "--model", "mlp", "--rounds", "400", "--evaluate-every", "100", "--error-feedback", "--checkpoint-every", "25", "--seed", "3",
            "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet",
        ];
        string reference = Path.Combine(_directory.FullName, "reference");
        string resumed = Path.Combine(_directory.FullName, "resumed");
        string metrics = Path.Combine(resumed, "metrics.csv");
        using (Process process = Start(Command(resumed)))
        {
            var deadline = Stopwatch.StartNew();
            while (Length(metrics) < 4096)
            {
                if (process.HasExited)
                {
                    Assert.Fail($"verified run exited early ({process.ExitCode}): {process.StandardError.ReadToEnd()}");
                }
                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), "no rounds within 3 minutes");
                Thread.Sleep(100);
            }
            Signal(process.Id, "INT");
            Assert.True(process.WaitForExit(120_000), "verified run did not stop within 2 minutes of the signal");
            Assert.True(process.ExitCode == 130, process.StandardError.ReadToEnd());
        }
        string[] stopped = File.ReadAllLines(metrics);
        Assert.All(stopped, line => Assert.Equal(stopped[0].Split(',').Length, line.Split(',').Length));
        Assert.InRange(stopped.Length - 1, 5, 399);
        using (JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(resumed, "summary.json"))))
        {
            Assert.True(summary.RootElement.GetProperty("interrupted").GetBoolean());
        }

        foreach (string[] args in new[] { ["run", "--resume", resumed, "--quiet"], Command(reference) })
        {
            using Process process = Start(args);
            Assert.True(process.WaitForExit(600_000), $"{string.Join(' ', args)} did not end within 10 minutes");
            Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
        }

        int elapsed = Array.IndexOf(stopped[0].Split(','), "elapsed_seconds");
        string[] WithoutClock(string directory) =>
            [.. File.ReadAllLines(Path.Combine(directory, "metrics.csv")).Select(l => string.Join(',', l.Split(',').Where((_, i) => i != elapsed)))];
        string[] expected = WithoutClock(reference);
        Assert.Equal(1 + (2 * 400), expected.Length);
        Assert.Equal(expected, WithoutClock(resumed));
        Assert.Equal(stopped.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != elapsed))), expected.Take(stopped.Length));
        using JsonDocument final = JsonDocument.Parse(File.ReadAllText(Path.Combine(resumed, "summary.json")));
        Assert.False(final.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.Equal(2, final.RootElement.GetProperty("finishedRuns").GetInt32());
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
