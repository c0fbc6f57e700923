using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verified.Host.Service;

/// <summary>
/// Source-generated metadata for the API's own records, with the web defaults (camelCase) the API has always used.
/// First in the HTTP JSON resolver chain, and named on every direct Serialize call (the server-sent events), so the
/// API's records are never serialized by reflection. Non-finite figures are already null in these records
/// (<see cref="RoundRow.From"/>, <see cref="RunOutcome.From"/>), so they need no converter.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RunResource))]
[JsonSerializable(typeof(RunList))]
[JsonSerializable(typeof(RoundRow))]
[JsonSerializable(typeof(IEnumerable<RoundRow>))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(Provenance))]
[JsonSerializable(typeof(SpecForm))]
internal sealed partial class ServiceJsonContext : JsonSerializerContext;
