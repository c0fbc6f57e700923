using System.Numerics;

namespace Verified.Simulation.Training;

/// <summary>Names one upload: the run's seed, the round and the client. The codec derives its rounding randomness from it.</summary>
/// <param name="Seed">The run seed.</param>
/// <param name="Round">The round, from 0.</param>
/// <param name="Client">The client, from 0.</param>
public readonly record struct UploadKey(long Seed, int Round, int Client);

/// <summary>
/// The up-link of one client's gradient to the server: the exact point where the codec sits.
/// </summary>
/// <remarks>
/// <para>A client's gradient arrives as a flat span (TorchSharp stays on this side of the boundary). The channel
/// carries it to the server, which adds <c>weight</c> × (what it received) into the running sum, and reports how many
/// bytes went over the wire. Implementations:</para>
/// <list type="bullet">
/// <item><see cref="FullPrecisionChannel"/>: float32 as is, 4·d bytes.</item>
/// <item><see cref="CodecChannel"/>: the client's <see cref="UploadEncoder"/> fits the gradient model, designs the
/// quantizer (Theory) and encodes with the <see cref="UploadKey"/>; the server's <see cref="UploadAggregator"/>
/// decode-accumulates the payload; the byte count is the payload's length.</item>
/// </list>
/// <para>Every call must be deterministic given its arguments, so that a run is reproducible from its seed.</para>
/// </remarks>
public interface IGradientChannel
{
    /// <summary>A short name for reports, e.g. <c>fp</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Carries <paramref name="gradient"/> to the server and adds <paramref name="weight"/> × the received gradient
    /// into <paramref name="sum"/>. Returns the number of bytes sent.
    /// </summary>
    /// <param name="gradient">The client's flat gradient, length d.</param>
    /// <param name="key">Which upload this is.</param>
    /// <param name="sum">The server's accumulator, length d.</param>
    /// <param name="weight">The client's weight in the average, 1/N for N equally weighted clients.</param>
    long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight);
}

/// <summary>Sends the gradient as raw float32: what the server adds is exactly the client's gradient, 4·d bytes.</summary>
public sealed class FullPrecisionChannel : IGradientChannel
{
    /// <inheritdoc />
    public string Name => "fp";

    /// <inheritdoc />
    public long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight)
    {
        if (gradient.Length != sum.Length)
        {
            throw new ArgumentException($"The gradient has {gradient.Length} values but the sum has {sum.Length}.", nameof(gradient));
        }
        // sum += weight·gradient, each lane rounded as the scalar loop would (multiply, then add; no fused
        // multiply-add), so the result does not depend on the vector width.
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = new Vector<float>(weight);
            for (; j <= gradient.Length - Vector<float>.Count; j += Vector<float>.Count)
            {
                var s = new Vector<float>(sum[j..]);
                (s + (w * new Vector<float>(gradient[j..]))).CopyTo(sum[j..]);
            }
        }
        for (; j < gradient.Length; j++)
        {
            sum[j] += weight * gradient[j];
        }
        return (long)sizeof(float) * gradient.Length;
    }
}
