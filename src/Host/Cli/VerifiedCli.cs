using System.CommandLine;
using System.CommandLine.Parsing;

namespace Verified.Host.Cli;

/// <summary>The <c>verified</c> command line: one verb per capability, each a thin shell over library calls.</summary>
internal static class VerifiedCli
{
    /// <summary>Exit code for invalid arguments of any kind: unparsable, unknown or out of range.</summary>
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
        if (parse.Errors.Count > 0)
        {
            // One line and status 2, not System.CommandLine's messages followed by the whole help (status 1).
            Command command = parse.CommandResult.Command;
            var names = new Stack<string>();
            for (SymbolResult? result = parse.CommandResult; result is CommandResult { Command: var c } && c != root; result = result.Parent)
            {
                names.Push(c.Name);
            }
            string commandLine = string.Join(" ", names.Prepend("verified"));
            error.WriteLine($"{commandLine}: {ParseErrors.Describe(ParseErrors.First(parse.Errors), command, commandLine)}");
            return InvalidArgumentsExitCode;
        }
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
