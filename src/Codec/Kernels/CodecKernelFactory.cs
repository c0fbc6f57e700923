using System.Collections.Immutable;

namespace Verified.Codec.Kernels;

/// <summary>
/// The registry of kernel paths, slowest first, and the one place that turns a <see cref="CodecPath"/> into the kernel
/// a codec runs. <see cref="CodecPaths"/> reads its availability from here and adds the environment override.
/// </summary>
/// <remarks>
/// A <see cref="GradientCodec"/> calls <see cref="Create"/> once, in its constructor, and keeps the kernel: the hot
/// paths make one virtual call per range instead of switching on the path for every call. Model: Sep's
/// <c>SepParserFactory</c> (STYLE.md, example 10).
/// </remarks>
internal static class CodecKernelFactory
{
    /// <summary>Every kernel, indexed by <see cref="CodecPath"/> (scalar first), whether or not this CPU can run it.</summary>
    public static ImmutableArray<CodecKernel> Registered { get; } =
    [
        ScalarCodecKernel.Instance,
        Vector128CodecKernel.Instance,
        Vector256CodecKernel.Instance,
        Vector512CodecKernel.Instance,
    ];

    /// <summary>Whether <paramref name="path"/> names a kernel this CPU and runtime can run.</summary>
    public static bool IsSupported(CodecPath path) => Find(path) is { IsSupported: true };

    /// <summary>The kernel of <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The path is unknown or this CPU cannot run it.</exception>
    public static CodecKernel Create(CodecPath path) =>
        Find(path) is { IsSupported: true } kernel
            ? kernel
            : throw new ArgumentException(
                $"The {path} path is not available on this CPU (available: {string.Join(", ", CodecPaths.Available.Select(CodecPaths.Name))}).",
                nameof(path));

    private static CodecKernel? Find(CodecPath path) =>
        (uint)path < (uint)Registered.Length ? Registered[(int)path] : null;
}
