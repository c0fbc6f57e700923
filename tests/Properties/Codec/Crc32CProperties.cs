using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Codec;

namespace PropertyTests.Codec;

/// <summary>
/// CRC-32C: every implementation this machine runs (the folds, the <c>crc32</c> stream, the dispatching
/// <see cref="Crc32C.Append"/>) equals the bitwise table at every length, alignment and starting state, and composes.
/// </summary>
public class Crc32CProperties
{
    private delegate uint AppendMethod(uint crc, ReadOnlySpan<byte> data);

    /// <summary>Random bytes shared by every case; a case picks an offset (alignment) and a length inside them.</summary>
    private static readonly byte[] s_bytes = RandomBytes(MaximumLength + 64, 20260115);

    private const int MaximumLength = 300_000;

    private static IEnumerable<(string Name, AppendMethod Append)> Methods()
    {
        yield return ("dispatch", Crc32C.Append);
        if (Crc32C.IsInstructionSupported)
        {
            yield return ("crc32 instruction", Crc32C.AppendInstruction);
        }
        if (Crc32C.IsFold128Supported)
        {
            yield return ("fold128", Crc32C.AppendFold128);
        }
        if (Crc32C.IsFold512Supported)
        {
            yield return ("fold512", Crc32C.AppendFold512);
        }
    }

    /// <summary>Any length up to 300 KB, or one within 2 bytes of a whole number of 16-, 64- or 256-byte blocks.</summary>
    private static Gen<int> Lengths() =>
        Gen.OneOf(
            Gen.Choose(0, MaximumLength),
            from blocks in Gen.Choose(0, 40)
            from block in Gen.Elements(16, 64, 256, 4096)
            from delta in Gen.Choose(-2, 2)
            select Math.Clamp(blocks * block + delta, 0, MaximumLength));

    [Fact]
    public void Crc32C_MatchesTheCastagnoliCheckValue_OnEveryMethod()
    {
        foreach ((string name, AppendMethod append) in Methods())
        {
            Assert.True(append(0, "123456789"u8) == 0xE3069283u, name);
            Assert.True(append(0, []) == 0u, name);
        }
    }

    [Fact]
    public void EveryMethodThisMachineHas_IsTested()
    {
        // The suite compares whatever the CPU has; on an x64 machine with AVX-512 that is all four methods.
        Assert.Equal(1 + (Crc32C.IsInstructionSupported ? 1 : 0) + (Crc32C.IsFold128Supported ? 1 : 0) + (Crc32C.IsFold512Supported ? 1 : 0), Methods().Count());
    }

    [Fact]
    public void EveryMethod_EqualsTheTable_ForEveryLengthTo1100AtEveryAlignment()
    {
        // Covers each fold's threshold, its main loop's first and second iteration, and every 16/64-byte tail.
        for (int offset = 0; offset < 64; offset++)
        {
            for (int length = 0; length <= 1100; length++)
            {
                ReadOnlySpan<byte> data = s_bytes.AsSpan(offset, length);
                uint crc = (uint)(offset * 0x9E3779B1u + (uint)length);
                uint expected = Crc32C.AppendTable(crc, data);
                foreach ((string name, AppendMethod append) in Methods())
                {
                    uint actual = append(crc, data);
                    Assert.True(actual == expected, $"{name}: offset {offset}, length {length}: {actual:X8}, table {expected:X8}.");
                }
            }
        }
    }

    [Property(MaxTest = 200)]
    public Property EveryMethod_EqualsTheTable_ForRandomLengthsAlignmentsAndStates() =>
        Prop.ForAll(
            (from length in Lengths()
             from offset in Gen.Choose(0, 63)
             from crc in Gen.Choose(int.MinValue, int.MaxValue)
             select (Length: length, Offset: offset, Crc: (uint)crc)).ToArbitrary(),
            c =>
            {
                uint expected = Crc32C.AppendTable(c.Crc, s_bytes.AsSpan(c.Offset, c.Length));
                return Methods().All(method => method.Append(c.Crc, s_bytes.AsSpan(c.Offset, c.Length)) == expected)
                    .Label($"length {c.Length}, offset {c.Offset}, crc {c.Crc:X8}: table {expected:X8}, "
                        + string.Join(", ", Methods().Select(m => $"{m.Name} {m.Append(c.Crc, s_bytes.AsSpan(c.Offset, c.Length)):X8}")));
            });

    [Property(MaxTest = 200)]
    public Property Append_Composes_AtRandomSplitPoints() =>
        Prop.ForAll(
            (from length in Lengths()
             from offset in Gen.Choose(0, 63)
             from count in Gen.Choose(0, 6)
             from splits in Gen.ArrayOf(Gen.Choose(0, length), count)
             select (Length: length, Offset: offset, Splits: splits)).ToArbitrary(),
            c =>
            {
                ReadOnlySpan<byte> data = s_bytes.AsSpan(c.Offset, c.Length);
                uint whole = Crc32C.Compute(data);
                int[] cuts = [0, .. c.Splits.Order(), c.Length];
                return Methods().All(method =>
                    {
                        uint crc = 0;
                        for (int i = 1; i < cuts.Length; i++)
                        {
                            crc = method.Append(crc, s_bytes.AsSpan(c.Offset + cuts[i - 1], cuts[i] - cuts[i - 1]));
                        }
                        return crc == whole;
                    })
                    .Label($"length {c.Length}, offset {c.Offset}, cuts {string.Join(' ', cuts)}");
            });

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
