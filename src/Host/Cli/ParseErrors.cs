using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Verified.Theory;

namespace Verified.Host.Cli;

/// <summary>
/// Turns System.CommandLine's parse errors into the command line's contract: one line per problem that names the
/// option, the value and what is allowed (with the closest option for a misspelt one), and exit status 2, instead of
/// the library's message followed by the whole help.
/// </summary>
internal static class ParseErrors
{
    /// <summary>One line for <paramref name="error"/> of <paramref name="command"/>, typed as <paramref name="commandLine"/>
    /// (<c>verified run</c>).</summary>
    public static string Describe(ParseError error, Command command, string commandLine)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(command);
        if (error.SymbolResult is OptionResult { Option: { } option } result && result.Tokens.Count > 0 && IsConversionError(error.Message))
        {
            string value = result.Tokens[^1].Value;
            return $"{option.Name} = '{value}' is not {Expected(option.ValueType)}.";
        }
        if (UnrecognizedToken(error.Message) is { } token)
        {
            string? closest = Closest(token, command);
            return token.StartsWith('-')
                ? $"unknown option '{token}'" + (closest is null ? "" : $": did you mean {closest}?") + $" ('{commandLine} --help' lists them)"
                : $"unexpected argument '{token}'" + (closest is null ? "" : $": did you mean {closest}?") + $" ('{commandLine} --help' lists them)";
        }
        if (error.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
        {
            return $"no command given: use one of {string.Join(", ", command.Subcommands.Select(c => c.Name))} ('{commandLine} --help' lists them).";
        }
        // Some messages list the allowed values one per line ("Must be one of:\n\t'a'\n\t'b'"): keep the contract's one line.
        return string.Join(' ', error.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    /// <summary>
    /// The error to report first: an unrecognized token explains the errors that follow from it (a misspelt option's
    /// value then reads as a stray argument, a misspelt verb leaves no command).
    /// </summary>
    public static ParseError First(IReadOnlyList<ParseError> errors) =>
        errors.FirstOrDefault(e => UnrecognizedToken(e.Message) is not null) ?? errors[0];

    private static bool IsConversionError(string message) => message.StartsWith("Cannot parse argument", StringComparison.Ordinal);

    /// <summary>The token of System.CommandLine's "Unrecognized command or argument 'x'." message, if it is one.</summary>
    private static string? UnrecognizedToken(string message)
    {
        const string Prefix = "Unrecognized command or argument '";
        return message.StartsWith(Prefix, StringComparison.Ordinal) && message.LastIndexOf('\'') is int end && end > Prefix.Length
            ? message[Prefix.Length..end]
            : null;
    }

    private static string Expected(Type type)
    {
        Type underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying switch
        {
            _ when underlying == typeof(int) => string.Create(CultureInfo.InvariantCulture, $"an integer (at most {int.MaxValue})"),
            _ when underlying == typeof(long) => string.Create(CultureInfo.InvariantCulture, $"an integer (at most {long.MaxValue})"),
            _ when underlying == typeof(ulong) => string.Create(CultureInfo.InvariantCulture, $"a non-negative integer (at most {ulong.MaxValue})"),
            _ when underlying == typeof(double) || underlying == typeof(float) => "a number (a decimal such as 0.01 or 1e-4)",
            _ when underlying == typeof(bool) => "true or false",
            _ when underlying.IsEnum => $"one of {string.Join(", ", Enum.GetNames(underlying).Select(n => n.ToLowerInvariant()))}",
            _ => $"a valid {underlying.Name}",
        };
    }

    /// <summary>
    /// The option or subcommand of <paramref name="command"/> closest to <paramref name="token"/>: one edit away for
    /// words of up to four letters (not counting dashes), two for longer ones, so that a suggestion is a likely typo.
    /// </summary>
    private static string? Closest(string token, Command command)
    {
        // With the options the command inherits (a recursive option of the root, such as --verbose).
        IEnumerable<Option> options = command.Options.Concat(Ancestors(command).SelectMany(c => c.Options.Where(o => o.Recursive)));
        IEnumerable<string> names = options.SelectMany(o => o.Aliases.Prepend(o.Name))
            .Concat(command.Subcommands.Select(c => c.Name));
        int allowed = token.TrimStart('-').Length <= 4 ? 1 : 2;
        string? best = null;
        int bestDistance = allowed + 1;
        foreach (string name in names)
        {
            int distance = Schemes.EditDistance(token, name);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (name, distance);
            }
        }
        return best;
    }

    private static IEnumerable<Command> Ancestors(Command command)
    {
        foreach (Command parent in command.Parents.OfType<Command>())
        {
            yield return parent;
            foreach (Command ancestor in Ancestors(parent))
            {
                yield return ancestor;
            }
        }
    }
}
