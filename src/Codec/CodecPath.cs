using System.Collections.Immutable;
using System.Runtime.Intrinsics;
using Verified.Codec.Kernels;

namespace Verified.Codec;

/// <summary>The kernel family a codec runs. Every path produces the same bytes; they differ only in speed.</summary>
public enum CodecPath
{
    /// <summary>Plain loops: the reference every other path is tested against.</summary>
    Scalar,

    /// <summary>4 lanes (needs AVX2 for its permutes and gathers).</summary>
    Vector128,

    /// <summary>8 lanes (AVX2).</summary>
    Vector256,

    /// <summary>16 lanes (AVX-512F and AVX-512BW).</summary>
    Vector512,
}

/// <summary>Which paths this machine can run, the fastest one, and the environment override.</summary>
/// <remarks>
/// <para>Set <c>VERIFIED_CODEC_PATH</c> to <c>scalar</c>, <c>v128</c>, <c>v256</c> or <c>v512</c> to force a path for
/// every codec created without an explicit <see cref="CodecOptions.Path"/> (for example to run a test suite per path).
/// A forced path the CPU lacks is an error, not a silent fallback.</para>
/// </remarks>
public static class CodecPaths
{
    /// <summary>The environment variable that forces a path.</summary>
    public const string EnvironmentVariable = "VERIFIED_CODEC_PATH";

    /// <summary>The paths this process can run, scalar first.</summary>
    public static ImmutableArray<CodecPath> Available { get; } = FindAvailable();

    /// <summary>The fastest available path: 512-bit vectors where the runtime accelerates them, else 256, 128, scalar.</summary>
    public static CodecPath Best { get; } =
        IsAvailable(CodecPath.Vector512) && Vector512.IsHardwareAccelerated ? CodecPath.Vector512
        : IsAvailable(CodecPath.Vector256) ? CodecPath.Vector256
        : IsAvailable(CodecPath.Vector128) ? CodecPath.Vector128
        : CodecPath.Scalar;

    /// <summary>Whether this CPU and runtime can run <paramref name="path"/>.</summary>
    public static bool IsAvailable(CodecPath path) => CodecKernelFactory.IsSupported(path);

    /// <summary>The path named by <c>VERIFIED_CODEC_PATH</c>, or <see cref="Best"/> when it is unset.</summary>
    /// <exception cref="InvalidOperationException">The variable names an unknown path or one this CPU cannot run.</exception>
    public static CodecPath Default()
    {
        // The one read of process state the pure core allows (src/BannedSymbols.txt bans the rest): the documented
        // override that lets CI run every suite per path without each caller, test and benchmark passing an option.
        // It picks only which of the byte-identical kernels runs, so no result depends on it.
#pragma warning disable RS0030 // Banned API: Environment (see above)
        string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
#pragma warning restore RS0030
        if (string.IsNullOrWhiteSpace(value))
        {
            return Best;
        }
        if (!TryParse(value, out CodecPath path))
        {
            throw new InvalidOperationException(
                $"{EnvironmentVariable} = '{value}' is not a codec path: use scalar, v128, v256 or v512.");
        }
        if (!IsAvailable(path))
        {
            throw new InvalidOperationException(
                $"{EnvironmentVariable} = '{value}' forces the {path} path, which this CPU cannot run (available: {string.Join(", ", Available.Select(Name))}).");
        }
        return path;
    }

    /// <summary>Parses scalar, v128, v256, v512 (or the enum names), ignoring case.</summary>
    public static bool TryParse(string text, out CodecPath path)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (text.Trim().ToUpperInvariant())
        {
            case "SCALAR":
                path = CodecPath.Scalar;
                return true;
            case "V128" or "VECTOR128":
                path = CodecPath.Vector128;
                return true;
            case "V256" or "VECTOR256":
                path = CodecPath.Vector256;
                return true;
            case "V512" or "VECTOR512":
                path = CodecPath.Vector512;
                return true;
            default:
                path = CodecPath.Scalar;
                return false;
        }
    }

    /// <summary>The short name: scalar, v128, v256 or v512.</summary>
    public static string Name(CodecPath path) => path switch
    {
        CodecPath.Vector128 => "v128",
        CodecPath.Vector256 => "v256",
        CodecPath.Vector512 => "v512",
        _ => "scalar",
    };

    private static ImmutableArray<CodecPath> FindAvailable() =>
        [.. CodecKernelFactory.Registered.Where(kernel => kernel.IsSupported).Select(kernel => kernel.Path)];
}

/// <summary>How a <see cref="GradientCodec"/> runs. Validated in <c>init</c>, so <c>with</c> cannot make it invalid.</summary>
public sealed record CodecOptions
{
    /// <summary>The kernel path; <c>null</c> means <see cref="CodecPaths.Default"/> (the environment override or the best).</summary>
    public CodecPath? Path
    {
        get;
        init
        {
            if (value is { } path && !CodecPaths.IsAvailable(path))
            {
                throw new ArgumentException(
                    $"The {path} path is not available on this CPU (available: {string.Join(", ", CodecPaths.Available.Select(CodecPaths.Name))}).",
                    nameof(Path));
            }
            field = value;
        }
    }

    /// <summary>
    /// Threads that may encode, decode or decode-accumulate one large quantized vector together (each segment of a
    /// segmented payload counts as a vector; full precision and the sparsifiers run on the caller's thread). Range: 1..256; default 1 (the
    /// caller's thread only). The bytes and values do not depend on it.
    /// </summary>
    public int MaxDegreeOfParallelism
    {
        get;
        init => field = value is >= 1 and <= 256
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), value, $"MaxDegreeOfParallelism = {value} is out of range: it must be an integer from 1 to 256.");
    } = 1;

    /// <summary>Designs the decoder keeps (least recently used are dropped). Range: 1..65536; default 64.</summary>
    public int DesignCacheCapacity
    {
        get;
        init => field = value is >= 1 and <= 65536
            ? value
            : throw new ArgumentOutOfRangeException(nameof(DesignCacheCapacity), value, $"DesignCacheCapacity = {value} is out of range: it must be an integer from 1 to 65536.");
    } = 64;

    /// <summary>Vectors shorter than this are encoded and decoded on one thread whatever <see cref="MaxDegreeOfParallelism"/> says.</summary>
    internal int ParallelMinimumLength { get; init; } = 1 << 18;

    /// <summary>Coordinates per parallel work item (a multiple of 16).</summary>
    internal int ParallelChunkLength { get; init; } = 1 << 16;
}
