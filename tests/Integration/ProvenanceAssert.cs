using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Verified.Codec;

namespace IntegrationTests;

/// <summary>The checks every provenance block must pass, wherever it is written.</summary>
internal static class ProvenanceAssert
{
    private static readonly ConcurrentDictionary<string, string> s_sha256 = new(StringComparer.Ordinal);

    private static readonly string[] s_paths = ["scalar", "v128", "v256", "v512"];

    /// <summary>SHA-256 of a file, computed here (not by the code under test), once per file.</summary>
    public static string Sha256(string path) =>
        s_sha256.GetOrAdd(Path.GetFullPath(path), static full =>
        {
            using FileStream stream = File.OpenRead(full);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });

    /// <summary>
    /// Every field is there with a plausible value: the tool's name and version, a 40-hex commit or "unknown", a
    /// command (its form is the caller's to check), UTC times in order within [<paramref name="notBefore"/>, <paramref name="notAfter"/>],
    /// <paramref name="dataFiles"/> with their sizes and SHA-256, this runtime, a TorchSharp version, a CPU, this
    /// machine's logical cores and the codec path a default codec runs.
    /// </summary>
    public static void Plausible(JsonElement provenance, IReadOnlyList<string> dataFiles, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        Assert.Equal("verified", provenance.GetProperty("tool").GetString());
        Assert.Matches(@"^\d+\.\d+\.\d+", provenance.GetProperty("version").GetString());
        Assert.Matches("^([0-9a-f]{40}|unknown)$", provenance.GetProperty("commit").GetString());
        Assert.True(provenance.GetProperty("uncommittedChanges").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.False(string.IsNullOrWhiteSpace(provenance.GetProperty("command").GetString())); // each caller checks its own

        DateTimeOffset started = Time(provenance.GetProperty("startedAt"));
        DateTimeOffset ended = Time(provenance.GetProperty("endedAt"));
        Assert.True(notBefore <= started && started <= ended && ended <= notAfter, $"{notBefore:O} ≤ {started:O} ≤ {ended:O} ≤ {notAfter:O}");

        JsonElement[] files = [.. provenance.GetProperty("dataFiles").EnumerateArray()];
        Assert.Equal(dataFiles.Select(Path.GetFullPath), files.Select(f => f.GetProperty("path").GetString()));
        foreach (JsonElement file in files)
        {
            string path = file.GetProperty("path").GetString()!;
            Assert.Equal(new FileInfo(path).Length, file.GetProperty("bytes").GetInt64());
            Assert.Equal(Sha256(path), file.GetProperty("sha256").GetString());
        }

        Assert.Equal(RuntimeInformation.FrameworkDescription, provenance.GetProperty("runtime").GetString());
        Version torchSharp = typeof(TorchSharp.torch).Assembly.GetName().Version!;
        Assert.Equal(torchSharp.ToString(3), provenance.GetProperty("torchSharp").GetString());
        Assert.False(string.IsNullOrWhiteSpace(provenance.GetProperty("cpu").GetString()));
        Assert.Equal(Environment.ProcessorCount, provenance.GetProperty("logicalCores").GetInt32());
        Assert.Contains(provenance.GetProperty("codecPath").GetString(), s_paths);
        Assert.Equal(CodecPaths.Name(CodecPaths.Default()), provenance.GetProperty("codecPath").GetString());
        Assert.True(provenance.TryGetProperty("threads", out _) && provenance.TryGetProperty("workers", out _));
    }

    /// <summary>An ISO 8601 time in UTC (offset zero).</summary>
    private static DateTimeOffset Time(JsonElement element)
    {
        string text = element.GetString()!;
        DateTimeOffset time = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
        Assert.Equal(TimeSpan.Zero, time.Offset);
        return time;
    }
}
