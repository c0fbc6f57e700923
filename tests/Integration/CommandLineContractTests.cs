using Verified.Host.Cli;

namespace IntegrationTests;

/// <summary>
/// The command line's contract for invalid arguments of any kind: exit status 2, one line on stderr that names the
/// option, the value and what is allowed (with the closest name for a misspelt one), nothing on stdout, and no help.
/// </summary>
public sealed class CommandLineContractTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = VerifiedCli.Run(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData(new[] { "run", "--lr", "abc" }, "verified run: --lr = 'abc' is not a number")]
    [InlineData(new[] { "run", "--rounds", "99999999999" }, "verified run: --rounds = '99999999999' is not an integer (at most 2147483647).")]
    [InlineData(new[] { "theory", "--scheme", "foo" }, "verified theory: --scheme 'foo' is not known: use one of fp, qsgd")]
    [InlineData(new[] { "theory", "--scheme", "tnk" }, "Did you mean tnq?")]
    [InlineData(new[] { "theory", "--bits", "9" }, "verified theory: --bits = 9 is out of range for tnq: it must be an integer from 1 to 8.")]
    [InlineData(new[] { "theory", "--bits", "three" }, "verified theory: --bits = 'three' is not an integer")]
    [InlineData(new[] { "run", "--lrr", "0.1" }, "verified run: unknown option '--lrr': did you mean --lr?")]
    [InlineData(new[] { "codec", "encode", "--scheme", "tnq", "--bitz", "3" }, "unknown option '--bitz': did you mean --bits?")]
    [InlineData(new[] { "runn" }, "verified: unexpected argument 'runn': did you mean run?")]
    [InlineData(new string[0], "verified: no command given: use one of theory, codec")]
    public void InvalidArguments_ExitTwo_WithOneLine_AndNoHelp(string[] args, string expected)
    {
        (int exitCode, string output, string error) = Run(args);
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exitCode);
        Assert.Equal("", output);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("Usage:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnrelatedWords_GetNoSuggestion()
    {
        (_, _, string error) = Run("run", "--zzzzzz", "1");
        Assert.Contains("unknown option '--zzzzzz' ('verified run --help' lists them)", error, StringComparison.Ordinal);
    }
}
