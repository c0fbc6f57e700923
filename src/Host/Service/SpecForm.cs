using System.Collections.Immutable;
using System.Text.Json;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;

namespace Verified.Host.Service;

/// <summary>
/// What <c>GET /api/spec</c> tells a form (the dashboard's "new run"): the fields a spec has, the spec an empty body
/// gives (every default of <c>verified run</c>), which fields are chosen per scheme when left out, and suggestions for
/// the text fields. The server stays the judge: a submitted spec is checked by <see cref="SpecReader"/> whatever the
/// form offered.
/// </summary>
/// <param name="Fields">The spec's fields in the order a form shows them.</param>
/// <param name="Defaults">The spec an empty body gives (for the default scheme).</param>
/// <param name="PerScheme">Fields whose default depends on the scheme (left out, the server picks them per scheme).</param>
/// <param name="Choices">Suggested values of the text fields; parameterised ones are shown with their parameter's name
/// (<c>bernoulli:Q</c>, <c>dirichlet:α</c>).</param>
/// <param name="Schemes">Each scheme's syntax and one-line description.</param>
internal sealed record SpecForm(
    IReadOnlyList<string> Fields,
    ExperimentSpec Defaults,
    IReadOnlyList<string> PerScheme,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Choices,
    IReadOnlyList<SchemeChoice> Schemes)
{
    /// <summary>This build's form: computed once, from the same reader and records that check a submission.</summary>
    public static SpecForm Current { get; } = Build();

    private static SpecForm Build()
    {
        using JsonDocument empty = JsonDocument.Parse("{}");
        ExperimentSpec defaults = SpecReader.Read(empty.RootElement, long.MaxValue, int.MaxValue).Spec
            ?? throw new InvalidOperationException("An empty spec must be valid: its fields all have defaults.");
        var choices = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            ["scheme"] = [.. Theory.Schemes.All.Select(s => s.Syntax)],
            ["model"] = ["cnn", "mlp", "alexnet"],
            ["dataset"] = [.. NamedDataSets.Names],
            ["split"] = ["iid", "dirichlet:α"],
            ["noise"] = ["none", "gaussian", "student-t:ν"],
            ["threshold"] = ["optimal", "averaged", "relaxed", "α (a number)"],
            ["fit"] = ["laplace", "lomax", "auto"],
            ["segments"] = ["whole", "tensor", "bucket:N"],
        };
        return new SpecForm(
            SpecReader.Fields,
            defaults,
            ["errorFeedback", "segments"],
            choices.ToImmutableDictionary(StringComparer.Ordinal),
            [.. Theory.Schemes.All.Select(s => new SchemeChoice(s.Syntax, s.Description))]);
    }
}

/// <summary>A scheme as a form lists it.</summary>
/// <param name="Syntax">As written in a spec (<c>tnq</c>, <c>bernoulli:Q</c>).</param>
/// <param name="Description">What it does, in one line.</param>
internal sealed record SchemeChoice(string Syntax, string Description);
