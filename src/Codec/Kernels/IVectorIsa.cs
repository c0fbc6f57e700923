using System.Runtime.Intrinsics;

namespace Verified.Codec.Kernels;

/// <summary>
/// What one vector width gives the generic driver <see cref="VectorKernel{TIsa, TF, TI, TU}"/>: loads, broadcasts,
/// compares and the few steps whose best instruction differs by width (table lookup, narrowing codes to bytes,
/// widening bytes to lanes). Implemented by <see cref="Vector128Isa"/>, <see cref="Vector256Isa"/> and
/// <see cref="Vector512Isa"/>; every member is a one-line, aggressively inlined wrapper, so the JIT compiles the driver
/// once per width into the same code as a hand-written kernel.
/// </summary>
/// <typeparam name="TF">The float vector (<c>VectorNNN&lt;float&gt;</c>).</typeparam>
/// <typeparam name="TI">The int vector of the same width (indices, codes, compare masks).</typeparam>
/// <typeparam name="TU">The uint vector of the same width (bit patterns, the counter-based hash).</typeparam>
/// <remarks>
/// The arithmetic is here too, not in operators: the vector types implement the generic-math operator interfaces only
/// through the runtime's internal <c>ISimdVector</c>, so a public constraint cannot name them. Compare results are
/// <typeparamref name="TI"/> masks (all ones = true), the form the driver adds, subtracts and ands.
/// </remarks>
internal unsafe interface IVectorIsa<TF, TI, TU>
    where TF : unmanaged
    where TI : unmanaged
    where TU : unmanaged
{
    /// <summary>source[index .. index + Lanes).</summary>
    static abstract TF Load(ref float source, int index);

    /// <summary>Lanes floats from a pinned table (the caller guarantees they are readable).</summary>
    static abstract TF Load(float* source);

    /// <summary>destination[index .. index + Lanes) = value.</summary>
    static abstract void Store(TF value, ref float destination, int index);

    static abstract TF Broadcast(float value);

    static abstract TI Broadcast(int value);

    static abstract TU Broadcast(uint value);

    /// <summary>(0, 1, …, lanes − 1).</summary>
    static abstract TU Indices { get; }

    static abstract TF Add(TF left, TF right);

    static abstract TF Subtract(TF left, TF right);

    static abstract TF Multiply(TF left, TF right);

    static abstract TI Add(TI left, TI right);

    static abstract TI Subtract(TI left, TI right);

    static abstract TI And(TI left, TI right);

    static abstract TI Or(TI left, TI right);

    static abstract TU Add(TU left, TU right);

    static abstract TU Multiply(TU left, TU right);

    static abstract TU And(TU left, TU right);

    static abstract TU Xor(TU left, TU right);

    static abstract TU ShiftRightLogical(TU value, int count);

    static abstract TU AsUInt32(TF value);

    static abstract TF AsSingle(TU value);

    static abstract TI AsInt32(TU value);

    /// <summary>minps: x86 semantics (the second operand when either is NaN), as the scalar path's clamp needs none.</summary>
    static abstract TF MinNative(TF left, TF right);

    /// <summary>maxps: x86 semantics, see <see cref="MinNative"/>.</summary>
    static abstract TF MaxNative(TF left, TF right);

    static abstract TU MaxUInt32(TU left, TU right);

    /// <summary>All ones in the lanes where left &lt; right.</summary>
    static abstract TI LessThan(TF left, TF right);

    /// <summary>value + 1 in the lanes where left &lt; right, value elsewhere. With AVX-512 a compare into a mask register
    /// and a masked add, where value − <see cref="LessThan"/> first turns the mask into a vector (vpmovm2d).</summary>
    static abstract TI IncrementWhereLess(TI value, TF left, TF right);

    /// <summary><paramref name="whereTrue"/> in the lanes where left &lt; right, else <paramref name="whereFalse"/>: with
    /// AVX-512 a compare into a mask register and a blend; a compare kept as a vector for <see cref="Select"/> costs a
    /// vpmovm2d more.</summary>
    static abstract TF SelectWhereLess(TF left, TF right, TF whereTrue, TF whereFalse);

    /// <summary>Signed int32 → float32 (exact for the 24-bit uniforms).</summary>
    static abstract TF ConvertToSingle(TI value);

    /// <summary>float32 → int32 by truncation; out-of-range and NaN lanes give whatever the CPU gives (callers clamp).</summary>
    static abstract TI ConvertToInt32Native(TF value);

    /// <summary>min(max(value, 0), last) per lane.</summary>
    static abstract TI Clamp(TI value, TI last);

    /// <summary>table[index] per lane from a table of int32 (indices already in range).</summary>
    static abstract TI Gather(int* table, TI index);

    /// <summary>table[index] per lane, for a table of <paramref name="size"/> floats whose first 2·Lanes are held in
    /// <paramref name="table0"/> and <paramref name="table1"/>: permutes while they hold it, a gather beyond.</summary>
    static abstract TF Lookup(TF table0, TF table1, float* table, int size, TI index);

    /// <summary>
    /// table[index] per lane, for a table of <paramref name="size"/> floats (a power of two, at least Lanes floats
    /// readable) and indices below size: permutes over the table's registers where the width allows it, a gather beyond.
    /// </summary>
    static abstract TF LookupTable(float* table, int size, TI index);

    /// <summary><paramref name="whereTrue"/> in the lanes where <paramref name="mask"/> is all ones, else <paramref name="whereFalse"/>.</summary>
    static abstract TF Select(TI mask, TF whereTrue, TF whereFalse);

    /// <summary>The largest lane.</summary>
    static abstract uint MaxAcross(TU value);

    /// <summary>Bit i set when lane i is ≥ 0 (−0 included, NaN excluded).</summary>
    static abstract ulong NonNegativeBits(TF value);

    /// <summary>
    /// The low byte of each code lane, in lane order, in the low bytes of the result: 8 bytes from two 4-lane vectors
    /// (<paramref name="second"/> is the upper half), 8 from one 8-lane vector, 16 from one 16-lane vector (the wider
    /// ones ignore <paramref name="second"/>).
    /// </summary>
    static abstract Vector128<byte> NarrowToBytes(TI first, TI second);

    /// <summary>The low Lanes bytes of <paramref name="codes"/>, zero-extended to int lanes.</summary>
    static abstract TI WidenBytes(Vector128<byte> codes);
}
