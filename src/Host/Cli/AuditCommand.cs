using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using Verified.Codec;
using Verified.Codec.Audit;
using Verified.Host.Audit;
using Verified.Theory;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified audit</c>: the codec against the theory on real gradients, from a .f32 file or a run captured with
/// <c>verified run --capture-gradients</c>. Writes report.md, report.json and PNG figures.
/// </summary>
internal static class AuditCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var defaults = new AuditOptions();
        var gradients = new Option<FileInfo?>("--gradients") { Description = "A gradient file: d little-endian float32 values (what --capture-gradients writes)." };
        var run = new Option<DirectoryInfo?>("--run") { Description = "A run directory with captured gradients (OUT/gradients/*/index.json): one audit per captured round, and the drift over rounds." };
        var schemes = new Option<string>("--schemes")
        {
            Description = $"Comma-separated schemes among {string.Join(", ", Auditable.Select(s => s.Name))}.",
            // The papers' schemes first, then their baselines; the unit sign only on request (it is DSignSGD's, not a
            // quantizer of the gradient's values).
            DefaultValueFactory = _ => string.Join(",", Auditable.OrderBy(s => !s.Truncates).Where(s => s != Schemes.UnitSign).Select(s => s.Name)),
        };
        var bits = new Option<string>("--bits") { Description = "Comma-separated bit widths (sign ignores them).", DefaultValueFactory = _ => "2,3,4" };
        var draws = new Option<int>("--draws") { Description = "R, encodings per scheme with different keys (2..10000).", DefaultValueFactory = _ => defaults.Draws };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the rounding keys and of the bootstrap.", DefaultValueFactory = _ => defaults.Seed };
        var client = new Option<int>("--client") { Description = "With --run: which client's gradient to audit per round.", DefaultValueFactory = _ => 0 };
        var outDirectory = new Option<DirectoryInfo?>("--out") { Description = "Output directory (default: <run>/audit, or audit-<file name> beside the file)." };
        var json = new Option<bool>("--json") { Description = "Also print report.json to standard output." };
        var segments = new Option<string?>("--segments")
        {
            Description = "Also audit per segment: tensor (a run's parameter tensors, from its capture index), bucket:N or sizes:N1,N2,…; each segment's fitted model, α, designed and measured truncation rate and energy removed, and with --run the bias²/variance split of the round's average. Default: tensor for a run whose index records its tensors, else none.",
        };
        var fit = new Option<string>("--fit") { Description = "The per-segment fit of --segments: laplace, lomax or auto (as verified run --fit).", DefaultValueFactory = _ => "auto" };
        var command = new Command("audit", "Audit the codec against the theory on real gradients: model fits, measured vs predicted error, bits; report.md, report.json and figures.")
        {
            gradients, run, schemes, bits, draws, seed, client, outDirectory, json, segments, fit,
        };
        command.SetAction(parse =>
        {
            var request = new AuditRequest(
                parse.GetValue(gradients)?.FullName,
                parse.GetValue(run)?.FullName,
                parse.GetValue(schemes)!,
                parse.GetValue(bits)!,
                defaults with { Draws = parse.GetValue(draws), Seed = parse.GetValue(seed) },
                parse.GetValue(client),
                parse.GetValue(outDirectory)?.FullName,
                parse.GetValue(json))
            {
                Segments = parse.GetValue(segments),
                Fit = parse.GetValue(fit)!,
            };
            return Execute(request, output, error);
        });
        return command;
    }

    /// <summary>What <c>verified audit</c> was asked.</summary>
    internal sealed record AuditRequest(
        string? GradientFile, string? RunDirectory, string Schemes, string Bits, AuditOptions Options, int Client, string? OutputDirectory, bool PrintJson)
    {
        /// <summary><c>--segments</c>: null for the default (tensor when the capture records its tensors).</summary>
        public string? Segments { get; init; }

        /// <summary><c>--fit</c> of the per-segment audit.</summary>
        public string Fit { get; init; } = "auto";
    }

    internal static int Execute(AuditRequest request, TextWriter output, TextWriter error)
    {
        DateTimeOffset startedAt = DateTimeOffset.UtcNow;
        if ((request.GradientFile is null) == (request.RunDirectory is null))
        {
            error.WriteLine("verified audit: give exactly one of --gradients FILE.f32 and --run DIR.");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        if (!TryParseSpecs(request.Schemes, request.Bits, out ImmutableArray<QuantizerSpec> specs, out string? problem))
        {
            error.WriteLine($"verified audit: {problem}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        if (request.Segments is { } form && !(form is "whole" or "tensor" || form.StartsWith("bucket:", StringComparison.Ordinal) || form.StartsWith("sizes:", StringComparison.Ordinal)))
        {
            error.WriteLine($"verified audit: --segments '{form}' is not known: use tensor, bucket:N or sizes:N1,N2,….");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        if (request.Segments == "tensor" && request.GradientFile is not null)
        {
            error.WriteLine("verified audit: --segments tensor needs the model's tensor sizes, which only a run's capture index records: with --gradients use bucket:N or sizes:N1,N2,….");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        if (request.Fit is not ("laplace" or "lomax" or "auto"))
        {
            error.WriteLine($"verified audit: --fit '{request.Fit}' is not a fit: use laplace, lomax or auto.");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        try
        {
            request.Options.ThrowIfInvalid();
        }
        catch (ArgumentOutOfRangeException exception)
        {
            // AuditOptions names its property (Draws); the user typed the option (--draws).
            string message = VerifiedCli.PlainMessage(exception);
            error.WriteLine(exception.ParamName is { } name && message.StartsWith(name, StringComparison.Ordinal)
                ? $"verified audit: --{name.ToLowerInvariant()}{message[name.Length..]}"
                : $"verified audit: {message}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }

        ImmutableArray<AuditInput> inputs;
        string directory;
        try
        {
            if (request.GradientFile is { } file)
            {
                if (!File.Exists(file))
                {
                    throw new FileNotFoundException($"--gradients '{file}' does not exist.");
                }
                inputs = [AuditInputs.FromFile(file)];
                directory = request.OutputDirectory ?? Path.Combine(Path.GetDirectoryName(file)!, "audit-" + Path.GetFileNameWithoutExtension(file));
            }
            else
            {
                inputs = AuditInputs.FromRun(request.RunDirectory!, request.Client);
                directory = request.OutputDirectory ?? Path.Combine(request.RunDirectory!, "audit");
            }
            Directory.CreateDirectory(directory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            error.WriteLine($"verified audit: {exception.Message}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }

        var codec = new GradientCodec();
        var audits = new List<(AuditInput Input, GradientAuditResult Result)>();
        foreach (AuditInput input in inputs)
        {
            try
            {
                float[] gradient = GradientCapture.Read(input.Path);
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"verified audit: {AuditInputs.Describe(input)}: d = {gradient.Length}, {specs.Length} scheme(s) × {request.Options.Draws} draws"));
                audits.Add((input, CodecAudit.Run(codec, gradient, specs, request.Options)));
            }
            catch (Exception exception) when (exception is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
            {
                error.WriteLine($"verified audit: {AuditInputs.Describe(input)}: {exception.Message}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
        }

        SegmentsSection? segmentsSection;
        try
        {
            segmentsSection = SegmentsFor(request, audits[^1].Input, codec, specs, error);
        }
        catch (Exception exception) when (exception is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"verified audit: {(exception is ArgumentException argument ? VerifiedCli.PlainMessage(argument) : exception.Message)}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        Provenance provenance;
        try
        {
            provenance = Provenance.Capture(CommandLine(request), startedAt, inputs.Select(i => i.Path));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"verified audit: {exception.Message}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        var report = new AuditReport(directory, audits, CommandLine(request), provenance, segmentsSection);
        IReadOnlyList<string> written = report.Write(error);
        // With --json, stdout carries exactly one JSON document (the report) and the status lines go to stderr, so the
        // output can be piped into a JSON reader.
        TextWriter status = request.PrintJson ? error : output;
        status.WriteLine(report.Headline());
        foreach (string path in written)
        {
            status.WriteLine($"wrote {path}");
        }
        if (request.PrintJson)
        {
            output.WriteLine(File.ReadAllText(report.JsonPath));
        }
        return 0;
    }

    /// <summary>
    /// The schemes an audit takes: it compares a design's predicted rounding variance and truncation with the measured
    /// ones, so the schemes that round to levels — not fp (nothing to predict) and not the sparsifiers (no levels).
    /// </summary>
    internal static ImmutableArray<SchemeDefinition> Auditable { get; } = [.. Schemes.All.Where(s => s != Schemes.FullPrecision && !s.Sparsifies)];

    /// <summary>The specs for every scheme × bit width (sign once).</summary>
    internal static bool TryParseSpecs(string schemes, string bits, out ImmutableArray<QuantizerSpec> specs, out string? problem)
    {
        specs = [];
        problem = null;
        string[] names = [.. schemes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        var widths = new List<int>();
        foreach (string text in bits.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b is < 1 or > QuantizerSpec.MaxBits)
            {
                problem = $"--bits '{text}' is not an integer from 1 to {QuantizerSpec.MaxBits}.";
                return false;
            }
            widths.Add(b);
        }
        if (names.Length == 0 || widths.Count == 0)
        {
            problem = "--schemes and --bits must each name at least one value.";
            return false;
        }
        var builder = ImmutableArray.CreateBuilder<QuantizerSpec>();
        foreach (string name in names)
        {
            if (Schemes.Find(name) is not { } definition || !Auditable.Contains(definition))
            {
                // A misspelt auditable name gets the closest one: one edit for up to four letters, two beyond.
                string? closest = Auditable.Select(s => s.Name)
                    .Where(n => Schemes.EditDistance(name.ToLowerInvariant(), n) <= (name.Length <= 4 ? 1 : 2))
                    .MinBy(n => Schemes.EditDistance(name.ToLowerInvariant(), n));
                problem = $"--schemes '{name}' cannot be audited: use {string.Join(", ", Auditable.Select(s => s.Name))}." + (closest is null ? "" : $" Did you mean {closest}?");
                return false;
            }
            foreach (int b in definition.TakesBits ? widths.Distinct() : [1])
            {
                if (!Schemes.TryParse(name, b, null, out QuantizerSpec? spec, out SchemeProblem? bitsProblem))
                {
                    problem = bitsProblem.Message.StartsWith("bits", StringComparison.Ordinal) ? "--" + bitsProblem.Message : bitsProblem.Message;
                    return false;
                }
                builder.Add(spec);
            }
        }
        specs = builder.ToImmutable();
        return true;
    }

    /// <summary>The per-segment section for the detailed input, or null when none is asked (or possible by default).</summary>
    private static SegmentsSection? SegmentsFor(AuditRequest request, AuditInput input, GradientCodec codec, ImmutableArray<QuantizerSpec> specs, TextWriter error)
    {
        string? segmentation = request.Segments ?? (input.TensorSizes.IsEmpty ? null : "tensor");
        if (segmentation is null or "whole")
        {
            return null;
        }
        float[] gradient = GradientCapture.Read(input.Path);
        SegmentLayout layout;
        if (segmentation == "tensor")
        {
            if (input.TensorSizes.IsEmpty)
            {
                throw new ArgumentException("--segments tensor needs the model's tensor sizes, which only a run's capture index records (verified run --capture-gradients K): for a lone file use bucket:N or sizes:N1,N2,….");
            }
            layout = SegmentLayout.Sizes(input.TensorSizes.AsSpan());
            if (layout.Dimension != gradient.Length)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"The capture index's tensor sizes add up to {layout.Dimension}, but {input.Path} holds {gradient.Length} values."));
            }
        }
        else
        {
            layout = CodecCommand.ParseLayout(segmentation, gradient.Length) ?? SegmentLayout.Whole(gradient.Length);
        }
        Func<ReadOnlySpan<float>, GradientModel?> fitter = CodecCommand.Fitter(request.Fit);
        // The round's average: every client's capture of the same round, rounded with the run's own keys.
        List<float[]> uploads = input.RoundPaths.Length > 1 ? [.. input.RoundPaths.Select(GradientCapture.Read)] : [];
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"verified audit: per segment: {layout.Count} segments ({segmentation}), fit {request.Fit}{(uploads.Count > 0 ? $", the average of {uploads.Count} clients" : "")}"));
        return SegmentsSection.Compute(
            codec, gradient, layout, segmentation, request.Fit, segment => fitter(segment), specs, uploads,
            unchecked((ulong)(input.Seed ?? 0)), input.Round ?? 0);
    }

    private static string CommandLine(AuditRequest request)
    {
        string source = request.GradientFile is { } file ? $"--gradients {file}" : $"--run {request.RunDirectory}";
        return string.Create(CultureInfo.InvariantCulture,
            $"verified audit {source} --schemes {request.Schemes} --bits {request.Bits} --draws {request.Options.Draws} --seed {request.Options.Seed}");
    }
}
