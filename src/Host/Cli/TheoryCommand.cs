using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Verified.Theory;

namespace Verified.Host.Cli;

/// <summary><c>verified theory</c>: the design of one scheme for one gradient model, as a table or JSON.</summary>
internal static class TheoryCommand
{
    public static readonly string[] Models = ["laplace", "lomax", "pareto", "gaussian"];

    // Theory's argument names → the options a user typed, so an error names what to change.
    private static readonly Dictionary<string, string> s_optionOfParameter = new(StringComparer.Ordinal)
    {
        ["Bits"] = "--bits",
        ["bits"] = "--bits",
        ["scheme"] = "--scheme",
        ["threshold"] = "--threshold",
        ["Scale"] = "--scale",
        ["Shape"] = "--shape",
        ["Alpha"] = "--threshold",
        ["dimension"] = "--dimension",
        ["clients"] = "--clients",
    };

    public static Command Create(TextWriter output, TextWriter error)
    {
        var scheme = new Option<string>("--scheme")
        {
            Description = SchemeDescription,
            DefaultValueFactory = _ => "tnq",
        };
        RestrictToSchemes(scheme);
        var bits = new Option<int>("--bits")
        {
            Description = Schemes.BitsHelpText,
            DefaultValueFactory = _ => 3,
        };
        var model = new Option<string>("--model")
        {
            Description = "Gradient model: laplace, lomax (needs --shape), pareto (needs --shape) or gaussian.",
            DefaultValueFactory = _ => "laplace",
        };
        RestrictTo(model, Models);
        var scale = new Option<double>("--scale")
        {
            Description = "Model scale: γ (laplace), σ (lomax), g₀ (pareto), σ (gaussian); > 0.",
            DefaultValueFactory = _ => 1.0,
        };
        var shape = new Option<double?>("--shape")
        {
            Description = "Density exponent ρ > 3 of lomax, p(g) ∝ (1 + |g|/σ)^(−ρ), and of pareto, p(g) ∝ |g|^(−ρ).",
        };
        var threshold = new Option<string>("--threshold")
        {
            Description = "Truncated schemes: optimal (default; one upload's error), averaged (the error of the server's average of --clients N uploads: rounding variance / N + truncation), relaxed (tuq only: Lambert-W rule), or a fixed α > 0.",
            DefaultValueFactory = _ => "optimal",
        };
        var dimension = new Option<int?>("--dimension") { Description = "d, coordinates per upload (for E_TQ; required by the norm-scaled schemes, whose error depends on ‖v‖₂, and by randk)." };
        var clients = new Option<int?>("--clients") { Description = "N, clients per round (for E_TQ)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };

        var command = new Command("theory", "Design a quantizer for a gradient model: α, levels, bits and the predicted error split.")
        {
            scheme, bits, model, scale, shape, threshold, dimension, clients, json,
        };
        command.SetAction(parse =>
        {
            var request = new TheoryRequest(
                parse.GetValue(scheme)!,
                parse.GetValue(bits),
                parse.GetValue(model)!,
                parse.GetValue(scale),
                parse.GetValue(shape),
                parse.GetValue(threshold)!,
                parse.GetValue(dimension),
                parse.GetValue(clients));
            QuantizerDesign design;
            try
            {
                design = request.Design();
            }
            catch (ArgumentException exception)
            {
                error.WriteLine($"verified theory: {Describe(exception)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            if (parse.GetValue(json))
            {
                WriteJson(output, design, request);
            }
            else
            {
                WriteTable(output, design, request);
            }
            return 0;
        });
        return command;
    }

    /// <summary>The --scheme help text shared by the commands that take one, from the scheme vocabulary.</summary>
    public static string SchemeDescription => Schemes.HelpText;

    /// <summary>Accepts a scheme as the vocabulary writes it; the error names every allowed value and the closest one.</summary>
    public static void RestrictToSchemes(Option<string> option) =>
        option.Validators.Add(result =>
        {
            if (!Schemes.TryFind(result.GetValueOrDefault<string>(), out _, out SchemeProblem? problem))
            {
                result.AddError($"{option.Name} {problem.Message}");
            }
        });

    /// <summary>Accepts only the listed words, with an error that names the option and every allowed value.</summary>
    private static void RestrictTo(Option<string> option, string[] allowed) =>
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is null || !allowed.Contains(value, StringComparer.Ordinal))
            {
                result.AddError($"{option.Name} '{value}' is not known: use one of {string.Join(", ", allowed)}.");
            }
        });

    /// <summary>The plain message of <paramref name="exception"/>, with Theory's argument name replaced by the option a user typed.</summary>
    internal static string Describe(ArgumentException exception)
    {
        string message = VerifiedCli.PlainMessage(exception);
        if (exception.ParamName is { } name && s_optionOfParameter.TryGetValue(name, out string? option) && message.StartsWith(name, StringComparison.Ordinal))
        {
            return option + message[name.Length..];
        }
        return message;
    }

    private static void WriteTable(TextWriter output, QuantizerDesign design, TheoryRequest request)
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        string Number(double value) => double.IsFinite(value) ? value.ToString("0.######", invariant) : "∞";
        string modelText = design.Model.TailShape is { } rho
            ? $"{design.Model.Kind}(scale = {Number(design.Model.Scale)}, ρ = {Number(rho)})"
            : $"{design.Model.Kind}(scale = {Number(design.Model.Scale)})";
        output.WriteLine(design.Spec switch
        {
            BernoulliSparsification b => string.Create(invariant, $"bernoulli, q = {b.KeepProbability}, ω = {Number(b.Omega(1))}, 1 + 32q = {Number(b.ExpectedBitsPerCoordinate(1))} bits per coordinate on average, model {modelText}"),
            RandKSparsification k when design.Dimension is { } length => string.Create(invariant, $"randk, k = {k.Kept} of d = {length}, ω = {Number(k.Omega(length))}, 1 + 32k/d = {Number(k.ExpectedBitsPerCoordinate(length))} bits per coordinate, model {modelText}"),
            _ => $"{design.Spec.Name}, b = {design.BitsPerCoordinate} bits per coordinate, s = {design.Intervals} intervals, model {modelText}",
        });
        void Row(string name, string value, string note = "") =>
            output.WriteLine(string.Create(invariant, $"  {name,-26}{value,-14}{note}"));
        Row("α (threshold)", Number(design.Alpha), design.Spec is TruncatedSpec truncated ? $"threshold: {truncated.Threshold}" : "no truncation");
        if (design.Split is { } split)
        {
            Row("β (inner edge)", Number(split.Beta), $"inner cells {split.InnerCells}, outer cells {split.OuterCells}");
        }
        string unit = design.LevelUnit == LevelUnit.Norm ? " (× ‖v‖₂)" : string.Empty;
        output.WriteLine($"  levels{unit}: {string.Join(' ', design.Levels.Select(Number))}");
        Row("rounding variance bound", Number(design.RoundingVarianceBound), design.Spec switch
        {
            NormScaledSpec => "published bound, per coordinate",
            SparsifierSpec => "ω·E[g²], exact (spec §4.1)",
            _ => "Σ P_k Δ_k²/4 (Lemma 1)",
        });
        Row("rounding variance", Number(design.RoundingVariance), "exact, per coordinate");
        Row("truncation MSE", Number(design.TruncationMse), design.Spec switch
        {
            Sign { Magnitude: SignMagnitude.Unit } => "bias of ±1",
            Sign => "bias of ±E|g|",
            SparsifierSpec => "none: unbiased, no truncation",
            _ => "M(α)",
        });
        Row("J (error)", Number(design.Error), "bound + truncation");
        Row("J (high resolution)", Number(design.HighResolutionError), design.Spec is SparsifierSpec ? "the same: ω·E[g²]" : "(1/4)∫p/λ² + M(α), spec §1.5");
        if (request.Dimension is { } d && request.Clients is { } n)
        {
            Row("E_TQ", Number(design.ConvergenceError(d, n)), string.Create(invariant, $"(d/N)·J with d = {d}, N = {n}"));
            Row("E_TQ (high resolution)", Number(design.HighResolutionConvergenceError(d, n)), design.Spec is TruncatedNonUniform ? "P1's closed form at TNQ's optimum" : "(d/N)·J (high resolution)");
        }
    }

    private static void WriteJson(TextWriter output, QuantizerDesign design, TheoryRequest request)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            void Number(string name, double value) => writer.WriteFiniteOrNull(name, value);
            writer.WriteStartObject();
            writer.WriteString("scheme", design.Spec.Name);
            writer.WriteNumber("bits", design.BitsPerCoordinate);
            writer.WriteNumber("s", design.Intervals);
            writer.WriteString("threshold", design.Spec is TruncatedSpec truncated ? truncated.Threshold.ToString() : "none");
            writer.WriteStartObject("model");
            writer.WriteString("kind", design.Model.Kind);
            writer.WriteNumber("scale", design.Model.Scale);
            if (design.Model.TailShape is { } rho)
            {
                writer.WriteNumber("shape", rho);
            }
            else
            {
                writer.WriteNull("shape");
            }
            writer.WriteEndObject();
            Number("alpha", design.Alpha);
            writer.WriteStartArray("levels");
            foreach (double level in design.Levels)
            {
                writer.WriteNumberValue(level);
            }
            writer.WriteEndArray();
            writer.WriteString("levelUnit", design.LevelUnit == LevelUnit.Norm ? "norm" : "gradient");
            if (design.Split is { } split)
            {
                writer.WriteStartObject("split");
                writer.WriteNumber("beta", split.Beta);
                writer.WriteNumber("innerCells", split.InnerCells);
                writer.WriteNumber("outerCells", split.OuterCells);
                writer.WriteEndObject();
            }
            Number("roundingVarianceBound", design.RoundingVarianceBound);
            Number("roundingVariance", design.RoundingVariance);
            Number("truncationMse", design.TruncationMse);
            Number("error", design.Error);
            Number("highResolutionError", design.HighResolutionError);
            if (request.Dimension is { } d)
            {
                writer.WriteNumber("dimension", d);
            }
            if (request.Dimension is { } dimension && request.Clients is { } clients)
            {
                writer.WriteNumber("clients", clients);
                Number("etq", design.ConvergenceError(dimension, clients));
                Number("etqHighResolution", design.HighResolutionConvergenceError(dimension, clients));
            }
            writer.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}

/// <summary>The parsed arguments of <c>verified theory</c>, turned into Theory's validated records.</summary>
internal sealed record TheoryRequest(
    string Scheme, int Bits, string Model, double Scale, double? Shape, string Threshold, int? Dimension, int? Clients)
{
    /// <summary>Builds the spec and model (Theory validates every value) and designs the quantizer.</summary>
    /// <exception cref="ArgumentException">An argument is out of range or missing; the message names it.</exception>
    public QuantizerDesign Design()
    {
        if (Clients is { } n && n < 1)
        {
            throw new ArgumentOutOfRangeException("clients", n, $"clients = {n} is out of range: it must be an integer ≥ 1.");
        }
        if (Dimension is { } d && d < 1)
        {
            throw new ArgumentOutOfRangeException("dimension", d, $"dimension = {d} is out of range: it must be an integer ≥ 1.");
        }
        return Quantizers.Design(BuildSpec(), BuildModel(), Dimension);
    }

    private GradientModel BuildModel() => Model switch
    {
        "laplace" => new Laplace(Scale),
        "gaussian" => new Gaussian(Scale),
        "lomax" => new Lomax(Scale, RequireShape()),
        "pareto" => new ParetoTail(Scale, RequireShape()),
        _ => throw new ArgumentException($"Unknown model '{Model}': use one of {string.Join(", ", TheoryCommand.Models)}.", nameof(Model)),
    };

    private double RequireShape() => Shape ?? throw new ArgumentException(
        $"--shape is required for the {Model} model: the density exponent ρ > 3.", nameof(Shape));

    private Theory.Threshold BuildThreshold() => Threshold switch
    {
        "optimal" => Theory.Threshold.Optimal,
        "relaxed" => Theory.Threshold.Relaxed,
        "averaged" => Clients is { } n
            ? Theory.Threshold.Averaged(n)
            : throw new ArgumentException("--threshold averaged designs α for the server's average of N uploads: pass --clients N.", nameof(Threshold)),
        _ when double.TryParse(Threshold, NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha) => Theory.Threshold.Fixed(alpha),
        _ => throw new ArgumentException($"--threshold '{Threshold}' is not optimal, relaxed, averaged or a number α > 0.", nameof(Threshold)),
    };

    /// <exception cref="ArgumentException">The scheme, bits or threshold is invalid; <see cref="ArgumentException.ParamName"/> names it.</exception>
    public QuantizerSpec BuildSpec() => Schemes.Parse(Scheme, Bits, Schemes.Find(Scheme.Split(':')[0])?.Truncates == true ? BuildThreshold() : null);
}
