using Verified.Host.Cli;
using Verified.Host.Runs;

namespace IntegrationTests;

/// <summary>The in-process command line, as the tests call it (<c>using static IntegrationTests.Cli;</c>).</summary>
internal static class Cli
{
    /// <summary>Runs <c>verified</c> with <paramref name="args"/>; its exit status, stdout and stderr.</summary>
    public static (int Exit, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = VerifiedCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The lines of <paramref name="directory"/>'s metrics.csv without the wall-clock column: what two runs of
    /// the same seed must agree on.</summary>
    public static string[] MetricsWithoutClock(string directory)
    {
        int elapsed = RunReport.Columns.IndexOf("elapsed_seconds");
        return [.. File.ReadAllLines(Path.Combine(directory, "metrics.csv")).Select(line => string.Join(',', line.Split(',').Where((_, i) => i != elapsed)))];
    }
}
