using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
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
        string modelText = design.Model.TailShape is { } rho
            ? $"{design.Model.Kind}(scale = {TableNumber.Format(design.Model.Scale)}, ρ = {TableNumber.Format(rho)})"
            : $"{design.Model.Kind}(scale = {TableNumber.Format(design.Model.Scale)})";
        output.WriteLine(design.Spec switch
        {
            BernoulliSparsification b => string.Create(invariant, $"bernoulli, q = {b.KeepProbability}, ω = {TableNumber.Format(b.Omega(1))}, 1 + 32q = {TableNumber.Format(b.ExpectedBitsPerCoordinate(1))} bits per coordinate on average (at most {b.BitsPerCoordinate}), model {modelText}"),
            RandKSparsification k when design.Dimension is { } length => string.Create(invariant, $"randk, k = {k.Kept} of d = {length}, ω = {TableNumber.Format(k.Omega(length))}, 1 + 32k/d = {TableNumber.Format(k.ExpectedBitsPerCoordinate(length))} bits per coordinate, model {modelText}"),
            _ => $"{design.Spec.Name}, b = {design.BitsPerCoordinate} bits per coordinate, s = {design.Intervals} intervals, model {modelText}",
        });
        void Row(string name, string value, string note = "") =>
            output.WriteLine(string.Create(invariant, $"  {name,-26}{value,-14}{note}"));
        Row("α (threshold)", TableNumber.Format(design.Alpha), design.Spec is TruncatedSpec truncated ? $"threshold: {truncated.Threshold}" : "no truncation");
        if (design.Split is { } split)
        {
            Row("β (inner edge)", TableNumber.Format(split.Beta), $"inner cells {split.InnerCells}, outer cells {split.OuterCells}");
        }
        string unit = design.LevelUnit == LevelUnit.Norm ? " (× ‖v‖₂)" : string.Empty;
        output.WriteLine($"  levels{unit}: {string.Join(' ', design.Levels.Select(l => TableNumber.Format(l)))}");
        Row("rounding variance bound", TableNumber.Format(design.RoundingVarianceBound), design.Spec switch
        {
            NormScaledSpec => "published bound, per coordinate",
            SparsifierSpec => "ω·E[g²], exact",
            _ => "Σ P_k Δ_k²/4 (P1, Lemma 1)",
        });
        Row("rounding variance", TableNumber.Format(design.RoundingVariance), "exact, per coordinate");
        Row("truncation MSE", TableNumber.Format(design.TruncationMse), design.Spec switch
        {
            Sign { Magnitude: SignMagnitude.Unit } => "bias of ±1",
            Sign => "bias of ±E|g|",
            SparsifierSpec => "none: unbiased, no truncation",
            _ => "M(α)",
        });
        Row("J (error)", TableNumber.Format(design.Error), "bound + truncation");
        Row("J (high resolution)", TableNumber.Format(design.HighResolutionError), design.Spec is SparsifierSpec ? "the same: ω·E[g²]" : "(1/4)∫p/λ² + M(α), many-level limit");
        if (request.Dimension is { } d && request.Clients is { } n)
        {
            Row("E_TQ", TableNumber.Format(design.ConvergenceError(d, n)), string.Create(invariant, $"(d/N)·J with d = {d}, N = {n}"));
            Row("E_TQ (high resolution)", TableNumber.Format(design.HighResolutionConvergenceError(d, n)), design.Spec is TruncatedNonUniform ? "P1's closed form at TNQ's optimum" : "(d/N)·J (high resolution)");
        }
    }

    private static void WriteJson(TextWriter output, QuantizerDesign design, TheoryRequest request)
    {
        (int? clients, double? etq, double? etqHighResolution) = request.Dimension is { } d && request.Clients is { } n
            ? (n, design.ConvergenceError(d, n), design.HighResolutionConvergenceError(d, n))
            : ((int?)null, (double?)null, (double?)null);
        HostJson.WriteLine(output, new TheoryJson(
            design.Spec.Name,
            design.BitsPerCoordinate,
            ExpectedBits(design),
            design.Intervals,
            design.Spec is TruncatedSpec truncated ? truncated.Threshold.ToString() : "none",
            new TheoryModelJson(design.Model.Kind, design.Model.Scale, design.Model.TailShape),
            design.Alpha,
            [.. design.Levels],
            design.LevelUnit == LevelUnit.Norm ? "norm" : "gradient",
            design.Split is { } split ? new TheorySplitJson(split.Beta, split.InnerCells, split.OuterCells) : null,
            design.RoundingVarianceBound,
            design.RoundingVariance,
            design.TruncationMse,
            design.Error,
            design.HighResolutionError,
            request.Dimension,
            clients,
            etq,
            etqHighResolution), HostJson.Context.TheoryJson);
    }

    /// <summary>
    /// Mean wire bits per coordinate: b for the quantizers; 1 + 32q (Bernoulli) and 1 + 32k/d (rand-k) for the
    /// sparsifiers, whose <see cref="QuantizerDesign.BitsPerCoordinate"/> is the worst case 33.
    /// </summary>
    private static double? ExpectedBits(QuantizerDesign design) => design.Spec switch
    {
        // Bernoulli's ω = 1/q − 1 does not depend on d.
        BernoulliSparsification b => b.ExpectedBitsPerCoordinate(1),
        SparsifierSpec s => design.Dimension is { } d ? s.ExpectedBitsPerCoordinate(d) : null,
        _ => design.BitsPerCoordinate,
    };
}

/// <summary>What <c>verified theory --json</c> prints (docs/cli.md, "verified theory"); null figures are not finite.</summary>
/// <remarks><c>Bits</c>: wire bits per coordinate; for the sparsifiers the worst case 33 (a bitmap bit and a float32). <c>ExpectedBits</c>: mean wire bits per coordinate: <paramref name="Bits"/> except for the sparsifiers. <c>S</c>: intervals between adjacent levels. <c>Alpha</c>: α; null (∞) for the schemes that do not truncate.</remarks>
internal sealed record TheoryJson(
    string Scheme,
    int Bits,
    double? ExpectedBits,
    int S,
    string Threshold,
    TheoryModelJson Model,
    double Alpha,
    double[] Levels,
    string LevelUnit,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TheorySplitJson? Split,
    double RoundingVarianceBound,
    double RoundingVariance,
    double TruncationMse,
    double Error,
    double HighResolutionError,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Dimension,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Clients,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Etq,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? EtqHighResolution);

/// <summary>The gradient model of <see cref="TheoryJson"/>; <paramref name="Shape"/> is null for the models without one.</summary>
internal sealed record TheoryModelJson(string Kind, double Scale, double? Shape);

/// <summary>TBQ's split of <see cref="TheoryJson"/>.</summary>
internal sealed record TheorySplitJson(double Beta, int InnerCells, int OuterCells);

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
