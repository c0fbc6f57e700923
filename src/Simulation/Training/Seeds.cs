namespace Verified.Simulation.Training;

/// <summary>
/// Derives independent, reproducible seeds from one run seed, so that each .NET random stream (the data split, each
/// client's sampler) has its own and none depends on the order in which the others are used. libtorch's generator
/// takes the run seed itself.
/// </summary>
/// <remarks>SplitMix64 (Steele, Lea and Flood 2014) over (seed, stream, index): a pure function, no state.</remarks>
public static class Seeds
{
    /// <summary>The stream of the client partition.</summary>
    public const int PartitionStream = 1;

    /// <summary>The stream of client samplers (index = client).</summary>
    public const int SamplerStream = 2;

    /// <summary>The stream of dropout masks (one seed per round and client).</summary>
    public const int DropoutStream = 3;

    /// <summary>The stream of synthetic gradient noise (one seed per round and client; <see cref="GradientNoise"/>).</summary>
    public const int NoiseStream = 4;

    /// <summary>A 64-bit seed for <paramref name="stream"/>, <paramref name="index"/> of run <paramref name="seed"/>.</summary>
    public static ulong Derive(long seed, int stream, int index)
    {
        unchecked
        {
            ulong x = Mix((ulong)seed);
            x = Mix(x ^ (ulong)(uint)stream);
            return Mix(x ^ ((ulong)(uint)index << 32));
        }
    }

    /// <summary>A 64-bit seed for <paramref name="stream"/>, round <paramref name="round"/>, client <paramref name="client"/>.</summary>
    public static ulong Derive(long seed, int stream, int round, int client) =>
        Derive(unchecked((long)Derive(seed, stream, round)), stream, client);

    /// <summary>A <see cref="Random"/> seeded from <see cref="Derive(long, int, int)"/>.</summary>
    public static Random Random(long seed, int stream, int index) => new(unchecked((int)Derive(seed, stream, index)));

    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
