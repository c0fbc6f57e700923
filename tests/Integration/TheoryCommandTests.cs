using System.Diagnostics;
using System.Text.Json;
using Verified.Host.Cli;

namespace IntegrationTests;

/// <summary>`verified theory` end to end: the acceptance figures, JSON shape and argument errors.</summary>
public sealed class TheoryCommandTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = VerifiedCli.Run(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static JsonElement Json(params string[] args)
    {
        (int exitCode, string output, string error) = Run([.. args, "--json"]);
        Assert.True(exitCode == 0, error);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    [Fact]
    public void Tnq3BitsLaplace_GivesTheSpecThresholdAndLevels()
    {
        JsonElement design = Json("theory", "--scheme", "tnq", "--bits", "3", "--model", "laplace", "--scale", "1");
        Assert.Equal(3.199464, design.GetProperty("alpha").GetDouble(), 1e-6);
        double[] expected = [-3.199464, -1.895692, -0.989893, -0.295100, 0.295100, 0.989893, 1.895692, 3.199464];
        double[] levels = design.GetProperty("levels").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(expected.Length, levels.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], levels[k], 1e-6);
        }
        Assert.Equal("tnq", design.GetProperty("scheme").GetString());
        Assert.Equal(3, design.GetProperty("bits").GetInt32());
        Assert.Equal(7, design.GetProperty("s").GetInt32());
        Assert.Equal("laplace", design.GetProperty("model").GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, design.GetProperty("model").GetProperty("shape").ValueKind);
        Assert.Equal(0.159166, design.GetProperty("roundingVarianceBound").GetDouble(), 1e-6);
        Assert.Equal(0.105163, design.GetProperty("roundingVariance").GetDouble(), 1e-6);
        Assert.Equal(0.081568, design.GetProperty("truncationMse").GetDouble(), 1e-6);
        Assert.Equal(0.240734, design.GetProperty("error").GetDouble(), 1e-6);
        Assert.False(design.TryGetProperty("etq", out _));
    }

    [Fact]
    public void Tnq3BitsLomaxShape4_GivesTheSpecThreshold()
    {
        JsonElement design = Json("theory", "--scheme", "tnq", "--bits", "3", "--model", "lomax", "--shape", "4", "--scale", "1");
        Assert.Equal(4.618656, design.GetProperty("alpha").GetDouble(), 1e-6);
        Assert.Equal(4, design.GetProperty("model").GetProperty("shape").GetDouble());
    }

    [Fact]
    public void DimensionAndClients_AddEtq()
    {
        JsonElement design = Json("theory", "--dimension", "1000", "--clients", "8");
        double error = design.GetProperty("error").GetDouble();
        Assert.Equal(1000.0 / 8 * error, design.GetProperty("etq").GetDouble(), 1e-9);
        // P1's closed form, 27dγ²/(N(s + 3√6/2)²).
        Assert.Equal(27.0 * 1000 / (8 * Math.Pow(7 + (1.5 * Math.Sqrt(6)), 2)), design.GetProperty("etqHighResolution").GetDouble(), 1e-9);
    }

    [Theory]
    [InlineData("fp")]
    [InlineData("sign")]
    [InlineData("usign")]
    [InlineData("tuq")]
    [InlineData("tbq")]
    [InlineData("bernoulli:0.25")]
    [InlineData("randk:10")]
    public void EverySchemeAnswers(string scheme)
    {
        JsonElement design = Json("theory", "--scheme", scheme, "--model", "gaussian", "--scale", "0.5", "--dimension", "40");
        Assert.Equal(scheme.Split(':')[0], design.GetProperty("scheme").GetString());
        Assert.True(design.GetProperty("error").GetDouble() >= 0);
    }

    [Fact]
    public void NormScaledSchemes_ReportLevelsInUnitsOfTheNorm()
    {
        JsonElement design = Json("theory", "--scheme", "qsgd", "--bits", "3", "--dimension", "4096");
        Assert.Equal("norm", design.GetProperty("levelUnit").GetString());
        Assert.Equal(JsonValueKind.Null, design.GetProperty("alpha").ValueKind);
        Assert.Equal(7, design.GetProperty("levels").GetArrayLength());
    }

    [Fact]
    public void Sparsifiers_PredictOmegaTimesTheSecondMoment_WithoutLevels()
    {
        // Laplace(γ = 1): E[g²] = 2. Bernoulli q = 0.25: ω = 3; rand-k with k = 10 of d = 40: ω = 3.
        foreach (string scheme in new[] { "bernoulli:0.25", "randk:10" })
        {
            JsonElement design = Json("theory", "--scheme", scheme, "--dimension", "40");
            Assert.Equal(6, design.GetProperty("roundingVariance").GetDouble(), 1e-12);
            Assert.Equal(6, design.GetProperty("error").GetDouble(), 1e-12);
            Assert.Equal(0, design.GetProperty("truncationMse").GetDouble());
            Assert.Equal(0, design.GetProperty("levels").GetArrayLength());
            Assert.Equal(JsonValueKind.Null, design.GetProperty("alpha").ValueKind);
        }
        JsonElement unit = Json("theory", "--scheme", "usign");
        Assert.Equal([-1.0, 1.0], unit.GetProperty("levels").EnumerateArray().Select(l => l.GetDouble()));
    }

    [Fact]
    public void Sparsifiers_JsonAndTable_GiveTheSameBits_WorstCaseAndExpected()
    {
        // bernoulli:0.1 used to print "bits": 33 in JSON while the table said 1 + 32q = 4.2 on average.
        JsonElement bernoulli = Json("theory", "--scheme", "bernoulli:0.1");
        Assert.Equal(33, bernoulli.GetProperty("bits").GetInt32());
        Assert.Equal(4.2, bernoulli.GetProperty("expectedBits").GetDouble(), 1e-12);
        (int exitCode, string table, _) = Run("theory", "--scheme", "bernoulli:0.1");
        Assert.Equal(0, exitCode);
        Assert.Contains("1 + 32q = 4.2 bits per coordinate on average (at most 33)", table, StringComparison.Ordinal);

        // rand-k sends exactly k values: 1 + 32·10/40 = 9 bits per coordinate.
        JsonElement randK = Json("theory", "--scheme", "randk:10", "--dimension", "40");
        Assert.Equal(9, randK.GetProperty("expectedBits").GetDouble(), 1e-12);
        Assert.Equal(3, Json("theory", "--scheme", "tnq", "--bits", "3").GetProperty("expectedBits").GetDouble());
    }

    [Fact]
    public void Table_ShowsThresholdAndErrorSplit()
    {
        (int exitCode, string output, _) = Run("theory", "--scheme", "tbq", "--bits", "2");
        Assert.Equal(0, exitCode);
        Assert.Contains("α (threshold)", output, StringComparison.Ordinal);
        Assert.Contains("β (inner edge)", output, StringComparison.Ordinal);
        Assert.Contains("truncation MSE", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--bits", "9" }, "--bits = 9 is out of range for tnq: it must be an integer from 1 to 8")]
    [InlineData(new[] { "--bits", "0" }, "--bits = 0 is out of range")]
    [InlineData(new[] { "--scheme", "qsgd", "--bits", "1", "--dimension", "10" }, "--bits = 1 is out of range for qsgd: it must be an integer from 2 to 8")]
    [InlineData(new[] { "--scale", "-1" }, "--scale = -1 is out of range: it must be a finite number > 0")]
    [InlineData(new[] { "--model", "lomax", "--shape", "3" }, "--shape = 3 is out of range: it must be a finite number > 3")]
    [InlineData(new[] { "--model", "lomax" }, "--shape is required for the lomax model")]
    [InlineData(new[] { "--scheme", "qsgd" }, "pass the dimension")]
    [InlineData(new[] { "--scheme", "tnq", "--threshold", "relaxed" }, "relaxed threshold is TUQSGD's")]
    [InlineData(new[] { "--threshold", "-2" }, "--threshold = -2 is out of range")]
    [InlineData(new[] { "--dimension", "0", "--clients", "8" }, "--dimension = 0 is out of range")]
    [InlineData(new[] { "--scheme", "randk:50", "--dimension", "40" }, "k must be at most d")]
    [InlineData(new[] { "--scheme", "randk:5" }, "pass the dimension")]
    public void InvalidArguments_ExitNonZero_NamingTheArgumentAndItsRange(string[] args, string message)
    {
        (int exitCode, string output, string error) = Run(["theory", .. args]);
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output);
    }

    [Theory]
    [InlineData("--scheme", "zzz", "--scheme 'zzz' is not known: use one of fp, qsgd, nuqsgd, tuq, tnq, tbq, sign, usign, bernoulli:Q, randk:K")]
    [InlineData("--scheme", "bernoulli:2", "write bernoulli:Q with Q a number in (0, 1]")]
    [InlineData("--scheme", "randk", "write randk:K with K an integer from 1 to d")]
    [InlineData("--model", "cauchy", "--model 'cauchy' is not known: use one of laplace, lomax, pareto, gaussian")]
    [InlineData("--bits", "three", "three")]
    public void UnparsableArguments_ExitNonZero_ListingWhatIsAllowed(string option, string value, string message)
    {
        (int exitCode, _, string error) = Run("theory", option, value);
        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Executable_IsNamedVerified_AndAnswersFromAProcess()
    {
        string executable = Path.Combine(AppContext.BaseDirectory, "verified.dll");
        Assert.True(File.Exists(executable), $"{executable} is missing");
        var start = new ProcessStartInfo("dotnet", [executable, "theory", "--bits", "9"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using Process process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "verified did not exit within 60 s");
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, process.ExitCode);
        Assert.Contains("--bits = 9", error, StringComparison.Ordinal);
    }
}
