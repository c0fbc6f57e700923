using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using Verified.Codec;
using Verified.Theory;

namespace Verified.Host.Cli;

/// <summary><c>verified codec encode|decode|inspect</c>: the codec on raw little-endian float32 files.</summary>
internal static class CodecCommand
{
    /// <summary>The fits <c>--fit</c> (alias <c>--model</c>) accepts; <see cref="Fitter"/> maps each to a function.</summary>
    public static readonly string[] Models = ["laplace", "lomax", "auto"];

    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("codec", "Encode a float32 gradient file into a payload, decode it back, or inspect a payload's header.");
        command.Subcommands.Add(CreateEncode(output, error));
        command.Subcommands.Add(CreateDecode(output, error));
        command.Subcommands.Add(CreateInspect(output, error));
        return command;
    }

    private static Command CreateEncode(TextWriter output, TextWriter error)
    {
        var scheme = new Option<string>("--scheme")
        {
            Description = TheoryCommand.SchemeDescription,
            DefaultValueFactory = _ => "tnq",
        };
        TheoryCommand.RestrictToSchemes(scheme);
        var bits = new Option<int>("--bits")
        {
            Description = Schemes.BitsHelpText,
            DefaultValueFactory = _ => 3,
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the stochastic rounding.", DefaultValueFactory = _ => 0UL };
        var round = new Option<int>("--round") { Description = "Round t of the rounding key (seed, round, client).", DefaultValueFactory = _ => 0 };
        var client = new Option<int>("--client") { Description = "Client i of the rounding key.", DefaultValueFactory = _ => 0 };
        var model = new Option<string>("--fit", "--model")
        {
            Description = "Gradient model fitted to the input, per segment: laplace (γ̂ = mean |g|) or lomax (maximum likelihood).",
            DefaultValueFactory = _ => "laplace",
        };
        RestrictTo(model, Models);
        var segments = new Option<string>("--segments")
        {
            Description = "whole (default: one version-1/2 payload, as before), bucket:N (segments of N coordinates) or sizes:N1,N2,… (consecutive segments of these lengths): a version-3 payload with a model fitted and a design per segment.",
            DefaultValueFactory = _ => "whole",
        };
        var threshold = new Option<string>("--threshold")
        {
            Description = "Truncated schemes: optimal (default), relaxed (tuq only), or a fixed α > 0.",
            DefaultValueFactory = _ => "optimal",
        };
        var input = new Option<FileInfo>("--in") { Description = "Input: raw little-endian float32 values.", Required = true };
        var outputFile = new Option<FileInfo>("--out") { Description = "Output payload file.", Required = true };
        var command = new Command("encode", "Fit the model to the input, design the quantizer and write the encoded payload.")
        {
            scheme, bits, seed, round, client, model, segments, threshold, input, outputFile,
        };
        command.SetAction(parse =>
        {
            try
            {
                float[] gradient = ReadFloats(parse.GetValue(input)!);
                string schemeName = parse.GetValue(scheme)!;
                var request = new TheoryRequest(schemeName, parse.GetValue(bits), "laplace", 1, null, parse.GetValue(threshold)!, Math.Max(gradient.Length, 1), null);
                QuantizerSpec spec = request.BuildSpec();
                var codec = new GradientCodec();
                Func<ReadOnlySpan<float>, GradientModel?> fit = Fitter(parse.GetValue(model)!);
                CheckFinite(gradient);
                var key = new RoundingKey(parse.GetValue(seed), parse.GetValue(round), parse.GetValue(client));
                if (ParseLayout(parse.GetValue(segments)!, gradient.Length) is { } layout)
                {
                    EncodeSegmented(output, codec, spec, gradient, layout, fit, key, parse.GetValue(outputFile)!);
                    return 0;
                }
                byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(spec, gradient.Length)];
                string modelText;
                int written;
                GradientModel? fitted = fit(gradient);
                if (fitted is null)
                {
                    written = GradientCodec.EncodeZero(spec, gradient.Length, payload);
                    modelText = "none (the input is all zero: a zero-scale payload)";
                }
                else
                {
                    // QSGD/NUQSGD and rand-k: the dimension enters Theory's predicted errors (not the levels), so it is the real d.
                    QuantizerDesign design = codec.Designs.GetOrDesign(spec, fitted, spec.DesignNeedsDimension ? Math.Max(gradient.Length, 1) : null);
                    written = codec.Encode(gradient, design, key, payload);
                    modelText = Describe(fitted);
                }
                // Bernoulli payloads are shorter than the worst case GetMaxEncodedLength allows for.
                payload = payload[..written];
                File.WriteAllBytes(parse.GetValue(outputFile)!.FullName, payload);
                PayloadHeader header = GradientCodec.ReadHeader(payload);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{parse.GetValue(outputFile)!.Name}: {header.SchemeName} {(header.IsSparse ? $"keeping {header.ValueCount}" : $"b = {header.Bits}")}, d = {header.Dimension}, {payload.Length} bytes = {PayloadHeader.Size} header + {header.PayloadLength} {(header.IsSparse ? "bitmap and values" : "indices")} ({TableNumber.Format(8.0 * payload.Length / Math.Max(1, header.Dimension), 4)} bits per coordinate with the header); model {modelText}"));
                return 0;
            }
            catch (Exception exception) when (exception is ArgumentException or IOException or UnauthorizedAccessException or CodecFormatException)
            {
                error.WriteLine($"verified codec encode: {Message(exception, parse.GetValue(input)!)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
        });
        return command;
    }

    private static Command CreateDecode(TextWriter output, TextWriter error)
    {
        var input = new Option<FileInfo>("--in") { Description = "Input payload file.", Required = true };
        var outputFile = new Option<FileInfo>("--out") { Description = "Output: raw little-endian float32 values.", Required = true };
        var command = new Command("decode", "Decode a payload into raw little-endian float32 values.") { input, outputFile };
        command.SetAction(parse =>
        {
            try
            {
                byte[] payload = ReadInput(parse.GetValue(input)!);
                float[] values = new GradientCodec().Decode(payload);
                using (FileStream stream = File.Create(parse.GetValue(outputFile)!.FullName))
                {
                    stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
                }
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{parse.GetValue(outputFile)!.Name}: {values.Length} float32 values ({4L * values.Length} bytes)"));
                return 0;
            }
            catch (Exception exception) when (exception is ArgumentException or IOException or UnauthorizedAccessException or CodecFormatException)
            {
                error.WriteLine($"verified codec decode: {Message(exception, parse.GetValue(input)!)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
        });
        return command;
    }

    private static Command CreateInspect(TextWriter output, TextWriter error)
    {
        var input = new Option<FileInfo>("--in") { Description = "Input payload file.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var command = new Command("inspect", "Validate a payload and print its header, levels, size and bits per coordinate.") { input, json };
        command.SetAction(parse =>
        {
            try
            {
                byte[] payload = ReadInput(parse.GetValue(input)!);
                if (GradientCodec.ReadVersion(payload) == SegmentedHeader.FormatVersion)
                {
                    SegmentedHeader container = GradientCodec.ReadSegmentedHeader(payload);
                    ImmutableArray<PayloadSegment> parts = GradientCodec.ReadSegments(payload);
                    if (parse.GetValue(json))
                    {
                        WriteSegmentedJson(output, container, parts);
                    }
                    else
                    {
                        WriteSegmentedTable(output, container, parts);
                    }
                    return 0;
                }
                PayloadHeader header = GradientCodec.ReadHeader(payload);
                IReadOnlyList<float> levels = new GradientCodec().DecodedLevels(header);
                if (parse.GetValue(json))
                {
                    WriteJson(output, header, levels);
                }
                else
                {
                    WriteTable(output, header, levels);
                }
                return 0;
            }
            catch (Exception exception) when (exception is ArgumentException or IOException or UnauthorizedAccessException or CodecFormatException)
            {
                error.WriteLine($"verified codec inspect: {Message(exception, parse.GetValue(input)!)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
        });
        return command;
    }

    /// <summary>Reads a raw little-endian float32 file.</summary>
    /// <exception cref="ArgumentException">The file is missing, unreadable or not whole float32 values; the message names --in.</exception>
    public static float[] ReadFloats(FileInfo file)
    {
        byte[] bytes = ReadInput(file);
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new ArgumentException($"--in '{file.Name}' has {bytes.Length} bytes, not a multiple of 4: it is not a raw float32 file.", nameof(file));
        }
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    /// <summary>The bytes of the <c>--in</c> file.</summary>
    /// <exception cref="ArgumentException">The file is missing or unreadable: an invalid --in, named as such.</exception>
    private static byte[] ReadInput(FileInfo file)
    {
        try
        {
            return File.ReadAllBytes(file.FullName);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArgumentException($"--in '{file.FullName}' does not exist.", nameof(file), exception);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--in '{file.FullName}' cannot be read: {exception.Message}", nameof(file), exception);
        }
    }

    /// <summary>
    /// The one place where a <c>--fit</c> name becomes the function that fits a model to one segment (or the whole
    /// vector). It returns <c>null</c> for an empty or all-zero span (no scale to fit). A new choice, such as an
    /// <c>auto</c> that picks Laplace or Lomax per segment, is one more case here and one more name in <see cref="Models"/>.
    /// </summary>
    internal static Func<ReadOnlySpan<float>, GradientModel?> Fitter(string fit) => fit switch
    {
        "lomax" => FitLomax,
        "auto" => static values => IsAllZero(values) ? null : LomaxFit.ChooseModel(values, PayloadHeader.MaximumShape),
        _ => static values => IsAllZero(values) ? null : ModelFit.Laplace(values),
    };

    private static Lomax? FitLomax(ReadOnlySpan<float> values)
    {
        if (IsAllZero(values))
        {
            return null;
        }
        LomaxEstimate estimate = LomaxFit.Fast(values);
        if (estimate.Shape > PayloadHeader.MaximumShape)
        {
            throw new ArgumentException(string.Create(
                CultureInfo.InvariantCulture,
                $"The fitted power law has ρ̂ = {estimate.Shape:G6} > {PayloadHeader.MaximumShape}: the tail is Laplace-like (Lomax tends to Laplace as ρ → ∞); use --fit laplace."),
                nameof(values));
        }
        return LomaxFit.TryFast(values, out Lomax? lomax, out _, out string? problem)
            ? lomax
            : throw new ArgumentException(problem, nameof(values));
    }

    private static bool IsAllZero(ReadOnlySpan<float> values) => !values.ContainsAnyExcept(0f, -0f);

    private static void CheckFinite(float[] gradient)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            if (!float.IsFinite(gradient[j]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Coordinate {j} of the input is {gradient[j]}: training has diverged or the file is corrupt."), nameof(gradient));
            }
        }
    }

    /// <summary><c>--segments</c>: <c>null</c> for whole (today's single payload), else the layout.</summary>
    internal static SegmentLayout? ParseLayout(string text, int dimension)
    {
        string[] parts = text.Split(':', 2);
        switch (parts[0])
        {
            case "whole" when parts.Length == 1:
                return null;
            case "bucket" when parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int bucket) && bucket >= 1:
                return SegmentLayout.Buckets(dimension, bucket);
            case "sizes" when parts.Length == 2:
                {
                    var lengths = new List<int>();
                    foreach (string size in parts[1].Split(','))
                    {
                        if (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length < 1)
                        {
                            throw new ArgumentException($"--segments '{text}': '{size}' is not a segment length (an integer ≥ 1).", nameof(text));
                        }
                        lengths.Add(length);
                    }
                    SegmentLayout layout = SegmentLayout.Sizes([.. lengths]);
                    if (layout.Dimension != dimension)
                    {
                        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--segments '{text}' covers {layout.Dimension} coordinates, but the input has {dimension}."), nameof(text));
                    }
                    return layout;
                }
            default:
                throw new ArgumentException($"--segments '{text}' is not known: use whole, bucket:N or sizes:N1,N2,….", nameof(text));
        }
    }

    /// <summary>Fits and designs every segment, then writes one version-3 payload.</summary>
    private static void EncodeSegmented(
        TextWriter output, GradientCodec codec, QuantizerSpec spec, float[] gradient, SegmentLayout layout,
        Func<ReadOnlySpan<float>, GradientModel?> fit, RoundingKey key, FileInfo outputFile)
    {
        var designs = new QuantizerDesign[layout.Count];
        for (int i = 0; i < layout.Count; i++)
        {
            SegmentRange range = layout[i];
            // An all-zero segment has no scale to fit: the encoder writes it with scale 0 and zero indices (it decodes
            // to zeros) whatever the design, so the unit Laplace design stands in.
            GradientModel model = fit(gradient.AsSpan(range.Start, range.Length)) ?? new Laplace(1);
            designs[i] = codec.Designs.GetOrDesign(spec, model, spec.DesignNeedsDimension ? range.Length : null);
        }
        byte[] payload = codec.EncodeSegments(gradient, designs, layout, key);
        File.WriteAllBytes(outputFile.FullName, payload);
        int indices = payload.Length - SegmentedHeader.Size - (layout.Count * SegmentedHeader.OverheadPerSegment);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{outputFile.Name}: version 3, {layout.Count} segments, {spec.Name} b = {GradientCodec.WireBits(spec)}, d = {layout.Dimension}, {payload.Length} bytes = {SegmentedHeader.Size} container + {layout.Count} × {SegmentedHeader.OverheadPerSegment} segment table and headers + {indices} indices ({TableNumber.Format(8.0 * payload.Length / Math.Max(1, layout.Dimension), 4)} bits per coordinate with the headers); a model fitted per segment"));
    }

    private static string Describe(GradientModel model) => model.TailShape is { } shape
        ? string.Create(CultureInfo.InvariantCulture, $"{model.Kind}(scale = {model.Scale:G6}, ρ = {shape:G6})")
        : string.Create(CultureInfo.InvariantCulture, $"{model.Kind}(scale = {model.Scale:G6})");

    /// <summary>One line for an error of a codec verb; a payload the codec refuses is an invalid <c>--in</c>.</summary>
    private static string Message(Exception exception, FileInfo input) => exception switch
    {
        CodecFormatException => $"--in '{input.Name}' is not a valid payload: {exception.Message}",
        ArgumentException argument => TheoryCommand.Describe(argument),
        _ => exception.Message,
    };

    private static void WriteTable(TextWriter output, PayloadHeader h, IReadOnlyList<float> levels)
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        void Row(string name, string value) => output.WriteLine(string.Create(invariant, $"  {name,-22}{value}"));
        output.WriteLine(string.Create(invariant, $"payload v{h.Version}: {h.SchemeName}, b = {h.Bits}, d = {h.Dimension}"));
        if (h.IsSparse)
        {
            int bitmap = h.PayloadLength - (4 * h.ValueCount);
            Row("bytes", string.Create(invariant, $"{h.TotalLength} = {PayloadHeader.Size} header + {bitmap} keep bitmap + {4 * h.ValueCount} values"));
            Row("kept", string.Create(invariant, $"{h.ValueCount} of {h.Dimension} coordinates"));
            Row(h.Scheme == WireScheme.Bernoulli ? "keep probability q" : "k", h.Alpha.ToString("R", invariant));
            Row("bits per coordinate", string.Create(invariant, $"{TableNumber.Format(8.0 * h.PayloadLength / Math.Max(1, h.Dimension), 4)} on the wire, {TableNumber.Format(8.0 * h.TotalLength / Math.Max(1, h.Dimension), 4)} with the header"));
        }
        else
        {
            Row("bytes", string.Create(invariant, $"{h.TotalLength} = {PayloadHeader.Size} header + {h.PayloadLength} indices"));
            Row("bits per coordinate", string.Create(invariant, $"{h.Bits} on the wire, {TableNumber.Format(8.0 * h.TotalLength / Math.Max(1, h.Dimension), 4)} with the header"));
        }
        Row("scale", h.IsAllZero ? "0 (all-zero vector)" : h.Scale.ToString("R", invariant));
        if (h.Threshold != WireThreshold.None)
        {
            Row("threshold", string.Create(invariant, $"{h.Threshold.ToString().ToLowerInvariant()}, α = {h.Alpha:R}"));
        }
        if (h.Model != WireModel.None)
        {
            Row("model", h.Model is WireModel.Lomax or WireModel.ParetoTail
                ? string.Create(invariant, $"{h.Model.ToString().ToLowerInvariant()}(scale = {h.ModelScale:R}, ρ = {h.ModelShape:R})")
                : string.Create(invariant, $"{h.Model.ToString().ToLowerInvariant()}(scale = {h.ModelScale:R})"));
        }
        if (h.InnerCells != 0)
        {
            Row("tbq split", string.Create(invariant, $"β = {h.Beta:R}, inner cells {h.InnerCells}"));
        }
        Row("checksum", string.Create(invariant, $"CRC-32C {h.Checksum:X8} (verified)"));
        if (levels.Count > 0)
        {
            output.WriteLine("  decoded value of each index:");
            output.WriteLine("    " + string.Join(' ', levels.Select(v => v.ToString("G9", invariant))));
        }
    }

    private static void WriteJson(TextWriter output, PayloadHeader h, IReadOnlyList<float> levels) =>
        HostJson.WriteLine(output, new PayloadJson(
            h.Version,
            h.SchemeName,
            h.Bits,
            h.Dimension,
            h.TotalLength,
            PayloadHeader.Size,
            h.PayloadLength,
            h.IsSparse ? 8.0 * h.PayloadLength / Math.Max(1, h.Dimension) : h.Bits,
            h.IsSparse ? h.ValueCount : null,
            8.0 * h.TotalLength / Math.Max(1, h.Dimension),
            h.Scale,
            h.IsAllZero,
            h.Threshold.ToString().ToLowerInvariant(),
            // The header's α field is the threshold only for truncated schemes; the sparsifiers keep q or k in it.
            h.Threshold != WireThreshold.None ? h.Alpha : null,
            h.Scheme == WireScheme.Bernoulli ? h.Alpha : null,
            h.Scheme == WireScheme.RandK ? (int)h.Alpha : null,
            h.Model.ToString().ToLowerInvariant(),
            h.ModelScale,
            h.ModelShape,
            h.InnerCells,
            h.Beta,
            h.Checksum.ToString("X8", CultureInfo.InvariantCulture),
            [.. levels]), HostJson.Context.PayloadJson);

    private static void WriteSegmentedTable(TextWriter output, in SegmentedHeader container, ImmutableArray<PayloadSegment> segments)
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        int indices = container.TotalLength - SegmentedHeader.Size - (container.SegmentCount * SegmentedHeader.OverheadPerSegment);
        output.WriteLine(string.Create(invariant, $"payload v3: {container.SegmentCount} segments, d = {container.Dimension}"));
        output.WriteLine(string.Create(invariant, $"  {"bytes",-22}{container.TotalLength} = {SegmentedHeader.Size} container + {container.SegmentCount} × ({SegmentedHeader.EntrySize} table + {PayloadHeader.Size} header) + {indices} indices"));
        output.WriteLine(string.Create(invariant, $"  {"bits per coordinate",-22}{TableNumber.Format(8.0 * container.TotalLength / Math.Max(1, container.Dimension), 4)} with the headers"));
        output.WriteLine(string.Create(invariant, $"  {"checksum",-22}CRC-32C {container.Checksum:X8} of header and table, and one per segment (verified)"));
        output.WriteLine(string.Create(invariant, $"  {"segment",7} {"offset",10} {"length",10} {"scheme",-9} {"bits",4} {"model",-8} {"scale",14} {"shape",10} {"alpha",14} {"bytes",10}"));
        foreach (PayloadSegment segment in segments)
        {
            PayloadHeader h = segment.Header;
            string model = h.Model == WireModel.None ? "none" : h.Model.ToString().ToLowerInvariant();
            string scale = h.Model == WireModel.None ? "-" : h.ModelScale.ToString("G6", invariant);
            string shape = h.Model is WireModel.Lomax or WireModel.ParetoTail ? h.ModelShape.ToString("G6", invariant) : "-";
            string alpha = h.Threshold != WireThreshold.None && h.Model != WireModel.None ? h.Alpha.ToString("G6", invariant) : "-";
            string scheme = h.IsAllZero ? h.SchemeName + "*" : h.SchemeName;
            output.WriteLine(string.Create(invariant, $"  {segment.Index,7} {segment.Start,10} {segment.Length,10} {scheme,-9} {h.Bits,4} {model,-8} {scale,14} {shape,10} {alpha,14} {segment.ByteLength,10}"));
        }
        if (segments.Any(s => s.Header.IsAllZero))
        {
            output.WriteLine("  * all-zero segment (scale 0): decodes to zeros");
        }
    }

    private static void WriteSegmentedJson(TextWriter output, in SegmentedHeader container, ImmutableArray<PayloadSegment> segments) =>
        HostJson.WriteLine(output, new SegmentedPayloadJson(
            SegmentedHeader.FormatVersion,
            container.Dimension,
            container.TotalLength,
            SegmentedHeader.Size,
            container.SegmentCount * SegmentedHeader.EntrySize,
            container.SegmentCount,
            8.0 * container.TotalLength / Math.Max(1, container.Dimension),
            container.Checksum.ToString("X8", CultureInfo.InvariantCulture),
            [.. segments.Select(segment =>
            {
                PayloadHeader h = segment.Header;
                return new SegmentJson(
                    segment.Index,
                    segment.Start,
                    segment.Length,
                    segment.ByteLength,
                    h.SchemeName,
                    h.Bits,
                    h.Scale,
                    h.IsAllZero,
                    h.Model == WireModel.None ? null : new SegmentModelJson(
                        h.Model.ToString().ToLowerInvariant(), h.ModelScale, h.Model is WireModel.Lomax or WireModel.ParetoTail ? h.ModelShape : null),
                    h.Threshold.ToString().ToLowerInvariant(),
                    // α only where the scheme truncates (and a model was fitted): null otherwise, as for a single payload.
                    h.Threshold != WireThreshold.None && h.Model != WireModel.None ? h.Alpha : null,
                    h.InnerCells != 0 ? h.Beta : null,
                    h.Checksum.ToString("X8", CultureInfo.InvariantCulture));
            })]), HostJson.Context.SegmentedPayloadJson);

    private static void RestrictTo(Option<string> option, string[] allowed) =>
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is null || !allowed.Contains(value, StringComparer.Ordinal))
            {
                result.AddError($"{option.Name} '{value}' is not known: use one of {string.Join(", ", allowed)}.");
            }
        });
}

/// <summary>What <c>verified codec inspect --json</c> prints: the header's fields and the decoded value of each index.</summary>
/// <remarks><c>Kept</c>: values a sparse payload carries; absent for the quantizers. <c>Alpha</c>: the truncation threshold α; null for the schemes that do not truncate, as in <c>verified theory --json</c>. <c>KeepProbability</c>: bernoulli's q; absent for the other schemes. <c>K</c>: rand-k's k; absent for the other schemes.</remarks>
internal sealed record PayloadJson(
    int Version,
    string Scheme,
    int Bits,
    int Dimension,
    int Bytes,
    int HeaderBytes,
    int IndexBytes,
    double BitsPerCoordinate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Kept,
    double BitsPerCoordinateWithHeader,
    float Scale,
    bool AllZero,
    string Threshold,
    double? Alpha,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? KeepProbability,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? K,
    string Model,
    double ModelScale,
    double ModelShape,
    int InnerCells,
    double Beta,
    string Checksum,
    float[] Levels);

/// <summary>What <c>verified codec inspect --json</c> prints for a segmented (version 3) payload.</summary>
/// <remarks><c>HeaderBytes</c>: the 24-byte container header; <c>TableBytes</c>: 12 per segment; each segment adds its
/// own 60-byte header. <c>Checksum</c>: the CRC-32C of container header and table (each segment has its own).</remarks>
internal sealed record SegmentedPayloadJson(
    int Version,
    int Dimension,
    int Bytes,
    int HeaderBytes,
    int TableBytes,
    int SegmentCount,
    double BitsPerCoordinateWithHeader,
    string Checksum,
    SegmentJson[] Segments);

/// <summary>One segment of a segmented payload.</summary>
/// <remarks><c>Offset</c>: the segment's first coordinate in the whole vector. <c>Model</c>: null when the segment carries
/// none (schemes without a model, or an all-zero truncated segment). <c>Alpha</c>: null unless the scheme truncates.
/// <c>Beta</c>: tbq's inner edge, else null.</remarks>
internal sealed record SegmentJson(
    int Index,
    int Offset,
    int Length,
    int Bytes,
    string Scheme,
    int Bits,
    float Scale,
    bool AllZero,
    SegmentModelJson? Model,
    string Threshold,
    double? Alpha,
    double? Beta,
    string Checksum);

/// <summary>A segment's gradient model: its kind (laplace, lomax, pareto, gaussian), scale and shape (null without one).</summary>
internal sealed record SegmentModelJson(string Kind, double Scale, double? Shape);
