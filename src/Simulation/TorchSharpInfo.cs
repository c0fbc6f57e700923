using System.Reflection;

namespace Verified.Simulation;

/// <summary>
/// The TorchSharp this build trains with, for reports' provenance: TorchSharp stays inside this project, so the host
/// asks here instead of referencing it.
/// </summary>
public static class TorchSharpInfo
{
    /// <summary>
    /// The TorchSharp package version (its informational version without build metadata, e.g. <c>0.107.0</c>), or
    /// the assembly version when the informational one is absent.
    /// </summary>
    public static string Version { get; } = Read(typeof(TorchSharp.torch).Assembly);

    private static string Read(Assembly assembly)
    {
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrWhiteSpace(informational))
        {
            int plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus >= 0 ? informational[..plus] : informational;
        }
        return assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
