using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Verified.Codec.Kernels;

/// <summary>
/// Packs and unpacks groups of 8 b-bit codes: 8 codes, one per byte of a ulong, ↔ the 8·b-bit little-endian group
/// (b whole bytes). BMI2's <c>pext</c>/<c>pdep</c> do it in one instruction; the portable loop is the fallback.
/// </summary>
/// <remarks>
/// <code>
/// codes (one per byte):  00000hhh 00000ggg 00000fff 00000eee 00000ddd 00000ccc 00000bbb 00000aaa
/// lane mask (b = 3):     00000111 00000111 …  = 0x0707070707070707
/// group = pext(codes, mask) = hhhgggfffeeedddcccbbbaaa   (24 bits = 3 bytes, code 0 in the low bits)
/// </code>
/// </remarks>
internal static class BitPacking
{
    /// <summary>b low bits set in every byte.</summary>
    public static ulong LaneMask(int bits) => 0x0101010101010101UL * (ulong)((1 << bits) - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack8(ulong codes, int bits, ulong laneMask)
    {
        if (Bmi2.X64.IsSupported)
        {
            return Bmi2.X64.ParallelBitExtract(codes, laneMask);
        }
        ulong group = 0;
        ulong mask = (1UL << bits) - 1;
        for (int i = 0; i < 8; i++)
        {
            group |= ((codes >> (8 * i)) & mask) << (bits * i);
        }
        return group;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Unpack8(ulong group, int bits, ulong laneMask)
    {
        if (Bmi2.X64.IsSupported)
        {
            return Bmi2.X64.ParallelBitDeposit(group, laneMask);
        }
        ulong codes = 0;
        ulong mask = (1UL << bits) - 1;
        for (int i = 0; i < 8; i++)
        {
            codes |= ((group >> (bits * i)) & mask) << (8 * i);
        }
        return codes;
    }

    /// <summary>
    /// Stores the b bytes of a group at <paramref name="destination"/>. With <paramref name="wide"/> it stores 8 bytes
    /// (the caller guarantees they stay inside its own range; the next group overwrites the extra ones).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref byte destination, ulong group, int bits, bool wide)
    {
        if (wide)
        {
            Unsafe.WriteUnaligned(ref destination, group);
            return;
        }
        for (int i = 0; i < bits; i++)
        {
            Unsafe.Add(ref destination, i) = (byte)(group >> (8 * i));
        }
    }

    /// <summary>Loads the b bytes of a group; <paramref name="wide"/> means 8 bytes are readable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Load(ref byte source, int bits, bool wide)
    {
        if (wide)
        {
            ulong value = Unsafe.ReadUnaligned<ulong>(ref source);
            return bits == 8 ? value : value & ((1UL << (8 * bits)) - 1);
        }
        ulong group = 0;
        for (int i = 0; i < bits; i++)
        {
            group |= (ulong)Unsafe.Add(ref source, i) << (8 * i);
        }
        return group;
    }
}
