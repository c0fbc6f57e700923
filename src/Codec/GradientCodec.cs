using System.Collections.Immutable;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Verified.Codec.Kernels;
using Verified.Theory;

namespace Verified.Codec;

/// <summary>
/// Encodes a gradient with a Theory design into a compact, self-describing payload, and decodes payloads back
/// (docs/wire-format.md). Span based; the encode, decode and decode-accumulate hot paths allocate nothing.
/// </summary>
/// <remarks>
/// <para>Encoding is a pure function of (gradient, design, key): the stochastic rounding of coordinate j uses a
/// uniform that depends only on (key, j) (<see cref="RoundingKey"/>), so every <see cref="CodecPath"/>, chunking and
/// thread count gives the same bytes.</para>
/// <para>The design must be one <see cref="Quantizers.Design"/> returns (directly or through <see cref="Designs"/>):
/// the decoder rebuilds the levels from the header with that function.</para>
/// <threadsafety>An instance is safe to use from several threads at once; it holds only caches.</threadsafety>
/// </remarks>
public sealed partial class GradientCodec
{
    private readonly ConditionalWeakTable<QuantizerDesign, LevelTable> _tables = [];

    // Chosen once here; the hot paths call it per range and never look at the path again.
    private readonly CodecKernel _kernel;

    /// <summary>Creates a codec with default options (best path or <c>VERIFIED_CODEC_PATH</c>, one thread).</summary>
    public GradientCodec()
        : this(new CodecOptions())
    {
    }

    /// <summary>Creates a codec with the given options.</summary>
    public GradientCodec(CodecOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _kernel = CodecKernelFactory.Create(options.Path ?? CodecPaths.Default());
        Designs = new CodecDesignCache(options.DesignCacheCapacity);
    }

    /// <summary>The options this codec was created with.</summary>
    public CodecOptions Options { get; }

    /// <summary>The kernel path this codec runs.</summary>
    public CodecPath Path => _kernel.Path;

    /// <summary>The design cache: encoders may take their designs from it; the decoder rebuilds levels through it.</summary>
    public CodecDesignCache Designs { get; }

    /// <summary>
    /// The size in bytes of an encoded vector: the 60-byte header plus ceil(d·b/8), with b the scheme's wire bits
    /// (<see cref="WireBits"/>), exact for every scheme but Bernoulli, whose length depends on how many coordinates the
    /// key keeps: for it this is the worst case 60 + ceil(d/8) + 4d (rand-k: exactly 60 + ceil(d/8) + 4k).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">d &lt; 0, rand-k's k &gt; d, or the payload would exceed 2 GiB.</exception>
    public static int GetMaxEncodedLength(QuantizerSpec spec, int dimension)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        long total = spec is SparsifierSpec sparsifier
            ? SparseCodec.MaxEncodedLength(sparsifier, dimension)
            : PayloadHeader.Size + WireFormat.PackedLength(dimension, WireBits(spec));
        if (total > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, string.Create(
                CultureInfo.InvariantCulture, $"A {spec.Name} payload of {dimension} coordinates would take {total} bytes, more than one span can hold."));
        }
        return (int)total;
    }

    /// <summary>
    /// The header's bits byte: the spec's b (sign bit included for QSGD/NUQSGD), 1 for sign, 32 for full precision, and
    /// 32 for the sparsifiers, the width of one kept value (their payload is a bitmap plus values, not d·b bits).
    /// </summary>
    public static int WireBits(QuantizerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec is SparsifierSpec ? SparseCodec.WireBits : spec.BitsPerCoordinate;
    }

    /// <summary>Encodes <paramref name="gradient"/> into <paramref name="destination"/>.</summary>
    /// <returns><c>false</c> (and nothing written) when the destination is shorter than <see cref="GetMaxEncodedLength(QuantizerSpec, int)"/>.</returns>
    /// <exception cref="ArgumentException">A coordinate is NaN or ±∞ (the message names the first), or the design is unusable.</exception>
    public bool TryEncode(ReadOnlySpan<float> gradient, QuantizerDesign design, RoundingKey key, Span<byte> destination, out int bytesWritten) =>
        TryEncodeCore(gradient, design, key, destination, out bytesWritten, chunkLength: 0, coordinateBase: 0);

    /// <summary>Encodes <paramref name="gradient"/> into <paramref name="destination"/> and returns the bytes written.</summary>
    /// <exception cref="ArgumentException">The destination is too short (the message gives both lengths), a coordinate is not finite, or the design is unusable.</exception>
    public int Encode(ReadOnlySpan<float> gradient, QuantizerDesign design, RoundingKey key, Span<byte> destination)
    {
        if (!TryEncode(gradient, design, key, destination, out int written))
        {
            CodecThrow.ArgumentException_DestinationTooShort(nameof(destination), GetMaxEncodedLength(design.Spec, gradient.Length), destination.Length);
        }
        return written;
    }

    /// <summary>Encodes <paramref name="gradient"/> into a new array of exactly the payload's length.</summary>
    public byte[] Encode(ReadOnlySpan<float> gradient, QuantizerDesign design, RoundingKey key)
    {
        ArgumentNullException.ThrowIfNull(design);
        var payload = new byte[GetMaxEncodedLength(design.Spec, gradient.Length)];
        int written = Encode(gradient, design, key, payload);
        if (written < payload.Length)
        {
            Array.Resize(ref payload, written);
        }
        return payload;
    }

    /// <summary>
    /// Writes the payload of an all-zero vector of <paramref name="dimension"/> coordinates for a spec whose model could
    /// not be fitted (a zero gradient has no scale): header scale 0, model none, all indices 0. It decodes to zeros.
    /// The sparsifiers need no model: for them this is the ordinary encoding of d zeros under the key (0, 0, 0).
    /// </summary>
    /// <returns>The bytes written.</returns>
    public static int EncodeZero(QuantizerSpec spec, int dimension, Span<byte> destination)
    {
        int total = GetMaxEncodedLength(spec, dimension);
        if (destination.Length < total)
        {
            CodecThrow.ArgumentException_DestinationTooShort(nameof(destination), total, destination.Length);
        }
        if (spec is SparsifierSpec sparsifier)
        {
            // Static, so no codec's path: the fastest one (every path writes the same bytes).
            RoundingKey zeroKey = default;
            return SparseCodec.Encode([], dimension, zeros: true, sparsifier, zeroKey.K0, zeroKey.K1, destination, CodecKernelFactory.Create(CodecPaths.Best));
        }
        WireScheme scheme = WireFormat.SchemeOf(spec);
        Span<byte> payload = destination[..total];
        payload[PayloadHeader.Size..].Clear();
        var header = new PayloadHeader(
            PayloadHeader.CurrentVersion, scheme, WireBits(spec), WireFormat.ThresholdOf(spec), WireModel.None, dimension,
            total - PayloadHeader.Size, scheme == WireScheme.FullPrecision ? 1 : 0, 0, 0, 0, 0, 0, 0);
        WireFormat.Write(payload, header);
        WireFormat.Seal(payload);
        return total;
    }

    /// <summary>Reads and validates a payload's header, its length and its checksum.</summary>
    /// <exception cref="CodecFormatException">The payload is truncated, corrupted, of another version, or inconsistent.</exception>
    public static PayloadHeader ReadHeader(ReadOnlySpan<byte> payload) => WireFormat.Read(payload);

    /// <summary>Decodes a payload into <paramref name="destination"/>, whose length must be the payload's dimension.</summary>
    /// <exception cref="CodecFormatException">The payload is not valid (the message says why).</exception>
    /// <exception cref="ArgumentException">The destination's length differs from the dimension (both are named).</exception>
    public void Decode(ReadOnlySpan<byte> payload, Span<float> destination)
    {
        if (SegmentedFormat.IsSegmented(payload))
        {
            DecodeSegmented(payload, destination, accumulate: false, weight: 1);
            return;
        }
        PayloadHeader header = WireFormat.Read(payload, out bool valuesChecked);
        if (destination.Length != header.Dimension)
        {
            CodecThrow.ArgumentException_WrongLength(nameof(destination), header.Dimension, destination.Length);
        }
        DecodeCore(header, payload[PayloadHeader.Size..], destination, accumulate: false, weight: 1, valuesChecked);
    }

    /// <summary>Decodes a payload into a new array.</summary>
    public float[] Decode(ReadOnlySpan<byte> payload)
    {
        if (SegmentedFormat.IsSegmented(payload))
        {
            var values = new float[SegmentedFormat.ReadContainer(payload).Dimension];
            DecodeSegmented(payload, values, accumulate: false, weight: 1);
            return values;
        }
        PayloadHeader header = WireFormat.Read(payload, out bool valuesChecked);
        var result = new float[header.Dimension];
        DecodeCore(header, payload[PayloadHeader.Size..], result, accumulate: false, weight: 1, valuesChecked);
        return result;
    }

    /// <summary>
    /// sum[j] += weight · decode(payload)[j], fused (server-side averaging: weight = 1/N). The result is bit-identical to
    /// decoding and then adding weight·value in float32 (sparsifiers: the coordinates a payload does not keep are left
    /// untouched, so a −0 in the sum stays −0 instead of becoming −0 + 0 = +0).
    /// </summary>
    /// <exception cref="CodecFormatException">The payload is not valid.</exception>
    /// <exception cref="ArgumentException">The sum's length differs from the dimension, or the weight is not finite.</exception>
    public void DecodeAccumulate(ReadOnlySpan<byte> payload, Span<float> sum, float weight)
    {
        if (!float.IsFinite(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, string.Create(CultureInfo.InvariantCulture, $"weight = {weight} is out of range: it must be finite."));
        }
        if (SegmentedFormat.IsSegmented(payload))
        {
            DecodeSegmented(payload, sum, accumulate: true, weight);
            return;
        }
        PayloadHeader header = WireFormat.Read(payload, out bool valuesChecked);
        if (sum.Length != header.Dimension)
        {
            CodecThrow.ArgumentException_WrongLength(nameof(sum), header.Dimension, sum.Length);
        }
        DecodeCore(header, payload[PayloadHeader.Size..], sum, accumulate: true, weight, valuesChecked);
    }

    /// <summary>
    /// The value every index of a payload decodes to: for inspection and tests. Empty for full precision and the
    /// sparsifiers, which send values rather than indices.
    /// </summary>
    /// <exception cref="CodecFormatException">The levels cannot be rebuilt from the header.</exception>
    public ImmutableArray<float> DecodedLevels(in PayloadHeader header)
    {
        if (header.Scheme == WireScheme.FullPrecision || header.IsSparse)
        {
            return [];
        }
        Span<float> table = stackalloc float[256];
        BuildTable(header, table, 1);
        return [.. table[..(1 << header.Bits)]];
    }

    /// <summary>
    /// Writes the value each index of a payload decodes to into <paramref name="destination"/> and returns how many
    /// there are, 2^b (0 for full precision and the sparsifiers). Does not allocate once the levels are cached.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is shorter than 2^b.</exception>
    /// <exception cref="CodecFormatException">The levels cannot be rebuilt from the header.</exception>
    public int DecodedLevels(in PayloadHeader header, Span<float> destination)
    {
        if (header.Scheme == WireScheme.FullPrecision || header.IsSparse)
        {
            return 0;
        }
        int count = 1 << header.Bits;
        if (destination.Length < count)
        {
            CodecThrow.ArgumentException_DestinationTooShort(nameof(destination), count, destination.Length);
        }
        Span<float> table = stackalloc float[256];
        BuildTable(header, table, 1);
        table[..count].CopyTo(destination);
        return count;
    }

    /// <summary>
    /// The encoder with an explicit chunk length (a multiple of 8; 0 = automatic): chunked output equals whole output.
    /// <paramref name="coordinateBase"/> is the global index of <paramref name="gradient"/>[0]: 0 for a whole vector, a
    /// segment's first coordinate in a version-3 payload. Coordinate j draws the uniform of counter coordinateBase + j,
    /// and error messages name coordinateBase + j.
    /// </summary>
    internal bool TryEncodeCore(ReadOnlySpan<float> gradient, QuantizerDesign design, RoundingKey key, Span<byte> destination, out int bytesWritten, int chunkLength, int coordinateBase = 0)
    {
        ArgumentNullException.ThrowIfNull(design);
        QuantizerSpec spec = design.Spec;
        WireScheme scheme = WireFormat.SchemeOf(spec);
        int bits = WireBits(spec);
        int total = GetMaxEncodedLength(spec, gradient.Length);
        if (destination.Length < total)
        {
            bytesWritten = 0;
            return false;
        }
        if (spec is SparsifierSpec sparsifier)
        {
            // Sequential by nature (rand-k's selection depends on the count so far, the values' offsets on the
            // prefix popcount), so one thread and no chunks, on this codec's path; the bytes do not depend on either.
            bytesWritten = SparseCodec.Encode(gradient, gradient.Length, zeros: false, sparsifier, key.K0, key.K1, destination, _kernel);
            return true;
        }
        Span<byte> payload = destination[..total];
        Span<byte> packed = payload[PayloadHeader.Size..];
        var job = new EncodeJob { Scheme = scheme, K0 = key.K0, K1 = key.K1, CounterBase = (uint)coordinateBase };
        float scale = 1;
        bool ran = true;
        switch (scheme)
        {
            case WireScheme.FullPrecision:
                break;
            case WireScheme.Sign:
                scale = (float)design.Levels[^1];
                if (!(scale > 0) || !float.IsFinite(scale))
                {
                    CodecThrow.ArgumentException_Design(nameof(design), string.Create(CultureInfo.InvariantCulture, $"The sign design's magnitude m = {design.Levels[^1]} is not a finite float32 > 0."));
                }
                break;
            case WireScheme.Qsgd or WireScheme.Nuqsgd:
                job.Table = TableFor(design);
                double sumOfSquares = _kernel.SumOfSquares(gradient);
                if (!double.IsFinite(sumOfSquares))
                {
                    ThrowFirstNonFinite(gradient, coordinateBase);
                }
                scale = RoundUpToSingle(Math.Sqrt(sumOfSquares));
                if (!float.IsFinite(scale))
                {
                    CodecThrow.ArgumentException_Design(nameof(gradient), string.Create(CultureInfo.InvariantCulture, $"‖v‖₂ = {Math.Sqrt(sumOfSquares):G6} does not fit in the float32 norm field."));
                }
                ran = scale > 0;
                job.InverseNorm = ran ? (float)(1.0 / scale) : 0;
                break;
            default:
                job.Table = TableFor(design);
                break;
        }
        if (scheme == WireScheme.FullPrecision && chunkLength <= 0 && !RunsInParallel(gradient.Length))
        {
            // Its header does not depend on the values, so it goes first and the kernel checksums the values as it
            // copies them: the payload is read once instead of twice (Vector512Kernel.EncodeFullChecksummed).
            WireFormat.Write(payload, HeaderFor(design, scheme, bits, gradient.Length, total, scale));
            uint crc = Crc32C.Compute(payload[..PayloadHeader.ChecksumOffset]);
            if (_kernel.EncodeFullChecksummed(gradient, packed, ref crc) >= 0x7F800000u)
            {
                ThrowFirstNonFinite(gradient, coordinateBase);
            }
            WireFormat.StoreChecksum(payload, crc);
            bytesWritten = total;
            return true;
        }
        uint max = ran ? Run(gradient, packed, job, chunkLength) : 0;
        if (max >= 0x7F800000u)
        {
            ThrowFirstNonFinite(gradient, coordinateBase);
        }
        if (max == 0 && scheme != WireScheme.FullPrecision)
        {
            // All zero (±0): a zero-scale header and zero indices decode to exactly zero for every scheme.
            packed.Clear();
            scale = 0;
        }
        WireFormat.Write(payload, HeaderFor(design, scheme, bits, gradient.Length, total, scale));
        WireFormat.Seal(payload);
        bytesWritten = total;
        return true;
    }

    private static PayloadHeader HeaderFor(QuantizerDesign design, WireScheme scheme, int bits, int dimension, int total, float scale) =>
        new(
            PayloadHeader.CurrentVersion,
            scheme,
            bits,
            WireFormat.ThresholdOf(design.Spec),
            WireFormat.IsTruncated(scheme) ? WireFormat.ModelOf(design.Model) : WireModel.None,
            dimension,
            total - PayloadHeader.Size,
            scale,
            WireFormat.IsTruncated(scheme) ? design.Alpha : 0,
            WireFormat.IsTruncated(scheme) ? design.Model.Scale : 0,
            WireFormat.IsTruncated(scheme) ? design.Model.TailShape ?? 0 : 0,
            design.Split?.InnerCells ?? 0,
            design.Split?.Beta ?? 0,
            0);

    private LevelTable TableFor(QuantizerDesign design) =>
        _tables.TryGetValue(design, out LevelTable? table) ? table : _tables.GetValue(design, static d => LevelTable.ForDesign(d));

    /// <summary>The largest float32 ≥ the value's rounding: ‖v‖ rounded up, so that |g|/‖v‖ ≤ 1 before the clamp.</summary>
    private static float RoundUpToSingle(double value)
    {
        float rounded = (float)value;
        return rounded < value ? MathF.BitIncrement(rounded) : rounded;
    }

    private unsafe uint Run(ReadOnlySpan<float> gradient, Span<byte> packed, in EncodeJob job, int chunkLength)
    {
        int length = gradient.Length;
        if (chunkLength <= 0)
        {
            if (RunsInParallel(length))
            {
                return RunParallel(gradient, packed, job);
            }
            return EncodeRange(gradient, 0, length, packed, job);
        }
        uint max = 0;
        for (int start = 0; start < length; start += chunkLength)
        {
            max = Math.Max(max, EncodeRange(gradient, start, Math.Min(length, start + chunkLength), packed, job));
        }
        return max;
    }

    private bool RunsInParallel(int length) => Options.MaxDegreeOfParallelism > 1 && length >= Options.ParallelMinimumLength;

    private unsafe uint RunParallel(ReadOnlySpan<float> gradient, Span<byte> packed, EncodeJob job)
    {
        int length = gradient.Length;
        int chunk = Options.ParallelChunkLength;
        int chunks = (int)(((long)length + chunk - 1) / chunk);
        var maxima = new uint[chunks];
        fixed (float* source = gradient)
        fixed (byte* destination = packed)
        {
            float* sourcePointer = source;
            byte* destinationPointer = destination;
            int packedLength = packed.Length;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism }, i =>
            {
                int start = i * chunk;
                int end = (int)Math.Min(length, (long)start + chunk);
                maxima[i] = EncodeRange(new ReadOnlySpan<float>(sourcePointer, length), start, end, new Span<byte>(destinationPointer, packedLength), job);
            });
        }
        return maxima.Max();
    }

    private uint EncodeRange(ReadOnlySpan<float> gradient, int start, int end, Span<byte> packed, in EncodeJob job) => job.Scheme switch
    {
        WireScheme.FullPrecision => _kernel.EncodeFull(gradient, start, end, packed),
        WireScheme.Sign => _kernel.EncodeSign(gradient, start, end, packed),
        WireScheme.Qsgd or WireScheme.Nuqsgd => _kernel.EncodeNormScaled(gradient, start, end, job.Table!, job.InverseNorm, job.K0, job.K1, job.CounterBase, packed),
        _ => _kernel.EncodeTruncated(gradient, start, end, job.Table!, job.K0, job.K1, job.CounterBase, packed),
    };

    private void DecodeCore(in PayloadHeader header, ReadOnlySpan<byte> packed, Span<float> destination, bool accumulate, float weight, bool valuesChecked = false)
    {
        if (header.IsSparse)
        {
            SparseCodec.Decode(header, packed, destination, accumulate, weight, _kernel);
            return;
        }
        if (header.Scheme == WireScheme.FullPrecision)
        {
            DecodeFull(packed, destination, accumulate, weight, valuesChecked);
            return;
        }
        if (header.IsAllZero)
        {
            if (!accumulate)
            {
                destination.Clear();
            }
            return;
        }
        Span<float> table = stackalloc float[256];
        BuildTable(header, table, weight);
        if (Options.MaxDegreeOfParallelism > 1 && header.Dimension >= Options.ParallelMinimumLength)
        {
            DecodeParallel(packed, header.Bits, header.Dimension, table, destination, accumulate);
            return;
        }
        _kernel.Decode(packed, header.Bits, 0, header.Dimension, table, destination, accumulate);
    }

    /// <summary>
    /// Decodes (or decode-accumulates) coordinates [0, d) in chunks of <see cref="CodecOptions.ParallelChunkLength"/>
    /// on up to <see cref="CodecOptions.MaxDegreeOfParallelism"/> threads. Every coordinate's value depends only on its
    /// own code and the table, and chunks start at multiples of 16 coordinates (2b whole bytes), so the result is the
    /// single-threaded one bit for bit (<c>CodecPathProperties</c>).
    /// </summary>
    private unsafe void DecodeParallel(ReadOnlySpan<byte> packed, int bits, int dimension, ReadOnlySpan<float> table, Span<float> destination, bool accumulate)
    {
        int chunk = Options.ParallelChunkLength;
        int chunks = (int)(((long)dimension + chunk - 1) / chunk);
        fixed (byte* packedStart = packed)
        fixed (float* tableStart = table)
        fixed (float* destinationStart = destination)
        {
            byte* packedPointer = packedStart;
            float* tablePointer = tableStart;
            float* destinationPointer = destinationStart;
            int packedLength = packed.Length;
            int tableLength = table.Length;
            CodecKernel kernel = _kernel;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism }, i =>
            {
                int start = i * chunk;
                int end = (int)Math.Min(dimension, (long)start + chunk);
                kernel.Decode(
                    new ReadOnlySpan<byte>(packedPointer, packedLength), bits, start, end, new ReadOnlySpan<float>(tablePointer, tableLength),
                    new Span<float>(destinationPointer, dimension), accumulate);
            });
        }
    }

    private static void DecodeFull(ReadOnlySpan<byte> packed, Span<float> destination, bool accumulate, float weight, bool valuesChecked)
    {
        ReadOnlySpan<float> values = MemoryMarshal.Cast<byte, float>(packed);
        if (!valuesChecked && FirstNonFinite(values) is int j and >= 0)
        {
            CodecThrow.Format(string.Create(CultureInfo.InvariantCulture, $"Coordinate {j} of the full-precision payload is {values[j]}: an encoder never writes a non-finite value."));
        }
        if (!accumulate)
        {
            values.CopyTo(destination);
            return;
        }
        // sum += weight·value, multiply then add in every lane as in the scalar tail (no fused multiply-add), so the
        // result does not depend on the vector width.
        var w = new Vector<float>(weight);
        int k = 0;
        for (; k <= values.Length - Vector<float>.Count; k += Vector<float>.Count)
        {
            (new Vector<float>(destination[k..]) + (w * new Vector<float>(values[k..]))).CopyTo(destination[k..]);
        }
        for (; k < values.Length; k++)
        {
            destination[k] += weight * values[k];
        }
    }

    /// <summary>The index of the first NaN or ±∞ value, or −1.</summary>
    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        // Non-finite ⇔ all exponent bits set. Checked a vector at a time (the server decodes 4·d bytes per client
        // per round at full precision); the scalar scan runs only to name the first bad coordinate.
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(values);
        var exponent = new Vector<uint>(0x7F800000u);
        int j = 0;
        for (; j <= bits.Length - Vector<uint>.Count; j += Vector<uint>.Count)
        {
            if (Vector.EqualsAny(new Vector<uint>(bits[j..]) & exponent, exponent))
            {
                break;
            }
        }
        for (; j < values.Length; j++)
        {
            if (!float.IsFinite(values[j]))
            {
                return j;
            }
        }
        return -1;
    }

    /// <summary>table[code] = the decoded value of each code, times <paramref name="weight"/> (one float32 product).</summary>
    private void BuildTable(in PayloadHeader header, Span<float> table, float weight)
    {
        table.Clear();
        switch (header.Scheme)
        {
            case WireScheme.Sign:
                table[0] = weight * -header.Scale;
                table[1] = weight * header.Scale;
                return;
            case WireScheme.Qsgd or WireScheme.Nuqsgd:
                {
                    ImmutableArray<double> magnitudes = Designs.LevelsFor(header);
                    int half = 1 << (header.Bits - 1);
                    double norm = header.Scale;
                    for (int level = 0; level < half; level++)
                    {
                        float value = (float)(magnitudes[level] * norm);
                        table[level] = weight * value;
                        table[level + half] = weight * -value;
                    }
                    return;
                }
            default:
                {
                    ImmutableArray<double> levels = header.IsAllZero ? [] : Designs.LevelsFor(header);
                    for (int code = 0; code < levels.Length; code++)
                    {
                        table[code] = weight * (float)(levels[code] * header.Scale);
                    }
                    return;
                }
        }
    }

    private static void ThrowFirstNonFinite(ReadOnlySpan<float> gradient, int coordinateBase)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            if (!float.IsFinite(gradient[j]))
            {
                CodecThrow.ArgumentException_NotFinite(nameof(gradient), coordinateBase + j, gradient[j]);
            }
        }
    }

    private struct EncodeJob
    {
        public WireScheme Scheme;
        public LevelTable? Table;
        public float InverseNorm;
        public uint K0;
        public uint K1;
        public uint CounterBase;
    }
}
