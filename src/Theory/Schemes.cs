using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Verified.Theory;

/// <summary>
/// One row of the scheme vocabulary (<see cref="Schemes"/>): how a scheme is written, which bit widths it takes, and
/// what kind of compressor it is. The command line, the experiment spec, the service and the wire format all read
/// these rows instead of restating them.
/// </summary>
public sealed class SchemeDefinition
{
    private readonly Func<int, Threshold, string?, QuantizerSpec> _create;

    internal SchemeDefinition(
        string name,
        string? parameter,
        (int Minimum, int Maximum)? bits,
        bool truncates,
        bool sparsifies,
        string description,
        Func<int, Threshold, string?, QuantizerSpec> create)
    {
        Name = name;
        Parameter = parameter;
        Bits = bits;
        Truncates = truncates;
        Sparsifies = sparsifies;
        Description = description;
        _create = create;
    }

    /// <summary>The scheme's name: the word before any ':' on the command line, in JSON and in labels.</summary>
    public string Name { get; }

    /// <summary>The one-letter parameter the scheme needs after a ':' (<c>Q</c> of <c>bernoulli:Q</c>), or <c>null</c>.</summary>
    public string? Parameter { get; }

    /// <summary>How the scheme is written: <see cref="Name"/>, or <c>name:P</c> when it takes a parameter.</summary>
    public string Syntax => Parameter is null ? Name : $"{Name}:{Parameter}";

    /// <summary>The bit widths b the scheme accepts (inclusive), or <c>null</c> when it ignores b (fp, signs, sparsifiers).</summary>
    public (int Minimum, int Maximum)? Bits { get; }

    /// <summary>Whether the scheme takes a bit width.</summary>
    public bool TakesBits => Bits is not null;

    /// <summary>Whether the scheme clamps to [−α, α] and so takes a <see cref="Threshold"/>.</summary>
    public bool Truncates { get; }

    /// <summary>Whether the scheme sends a subset of the coordinates (a keep bitmap plus values) instead of levels.</summary>
    public bool Sparsifies { get; }

    /// <summary>One line for help texts.</summary>
    public string Description { get; }

    /// <summary>Whether <paramref name="bits"/> is a width this scheme accepts (always true when it takes none).</summary>
    public bool AcceptsBits(int bits) => Bits is not { } range || (bits >= range.Minimum && bits <= range.Maximum);

    internal QuantizerSpec Create(int bits, Threshold threshold, string? parameter) => _create(bits, threshold, parameter);

    /// <inheritdoc />
    public override string ToString() => Syntax;
}

/// <summary>What is wrong with a scheme as written, and which argument it concerns.</summary>
/// <param name="Argument"><c>scheme</c>, <c>bits</c> or <c>threshold</c>.</param>
/// <param name="Message">What is wrong and what is allowed, in one sentence a user can act on. A scheme problem starts
/// with the scheme as written in quotes (<c>'tnk' is not known: …</c>), so that each caller can put its own subject
/// before it (<c>--scheme</c>, <c>scheme</c>).</param>
public sealed record SchemeProblem(string Argument, string Message);

/// <summary>
/// The scheme vocabulary: every scheme of the three papers once, with its syntax, bit range, whether it truncates or
/// sparsifies, and its description; and the functions that turn the written form into a <see cref="QuantizerSpec"/>,
/// returning the problem instead of throwing.
/// </summary>
/// <remarks>
/// <para>Adding a scheme: its record (a <see cref="QuantizerSpec"/> case whose <see cref="QuantizerSpec.Definition"/>
/// is a new row here), its design in <see cref="Quantizers"/>, and its encoder and wire scheme byte in the codec. The
/// command line, the experiment spec, the service's spec reader and the labels follow from this table.</para>
/// </remarks>
public static class Schemes
{
    /// <summary>Largest bit width any quantizing scheme accepts.</summary>
    public const int MaxBits = 8;

    /// <summary>No compression: float32 per coordinate.</summary>
    public static SchemeDefinition FullPrecision { get; } = new(
        "fp", null, null, truncates: false, sparsifies: false,
        "full precision: float32 per coordinate",
        (_, _, _) => new FullPrecision());

    /// <summary>QSGD (Alistarh et al. 2017): uniform levels relative to ‖v‖₂ (spec §1.7).</summary>
    public static SchemeDefinition Qsgd { get; } = new(
        "qsgd", null, (2, MaxBits), truncates: false, sparsifies: false,
        "QSGD: a sign bit and b − 1 bits of a uniform level relative to ‖v‖₂",
        (bits, _, _) => new Qsgd(bits));

    /// <summary>NUQSGD (Ramezani-Kebrya et al. 2021): exponential levels relative to ‖v‖₂ (spec §1.7).</summary>
    public static SchemeDefinition Nuqsgd { get; } = new(
        "nuqsgd", null, (2, MaxBits), truncates: false, sparsifies: false,
        "NUQSGD: a sign bit and b − 1 bits of an exponential level relative to ‖v‖₂",
        (bits, _, _) => new Nuqsgd(bits));

    /// <summary>TUQSGD: truncation, then uniform levels (spec §1.7, §2.3).</summary>
    public static SchemeDefinition TruncatedUniform { get; } = new(
        "tuq", null, (1, MaxBits), truncates: true, sparsifies: false,
        "TUQSGD: clamp to [−α, α], 2^b uniform levels",
        (bits, threshold, _) => new TruncatedUniform(bits, threshold));

    /// <summary>TNQSGD: truncation, then levels from the density λ_s ∝ p^{1/3} (spec §1.5, §2.2).</summary>
    public static SchemeDefinition TruncatedNonUniform { get; } = new(
        "tnq", null, (1, MaxBits), truncates: true, sparsifies: false,
        "TNQSGD: clamp to [−α, α], 2^b levels of density ∝ p^(1/3)",
        (bits, threshold, _) => new TruncatedNonUniform(bits, threshold));

    /// <summary>TBQSGD: truncation, then two uniform regions (spec §3.4).</summary>
    public static SchemeDefinition TruncatedBiScaled { get; } = new(
        "tbq", null, (1, MaxBits), truncates: true, sparsifies: false,
        "TBQSGD: clamp to [−α, α], uniform levels in two regions |g| ≤ β and β < |g| ≤ α",
        (bits, threshold, _) => new TruncatedBiScaled(bits, threshold));

    /// <summary>Sign compression decoded as ±E|g| (spec §4.1).</summary>
    public static SchemeDefinition Sign { get; } = new(
        "sign", null, null, truncates: false, sparsifies: false,
        "sign: 1 bit per coordinate, decoded as ±E|g|",
        (_, _, _) => new Sign());

    /// <summary>DSignSGD's unit sign, decoded as ±1 (spec §4.1).</summary>
    public static SchemeDefinition UnitSign { get; } = new(
        "usign", null, null, truncates: false, sparsifies: false,
        "unit sign (DSignSGD): 1 bit per coordinate, decoded as ±1",
        (_, _, _) => new Sign { Magnitude = SignMagnitude.Unit });

    /// <summary>Bernoulli sparsification (spec §4.1): keep each coordinate with probability q, scaled by 1/q.</summary>
    public static SchemeDefinition Bernoulli { get; } = new(
        "bernoulli", "Q", null, truncates: false, sparsifies: true,
        "keep each coordinate with probability Q ∈ (0, 1], scaled by 1/Q",
        (_, _, parameter) => new BernoulliSparsification(double.Parse(parameter!, NumberStyles.Float, CultureInfo.InvariantCulture)));

    /// <summary>rand-k without replacement (spec §4.1): keep k coordinates, scaled by d/k.</summary>
    public static SchemeDefinition RandK { get; } = new(
        "randk", "K", null, truncates: false, sparsifies: true,
        "keep K ≤ d coordinates chosen at random, scaled by d/K",
        (_, _, parameter) => new RandKSparsification(int.Parse(parameter!, NumberStyles.None, CultureInfo.InvariantCulture)));

    /// <summary>Every scheme, in the order the papers introduce them.</summary>
    public static ImmutableArray<SchemeDefinition> All { get; } =
        [FullPrecision, Qsgd, Nuqsgd, TruncatedUniform, TruncatedNonUniform, TruncatedBiScaled, Sign, UnitSign, Bernoulli, RandK];

    /// <summary>Every scheme's <see cref="SchemeDefinition.Syntax"/>, comma-separated, for messages and help texts.</summary>
    public static string SyntaxList { get; } = string.Join(", ", All.Select(s => s.Syntax));

    /// <summary>The help text of a <c>--scheme</c> option: every scheme's syntax and description.</summary>
    public static string HelpText { get; } = "Scheme: " + string.Join("; ", All.Select(s => $"{s.Syntax} ({s.Description})")) + ".";

    /// <summary>The help text of a <c>--bits</c> option: each bit range and the schemes that ignore the bits.</summary>
    public static string BitsHelpText { get; } =
        "Bits per coordinate b: "
        + string.Join("; ", All.Where(s => s.TakesBits).GroupBy(s => s.Bits).Select(g =>
            $"{string.Join(", ", g.Select(s => s.Name))} {g.Key!.Value.Minimum}..{g.Key!.Value.Maximum}" + (g.First().Truncates ? "" : " (one is the sign bit)")))
        + $"; ignored by {string.Join(", ", All.Where(s => !s.TakesBits).Select(s => s.Name))}.";

    /// <summary>The row named <paramref name="name"/> (no parameter), or <c>null</c>.</summary>
    public static SchemeDefinition? Find(string? name)
    {
        foreach (SchemeDefinition scheme in All)
        {
            if (string.Equals(scheme.Name, name, StringComparison.Ordinal))
            {
                return scheme;
            }
        }
        return null;
    }

    /// <summary>
    /// The row of <paramref name="scheme"/> as written (<c>tnq</c>, <c>bernoulli:0.1</c>) when its name and parameter
    /// are well formed; otherwise <c>null</c> and the problem, naming the allowed values and, for a misspelt name, the
    /// closest one. Bits and thresholds are not checked here.
    /// </summary>
    public static bool TryFind(string? scheme, [NotNullWhen(true)] out SchemeDefinition? definition, [NotNullWhen(false)] out SchemeProblem? problem)
    {
        definition = null;
        problem = null;
        if (string.IsNullOrEmpty(scheme))
        {
            problem = new("scheme", $"'' is empty: use one of {SyntaxList}.");
            return false;
        }
        (string name, string? parameter) = Split(scheme);
        SchemeDefinition? found = Find(name);
        if (found is null)
        {
            string? closest = Closest(name);
            problem = new("scheme", $"'{scheme}' is not known: use one of {SyntaxList}." + (closest is null ? "" : $" Did you mean {closest}?"));
            return false;
        }
        string? parameterProblem = found.Parameter switch
        {
            null when parameter is not null =>
                $"'{scheme}' takes no parameter: only {string.Join(" and ", All.Where(s => s.Parameter is not null).Select(s => s.Syntax))} do; use one of {SyntaxList}.",
            "Q" when parameter is null
                || !double.TryParse(parameter, NumberStyles.Float, CultureInfo.InvariantCulture, out double q)
                || !BernoulliSparsification.IsValidKeepProbability(q) =>
                $"'{scheme}' needs its keep probability: write bernoulli:Q with Q a number in (0, 1], e.g. bernoulli:0.1.",
            "K" when parameter is null
                || !int.TryParse(parameter, NumberStyles.None, CultureInfo.InvariantCulture, out int k)
                || k < 1 =>
                $"'{scheme}' needs the number of coordinates it keeps: write randk:K with K an integer from 1 to d, e.g. randk:1000.",
            _ => null,
        };
        if (parameterProblem is not null)
        {
            problem = new("scheme", parameterProblem);
            return false;
        }
        definition = found;
        return true;
    }

    /// <summary>
    /// The spec written as <paramref name="scheme"/> at <paramref name="bits"/> bits per coordinate with
    /// <paramref name="threshold"/> (default optimal); schemes that take no bits ignore <paramref name="bits"/>.
    /// Returns the first problem (scheme, then bits, then threshold) instead of throwing.
    /// </summary>
    public static bool TryParse(
        string? scheme,
        int bits,
        Threshold? threshold,
        [NotNullWhen(true)] out QuantizerSpec? spec,
        [NotNullWhen(false)] out SchemeProblem? problem)
    {
        spec = null;
        threshold ??= Threshold.Optimal;
        if (!TryFind(scheme, out SchemeDefinition? definition, out problem))
        {
            return false;
        }
        if (definition.Bits is { } range && !definition.AcceptsBits(bits))
        {
            string why = definition.Truncates ? "" : " (one of them is the sign bit)";
            problem = new("bits", string.Create(CultureInfo.InvariantCulture,
                $"bits = {bits} is out of range for {definition.Name}: it must be an integer from {range.Minimum} to {range.Maximum}{why}."));
            return false;
        }
        if (threshold is not OptimalThreshold && !definition.Truncates)
        {
            problem = new("threshold", $"The {definition.Name} scheme does not truncate, so it takes no threshold.");
            return false;
        }
        if (threshold is RelaxedThreshold && definition != TruncatedUniform)
        {
            problem = new("threshold", $"The relaxed threshold is TUQSGD's (α = γ·W(s²)); {definition.Name} takes the optimal or a fixed threshold.");
            return false;
        }
        spec = definition.Create(bits, threshold, Split(scheme!).Parameter);
        return true;
    }

    /// <summary>As <see cref="TryParse"/>, throwing the problem.</summary>
    /// <exception cref="ArgumentException">The problem, with <see cref="ArgumentException.ParamName"/> = its argument
    /// (<see cref="ArgumentOutOfRangeException"/> for bits out of the scheme's range).</exception>
    public static QuantizerSpec Parse(string scheme, int bits, Threshold? threshold = null) =>
        TryParse(scheme, bits, threshold, out QuantizerSpec? spec, out SchemeProblem? problem)
            ? spec
            : problem.Argument switch
            {
                "scheme" => throw new ArgumentException("scheme " + problem.Message, problem.Argument),
                "bits" => throw new ArgumentOutOfRangeException(problem.Argument, bits, problem.Message),
                _ => throw new ArgumentException(problem.Message, problem.Argument),
            };

    private static (string Name, string? Parameter) Split(string scheme)
    {
        int colon = scheme.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (scheme, null) : (scheme[..colon], scheme[(colon + 1)..]);
    }

    /// <summary>
    /// The scheme closest to <paramref name="name"/> (case-insensitive): one edit away for names of up to four letters,
    /// two for longer ones, so that a suggestion is a likely typo (foo is not fp).
    /// </summary>
    private static string? Closest(string name)
    {
        string? best = null;
        int bestDistance = (name.Length <= 4 ? 1 : 2) + 1;
        foreach (SchemeDefinition scheme in All)
        {
            int distance = EditDistance(name.ToLowerInvariant(), scheme.Name);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (scheme.Syntax, distance);
            }
        }
        return best;
    }

    /// <summary>Levenshtein distance between two words, for "did you mean" suggestions.</summary>
    public static int EditDistance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int[] previous = new int[b.Length + 1];
        int[] current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
