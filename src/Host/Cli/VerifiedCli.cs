using System.CommandLine;

namespace Verified.Host.Cli;

/// <summary>The <c>verified</c> command line: one verb per capability, each a thin shell over library calls.</summary>
internal static class VerifiedCli
{
    /// <summary>Exit code for arguments that parse but are out of range (System.CommandLine uses 1 for parse errors).</summary>
    public const int InvalidArgumentsExitCode = 2;

    /// <summary>Runs the command line with the given writers; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Verified: truncated gradient quantization for distributed SGD, checked against its theory.");
        root.Subcommands.Add(TheoryCommand.Create(output, error));
        root.Subcommands.Add(CodecCommand.Create(output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        root.Subcommands.Add(RunCommand.Create(output, error));
        root.Subcommands.Add(AuditCommand.Create(output, error));
        root.Subcommands.Add(ServeCommand.Create(output, error));
        root.Subcommands.Add(PlotCommand.Create(output, error));
        root.Subcommands.Add(SdeCommand.Create(output, error));
        ParseResult parse = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        if (parse.CommandResult.Command.Name == "serve")
        {
            // The generic host handles SIGTERM and Ctrl+C itself (checkpoint, requeue, exit within its shutdown timeout);
            // System.CommandLine's handler would end the process after its own, shorter, timeout.
            configuration.ProcessTerminationTimeout = null;
        }
        else if (parse.CommandResult.Command.Name == "run")
        {
            // Ctrl+C cancels the token; `run` stops after the current round and writes its summary and plots. The
            // default 2 s before System.CommandLine ends the process is shorter than an AlexNet round plus the plots.
            configuration.ProcessTerminationTimeout = TimeSpan.FromSeconds(30);
        }
        return parse.Invoke(configuration);
    }

    /// <summary>The message of an argument exception without the BCL's "(Parameter 'x')" and "Actual value" suffixes.</summary>
    public static string PlainMessage(ArgumentException exception)
    {
        string message = exception.Message;
        int suffix = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return suffix >= 0 ? message[..suffix] : message;
    }
}
