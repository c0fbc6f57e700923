using System.Buffers.Binary;
using System.Globalization;
using Verified.Theory;

namespace Verified.Codec;

/// <summary>The scheme byte of the wire format (offset 5).</summary>
public enum WireScheme : byte
{
    /// <summary>Raw float32 per coordinate (<see cref="Theory.FullPrecision"/>).</summary>
    FullPrecision = 0,

    /// <summary>QSGD: sign bit + (b − 1)-bit level index, levels {0, 1/s, …, 1}·‖v‖₂.</summary>
    Qsgd = 1,

    /// <summary>NUQSGD: sign bit + (b − 1)-bit level index, levels {0, 2^{1−s}, …, 1/2, 1}·‖v‖₂.</summary>
    Nuqsgd = 2,

    /// <summary>TUQSGD: b-bit index of 2^b uniform levels on [−α, α].</summary>
    TruncatedUniform = 3,

    /// <summary>TNQSGD: b-bit index of 2^b levels from λ_s ∝ p^{1/3} on [−α, α].</summary>
    TruncatedNonUniform = 4,

    /// <summary>TBQSGD: b-bit index of 2^b bi-scaled levels on [−α, α].</summary>
    TruncatedBiScaled = 5,

    /// <summary>Sign: 1 bit per coordinate, decoded as ±m.</summary>
    Sign = 6,

    /// <summary>Bernoulli sparsification (version 2): keep bitmap + the kept coordinates divided by q.</summary>
    Bernoulli = 7,

    /// <summary>rand-k (version 2): keep bitmap + the k kept coordinates times d/k.</summary>
    RandK = 8,
}

/// <summary>The threshold byte of the wire format (offset 7): how a truncated scheme chose α.</summary>
public enum WireThreshold : byte
{
    /// <summary>The scheme does not truncate.</summary>
    None = 0,

    /// <summary><see cref="Threshold.Optimal"/>.</summary>
    Optimal = 1,

    /// <summary><see cref="Threshold.Relaxed"/> (TUQSGD only).</summary>
    Relaxed = 2,

    /// <summary><see cref="Threshold.Fixed"/>: α is the header's α field.</summary>
    Fixed = 3,
}

/// <summary>The model byte of the wire format (offset 8): the gradient model the levels were designed for.</summary>
public enum WireModel : byte
{
    /// <summary>No model: the scheme's levels do not depend on one, or the vector is all zero.</summary>
    None = 0,

    /// <summary><see cref="Theory.Laplace"/>(scale).</summary>
    Laplace = 1,

    /// <summary><see cref="Theory.Lomax"/>(scale, shape).</summary>
    Lomax = 2,

    /// <summary><see cref="Theory.ParetoTail"/>(scale, shape).</summary>
    ParetoTail = 3,

    /// <summary><see cref="Theory.Gaussian"/>(scale).</summary>
    Gaussian = 4,
}

/// <summary>
/// The fixed 60-byte header of a payload, as read by <see cref="GradientCodec.ReadHeader"/>. Layout and rules in
/// docs/wire-format.md; every multi-byte field is little-endian.
/// </summary>
/// <param name="Version">Format version: 1 for schemes 0–6, 2 for the sparsifiers (a version-2 decoder also reads 0–6).</param>
/// <param name="Scheme">The scheme.</param>
/// <param name="Bits">Bits per coordinate b on the wire (32 for full precision, 1 for sign; 32 for the sparsifiers, the width of a kept value).</param>
/// <param name="Threshold">How α was chosen (truncated schemes).</param>
/// <param name="Model">The gradient model's family.</param>
/// <param name="Dimension">d, the number of coordinates.</param>
/// <param name="PayloadLength">Bytes after the header: ceil(d·b/8); sparsifiers: ceil(d/8) + 4·(values kept).</param>
/// <param name="Scale">QSGD/NUQSGD: ‖v‖₂; sign: m; truncated, full precision and sparsifiers: 1; 0 means an all-zero vector.</param>
/// <param name="Alpha">Truncated schemes: α of the design (the fixed α for <see cref="WireThreshold.Fixed"/>); Bernoulli: the
/// realised keep probability q (a multiple of 2^−24); rand-k: k; else 0.</param>
/// <param name="ModelScale">The model's scale (γ, σ, g₀ or σ); 0 without a model.</param>
/// <param name="ModelShape">The power-law models' ρ; 0 otherwise.</param>
/// <param name="InnerCells">TBQSGD: n_in, the cells of its inner region; 0 otherwise.</param>
/// <param name="Beta">TBQSGD: β, the edge of its inner region; 0 otherwise.</param>
/// <param name="Checksum">CRC-32C of header bytes 0..55 followed by the packed payload.</param>
public readonly record struct PayloadHeader(
    int Version,
    WireScheme Scheme,
    int Bits,
    WireThreshold Threshold,
    WireModel Model,
    int Dimension,
    int PayloadLength,
    float Scale,
    double Alpha,
    double ModelScale,
    double ModelShape,
    int InnerCells,
    double Beta,
    uint Checksum)
{
    /// <summary>Header size in bytes.</summary>
    public const int Size = 60;

    /// <summary>The version written for schemes 0–6 (fp … sign): their payloads are unchanged since version 1.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The version written for the sparsifiers (schemes 7 and 8), which version 2 added.</summary>
    public const int SparseVersion = 2;

    /// <summary>The highest version this decoder reads (it reads 1 and 2).</summary>
    public const int MaximumVersion = SparseVersion;

    /// <summary>The magic bytes "VFQC" at offset 0.</summary>
    public static ReadOnlySpan<byte> Magic => "VFQC"u8;

    internal const int ChecksumOffset = 56;

    /// <summary>Smallest model scale and α a payload may carry: float32 levels need room below them.</summary>
    public const double MinimumScale = 1e-30;

    /// <summary>Largest model scale and α a payload may carry.</summary>
    public const double MaximumScale = 1e30;

    /// <summary>
    /// Largest power-law shape ρ a payload may carry. Beyond it Lomax(σ, ρ) is Laplace(σ/ρ) to within 0.1%, and Theory's
    /// design no longer finishes in bounded time (measured: ρ = 10^4 runs for minutes), so a decoder must not try.
    /// </summary>
    public const double MaximumShape = 1000;

    /// <summary>Header plus payload: the exact size of the encoded upload in bytes.</summary>
    public int TotalLength => Size + PayloadLength;

    /// <summary>Whether the payload decodes to the all-zero vector (scale 0; not used by full precision and the sparsifiers).</summary>
    public bool IsAllZero => Scheme is not (WireScheme.FullPrecision or WireScheme.Bernoulli or WireScheme.RandK) && Scale == 0;

    /// <summary>Whether the payload is a sparsifier's (bitmap + values) rather than packed codes.</summary>
    public bool IsSparse => Scheme is WireScheme.Bernoulli or WireScheme.RandK;

    /// <summary>Sparsifiers: the number of float32 values after the bitmap; others: d.</summary>
    public int ValueCount => IsSparse ? (PayloadLength - (int)(((long)Dimension + 7) >> 3)) / 4 : Dimension;

    /// <summary>s, the number of intervals between the levels the indices address (0 for full precision).</summary>
    public int Intervals => Scheme switch
    {
        WireScheme.FullPrecision or WireScheme.Bernoulli or WireScheme.RandK => 0,
        WireScheme.Sign => 1,
        WireScheme.Qsgd or WireScheme.Nuqsgd => (1 << (Bits - 1)) - 1,
        _ => (1 << Bits) - 1,
    };

    /// <summary>The scheme's name in the vocabulary (<see cref="SchemeDefinition.Name"/>; sign and usign share one byte).</summary>
    public string SchemeName => WireFormat.SchemeName(Scheme);

    /// <summary>Rebuilds the Theory spec the payload was encoded with (sign: the mean-absolute one; a unit sign is the
    /// same payload with scale 1; Bernoulli: q as realised, a multiple of 2^−24).</summary>
    public QuantizerSpec ToSpec() => Scheme switch
    {
        WireScheme.FullPrecision => new FullPrecision(),
        WireScheme.Sign => new Sign(),
        WireScheme.Bernoulli => new BernoulliSparsification(Alpha),
        WireScheme.RandK => new RandKSparsification((int)Alpha),
        WireScheme.Qsgd => new Qsgd(Bits),
        WireScheme.Nuqsgd => new Nuqsgd(Bits),
        WireScheme.TruncatedUniform => new TruncatedUniform(Bits, ToThreshold()),
        WireScheme.TruncatedNonUniform => new TruncatedNonUniform(Bits, ToThreshold()),
        _ => new TruncatedBiScaled(Bits, ToThreshold()),
    };

    /// <summary>Rebuilds the Theory model the payload's levels were designed for; <c>null</c> for <see cref="WireModel.None"/>.</summary>
    public GradientModel? ToModel() => Model switch
    {
        WireModel.Laplace => new Laplace(ModelScale),
        WireModel.Lomax => new Lomax(ModelScale, ModelShape),
        WireModel.ParetoTail => new ParetoTail(ModelScale, ModelShape),
        WireModel.Gaussian => new Gaussian(ModelScale),
        _ => null,
    };

    private Threshold ToThreshold() => Threshold switch
    {
        WireThreshold.Relaxed => Theory.Threshold.Relaxed,
        WireThreshold.Fixed => Theory.Threshold.Fixed(Alpha),
        _ => Theory.Threshold.Optimal,
    };
}

/// <summary>Reading, writing and validating the header (docs/wire-format.md).</summary>
internal static class WireFormat
{
    public const double MinimumScale = PayloadHeader.MinimumScale;
    public const double MaximumScale = PayloadHeader.MaximumScale;
    public const double MaximumShape = PayloadHeader.MaximumShape;

    /// <summary>The vocabulary's name of a wire scheme (<see cref="Schemes"/>); sign and usign share a scheme byte.</summary>
    public static string SchemeName(WireScheme scheme) => scheme switch
    {
        WireScheme.FullPrecision => Schemes.FullPrecision.Name,
        WireScheme.Qsgd => Schemes.Qsgd.Name,
        WireScheme.Nuqsgd => Schemes.Nuqsgd.Name,
        WireScheme.TruncatedUniform => Schemes.TruncatedUniform.Name,
        WireScheme.TruncatedNonUniform => Schemes.TruncatedNonUniform.Name,
        WireScheme.TruncatedBiScaled => Schemes.TruncatedBiScaled.Name,
        WireScheme.Sign => Schemes.Sign.Name,
        WireScheme.Bernoulli => Schemes.Bernoulli.Name,
        WireScheme.RandK => Schemes.RandK.Name,
        _ => "unknown",
    };

    public static WireScheme SchemeOf(QuantizerSpec spec) => spec switch
    {
        FullPrecision => WireScheme.FullPrecision,
        Qsgd => WireScheme.Qsgd,
        Nuqsgd => WireScheme.Nuqsgd,
        TruncatedUniform => WireScheme.TruncatedUniform,
        TruncatedNonUniform => WireScheme.TruncatedNonUniform,
        TruncatedBiScaled => WireScheme.TruncatedBiScaled,
        Sign => WireScheme.Sign,
        BernoulliSparsification => WireScheme.Bernoulli,
        RandKSparsification => WireScheme.RandK,
        _ => throw new ArgumentException($"The codec has no wire encoding for the scheme {spec.GetType().Name}.", nameof(spec)),
    };

    /// <summary>
    /// The header's threshold byte. An <see cref="AveragedThreshold"/> travels as <see cref="WireThreshold.Fixed"/> with
    /// its α: for tnq and tuq the levels are a function of α alone (the p^{1/3} density or the uniform grid on [−α, α]),
    /// so a decoder that designs with Fixed(α) rebuilds exactly the encoder's levels. tbq's split (β, n_in) was chosen
    /// with the averaged objective and a version-1 header cannot say so, so it is refused.
    /// </summary>
    /// <exception cref="ArgumentException">tbq with an averaged threshold.</exception>
    public static WireThreshold ThresholdOf(QuantizerSpec spec) => spec is TruncatedSpec truncated
        ? truncated.Threshold switch
        {
            OptimalThreshold => WireThreshold.Optimal,
            RelaxedThreshold => WireThreshold.Relaxed,
            AveragedThreshold when truncated is TruncatedBiScaled => throw new ArgumentException(
                "tbq with the averaged threshold cannot be written in a version-1 header: its split (β, n_in) depends on N, which the header does not carry. Use tnq or tuq with the averaged threshold, or tbq with the optimal one.",
                nameof(spec)),
            _ => WireThreshold.Fixed,
        }
        : WireThreshold.None;

    public static WireModel ModelOf(GradientModel model) => model switch
    {
        Laplace => WireModel.Laplace,
        Lomax => WireModel.Lomax,
        ParetoTail => WireModel.ParetoTail,
        Gaussian => WireModel.Gaussian,
        _ => throw new ArgumentException($"The codec has no wire encoding for the model {model.GetType().Name}.", nameof(model)),
    };

    public static bool IsTruncated(WireScheme scheme) =>
        scheme is WireScheme.TruncatedUniform or WireScheme.TruncatedNonUniform or WireScheme.TruncatedBiScaled;

    public static bool IsNormScaled(WireScheme scheme) => scheme is WireScheme.Qsgd or WireScheme.Nuqsgd;

    /// <summary>ceil(d·b/8) as a long, so that callers can check it against int.MaxValue.</summary>
    public static long PackedLength(long dimension, int bits) => ((dimension * bits) + 7) >> 3;

    /// <summary>Writes the 48 header bytes before the checksum.</summary>
    public static void Write(Span<byte> header, in PayloadHeader value)
    {
        header[..PayloadHeader.Size].Clear();
        PayloadHeader.Magic.CopyTo(header);
        header[4] = (byte)value.Version;
        header[5] = (byte)value.Scheme;
        header[6] = (byte)value.Bits;
        header[7] = (byte)value.Threshold;
        header[8] = (byte)value.Model;
        header[9] = (byte)value.InnerCells;
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)value.Dimension);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)value.PayloadLength);
        BinaryPrimitives.WriteSingleLittleEndian(header[20..], value.Scale);
        BinaryPrimitives.WriteDoubleLittleEndian(header[24..], value.Alpha);
        BinaryPrimitives.WriteDoubleLittleEndian(header[32..], value.ModelScale);
        BinaryPrimitives.WriteDoubleLittleEndian(header[40..], value.ModelShape);
        BinaryPrimitives.WriteDoubleLittleEndian(header[48..], value.Beta);
    }

    /// <summary>Computes and stores the checksum of a complete payload (header fields already written).</summary>
    public static uint Seal(Span<byte> payload)
    {
        uint crc = Crc32C.Append(Crc32C.Compute(payload[..PayloadHeader.ChecksumOffset]), payload[PayloadHeader.Size..]);
        StoreChecksum(payload, crc);
        return crc;
    }

    /// <summary>Stores a checksum already computed over header bytes 0..55 and the payload (an encoder that folds as it copies).</summary>
    internal static void StoreChecksum(Span<byte> payload, uint crc) =>
        BinaryPrimitives.WriteUInt32LittleEndian(payload[PayloadHeader.ChecksumOffset..], crc);

    /// <summary>Reads and validates the header, the total length and the checksum; throws <see cref="CodecFormatException"/>.</summary>
    public static PayloadHeader Read(ReadOnlySpan<byte> payload) => Read(payload, out _);

    /// <summary>
    /// <see cref="Read(ReadOnlySpan{byte})"/>; <paramref name="fullValuesFinite"/> is true when the payload is full
    /// precision and its values were found finite in the checksum's own pass
    /// (<see cref="Kernels.Vector512Kernel.AppendChecksumOfFiniteValues"/>), so that the decoder need not read them again.
    /// </summary>
    internal static PayloadHeader Read(ReadOnlySpan<byte> payload, out bool fullValuesFinite)
    {
        if (payload.Length < PayloadHeader.Size)
        {
            Fail($"The payload is truncated: {payload.Length} bytes, but the header alone is {PayloadHeader.Size} bytes.");
        }
        if (!payload[..4].SequenceEqual(PayloadHeader.Magic))
        {
            Fail($"The payload does not start with the magic bytes 'VFQC' (56 46 51 43): found {Convert.ToHexString(payload[..4])}; it is not a Verified codec payload.");
        }
        int version = payload[4];
        if (version == SegmentedHeader.FormatVersion)
        {
            Fail($"The payload has format version {version}, a segmented payload: read its header with GradientCodec.ReadSegmentedHeader or its segments with GradientCodec.ReadSegments (Decode and DecodeAccumulate read it as it is).");
        }
        if (version is < PayloadHeader.CurrentVersion or > PayloadHeader.MaximumVersion)
        {
            Fail($"The payload has format version {version}; this decoder reads versions {PayloadHeader.CurrentVersion}, {PayloadHeader.MaximumVersion} and {SegmentedHeader.FormatVersion} only.");
        }
        PayloadHeader header = Parse(payload);
        if (payload[10] != 0 || payload[11] != 0)
        {
            Fail($"Reserved header bytes 10..11 must be zero, found {Convert.ToHexString(payload[10..12])}.");
        }
        ValidateFields(header);
        long expected = PayloadHeader.Size + (long)header.PayloadLength;
        if (payload.Length < expected)
        {
            Fail($"The payload is truncated: {payload.Length} bytes, but its header announces {PayloadHeader.Size} + {header.PayloadLength} = {expected}.");
        }
        if (payload.Length > expected)
        {
            Fail($"The payload has {payload.Length - expected} trailing bytes after the {expected} its header announces.");
        }
        uint crc = Crc32C.Compute(payload[..PayloadHeader.ChecksumOffset]);
        fullValuesFinite = false;
        if (header.Scheme == WireScheme.FullPrecision)
        {
            fullValuesFinite = Kernels.Vector512Kernel.AppendChecksumOfFiniteValues(payload[PayloadHeader.Size..], ref crc);
        }
        else
        {
            crc = Crc32C.Append(crc, payload[PayloadHeader.Size..]);
        }
        if (crc != header.Checksum)
        {
            Fail($"The payload is corrupted: its CRC-32C is {crc:X8}, the header records {header.Checksum:X8}.");
        }
        if (header.IsSparse)
        {
            SparseCodec.ValidateBody(header, payload[PayloadHeader.Size..]);
            return header;
        }
        ValidatePadding(header, payload[PayloadHeader.Size..]);
        if (header.IsAllZero && payload[PayloadHeader.Size..].ContainsAnyExcept((byte)0))
        {
            Fail("The header marks an all-zero vector (scale 0), but the packed indices are not all zero.");
        }
        return header;
    }

    /// <summary>The header's fields as they are, without any check: for a payload <see cref="Read(ReadOnlySpan{byte})"/> has accepted.</summary>
    public static PayloadHeader Parse(ReadOnlySpan<byte> payload) => new(
        payload[4],
        (WireScheme)payload[5],
        payload[6],
        (WireThreshold)payload[7],
        (WireModel)payload[8],
        (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(payload[12..]), int.MaxValue + 1L),
        (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]), int.MaxValue + 1L),
        BinaryPrimitives.ReadSingleLittleEndian(payload[20..]),
        BinaryPrimitives.ReadDoubleLittleEndian(payload[24..]),
        BinaryPrimitives.ReadDoubleLittleEndian(payload[32..]),
        BinaryPrimitives.ReadDoubleLittleEndian(payload[40..]),
        payload[9],
        BinaryPrimitives.ReadDoubleLittleEndian(payload[48..]),
        BinaryPrimitives.ReadUInt32LittleEndian(payload[PayloadHeader.ChecksumOffset..]));

    private static void ValidateFields(in PayloadHeader h)
    {
        if (!Enum.IsDefined(h.Scheme) || (h.Version == 1 && h.Scheme > WireScheme.Sign))
        {
            Fail(h.Version == 1
                ? $"Unknown scheme byte {(byte)h.Scheme} for version 1, which defines 0 (fp) to 6 (sign); the sparsifiers 7 (bernoulli) and 8 (randk) are version 2."
                : $"Unknown scheme byte {(byte)h.Scheme}: version 2 defines 0 (fp) to 8 (randk).");
        }
        string name = SchemeName(h.Scheme);
        if (h.IsSparse)
        {
            ValidateSparse(h, name);
            return;
        }
        (int minBits, int maxBits) = h.Scheme switch
        {
            WireScheme.FullPrecision => (32, 32),
            WireScheme.Sign => (1, 1),
            WireScheme.Qsgd or WireScheme.Nuqsgd => (2, QuantizerSpec.MaxBits),
            _ => (1, QuantizerSpec.MaxBits),
        };
        if (h.Bits < minBits || h.Bits > maxBits)
        {
            Fail(minBits == maxBits
                ? $"Scheme {name} has {minBits} bits per coordinate, but the header says {h.Bits}."
                : $"Scheme {name} takes {minBits} to {maxBits} bits per coordinate, but the header says {h.Bits}.");
        }
        if (h.Dimension > int.MaxValue - 1 || h.Dimension < 0)
        {
            Fail($"The dimension {(uint)h.Dimension} is larger than this decoder supports ({int.MaxValue - 1}).");
        }
        long packed = PackedLength(h.Dimension, h.Bits);
        if (h.PayloadLength != packed)
        {
            Fail($"The header's payload length {(uint)h.PayloadLength} does not match ceil(d·b/8) = ceil({h.Dimension}·{h.Bits}/8) = {packed}.");
        }
        if (packed > int.MaxValue - PayloadHeader.Size)
        {
            Fail($"The payload length {packed} is larger than this decoder supports.");
        }
        if (!float.IsFinite(h.Scale) || h.Scale < 0 || float.IsNegative(h.Scale))
        {
            Fail(Invariant($"The header's scale is {h.Scale}: it must be a finite number ≥ 0 (0 means an all-zero vector)."));
        }
        bool biScaled = h.Scheme == WireScheme.TruncatedBiScaled && h.Model != WireModel.None;
        if (!biScaled && (h.InnerCells != 0 || !IsPositiveZero(h.Beta)))
        {
            Fail($"Only a tbq payload with a model carries β and the inner cell count; for {name} both must be zero.");
        }
        if (IsTruncated(h.Scheme))
        {
            ValidateTruncated(h, name);
            return;
        }
        if (h.Threshold != WireThreshold.None || h.Model != WireModel.None || !IsPositiveZero(h.Alpha) || !IsPositiveZero(h.ModelScale) || !IsPositiveZero(h.ModelShape))
        {
            Fail($"Scheme {name} carries no threshold or model: the threshold byte, model byte, α, model scale and shape must all be zero.");
        }
        if (h.Scheme == WireScheme.FullPrecision && h.Scale != 1)
        {
            Fail(Invariant($"Scheme fp has scale 1, but the header says {h.Scale}."));
        }
    }

    private static void ValidateSparse(in PayloadHeader h, string name)
    {
        if (h.Bits != SparseCodec.WireBits)
        {
            Fail($"Scheme {name} sends float32 values: its bits byte is {SparseCodec.WireBits}, but the header says {h.Bits}.");
        }
        if (h.Dimension > int.MaxValue - 1 || h.Dimension < 0)
        {
            Fail($"The dimension {(uint)h.Dimension} is larger than this decoder supports ({int.MaxValue - 1}).");
        }
        if (h.Threshold != WireThreshold.None || h.Model != WireModel.None || h.InnerCells != 0
            || !IsPositiveZero(h.ModelScale) || !IsPositiveZero(h.ModelShape) || !IsPositiveZero(h.Beta))
        {
            Fail($"Scheme {name} carries no threshold or model: the threshold, model and inner-cell bytes, model scale, shape and β must all be zero.");
        }
        if (BitConverter.SingleToUInt32Bits(h.Scale) != BitConverter.SingleToUInt32Bits(1f))
        {
            Fail(Invariant($"Scheme {name} has scale 1 (its values are sent as they decode), but the header says {h.Scale}."));
        }
        if (h.Scheme == WireScheme.Bernoulli)
        {
            double grid = h.Alpha * SparseCodec.KeepResolution;
            if (!(h.Alpha > 0 && h.Alpha <= 1))
            {
                Fail(Invariant($"bernoulli's keep probability q = {h.Alpha} is out of range: it must be in (0, 1]."));
            }
            if (grid != Math.Floor(grid))
            {
                Fail(Invariant($"bernoulli's keep probability q = {h.Alpha:R} is not a multiple of 2^−24, the only values an encoder realises."));
            }
        }
        else if (!(h.Alpha >= 1 && h.Alpha <= h.Dimension && h.Alpha == Math.Floor(h.Alpha)))
        {
            Fail(Invariant($"randk's k = {h.Alpha:R} is out of range: it must be an integer from 1 to d = {h.Dimension}."));
        }
        long bitmap = ((long)h.Dimension + 7) >> 3;
        long values = (h.PayloadLength - bitmap) / 4;
        if (h.PayloadLength < bitmap || (h.PayloadLength - bitmap) % 4 != 0 || values > h.Dimension)
        {
            Fail($"The header's payload length {(uint)h.PayloadLength} is not ceil(d/8) + 4·n = {bitmap} + 4·n with 0 ≤ n ≤ d = {h.Dimension} values.");
        }
        if (h.Scheme == WireScheme.RandK && values != (long)h.Alpha)
        {
            Fail(Invariant($"randk's header says k = {h.Alpha}, but its payload length {h.PayloadLength} holds {values} values: they must be equal."));
        }
        if (PayloadHeader.Size + (long)h.PayloadLength > int.MaxValue)
        {
            Fail($"The payload length {(uint)h.PayloadLength} is larger than this decoder supports.");
        }
    }

    private static void ValidateTruncated(in PayloadHeader h, string name)
    {
        if (h.Threshold is not (WireThreshold.Optimal or WireThreshold.Relaxed or WireThreshold.Fixed))
        {
            Fail($"Scheme {name} needs a threshold byte of 1 (optimal), 2 (relaxed) or 3 (fixed); found {(byte)h.Threshold}.");
        }
        if (h.Threshold == WireThreshold.Relaxed && h.Scheme != WireScheme.TruncatedUniform)
        {
            Fail($"The relaxed threshold belongs to tuq only; scheme {name} cannot carry it.");
        }
        if (h.Scale != 0 && h.Scale != 1)
        {
            Fail(Invariant($"Scheme {name} has scale 1 (or 0 for an all-zero vector), but the header says {h.Scale}."));
        }
        if (h.Model == WireModel.None)
        {
            if (h.Scale != 0)
            {
                Fail($"Scheme {name} needs the gradient model to rebuild its levels, but the model byte is 0 (none) and the vector is not all zero.");
            }
            if (!IsPositiveZero(h.ModelScale) || !IsPositiveZero(h.ModelShape) || !IsPositiveZero(h.Alpha))
            {
                Fail("Without a model, α, the model scale and shape must be zero.");
            }
            return;
        }
        if (!Enum.IsDefined(h.Model))
        {
            Fail($"Unknown model byte {(byte)h.Model}: version 1 defines 1 (laplace) to 4 (gaussian).");
        }
        if (ModelProblem(h.Model, h.ModelScale, h.ModelShape, h.Alpha) is { } problem)
        {
            Fail(problem);
        }
        if (h.Scheme == WireScheme.TruncatedBiScaled)
        {
            int s = h.Intervals;
            if (h.InnerCells < 1 || h.InnerCells > s || ((s - h.InnerCells) & 1) != 0)
            {
                Fail($"tbq's inner cell count n_in = {h.InnerCells} must be 1..s = {s} with s − n_in even.");
            }
            if (!(h.Beta > 0) || !(h.Beta <= h.Alpha))
            {
                Fail(Invariant($"tbq's β = {h.Beta} must satisfy 0 < β ≤ α = {h.Alpha}."));
            }
        }
    }

    /// <summary>Why a model and α are outside what a payload may carry, or <c>null</c> when they are fine.</summary>
    public static string? ModelProblem(WireModel model, double scale, double shape, double alpha)
    {
        bool hasShape = model is WireModel.Lomax or WireModel.ParetoTail;
        if (!(scale >= MinimumScale && scale <= MaximumScale))
        {
            return Invariant($"The model scale is {scale}: it must be a number from {MinimumScale} to {MaximumScale}.");
        }
        if (hasShape && !(shape > 3 && shape <= MaximumShape))
        {
            return Invariant($"The model shape ρ is {shape}: it must be a number > 3 and ≤ {MaximumShape} (beyond that, use the Laplace model, the limit of Lomax as ρ → ∞).");
        }
        if (!hasShape && !IsPositiveZero(shape))
        {
            return Invariant($"The {model} model has no shape, but the header's shape field is {shape}.");
        }
        if (!(alpha >= MinimumScale && alpha <= MaximumScale))
        {
            return Invariant($"The header's α is {alpha}: it must be a number from {MinimumScale} to {MaximumScale}.");
        }
        return null;
    }

    private static void ValidatePadding(in PayloadHeader h, ReadOnlySpan<byte> packed)
    {
        int usedBits = (int)(((long)h.Dimension * h.Bits) & 7);
        if (usedBits != 0 && (packed[^1] >> usedBits) != 0)
        {
            Fail($"The {8 - usedBits} padding bits after the last coordinate must be zero; the last byte is {packed[^1]:X2}.");
        }
    }

    private static bool IsPositiveZero(double value) => BitConverter.DoubleToUInt64Bits(value) == 0;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string message) => CodecThrow.Format(message);
}
