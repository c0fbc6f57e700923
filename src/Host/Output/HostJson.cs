using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Verified.Host.Audit;
using Verified.Host.Cli;
using Verified.Host.Runs;

namespace Verified.Host;

/// <summary>
/// The JSON the CLI prints and the reports write: typed records serialized by the source-generated
/// <see cref="HostJsonContext"/>, camelCase, indented, with <see cref="FiniteOrNullConverter"/> for every double.
/// </summary>
internal static class HostJson
{
    /// <summary>
    /// The context every CLI and report serialization goes through. Built from explicit options (not the attribute's)
    /// because the encoder cannot be set in <see cref="JsonSourceGenerationOptionsAttribute"/>: the output is read by
    /// people in a terminal or a file, never embedded in HTML, so α, ρ̂, ≤ and + are written as themselves.
    /// </summary>
    public static HostJsonContext Context { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new FiniteOrNullConverter() },
    });

    /// <summary>Writes <paramref name="value"/> and a line break to <paramref name="output"/>.</summary>
    /// <remarks>Takes the type info rather than the type, so no call can fall back to reflection.</remarks>
    public static void WriteLine<T>(TextWriter output, T value, JsonTypeInfo<T> type) =>
        output.WriteLine(JsonSerializer.Serialize(value, type));

    /// <summary>
    /// Writes <paramref name="value"/> to <paramref name="path"/> through <see cref="AtomicFile"/>, so a reader (a second
    /// process, the user mid-run, a resume) never sees half a file.
    /// </summary>
    public static void WriteFile<T>(string path, T value, JsonTypeInfo<T> type) =>
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, value, type));
}

/// <summary>
/// JSON has no NaN or ∞: writes a non-finite double as null (a figure that is missing or undefined, e.g. α of a scheme
/// that does not truncate) and reads null back as NaN. The one converter of the host's JSON.
/// </summary>
internal sealed class FiniteOrNullConverter : JsonConverter<double>
{
    /// <inheritdoc />
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>Source-generated metadata for every record the host writes as JSON (no reflection, trimming-safe).</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(TheoryJson))]
[JsonSerializable(typeof(PayloadJson))]
[JsonSerializable(typeof(SegmentedPayloadJson))]
[JsonSerializable(typeof(BenchJson))]
[JsonSerializable(typeof(SdeJson))]
[JsonSerializable(typeof(AuditJson))]
[JsonSerializable(typeof(CaptureIndexJson))]
[JsonSerializable(typeof(SummaryJson))]
[JsonSerializable(typeof(RunManifestJson))]
[JsonSerializable(typeof(Provenance))]
internal sealed partial class HostJsonContext : JsonSerializerContext;
