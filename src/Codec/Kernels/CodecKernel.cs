using System.Runtime.Intrinsics;

namespace Verified.Codec.Kernels;

/// <summary>
/// One kernel path as an object: the entry points a <see cref="GradientCodec"/> calls, one call per range of
/// coordinates. <see cref="CodecKernelFactory"/> picks the instance once, when the codec is created.
/// </summary>
/// <remarks>
/// A virtual call per span, never per coordinate: each override forwards to a static kernel
/// (<see cref="ScalarKernel"/> or the <see cref="VectorKernel{TIsa, TF, TI, TU}"/> driver of one width), whose loops
/// the JIT compiles per width with every lane step inlined. The instances hold no state, so one of each is shared by
/// every codec and thread.
/// </remarks>
internal abstract class CodecKernel
{
    /// <summary>The path this kernel implements.</summary>
    public abstract CodecPath Path { get; }

    /// <summary>Whether this CPU and runtime can run the kernel.</summary>
    public abstract bool IsSupported { get; }

    /// <summary>Σ g² in the canonical order of docs/wire-format.md (<see cref="ScalarKernel.SumOfSquares"/>).</summary>
    public abstract double SumOfSquares(ReadOnlySpan<float> gradient);

    /// <summary>Truncated schemes over [start, end); returns the largest |g| bit pattern (<see cref="ScalarKernel"/>).</summary>
    public abstract uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed);

    /// <summary>QSGD and NUQSGD over [start, end): |g|·(1/‖v‖) rounded on the magnitude grid, sign in the top bit.</summary>
    public abstract uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed);

    /// <summary>One bit per coordinate over [start, end): set when g ≥ 0.</summary>
    public abstract uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed);

    /// <summary>The float32 values of [start, end), little endian.</summary>
    public abstract uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed);

    /// <summary>
    /// The float32 values of the whole vector, with the packed bytes' CRC-32C appended to <paramref name="crc"/>:
    /// here a copy and then the checksum; a path that can fold as it copies overrides it to read memory once.
    /// </summary>
    public virtual uint EncodeFullChecksummed(ReadOnlySpan<float> gradient, Span<byte> packed, ref uint crc)
    {
        uint max = EncodeFull(gradient, 0, gradient.Length, packed);
        crc = Crc32C.Append(crc, packed[..(4 * gradient.Length)]);
        return max;
    }

    /// <summary>destination[j] = table[code_j] (<paramref name="accumulate"/>: destination[j] += table[code_j]).</summary>
    public abstract void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate);

    /// <summary>Bernoulli's keep bitmap (clear on entry) and values for d coordinates; returns the values written
    /// (reference: <see cref="SparseCodec.EncodeBernoulli"/>).</summary>
    public abstract int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values);

    /// <summary>rand-k's keep bitmap (clear on entry) and values for d coordinates; returns the values written, k
    /// (reference: <see cref="SparseCodec.EncodeRandK(ReadOnlySpan{float}, int, bool, int, uint, uint, Span{byte}, Span{byte})"/>).</summary>
    public abstract int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values);

    /// <summary>A validated sparse payload's body into <paramref name="destination"/> (reference: <see cref="SparseCodec.DecodeScalar"/>).</summary>
    public abstract void DecodeSparse(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight);
}

/// <summary>The plain loops of <see cref="ScalarKernel"/>: the reference, and the fallback on every CPU.</summary>
internal sealed class ScalarCodecKernel : CodecKernel
{
    public static ScalarCodecKernel Instance { get; } = new();

    private ScalarCodecKernel()
    {
    }

    public override CodecPath Path => CodecPath.Scalar;

    public override bool IsSupported => true;

    public override double SumOfSquares(ReadOnlySpan<float> gradient) => ScalarKernel.SumOfSquares(gradient);

    public override uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        ScalarKernel.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed);

    public override uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        ScalarKernel.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    public override uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        ScalarKernel.EncodeSign(gradient, start, end, packed);

    public override uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        ScalarKernel.EncodeFull(gradient, start, end, packed);

    public override void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate)
    {
        // Two loops rather than a flag tested per coordinate: the reference stays the plainest possible code.
        if (accumulate)
        {
            ScalarKernel.DecodeAccumulate(packed, bits, start, end, table, destination);
        }
        else
        {
            ScalarKernel.Decode(packed, bits, start, end, table, destination);
        }
    }

    public override int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseCodec.EncodeBernoulli(gradient, 0, dimension, zeros, threshold, keepProbability, k0, k1, bitmap, values, 0);

    public override int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseCodec.EncodeRandK(gradient, dimension, zeros, kept, k0, k1, bitmap, values);

    public override void DecodeSparse(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight) =>
        SparseCodec.DecodeScalar(header, body, destination, accumulate, weight);
}

/// <summary>4 lanes: <see cref="Vector128Kernel"/>.</summary>
internal sealed class Vector128CodecKernel : CodecKernel
{
    public static Vector128CodecKernel Instance { get; } = new();

    private Vector128CodecKernel()
    {
    }

    public override CodecPath Path => CodecPath.Vector128;

    public override bool IsSupported => Vector128Kernel.IsSupported;

    public override double SumOfSquares(ReadOnlySpan<float> gradient) => Vector128Kernel.SumOfSquares(gradient);

    public override uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector128Kernel.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed);

    public override uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector128Kernel.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    public override uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Vector128Kernel.EncodeSign(gradient, start, end, packed);

    public override uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Vector128Kernel.EncodeFull(gradient, start, end, packed);

    public override void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate) =>
        Vector128Kernel.Decode(packed, bits, start, end, table, destination, accumulate);

    public override int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseVectorKernel<Vector128Isa, Vector128<float>, Vector128<int>, Vector128<uint>>.EncodeBernoulli(gradient, dimension, zeros, threshold, keepProbability, k0, k1, bitmap, values);

    public override int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseVectorKernel<Vector128Isa, Vector128<float>, Vector128<int>, Vector128<uint>>.EncodeRandK(gradient, dimension, zeros, kept, k0, k1, bitmap, values);

    public override void DecodeSparse(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight) =>
        SparseVectorKernel<Vector128Isa, Vector128<float>, Vector128<int>, Vector128<uint>>.Decode(header, body, destination, accumulate, weight);
}

/// <summary>8 lanes: <see cref="Vector256Kernel"/>.</summary>
internal sealed class Vector256CodecKernel : CodecKernel
{
    public static Vector256CodecKernel Instance { get; } = new();

    private Vector256CodecKernel()
    {
    }

    public override CodecPath Path => CodecPath.Vector256;

    public override bool IsSupported => Vector256Kernel.IsSupported;

    public override double SumOfSquares(ReadOnlySpan<float> gradient) => Vector256Kernel.SumOfSquares(gradient);

    public override uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector256Kernel.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed);

    public override uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector256Kernel.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    public override uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Vector256Kernel.EncodeSign(gradient, start, end, packed);

    public override uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Vector256Kernel.EncodeFull(gradient, start, end, packed);

    public override void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate) =>
        Vector256Kernel.Decode(packed, bits, start, end, table, destination, accumulate);

    public override int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseVectorKernel<Vector256Isa, Vector256<float>, Vector256<int>, Vector256<uint>>.EncodeBernoulli(gradient, dimension, zeros, threshold, keepProbability, k0, k1, bitmap, values);

    public override int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseVectorKernel<Vector256Isa, Vector256<float>, Vector256<int>, Vector256<uint>>.EncodeRandK(gradient, dimension, zeros, kept, k0, k1, bitmap, values);

    public override void DecodeSparse(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight) =>
        SparseVectorKernel<Vector256Isa, Vector256<float>, Vector256<int>, Vector256<uint>>.Decode(header, body, destination, accumulate, weight);
}

/// <summary>16 lanes (AVX-512F/BW): <see cref="Vector512Kernel"/>.</summary>
internal sealed class Vector512CodecKernel : CodecKernel
{
    public static Vector512CodecKernel Instance { get; } = new();

    private Vector512CodecKernel()
    {
    }

    public override CodecPath Path => CodecPath.Vector512;

    public override bool IsSupported => Vector512Kernel.IsSupported;

    public override double SumOfSquares(ReadOnlySpan<float> gradient) => Vector512Kernel.SumOfSquares(gradient);

    public override uint EncodeTruncated(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector512Kernel.EncodeTruncated(gradient, start, end, table, k0, k1, counterBase, packed);

    public override uint EncodeNormScaled(ReadOnlySpan<float> gradient, int start, int end, LevelTable table, float inverseNorm, uint k0, uint k1, uint counterBase, Span<byte> packed) =>
        Vector512Kernel.EncodeNormScaled(gradient, start, end, table, inverseNorm, k0, k1, counterBase, packed);

    public override uint EncodeSign(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Vector512Kernel.EncodeSign(gradient, start, end, packed);

    public override uint EncodeFull(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed) =>
        Vector512Kernel.EncodeFull(gradient, start, end, packed);

    public override uint EncodeFullChecksummed(ReadOnlySpan<float> gradient, Span<byte> packed, ref uint crc) =>
        Vector512Kernel.EncodeFullChecksummed(gradient, packed, ref crc);

    public override void Decode(ReadOnlySpan<byte> packed, int bits, int start, int end, ReadOnlySpan<float> table, Span<float> destination, bool accumulate) =>
        Vector512Kernel.Decode(packed, bits, start, end, table, destination, accumulate);

    public override int EncodeBernoulli(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, uint threshold, double keepProbability, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseVectorKernel<Vector512Isa, Vector512<float>, Vector512<int>, Vector512<uint>>.EncodeBernoulli(gradient, dimension, zeros, threshold, keepProbability, k0, k1, bitmap, values);

    public override int EncodeRandK(
        ReadOnlySpan<float> gradient, int dimension, bool zeros, int kept, uint k0, uint k1, Span<byte> bitmap, Span<byte> values) =>
        SparseVectorKernel<Vector512Isa, Vector512<float>, Vector512<int>, Vector512<uint>>.EncodeRandK(gradient, dimension, zeros, kept, k0, k1, bitmap, values);

    public override void DecodeSparse(in PayloadHeader header, ReadOnlySpan<byte> body, Span<float> destination, bool accumulate, float weight) =>
        SparseVectorKernel<Vector512Isa, Vector512<float>, Vector512<int>, Vector512<uint>>.Decode(header, body, destination, accumulate, weight);
}
