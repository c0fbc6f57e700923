using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Verified.Codec;
using Verified.Codec.Audit;
using Verified.Host.Audit;
using Verified.Host.Cli;
using Verified.Theory;

using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary>
/// <c>verified audit</c> on synthetic gradients whose truth is known: it picks the true model, keeps every figure of a
/// correct codec under a true model inside its bands, flags a wrong design as the model fit's fault; its report.md
/// shows nothing report.json lacks. And <c>verified run --capture-gradients</c> writes what the audit reads.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed partial class AuditTests : IDisposable
{
    private static readonly QuantizerSpec[] s_specs =
        [new TruncatedNonUniform(3), new TruncatedUniform(2), new TruncatedBiScaled(3), new Qsgd(3), new Nuqsgd(3), new Sign()];

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-audit-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void OnLaplaceGradients_ItPicksLaplace_AndEveryFigureIsWithinItsBands()
    {
        float[] gradient = Draw(new Laplace(0.003), 150_000, seed: 11);
        GradientAuditResult result = CodecAudit.Run(new GradientCodec(), gradient, s_specs, new AuditOptions { Draws = 12 });

        Assert.Equal("laplace", result.Fit.Chosen);
        Assert.Equal(0.003, result.Fit.DesignModel.Scale, 0.003 * 0.02);
        AssertAllWithin(result);
    }

    [Fact]
    public void OnLomaxGradients_ItPicksThePowerLaw_AndEveryFigureIsWithinItsBands()
    {
        float[] gradient = Draw(new Lomax(0.01, 5), 150_000, seed: 12);
        GradientAuditResult result = CodecAudit.Run(new GradientCodec(), gradient, s_specs, new AuditOptions { Draws = 12 });

        Assert.Equal("lomax", result.Fit.Chosen);
        Assert.InRange(result.Fit.DesignModel.TailShape!.Value, 4.5, 5.5);
        Assert.True(result.Fit.Models[1].Bic < result.Fit.Models[0].Bic);
        Assert.True(result.Fit.Models[1].KsDistance < result.Fit.KsCriticalValue, $"KS {result.Fit.Models[1].KsDistance}");
        AssertAllWithin(result);
    }

    [Fact]
    public void ADesignWithTheWrongScale_IsFlagged_AsTheModelFitsFault()
    {
        float[] gradient = Draw(new Laplace(0.003), 100_000, seed: 13);
        var wrong = new Laplace(0.006);
        GradientAuditResult result = CodecAudit.Run(
            new GradientCodec(), gradient, [new TruncatedNonUniform(3), new TruncatedUniform(3)], new AuditOptions { Draws = 8, DesignModel = wrong });

        foreach (SchemeAudit scheme in result.Schemes)
        {
            AuditFigure rounding = scheme.Figure(AuditFigure.RoundingVariance)!;
            AuditFigure rate = scheme.Figure(AuditFigure.TruncationRate)!;
            Assert.True(rounding.Flagged && rounding.Cause == "model fit", $"{scheme.Label}: {rounding}");
            Assert.True(rate.Flagged && rate.Cause == "model fit", $"{scheme.Label}: {rate}");
            // The codec itself is right: every measurement agrees with what its levels must give for this vector.
            Assert.All(scheme.Figures, f => Assert.True(f.CodecWithin, $"{scheme.Label} {f.Name}: {f}"));
        }
    }

    [Fact]
    public void TheCommand_WritesReportAndFigures_AndTheJsonHoldsEveryNumberTheMarkdownShows()
    {
        string file = Path.Combine(_directory.FullName, "g.f32");
        using (FileStream stream = File.Create(file))
        {
            GradientCapture.Write(stream, Draw(new Lomax(0.002, 4.5), 40_000, seed: 14));
        }
        string outDir = Path.Combine(_directory.FullName, "audit");
        var (exit, output, error) = Run("audit", "--gradients", file, "--schemes", "tnq,qsgd,sign", "--bits", "2,3", "--draws", "4", "--out", outDir, "--json");

        Assert.True(exit == 0, error);
        foreach (string png in new[] { "histogram.png", "qq.png", "errors.png", "tradeoff.png" })
        {
            FigureAssert.PngAndSvg(Path.Combine(outDir, png));
        }
        string markdown = File.ReadAllText(Path.Combine(outDir, "report.md"));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        Assert.Contains("\"audits\"", output, StringComparison.Ordinal);
        // stdout is exactly one JSON document: the status lines went to stderr.
        using (JsonDocument printed = JsonDocument.Parse(output))
        {
            Assert.Equal(JsonValueKind.Object, printed.RootElement.ValueKind);
        }
        Assert.Contains("wrote ", error, StringComparison.Ordinal);

        var numbers = new HashSet<string>(StringComparer.Ordinal);
        Collect(json.RootElement, numbers);
        string[] cells = [.. markdown.Split('\n').Where(l => l.StartsWith('|') && !l.StartsWith("|---", StringComparison.Ordinal)).SelectMany(l => l.Split('|')).Select(c => c.Trim())];
        string[] numeric = [.. cells.Where(c => NumberPattern().IsMatch(c))];
        Assert.True(numeric.Length > 60, $"only {numeric.Length} numeric cells");
        Assert.All(numeric, c => Assert.True(numbers.Contains(c), $"report.md shows {c}, which report.json does not hold"));
        JsonElement schemes = json.RootElement.GetProperty("audits")[0].GetProperty("schemes");
        Assert.Equal(5, schemes.GetArrayLength());
        Assert.Contains("| tnq-3 | rounding variance |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCommand_RefusesBadArguments_WithExitTwo()
    {
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, Run("audit").Exit);
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, Run("audit", "--gradients", "x.f32", "--schemes", "fp").Exit);
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, Run("audit", "--gradients", Path.Combine(_directory.FullName, "none.f32")).Exit);
        string odd = Path.Combine(_directory.FullName, "odd.f32");
        File.WriteAllBytes(odd, new byte[4 * 100 + 2]);
        var (exit, _, error) = Run("audit", "--gradients", odd, "--out", Path.Combine(_directory.FullName, "o"));
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains("multiple of 4", error, StringComparison.Ordinal);
    }

    [MnistFact]
    public void Capture_WritesFloat32FilesOfTheRightSize_AndTheRunAuditReadsThem()
    {
        string outDir = Path.Combine(_directory.FullName, "run");
        var (exit, output, error) = Run(
            "run", "--model", "mlp", "--clients", "2", "--rounds", "5", "--evaluate-every", "5", "--no-baseline", "--capture-gradients", "2",
            "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet");
        Assert.True(exit == 0, error);

        string captures = Path.Combine(outDir, "gradients", "tnq-3-tensor-ef-seed1");
        using JsonDocument index = JsonDocument.Parse(File.ReadAllText(Path.Combine(captures, "index.json")));
        int d = index.RootElement.GetProperty("dimension").GetInt32();
        Assert.True(index.RootElement.GetProperty("complete").GetBoolean());
        var files = index.RootElement.GetProperty("files").EnumerateArray().ToArray();
        Assert.Equal([(0, 0), (0, 1), (2, 0), (2, 1), (4, 0), (4, 1)], files.Select(f => (f.GetProperty("round").GetInt32(), f.GetProperty("client").GetInt32())));
        Assert.All(files, f => Assert.Equal(4L * d, new FileInfo(Path.Combine(captures, f.GetProperty("file").GetString()!)).Length));
        Assert.Contains("captured 6 gradient(s)", output, StringComparison.Ordinal);
        float[] first = GradientCapture.Read(Path.Combine(captures, "round-0-client-0.f32"));
        Assert.Contains(first, g => g != 0);

        string auditDir = Path.Combine(outDir, "audit");
        var audit = Run("audit", "--run", outDir, "--schemes", "tnq,tuq", "--bits", "3", "--draws", "3", "--out", auditDir);
        Assert.True(audit.Exit == 0, audit.Error);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(Path.Combine(auditDir, "report.json")));
        Assert.Equal([0, 2, 4], report.RootElement.GetProperty("audits").EnumerateArray().Select(a => a.GetProperty("round").GetInt32()));
        foreach (string png in new[] { "drift-tail.png", "drift-alpha.png", "drift-ratio.png" })
        {
            FigureAssert.PngAndSvg(Path.Combine(auditDir, png));
        }
        Assert.Contains("## Drift over rounds", File.ReadAllText(Path.Combine(auditDir, "report.md")), StringComparison.Ordinal);

        // The index records the MLP's tensors, so the audit goes per tensor by default, and averages the round's 2 clients.
        Assert.Equal([100352, 128, 1280, 10], index.RootElement.GetProperty("tensorSizes").EnumerateArray().Select(e => e.GetInt32()));
        JsonElement segments = report.RootElement.GetProperty("segments");
        Assert.Equal("tensor", segments.GetProperty("segmentation").GetString());
        Assert.Equal(4, segments.GetProperty("segments").GetArrayLength());
        Assert.Equal(2, segments.GetProperty("clients").GetInt32());
        foreach (JsonElement average in segments.GetProperty("averages").EnumerateArray())
        {
            // Both truncating schemes here: a bias and a variance, each a small fraction of ‖ḡ‖² at 3 bits.
            Assert.InRange(average.GetProperty("relativeBiasSquared").GetDouble(), 1e-6, 0.5);
            Assert.InRange(average.GetProperty("relativeVariance").GetDouble(), 1e-6, 1);
        }
        Assert.Contains("## The round's average (2 clients)", File.ReadAllText(Path.Combine(auditDir, "report.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void PerSegment_FitsEachSegment_AndReportsTheEnergyTruncationRemoves()
    {
        // Halves of scales 100× apart: each bucket's fit finds its own half's scale, and truncation removes a small share
        // of each half's energy (a whole-vector fit would take most of the large half's).
        string file = Path.Combine(_directory.FullName, "halves.f32");
        using (FileStream stream = File.Create(file))
        {
            GradientCapture.Write(stream, [.. Draw(new Laplace(1e-2), 8192, seed: 3), .. Draw(new Laplace(1e-4), 8192, seed: 4)]);
        }
        string auditDir = Path.Combine(_directory.FullName, "halves-audit");
        var (exit, _, error) = Run("audit", "--gradients", file, "--schemes", "tnq", "--bits", "3", "--draws", "3", "--segments", "bucket:8192", "--fit", "laplace", "--out", auditDir);
        Assert.True(exit == 0, error);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(Path.Combine(auditDir, "report.json")));
        JsonElement[] segments = [.. report.RootElement.GetProperty("segments").GetProperty("segments").EnumerateArray()];
        Assert.Equal(2, segments.Length);
        Assert.InRange(segments[0].GetProperty("scale").GetDouble(), 0.9e-2, 1.1e-2);
        Assert.InRange(segments[1].GetProperty("scale").GetDouble(), 0.9e-4, 1.1e-4);
        foreach (JsonElement segment in segments)
        {
            JsonElement tnq = segment.GetProperty("schemes")[0];
            // Laplace at TNQSGD-3's α*: P(|g| > α) = e^{−α/γ}; the measured rate is a binomial draw around it.
            double designed = tnq.GetProperty("designedTruncationRate").GetDouble();
            Assert.InRange(tnq.GetProperty("measuredTruncationRate").GetDouble(), designed - (5 * Math.Sqrt(designed / 8192)), designed + (5 * Math.Sqrt(designed / 8192)));
            Assert.InRange(tnq.GetProperty("energyRemovedShare").GetDouble(), 1e-4, 0.1);
        }
        Assert.Equal(0, report.RootElement.GetProperty("segments").GetProperty("clients").GetInt32());

        // tensor needs a run's index; a misspelt form is named.
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, Run("audit", "--gradients", file, "--segments", "tensor", "--out", auditDir).Exit);
        var bad = Run("audit", "--gradients", file, "--segments", "buckets:5", "--out", auditDir);
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, bad.Exit);
        Assert.Contains("buckets:5", bad.Error, StringComparison.Ordinal);
    }

    [MnistFact]
    public void Capture_StopsAtItsLimit_AndSaysSo()
    {
        string outDir = Path.Combine(_directory.FullName, "limited");
        var (exit, _, error) = Run(
            "run", "--model", "mlp", "--clients", "4", "--rounds", "3", "--evaluate-every", "3", "--no-baseline", "--capture-gradients", "1",
            "--capture-limit-mb", "1", "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet");
        Assert.True(exit == 0, error);

        string captures = Path.Combine(outDir, "gradients", "tnq-3-tensor-ef-seed1");
        using JsonDocument index = JsonDocument.Parse(File.ReadAllText(Path.Combine(captures, "index.json")));
        long perFile = 4L * index.RootElement.GetProperty("dimension").GetInt32();
        int count = index.RootElement.GetProperty("files").GetArrayLength();
        Assert.Equal(1_000_000 / perFile, count);
        Assert.Equal(count, Directory.GetFiles(captures, "*.f32").Length);
        Assert.False(index.RootElement.GetProperty("complete").GetBoolean());
        Assert.Contains("gradient capture stopped", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CaptureOptions_OutOfRange_ExitWithTwo()
    {
        var (exit, _, error) = Run("run", "--capture-gradients", "-1", "--capture-limit-mb", "0");
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains("capture-gradients = -1", error, StringComparison.Ordinal);
        Assert.Contains("capture-limit-mb = 0", error, StringComparison.Ordinal);
    }

    private static void AssertAllWithin(GradientAuditResult result)
    {
        foreach (SchemeAudit scheme in result.Schemes)
        {
            foreach (AuditFigure f in scheme.Figures)
            {
                Assert.False(f.Flagged, $"{scheme.Label} {f.Name}: measured {f.Measured:G6}, given {f.GivenGradient:G6}, predicted {f.Predicted:G6}, codec ±{AuditReport.CodecBand(f):G3}, model ±{AuditReport.ModelBand(f):G3}");
            }
            Assert.True(scheme.WithinErrorBound, scheme.Label);
        }
    }

    private static void Collect(JsonElement element, HashSet<string> numbers)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in element.EnumerateObject())
                {
                    Collect(p.Value, numbers);
                }
                break;
            case JsonValueKind.Array:
                foreach (JsonElement e in element.EnumerateArray())
                {
                    Collect(e, numbers);
                }
                break;
            case JsonValueKind.Number:
                double value = element.GetDouble();
                numbers.Add(AuditReport.Number(value));
                if (value == Math.Floor(value) && Math.Abs(value) < 1e15)
                {
                    numbers.Add(((long)value).ToString(CultureInfo.InvariantCulture));
                }
                break;
        }
    }

    [GeneratedRegex(@"^-?\d[\d.]*(E[+-]\d+)?$")]
    private static partial Regex NumberPattern();

    private static float[] Draw(GradientModel model, int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int j = 0; j < length; j++)
        {
            values[j] = (float)model.Quantile(1 - (random.NextDouble() * (1 - 1e-12)) - 1e-13);
        }
        return values;
    }
}
