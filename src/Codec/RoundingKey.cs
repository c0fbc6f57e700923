using System.Runtime.CompilerServices;

namespace Verified.Codec;

/// <summary>
/// The key of one upload's stochastic rounding: (seed, round, client). Together with the coordinate index j it fixes
/// the uniform draw u_j, so an encoding is a pure function of (gradient, design, key) and can be replayed byte for byte.
/// </summary>
/// <param name="Seed">The run's seed.</param>
/// <param name="Round">The training round t (any value; only its 32 bits matter).</param>
/// <param name="Client">The client i (any value; only its 32 bits matter).</param>
/// <remarks>
/// <para>The generator is counter based (docs/wire-format.md, "Stochastic rounding"):</para>
/// <code>
/// z  = SplitMix64(SplitMix64(seed) ^ ((ulong)(uint)round &lt;&lt; 32 | (uint)client))
/// k0 = low 32 bits of z, k1 = high 32 bits of z
/// h  = fmix32(fmix32(j ^ k0) ^ k1)          // MurmurHash3's 32-bit finaliser, twice
/// u_j = (h &gt;&gt; 8) · 2^−24                    // 24 bits, exactly representable in float32, u ∈ [0, 1)
/// </code>
/// <para>Every operation is on 32-bit lanes, so the scalar and the vector kernels compute the same u_j whatever the
/// vector width, chunking or thread count.</para>
/// </remarks>
public readonly record struct RoundingKey(ulong Seed, int Round, int Client)
{
    /// <summary>The first 32-bit word mixed into every coordinate's counter.</summary>
    internal uint K0 => (uint)Mixed();

    /// <summary>The second 32-bit word, mixed in between the two finaliser rounds.</summary>
    internal uint K1 => (uint)(Mixed() >> 32);

    /// <summary>u_j ∈ [0, 1) for coordinate <paramref name="index"/>: the scalar reference of the vector kernels.</summary>
    public float Uniform(int index) => UniformFromBits(Bits24(K0, K1, (uint)index));

    /// <summary>The 24 random bits of coordinate <paramref name="index"/> under the words (k0, k1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Bits24(uint k0, uint k1, uint index) => Finalize(Finalize(index ^ k0) ^ k1) >> 8;

    /// <summary>(bits) · 2^−24, exact in float32 for bits &lt; 2^24.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float UniformFromBits(uint bits24) => (int)bits24 * Scale24;

    /// <summary>2^−24.</summary>
    internal const float Scale24 = 1.0f / (1 << 24);

    /// <summary>MurmurHash3's fmix32: a bijection of 32-bit words with full avalanche.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Finalize(uint h)
    {
        unchecked
        {
            h ^= h >> 16;
            h *= 0x85EBCA6B;
            h ^= h >> 13;
            h *= 0xC2B2AE35;
            h ^= h >> 16;
            return h;
        }
    }

    private ulong Mixed() =>
        SplitMix64(SplitMix64(Seed) ^ (((ulong)(uint)Round << 32) | (uint)Client));

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): one step of its output function.</summary>
    internal static ulong SplitMix64(ulong x)
    {
        unchecked
        {
            ulong z = x + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
