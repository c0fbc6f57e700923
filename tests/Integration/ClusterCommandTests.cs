using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary>
/// <c>verified run --cluster local:K</c> end to end: K <c>verified silo</c> processes on loopback host the clients, the
/// command writes what a run in one process writes, and stops the silos.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ClusterCommandTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-cluster-cli-");

    public void Dispose() => _directory.Delete(recursive: true);

    [MnistFact]
    public void RunOnThreeLocalSilos_WritesTheMetricsOfARunInOneProcess_AndStopsTheSilos()
    {
        // The acceptance command (the default scheme: TNQSGD per tensor with error feedback).
        string onCluster = Path.Combine(_directory.FullName, "A");
        string inProcess = Path.Combine(_directory.FullName, "B");
        string[] Command(string outDir) =>
            ["run", "--model", "mlp", "--rounds", "20", "--seed", "5", "--no-baseline", "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet"];

        var (exit, said, error) = Run([.. Command(onCluster), "--cluster", "local:3"]);
        Assert.True(exit == 0, error);
        Assert.Contains("3 silo process(es) started on loopback", said, StringComparison.Ordinal);
        (exit, _, error) = Run(Command(inProcess));
        Assert.True(exit == 0, error);

        string[] rows = MetricsWithoutClock(onCluster);
        Assert.Equal(1 + 20, rows.Length);
        Assert.Equal(MetricsWithoutClock(inProcess), rows);
        Assert.Empty(SiloProcesses());
    }

    [Theory]
    [InlineData("local:0", "local:K takes K, the number of silo processes, from 1 to 64")]
    [InlineData("gateway:nowhere", "gateway:HOST:PORT takes a silo's host and gateway port")]
    [InlineData("ray:3", "use local:K (K silo processes on this machine) or gateway:HOST:PORT")]
    public void AClusterThatDoesNotParse_IsRefused_SayingWhatToUse(string value, string expected)
    {
        var (exit, _, error) = Run("run", "--model", "mlp", "--rounds", "1", "--no-baseline", "--cluster", value, "--out", Path.Combine(_directory.FullName, "never"));

        Assert.Equal(2, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_directory.FullName, "never")));
    }

    [Fact]
    public void ASiloWhosePortsClash_IsRefused_SayingWhich()
    {
        var (exit, _, error) = Run("silo", "--silo-port", "31000", "--gateway-port", "31000");

        Assert.Equal(2, exit);
        Assert.Contains("--silo-port and --gateway-port are both 31000", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1025")]
    public void ComputeSlotsOutOfRange_AreRefused_SayingTheRange(string slots)
    {
        var (exit, _, error) = Run("silo", "--silo-port", "31000", "--gateway-port", "31001", "--compute-slots", slots);

        Assert.Equal(2, exit);
        Assert.Contains($"--compute-slots {slots} is out of range: give 1 to 1024", error, StringComparison.Ordinal);
    }

    /// <summary>This process's children that run <c>verified silo</c> (from /proc, Linux only; empty elsewhere).</summary>
    private static List<int> SiloProcesses()
    {
        var found = new List<int>();
        foreach (string process in Directory.Exists("/proc") ? Directory.EnumerateDirectories("/proc") : [])
        {
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ');
                // /proc/PID/stat: "pid (name) state ppid …"; the name may hold spaces, so count from the last ')'.
                string stat = File.ReadAllText(Path.Combine(process, "stat"));
                string parent = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
                if (commandLine.Contains("verified.dll silo ", StringComparison.Ordinal) && parent == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    found.Add(int.Parse(Path.GetFileName(process), System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // Not a process directory, or the process ended meanwhile.
            }
        }
        return found;
    }
}
