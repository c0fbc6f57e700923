using System.CommandLine;
using System.CommandLine.Parsing;

namespace Verified.Host.Cli;

/// <summary>The <c>verified</c> command line: one verb per capability, each a thin shell over library calls.</summary>
internal static class VerifiedCli
{
    /// <summary>Exit code for invalid arguments of any kind: unparsable, unknown or out of range.</summary>
    public const int InvalidArgumentsExitCode = 2;

    /// <summary>Exit code when a verb fails for a reason other than its arguments (an error it did not expect).</summary>
    public const int FailureExitCode = 1;

    /// <summary>Runs the command line with the given writers; returns the process exit code.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">stdout.</param>
    /// <param name="error">stderr.</param>
    /// <param name="handleSignals">Whether SIGINT and SIGTERM stop the long verbs cleanly (<see cref="TerminationSignals"/>):
    /// true in the real process, false in tests that call this in-process.</param>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool handleSignals = false)
    {
        using var interruption = new CancellationTokenSource();
        var verbose = new Option<bool>("--verbose")
        {
            Description = "When a command fails unexpectedly, print the exception with its stack trace after the one-line message.",
            Recursive = true,
        };
        var root = new RootCommand("Verified: truncated gradient quantization for distributed SGD, checked against its theory.") { verbose };
        root.Subcommands.Add(TheoryCommand.Create(output, error));
        root.Subcommands.Add(CodecCommand.Create(output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        root.Subcommands.Add(RunCommand.Create(output, error, interruption.Token));
        root.Subcommands.Add(AuditCommand.Create(output, error));
        root.Subcommands.Add(ServeCommand.Create(output, error));
        root.Subcommands.Add(SiloCommand.Create(output, error, interruption.Token));
        root.Subcommands.Add(ClusterDbCommand.Create(output, error));
        root.Subcommands.Add(PlotCommand.Create(output, error));
        root.Subcommands.Add(SdeCommand.Create(output, error, interruption: interruption.Token));
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line and status 2, not System.CommandLine's messages followed by the whole help (status 1).
            string commandLine = CommandName(parse);
            error.WriteLine($"{commandLine}: {ParseErrors.Describe(ParseErrors.First(parse.Errors), parse.CommandResult.Command, commandLine)}");
            return InvalidArgumentsExitCode;
        }
        // Signals are ours, not System.CommandLine's: serve's generic host handles its own (checkpoint, requeue), and
        // every other verb gets TerminationSignals, which lets the long ones finish their step and write what they have.
        // No default exception handler: it prints the exception with its stack trace. An error a verb did not expect
        // is one line and status 1 below (the trace only with --verbose).
        var configuration = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        using TerminationSignals? signals = handleSignals && parse.CommandResult.Command.Name != "serve"
            ? new TerminationSignals(interruption, error)
            : null;
        int exitCode;
        try
        {
            exitCode = parse.Invoke(configuration);
        }
#pragma warning disable CA1031 // The command line's last resort: whatever a verb throws becomes one line and status 1.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            Exception cause = exception is AggregateException { InnerExceptions: [var single] } ? single : exception;
            error.WriteLine($"{CommandName(parse)}: {cause.GetType().Name}: {cause.Message.ReplaceLineEndings(" ")}{(parse.GetValue(verbose) ? "" : " (--verbose prints the stack trace)")}");
            if (parse.GetValue(verbose))
            {
                error.WriteLine(cause.ToString());
            }
            return FailureExitCode;
        }
        return exitCode == TerminationSignals.InterruptExitCode && signals?.Signal is not null ? signals.InterruptedExitCode : exitCode;
    }

    /// <summary>
    /// The command line as typed (<c>verified run --model mlp …</c>), for provenance: the tokens the parser saw, each
    /// quoted when it holds a space or a quote, so the line can be pasted back into a shell.
    /// </summary>
    public static string CommandLine(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return string.Join(' ', parse.Tokens.Select(t => Quote(t.Value)).Prepend("verified"));

        static string Quote(string token) =>
            token.Length > 0 && !token.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '\\' or '$' or '`')
                ? token
                : "'" + token.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>The verb as typed, for messages: <c>verified codec inspect</c>.</summary>
    private static string CommandName(ParseResult parse)
    {
        var names = new Stack<string>();
        for (SymbolResult? result = parse.CommandResult; result is CommandResult { Command: var c } && c is not RootCommand; result = result.Parent)
        {
            names.Push(c.Name);
        }
        return string.Join(" ", names.Prepend("verified"));
    }

    /// <summary>The message of an argument exception without the BCL's "(Parameter 'x')" and "Actual value" suffixes.</summary>
    public static string PlainMessage(ArgumentException exception)
    {
        string message = exception.Message;
        int suffix = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return suffix >= 0 ? message[..suffix] : message;
    }
}
