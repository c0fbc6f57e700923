using System.Globalization;
using System.Text.Json;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;
using Verified.Theory;

namespace Verified.Host.Service;

/// <summary>
/// Reads a submitted experiment spec from JSON and checks it whole: unknown fields, values of the wrong JSON type,
/// <see cref="ExperimentSpec.Validate"/>'s ranges and the service's own limits all come back together, keyed by field,
/// for one RFC 9457 validation problem. Field names are matched case-insensitively; missing fields take the defaults
/// of <c>verified run</c>.
/// </summary>
internal static class SpecReader
{
    /// <summary>The fields a spec has, as JSON names.</summary>
    public static readonly IReadOnlyList<string> Fields =
    [
        "scheme", "bits", "clients", "rounds", "model", "batchSize", "learningRate", "momentum", "weightDecay", "split", "seed",
        "evaluateEvery", "auditEvery", "workers", "threads", "noise", "noiseScale", "errorFeedback", "threshold", "fit", "segments",
        "dataset",
    ];

    // What GET /api/runs/{id} shows of a spec besides its fields; accepted (and ignored) so that a spec can be resubmitted as shown.
    private static readonly string[] s_derived = ["label", "effectiveBits"];

    /// <summary>
    /// The spec in <paramref name="json"/>, or every problem with it (field → messages). <paramref name="maxClientRounds"/>
    /// caps rounds × clients; <paramref name="processors"/> caps the threads a run may ask for.
    /// </summary>
    public static (ExperimentSpec? Spec, Dictionary<string, string[]> Errors) Read(JsonElement json, long maxClientRounds, int processors) =>
        Read(json, new SpecLimits(maxClientRounds, processors, long.MaxValue, null));

    /// <summary>
    /// As <see cref="Read(JsonElement, long, int)"/>, and, once the spec is otherwise valid, what needs the data's shape:
    /// randk's k must be at most d, and the run's estimated memory at most <see cref="SpecLimits.MaxRunBytes"/>
    /// (under the key <c>memory</c>).
    /// </summary>
    public static (ExperimentSpec? Spec, Dictionary<string, string[]> Errors) Read(JsonElement json, SpecLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        long maxClientRounds = limits.MaxClientRounds;
        int processors = limits.Processors;
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string field, string message)
        {
            if (!errors.TryGetValue(field, out List<string>? list))
            {
                errors[field] = list = [];
            }
            list.Add(message);
        }

        if (json.ValueKind != JsonValueKind.Object)
        {
            Add("body", $"The body is a JSON {json.ValueKind.ToString().ToLowerInvariant()}; send an object with the spec's fields ({string.Join(", ", Fields)}).");
            return (null, Freeze(errors));
        }

        var spec = new ExperimentSpec();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in json.EnumerateObject())
        {
            string? field = Fields.FirstOrDefault(f => string.Equals(f, property.Name, StringComparison.OrdinalIgnoreCase));
            if (field is null)
            {
                if (!s_derived.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
                {
                    Add(property.Name, $"'{property.Name}' is not a field of an experiment spec; the fields are {string.Join(", ", Fields)}.");
                }
                continue;
            }
            given.Add(field);
            JsonElement value = property.Value;
            switch (field)
            {
                case "scheme": spec = Text(value, field, Add) is { } scheme ? spec with { Scheme = scheme } : spec; break;
                case "model": spec = Text(value, field, Add) is { } model ? spec with { Model = model } : spec; break;
                case "split": spec = Text(value, field, Add) is { } split ? spec with { Split = split } : spec; break;
                case "noise": spec = Text(value, field, Add) is { } noise ? spec with { Noise = noise } : spec; break;
                case "threshold": spec = Text(value, field, Add) is { } threshold ? spec with { Threshold = threshold } : spec; break;
                case "fit": spec = Text(value, field, Add) is { } fit ? spec with { Fit = fit } : spec; break;
                case "segments": spec = Text(value, field, Add) is { } segments ? spec with { Segments = segments } : spec; break;
                case "dataset": spec = Text(value, field, Add) is { } dataset ? spec with { Dataset = dataset } : spec; break;
                case "errorFeedback": spec = Boolean(value, field, Add) is { } feedback ? spec with { ErrorFeedback = feedback } : spec; break;
                case "noiseScale": spec = Real(value, field, Add) is { } noiseScale ? spec with { NoiseScale = noiseScale } : spec; break;
                case "bits": spec = Integer(value, field, Add) is { } bits ? spec with { Bits = bits } : spec; break;
                case "clients": spec = Integer(value, field, Add) is { } clients ? spec with { Clients = clients } : spec; break;
                case "rounds": spec = Integer(value, field, Add) is { } rounds ? spec with { Rounds = rounds } : spec; break;
                case "batchSize": spec = Integer(value, field, Add) is { } batch ? spec with { BatchSize = batch } : spec; break;
                case "evaluateEvery": spec = Integer(value, field, Add) is { } evaluate ? spec with { EvaluateEvery = evaluate } : spec; break;
                case "auditEvery": spec = Integer(value, field, Add) is { } audit ? spec with { AuditEvery = audit } : spec; break;
                case "workers": spec = Integer(value, field, Add) is { } workers ? spec with { Workers = workers } : spec; break;
                case "threads": spec = Integer(value, field, Add) is { } threads ? spec with { Threads = threads } : spec; break;
                case "seed":
                    if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long seed))
                    {
                        spec = spec with { Seed = seed };
                    }
                    else
                    {
                        Add(field, $"seed = {value.GetRawText()} is not an integer from {long.MinValue} to {long.MaxValue}.");
                    }
                    break;
                case "learningRate": spec = Real(value, field, Add) is { } lr ? spec with { LearningRate = lr } : spec; break;
                case "momentum": spec = Real(value, field, Add) is { } momentum ? spec with { Momentum = momentum } : spec; break;
                case "weightDecay": spec = Real(value, field, Add) is { } decay ? spec with { WeightDecay = decay } : spec; break;
            }
        }

        // As for `verified run`: where the request does not choose them, a run uploads as docs/results.md found best.
        spec = spec.WithRecommendedUploads(given.Contains("segments"), given.Contains("errorFeedback"));
        foreach (ExperimentSpecError error in spec.Validate())
        {
            if (!errors.ContainsKey(error.Field)) // a field of the wrong type is reported once, as such
            {
                Add(error.Field, error.Message);
            }
        }
        long clientRounds = (long)spec.Rounds * spec.Clients;
        if (!errors.ContainsKey("rounds") && !errors.ContainsKey("clients") && clientRounds > maxClientRounds)
        {
            Add("rounds", string.Create(CultureInfo.InvariantCulture,
                $"rounds × clients = {spec.Rounds} × {spec.Clients} = {clientRounds} exceeds this service's limit of {maxClientRounds} client-rounds per run."));
        }
        if (!errors.ContainsKey("threads") && spec.Threads > processors)
        {
            Add("threads", string.Create(CultureInfo.InvariantCulture, $"threads = {spec.Threads} exceeds the {processors} processor(s) of this service."));
        }
        if (!errors.ContainsKey("workers") && spec.Workers > processors)
        {
            Add("workers", string.Create(CultureInfo.InvariantCulture, $"workers = {spec.Workers} exceeds the {processors} processor(s) of this service."));
        }
        if (errors.Count == 0 && limits.Estimate is { } estimator)
        {
            RunEstimate estimate;
            try
            {
                estimate = estimator(spec);
            }
            catch (DataSetNotFoundException exception)
            {
                // The spec is valid but this machine lacks its data set: say how to install it, store nothing.
                Add("dataset", $"dataset = {spec.Dataset} is not available on this service: {exception.Message}");
                return (null, Freeze(errors));
            }
            if (spec.ToQuantizerSpec() is RandKSparsification randk && randk.Kept > estimate.Parameters)
            {
                Add("scheme", string.Create(CultureInfo.InvariantCulture,
                    $"scheme = {spec.Scheme} keeps K = {randk.Kept} coordinates, but model {spec.Model} has d = {estimate.Parameters}: K must be at most d."));
            }
            if (estimate.Bytes > limits.MaxRunBytes)
            {
                Add("memory", string.Create(CultureInfo.InvariantCulture,
                    $"This run is estimated to need {Size(estimate.Bytes)} ({estimate.Bytes} bytes; model {spec.Model}, batch {spec.BatchSize}, {spec.Clients} clients, {spec.Workers} workers), more than this service's cap of {Size(limits.MaxRunBytes)} ({limits.MaxRunBytes} bytes, --max-run-memory): lower batchSize or workers, or use a smaller model."));
            }
        }
        return errors.Count == 0 ? (spec, []) : (null, Freeze(errors));
    }

    /// <summary>Bytes in GiB or MiB, for messages.</summary>
    public static string Size(long bytes) => bytes >= 1L << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.##} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.#} MiB");

    private static Dictionary<string, string[]> Freeze(Dictionary<string, List<string>> errors) =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    private static string? Text(JsonElement value, string field, Action<string, string> add)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }
        add(field, $"{field} = {value.GetRawText()} is not a string.");
        return null;
    }

    private static bool? Boolean(JsonElement value, string field, Action<string, string> add)
    {
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }
        add(field, $"{field} = {value.GetRawText()} is not true or false.");
        return null;
    }

    private static int? Integer(JsonElement value, string field, Action<string, string> add)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result))
        {
            return result;
        }
        add(field, $"{field} = {value.GetRawText()} is not an integer from {int.MinValue} to {int.MaxValue}.");
        return null;
    }

    private static double? Real(JsonElement value, string field, Action<string, string> add)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double result) && double.IsFinite(result))
        {
            return result;
        }
        add(field, $"{field} = {value.GetRawText()} is not a finite number.");
        return null;
    }
}

/// <summary>What a submitted spec is checked against besides its own ranges.</summary>
/// <param name="MaxClientRounds">The largest rounds × clients.</param>
/// <param name="Processors">The most threads or workers a run may ask for.</param>
/// <param name="MaxRunBytes">The largest estimated memory of a run (<c>--max-run-memory</c>).</param>
/// <param name="Estimate">The estimate of a valid spec on this service's data; null: no check that needs it.</param>
internal sealed record SpecLimits(long MaxClientRounds, int Processors, long MaxRunBytes, Func<ExperimentSpec, RunEstimate>? Estimate);
