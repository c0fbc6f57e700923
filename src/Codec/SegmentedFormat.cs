using System.Buffers.Binary;
using System.Globalization;

namespace Verified.Codec;

/// <summary>
/// The 24-byte container header of a segmented (version 3) payload, as read by
/// <see cref="GradientCodec.ReadSegmentedHeader"/>. Layout and rules in docs/wire-format.md, "Segmented payloads".
/// </summary>
/// <param name="SegmentCount">n, the number of segments (0 only when d = 0).</param>
/// <param name="Dimension">d, the coordinates of the whole vector.</param>
/// <param name="PayloadLength">Bytes after the container header: the 12·n-byte segment table plus every segment.</param>
/// <param name="Checksum">CRC-32C of the container header's bytes 0..19 followed by the segment table.</param>
/// <remarks>
/// <code>
/// offset  size  field
///  0      4     magic "VFQC"
///  4      1     version = 3
///  5      3     reserved, 0
///  8      4     n, segment count           (uint32 LE)
/// 12      4     d, dimension                (uint32 LE)
/// 16      4     payload length = 12·n + Σ byte lengths
/// 20      4     CRC-32C of bytes 0..19 ++ segment table
/// 24      12·n  table: (first, length, byte length) per segment, uint32 LE each
/// 24+12n  …     the segments: one complete version-1 payload each, in table order
/// </code>
/// </remarks>
public readonly record struct SegmentedHeader(int SegmentCount, int Dimension, int PayloadLength, uint Checksum)
{
    /// <summary>The version byte of a segmented payload.</summary>
    public const int FormatVersion = 3;

    /// <summary>Container header size in bytes.</summary>
    public const int Size = 24;

    /// <summary>Bytes per segment-table entry: first coordinate, length and byte length, uint32 each.</summary>
    public const int EntrySize = 12;

    /// <summary>What one segment costs beyond its packed codes: its table entry and its own 60-byte header.</summary>
    public const int OverheadPerSegment = EntrySize + PayloadHeader.Size;

    internal const int ChecksumOffset = 20;

    /// <summary>Container header plus payload: the exact size of the upload in bytes.</summary>
    public int TotalLength => Size + PayloadLength;
}

/// <summary>One segment of a segmented payload, for inspection (<see cref="GradientCodec.ReadSegments"/>).</summary>
/// <param name="Index">The segment's position in the table.</param>
/// <param name="Start">Its first coordinate in the whole vector.</param>
/// <param name="Length">Its coordinates (= <c>Header.Dimension</c>).</param>
/// <param name="Offset">Where its version-1 payload starts in the whole payload.</param>
/// <param name="ByteLength">The size of that payload (= <c>Header.TotalLength</c>).</param>
/// <param name="Header">The segment's own validated header: scheme, bits, model, α, checksum.</param>
public readonly record struct PayloadSegment(int Index, int Start, int Length, int Offset, int ByteLength, PayloadHeader Header);

/// <summary>Reading, writing and validating the version-3 container (docs/wire-format.md, "Segmented payloads").</summary>
internal static class SegmentedFormat
{
    /// <summary>Whether the payload claims to be segmented: its version byte is 3 (the reader checks everything else).</summary>
    public static bool IsSegmented(ReadOnlySpan<byte> payload) => payload.Length > 4 && payload[4] == SegmentedHeader.FormatVersion;

    /// <summary>Writes the container header (checksum 0) and leaves the table to the caller.</summary>
    public static void WriteHeader(Span<byte> payload, int segments, int dimension, int payloadLength)
    {
        payload[..SegmentedHeader.Size].Clear();
        PayloadHeader.Magic.CopyTo(payload);
        payload[4] = SegmentedHeader.FormatVersion;
        BinaryPrimitives.WriteUInt32LittleEndian(payload[8..], (uint)segments);
        BinaryPrimitives.WriteUInt32LittleEndian(payload[12..], (uint)dimension);
        BinaryPrimitives.WriteUInt32LittleEndian(payload[16..], (uint)payloadLength);
    }

    /// <summary>Writes table entry <paramref name="index"/>.</summary>
    public static void WriteEntry(Span<byte> payload, int index, int start, int length, int byteLength)
    {
        Span<byte> entry = payload.Slice(SegmentedHeader.Size + (index * SegmentedHeader.EntrySize), SegmentedHeader.EntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)start);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], (uint)byteLength);
    }

    /// <summary>Stores the CRC-32C of the header's first 20 bytes and the table (the segments carry their own).</summary>
    public static void Seal(Span<byte> payload, int segments)
    {
        uint crc = Crc32C.Append(
            Crc32C.Compute(payload[..SegmentedHeader.ChecksumOffset]),
            payload.Slice(SegmentedHeader.Size, segments * SegmentedHeader.EntrySize));
        BinaryPrimitives.WriteUInt32LittleEndian(payload[SegmentedHeader.ChecksumOffset..], crc);
    }

    /// <summary>Table entry <paramref name="index"/> of a payload whose container <see cref="ReadContainer"/> accepted.</summary>
    public static (int Start, int Length, int ByteLength) Entry(ReadOnlySpan<byte> payload, int index)
    {
        ReadOnlySpan<byte> entry = payload.Slice(SegmentedHeader.Size + (index * SegmentedHeader.EntrySize), SegmentedHeader.EntrySize);
        return ((int)BinaryPrimitives.ReadUInt32LittleEndian(entry), (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]), (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]));
    }

    /// <summary>
    /// Validates the container: header, exact size, checksum, and a table whose segments tile [0, d) in order and whose
    /// byte lengths add up. Does not look inside the segments (<see cref="ReadSegment"/> does). Allocates nothing.
    /// </summary>
    public static SegmentedHeader ReadContainer(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < SegmentedHeader.Size)
        {
            Fail($"it is truncated: {payload.Length} bytes, but the container header alone is {SegmentedHeader.Size} bytes.");
        }
        if (!payload[..4].SequenceEqual(PayloadHeader.Magic))
        {
            Fail($"it does not start with the magic bytes 'VFQC' (56 46 51 43): found {Convert.ToHexString(payload[..4])}.");
        }
        if (payload[4] != SegmentedHeader.FormatVersion)
        {
            Fail($"its version byte is {payload[4]}.");
        }
        if (payload[5] != 0 || payload[6] != 0 || payload[7] != 0)
        {
            Fail($"reserved container bytes 5..7 must be zero, found {Convert.ToHexString(payload[5..8])}.");
        }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        uint dimension = BinaryPrimitives.ReadUInt32LittleEndian(payload[12..]);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]);
        uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(payload[SegmentedHeader.ChecksumOffset..]);
        if (dimension > SegmentLayout.MaximumDimension)
        {
            Fail($"the dimension {dimension} is larger than this decoder supports ({SegmentLayout.MaximumDimension}).");
        }
        if (count > dimension)
        {
            Fail($"it announces {count} segments for d = {dimension} coordinates, but every segment holds at least one.");
        }
        long tableLength = (long)count * SegmentedHeader.EntrySize;
        long minimum = tableLength + ((long)count * PayloadHeader.Size);
        if (length < minimum)
        {
            Fail($"its payload length {length} is less than the {minimum} bytes that a table of {count} entries and {count} segment headers need.");
        }
        long expected = SegmentedHeader.Size + (long)length;
        if (payload.Length < expected)
        {
            Fail($"it is truncated: {payload.Length} bytes, but its container header announces {SegmentedHeader.Size} + {length} = {expected}.");
        }
        if (payload.Length > expected)
        {
            Fail($"it has {payload.Length - expected} trailing bytes after the {expected} its container header announces.");
        }
        uint crc = Crc32C.Append(Crc32C.Compute(payload[..SegmentedHeader.ChecksumOffset]), payload.Slice(SegmentedHeader.Size, (int)tableLength));
        if (crc != checksum)
        {
            Fail($"its header or segment table is corrupted: their CRC-32C is {crc:X8}, the header records {checksum:X8}.");
        }
        long end = 0;
        long bytes = tableLength;
        for (int i = 0; i < (int)count; i++)
        {
            ReadOnlySpan<byte> entry = payload.Slice(SegmentedHeader.Size + (i * SegmentedHeader.EntrySize), SegmentedHeader.EntrySize);
            uint first = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            uint segmentLength = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            uint byteLength = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            if (first != end)
            {
                Fail(first < end
                    ? $"segment {i} starts at coordinate {first}, inside segment {i - 1}, which ends at {end}: segments must not overlap."
                    : $"segment {i} starts at coordinate {first}, but the segments before it end at {end}: coordinates {end}..{first - 1} are in no segment.");
            }
            if (segmentLength == 0)
            {
                Fail($"segment {i} has length 0: every segment holds at least one coordinate.");
            }
            end += segmentLength;
            if (end > dimension)
            {
                Fail($"segment {i} ends at coordinate {end}, beyond d = {dimension}.");
            }
            if (byteLength < PayloadHeader.Size)
            {
                Fail($"segment {i}'s byte length {byteLength} is shorter than a segment header ({PayloadHeader.Size} bytes).");
            }
            bytes += byteLength;
        }
        if (end != dimension)
        {
            Fail($"its segments cover coordinates 0..{end - 1}, but d = {dimension}: coordinates {end}..{dimension - 1} are in no segment.");
        }
        if (bytes != length)
        {
            Fail($"its table and segments take {bytes} bytes, but its payload length says {length}.");
        }
        return new SegmentedHeader((int)count, (int)dimension, (int)length, checksum);
    }

    /// <summary>
    /// Validates segment <paramref name="index"/> (at <paramref name="offset"/>) as a complete version-1 payload whose
    /// dimension and size agree with its table entry, and returns its header. Allocates nothing unless it fails.
    /// </summary>
    public static PayloadHeader ReadSegment(ReadOnlySpan<byte> payload, int index, int offset, out int start, out int byteLength)
    {
        (start, int length, byteLength) = Entry(payload, index);
        ReadOnlySpan<byte> segment = payload.Slice(offset, byteLength);
        if (segment[4] != PayloadHeader.CurrentVersion)
        {
            Fail(string.Create(CultureInfo.InvariantCulture,
                $"segment {index} (coordinates {start}..{start + length - 1}) has format version {segment[4]}; the segments of a version-3 payload are version-1 payloads (schemes fp to sign)."));
        }
        PayloadHeader header;
        try
        {
            header = WireFormat.Read(segment);
        }
        catch (CodecFormatException inner)
        {
            throw new CodecFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{Prefix}segment {index} (coordinates {start}..{start + length - 1}): {inner.Message}"), inner);
        }
        if (header.Dimension != length)
        {
            Fail(string.Create(CultureInfo.InvariantCulture,
                $"segment {index}'s table entry says {length} coordinates, but its own header says d = {header.Dimension}: the lengths disagree."));
        }
        return header;
    }

    private const string Prefix = "Segmented payload (version 3): ";

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string message) => CodecThrow.Format(Prefix + message);
}
