using System.Runtime.InteropServices;

namespace Verified.Host.Cluster;

/// <summary>
/// float32 vectors (θ, residuals, audit vectors) as they cross the cluster: raw little-endian bytes. Orleans copies a
/// <c>byte[]</c> onto the wire as one block; a <c>float[]</c> cost about a quarter more bytes (the default CNN on 3
/// local silos: 42.5 against 28.8–34.6 MB of loopback traffic per round, 2.0–2.3 against 2.5–2.8 rounds/s; docs/cluster.md).
/// </summary>
internal static class FloatWire
{
    /// <summary>The bytes of <paramref name="values"/> (a fresh array: the message owns it).</summary>
    /// <exception cref="PlatformNotSupportedException">This machine is big-endian: the wire format is little-endian.</exception>
    public static byte[] ToBytes(ReadOnlySpan<float> values)
    {
        ThrowIfBigEndian();
        return MemoryMarshal.AsBytes(values).ToArray();
    }

    /// <summary>The floats in <paramref name="bytes"/>, without a copy.</summary>
    /// <exception cref="InvalidDataException">The length is not a multiple of 4.</exception>
    public static ReadOnlySpan<float> AsFloats(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ThrowIfBigEndian();
        return bytes.Length % sizeof(float) == 0
            ? MemoryMarshal.Cast<byte, float>(bytes)
            : throw new InvalidDataException($"A float32 vector arrived as {bytes.Length} bytes, not a multiple of 4: silo and client run different builds.");
    }

    /// <summary>The floats in <paramref name="bytes"/>, as an array of their own.</summary>
    public static float[] ToFloats(byte[] bytes) => AsFloats(bytes).ToArray();

    private static void ThrowIfBigEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Verified's cluster sends float32 vectors as little-endian bytes; this machine is big-endian.");
        }
    }
}
