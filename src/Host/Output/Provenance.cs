using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Verified.Codec;
using Verified.Simulation;
using Verified.Simulation.Data;

namespace Verified.Host;

/// <summary>
/// Where a result came from, so that a summary.json, an audit report or a stored service run can be traced to the
/// build, input data and machine that made it. The one record for all three (<c>provenance</c> in each).
/// </summary>
/// <param name="Tool">Always <c>verified</c>.</param>
/// <param name="Version">The tool's version (the part of its informational version before '+').</param>
/// <param name="Commit">The git commit the tool was built from (40 hex digits), or <c>unknown</c> for a build
/// without a repository or git.</param>
/// <param name="Command">The command line (<c>verified run --model mlp …</c>), or for the service the request and
/// the run's spec as JSON.</param>
/// <param name="StartedAt">When the work started (UTC).</param>
/// <param name="EndedAt">When it ended, or when this record was last written for work still going on (UTC); null
/// for a service run that has not ended.</param>
/// <param name="DataFiles">Every data file the work read, with its size and SHA-256.</param>
/// <param name="Runtime">The .NET runtime (<see cref="RuntimeInformation.FrameworkDescription"/>).</param>
/// <param name="TorchSharp">The TorchSharp version the build trains with.</param>
/// <param name="Cpu">The CPU's model name (from /proc/cpuinfo), or the process architecture where that is unknown.</param>
/// <param name="LogicalCores">Logical cores this process may use.</param>
/// <param name="CodecPath">The codec's kernel path (scalar, v128, v256, v512): every path writes the same bytes,
/// but it sets the codec's speed.</param>
/// <param name="Threads">libtorch intra-op threads (<c>--threads</c>); null where the work has no such setting.</param>
/// <param name="Workers">Client threads (<c>--workers</c>); null where the work has no such setting.</param>
internal sealed record Provenance(
    string Tool,
    string Version,
    string Commit,
    string Command,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    ProvenanceFile[] DataFiles,
    string Runtime,
    string TorchSharp,
    string Cpu,
    int LogicalCores,
    string CodecPath,
    int? Threads,
    int? Workers)
{
    /// <summary>
    /// The later invocations that continued this work (<c>verified run --resume DIR</c>), oldest first; null (and not
    /// written) for work done in one go. The fields above stay the first invocation's: its command, start, build and
    /// machine; each resume says its own.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public ProvenanceResume[]? Resumes { get; init; }

    /// <summary>
    /// Whether the build's working tree had tracked files that differ from <see cref="Commit"/>: then the work did not
    /// run that commit's code exactly (a build made before its changes were committed).
    /// </summary>
    public bool UncommittedChanges { get; init; }

    /// <summary>The value of <see cref="Commit"/> for a build that did not know its commit.</summary>
    public const string UnknownCommit = "unknown";

    private static readonly Lazy<(string Version, string Commit, bool Dirty)> s_build = new(ReadBuild);

    private static readonly Lazy<string> s_cpu = new(ReadCpu);

    /// <summary>
    /// The provenance of work that started at <paramref name="startedAt"/> and read <paramref name="dataFiles"/>
    /// (hashed once per process, <see cref="FileDigests"/>); <see cref="EndedAt"/> is left null.
    /// </summary>
    /// <exception cref="IOException">A data file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">A data file cannot be read.</exception>
    public static Provenance Capture(string command, DateTimeOffset startedAt, IEnumerable<string> dataFiles, int? threads = null, int? workers = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(dataFiles);
        (string version, string commit, bool dirty) = s_build.Value;
        return new Provenance(
            "verified",
            version,
            commit,
            command,
            startedAt.ToUniversalTime(),
            null,
            [.. dataFiles.Select(ProvenanceFile.Read)],
            RuntimeInformation.FrameworkDescription,
            TorchSharpInfo.Version,
            s_cpu.Value,
            Environment.ProcessorCount,
            KernelPath(),
            threads,
            workers)
        {
            UncommittedChanges = dirty,
        };
    }

    /// <summary>This record with <see cref="EndedAt"/> set to <paramref name="endedAt"/> (in UTC).</summary>
    public Provenance EndingAt(DateTimeOffset endedAt) => this with { EndedAt = endedAt.ToUniversalTime() };

    /// <summary>Whether <paramref name="commit"/> is a full git commit id: 40 lower-case hex digits.</summary>
    public static bool IsCommit(string commit) =>
        commit is { Length: 40 } && commit.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>The lines report.md shows, one per field (Markdown list items).</summary>
    public IEnumerable<string> MarkdownLines()
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        yield return $"- tool: {Tool} {Version}, commit `{Commit}`{(UncommittedChanges ? " (built with uncommitted changes)" : "")}";
        yield return $"- command: `{Command}`";
        yield return string.Create(invariant, $"- started: {StartedAt:O}, ended: {(EndedAt is { } ended ? ended.ToString("O", invariant) : "–")}");
        foreach (ProvenanceFile file in DataFiles)
        {
            yield return string.Create(invariant, $"- data file: `{file.Path}`, {file.Bytes} bytes, SHA-256 `{file.Sha256}`");
        }
        yield return $"- runtime: {Runtime}, TorchSharp {TorchSharp}";
        yield return string.Create(invariant, $"- machine: {Cpu}, {LogicalCores} logical cores, codec path {CodecPath}");
        yield return $"- threads: {(Threads is { } t ? t.ToString(invariant) : "–")}, workers: {(Workers is { } w ? w.ToString(invariant) : "–")}";
    }

    private static (string Version, string Commit, bool Dirty) ReadBuild() =>
        ParseBuild(typeof(Provenance).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "");

    /// <summary>
    /// The version, commit and dirty flag of an informational version as the build writes it, "0.1.0+&lt;commit&gt;" or
    /// "0.1.0+&lt;commit&gt;.dirty" (the version is VersionPrefix of Directory.Build.props; src/Host/Verified.Host.csproj
    /// makes sure the part after '+' is there, "unknown" at worst); anything else after the '+' is an unknown commit.
    /// </summary>
    internal static (string Version, string Commit, bool Dirty) ParseBuild(string informational)
    {
        ArgumentNullException.ThrowIfNull(informational);
        const string DirtySuffix = ".dirty";
        int plus = informational.IndexOf('+', StringComparison.Ordinal);
        string version = plus >= 0 ? informational[..plus] : informational;
        string commit = plus >= 0 ? informational[(plus + 1)..] : "";
        bool dirty = commit.EndsWith(DirtySuffix, StringComparison.Ordinal);
        if (dirty)
        {
            commit = commit[..^DirtySuffix.Length];
        }
        return IsCommit(commit)
            ? (version.Length > 0 ? version : "unknown", commit, dirty)
            : (version.Length > 0 ? version : "unknown", UnknownCommit, false);
    }

    private static string ReadCpu()
    {
        const string Key = "model name";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0 && line[..colon].Trim() == Key && line[(colon + 1)..].Trim() is { Length: > 0 } model)
                    {
                        return model;
                    }
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Unreadable: the architecture below still says something true.
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The path a codec created without options runs: the VERIFIED_CODEC_PATH override, or the best.</summary>
    private static string KernelPath()
    {
        try
        {
            return CodecPaths.Name(CodecPaths.Default());
        }
        catch (InvalidOperationException exception)
        {
            // A bad override fails every codec this process makes; the record says why instead of naming a path.
            return $"invalid: {exception.Message}";
        }
    }
}

/// <summary>One <c>verified run --resume</c> of the work a <see cref="Provenance"/> describes.</summary>
/// <param name="Command">The resuming command line.</param>
/// <param name="StartedAt">When it started (UTC).</param>
/// <param name="Version">Its tool version.</param>
/// <param name="Commit">Its build's commit (or <c>unknown</c>): a resume may run a rebuilt tool of the same version.</param>
/// <param name="Cpu">The CPU it ran on.</param>
/// <param name="Run">The run it continued, as label and seed (<c>tnq-3 seed 1</c>).</param>
/// <param name="FromRound">The checkpoint round it continued from (0: that run started over).</param>
internal sealed record ProvenanceResume(string Command, DateTimeOffset StartedAt, string Version, string Commit, string Cpu, string Run, int FromRound)
{
    /// <summary>Whether its build had uncommitted changes (<see cref="Provenance.UncommittedChanges"/>).</summary>
    public bool UncommittedChanges { get; init; }

    /// <summary>This process resuming <paramref name="run"/> from <paramref name="fromRound"/>.</summary>
    public static ProvenanceResume Capture(string command, DateTimeOffset startedAt, string run, int fromRound)
    {
        Provenance self = Provenance.Capture(command, startedAt, []);
        return new ProvenanceResume(command, self.StartedAt, self.Version, self.Commit, self.Cpu, run, fromRound) { UncommittedChanges = self.UncommittedChanges };
    }
}

/// <summary>A data file of <see cref="Provenance"/>: its full path, size in bytes and lower-case hex SHA-256.</summary>
internal sealed record ProvenanceFile(string Path, long Bytes, string Sha256)
{
    /// <summary>Names and hashes the file at <paramref name="path"/>.</summary>
    public static ProvenanceFile Read(string path)
    {
        var file = new FileInfo(path);
        return new ProvenanceFile(file.FullName, file.Length, FileDigests.Sha256Hex(file.FullName));
    }
}
