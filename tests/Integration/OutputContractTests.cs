using System.Runtime.InteropServices;
using System.Text.Json;
using Verified.Host.Cli;
using Verified.Theory.Sampling;

namespace IntegrationTests;

/// <summary>
/// The output contract of every verb (docs/cli.md, "Output and exit codes"), run in-process with small, fast arguments:
/// with <c>--json</c> stdout is exactly one JSON document and everything else goes to stderr; invalid arguments of any
/// kind exit 2 with one stderr line naming the option, the value and what is allowed; a failure no verb expected exits
/// 1 with one line, and only <c>--verbose</c> adds the stack trace.
/// </summary>
/// <remarks>The verbs without <c>--json</c> (codec encode and decode, run, plot, serve) are in the invalid-argument
/// table only; run's and serve's cases fail before any data is loaded or port is opened.</remarks>
[Collection(LibtorchTests.Name)] // bench codec times TorchSharp's tensor ops too
public sealed class OutputContractTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-contract-");

    public OutputContractTests()
    {
        float[] gradient = LaplaceSampler.Vector(4096, 0.01, 7);
        File.WriteAllBytes(PathOf("g.f32"), MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
        Assert.Equal(0, Run("codec", "encode", "--in", PathOf("g.f32"), "--out", PathOf("g.vq")).ExitCode);
        Assert.Equal(0, Run("codec", "encode", "--segments", "bucket:1000", "--in", PathOf("g.f32"), "--out", PathOf("s.vq")).ExitCode);
    }

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = VerifiedCli.Run(args, output, error, handleSignals: false);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Every verb that has --json, by name; <see cref="JsonArguments"/> turns a name into its arguments.</summary>
    public static TheoryData<string> JsonVerbs { get; } =
        ["theory", "theory with E_TQ", "codec inspect", "codec inspect segmented", "audit", "bench codec", "sde", "--verbose before the verb"];

    private string[] JsonArguments(string verb) => verb switch
    {
        "theory" => ["theory", "--scheme", "tnq", "--bits", "3", "--json"],
        "theory with E_TQ" => ["theory", "--scheme", "qsgd", "--bits", "4", "--dimension", "1000", "--clients", "8", "--json"],
        "codec inspect" => ["codec", "inspect", "--in", PathOf("g.vq"), "--json"],
        "codec inspect segmented" => ["codec", "inspect", "--in", PathOf("s.vq"), "--json"],
        // Writes report.md, report.json and figures, and says so, on stderr.
        "audit" => ["audit", "--gradients", PathOf("g.f32"), "--schemes", "tnq", "--bits", "3", "--draws", "2", "--out", PathOf("audit"), "--json"],
        "bench codec" => ["bench", "codec", "--quick", "--seconds", "0.001", "--dimension", "1024", "--json"],
        "sde" => ["sde", "--experiment", "speedup", "--quick", "--out", PathOf("sde"), "--json"],
        "--verbose before the verb" => ["--verbose", "theory", "--scheme", "tuq", "--json"],
        _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, null),
    };

    [Theory]
    [MemberData(nameof(JsonVerbs))]
    public void WithJson_StdoutIsExactlyOneJsonDocument(string verb)
    {
        (int exitCode, string output, string error) = Run(JsonArguments(verb));

        Assert.True(exitCode == 0, error);
        // JsonDocument.Parse refuses anything after the first value: a status line or a second document fails here.
        using JsonDocument document = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    /// <summary>One invalid-argument case per verb: its arguments and a fragment of the line it must print.</summary>
    public static TheoryData<string, string> InvalidCases { get; } = new()
    {
        { "theory", "verified theory: --model 'lomx' is not known: use one of laplace, lomax, pareto, gaussian." },
        { "codec encode", "verified codec encode: --in '" },
        { "codec decode", "verified codec decode: --in 'g.f32' is not a valid payload: " },
        { "codec inspect", "verified codec inspect: unknown option '--jsn': did you mean --json?" },
        { "bench codec", "verified bench codec: --dimension = 8 is out of range: it must be an integer from 16 to 268435456." },
        { "run", "verified run: bits = 9 is out of range for tnq: it must be an integer from 1 to 8." },
        { "audit", "verified audit: --schemes 'tnk' cannot be audited: use qsgd, nuqsgd, tuq, tnq, tbq, sign, usign. Did you mean tnq?" },
        { "sde", "verified sde: --experiment 'speedp' is not known: use one of floors, heavy-tails, scaling, speedup, theorem1, all. Did you mean speedup?" },
        { "plot", "verified plot: metrics '" },
        { "serve", "verified serve: --workers = 0 is out of range: it must be an integer from 1 to 64." },
        { "a misspelt --verbose", "verified theory: unknown option '--verbos': did you mean --verbose?" },
    };

    private string[] InvalidArguments(string verb) => verb switch
    {
        "theory" => ["theory", "--model", "lomx", "--json"],
        "codec encode" => ["codec", "encode", "--in", PathOf("missing.f32"), "--out", PathOf("x.vq")],
        // A float32 file is not a payload: its first bytes are not the magic ones.
        "codec decode" => ["codec", "decode", "--in", PathOf("g.f32"), "--out", PathOf("x.f32")],
        "codec inspect" => ["codec", "inspect", "--in", PathOf("g.vq"), "--jsn"],
        "bench codec" => ["bench", "codec", "--dimension", "8", "--json"],
        "run" => ["run", "--model", "mlp", "--rounds", "2", "--bits", "9", "--out", PathOf("run")],
        "audit" => ["audit", "--gradients", PathOf("g.f32"), "--schemes", "tnk", "--out", PathOf("audit"), "--json"],
        "sde" => ["sde", "--experiment", "speedp", "--out", PathOf("sde"), "--json"],
        "plot" => ["plot", PathOf("missing.csv"), "--out", PathOf("plots")],
        "serve" => ["serve", "--workers", "0", "--store", PathOf("service.db")],
        "a misspelt --verbose" => ["theory", "--verbos"],
        _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, null),
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void InvalidArguments_ExitTwo_WithExactlyOneStderrLine(string verb, string expected)
    {
        (int exitCode, string output, string error) = Run(InvalidArguments(verb));

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exitCode);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnexpectedFailure_ExitsOne_WithOneLine_AndTheStackTraceOnlyWithVerbose()
    {
        // An index.json whose "files" is not an array: the audit reads it with JsonElement.EnumerateArray, which throws
        // an InvalidOperationException that no verb catches.
        string run = PathOf("run");
        Directory.CreateDirectory(Path.Combine(run, "gradients", "tnq-3-seed1"));
        File.WriteAllText(Path.Combine(run, "gradients", "tnq-3-seed1", "index.json"), """{ "dimension": 4, "files": 3 }""");

        (int exitCode, string output, string error) = Run("audit", "--run", run, "--json");
        Assert.Equal(VerifiedCli.FailureExitCode, exitCode);
        Assert.Equal("", output);
        string line = Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("verified audit: InvalidOperationException: ", line, StringComparison.Ordinal);
        Assert.EndsWith("(--verbose prints the stack trace)", line, StringComparison.Ordinal);

        (exitCode, output, error) = Run("audit", "--run", run, "--json", "--verbose");
        Assert.Equal(VerifiedCli.FailureExitCode, exitCode);
        Assert.Equal("", output);
        string[] lines = error.TrimEnd('\n').Split('\n');
        Assert.StartsWith("verified audit: InvalidOperationException: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines[1..], l => l.Contains("at Verified.Host.Audit.AuditInputs.FromRun", StringComparison.Ordinal));
    }
}
