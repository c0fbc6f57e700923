using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using Verified.Theory;

namespace Verified.Codec;

// Segmented uploads (format version 3, docs/wire-format.md "Segmented payloads"): one container holding a table and a
// complete version-1 payload per segment, each with its own fitted model and design.
public sealed partial class GradientCodec
{
    /// <summary>
    /// The size in bytes of a segmented payload of <paramref name="layout"/> when every segment uses
    /// <paramref name="spec"/>: 24 + Σ over segments of (12 + 60 + ceil(length·b/8)). Exact.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is a sparsifier (those are not segmented).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The payload would exceed 2 GiB.</exception>
    public static int GetMaxEncodedLength(QuantizerSpec spec, SegmentLayout layout)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(layout);
        CheckSegmentable(spec, nameof(spec));
        int bits = WireBits(spec);
        long total = SegmentedHeader.Size;
        for (int i = 0; i < layout.Count; i++)
        {
            total += SegmentedHeader.OverheadPerSegment + WireFormat.PackedLength(layout[i].Length, bits);
        }
        return CheckTotal(total, layout);
    }

    /// <summary>
    /// The size in bytes of a segmented payload of <paramref name="layout"/> whose segment i uses
    /// <paramref name="specs"/>[i] (for example full precision for small tensors and the run's scheme for the rest). Exact.
    /// </summary>
    /// <exception cref="ArgumentException">The number of specs is not the number of segments, or a spec is a sparsifier.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The payload would exceed 2 GiB.</exception>
    public static int GetMaxEncodedLength(ReadOnlySpan<QuantizerSpec> specs, SegmentLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (specs.Length != layout.Count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{specs.Length} specs were given for {layout.Count} segments: pass one spec per segment."), nameof(specs));
        }
        long total = SegmentedHeader.Size;
        for (int i = 0; i < layout.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(specs[i], nameof(specs));
            CheckSegmentable(specs[i], nameof(specs));
            total += SegmentedHeader.OverheadPerSegment + WireFormat.PackedLength(layout[i].Length, WireBits(specs[i]));
        }
        return CheckTotal(total, layout);
    }

    /// <summary>
    /// Encodes <paramref name="gradient"/> as a segmented (version 3) payload: segment i of <paramref name="layout"/>
    /// with <paramref name="designs"/>[i] (one per segment, typically designed for a model fitted to that segment).
    /// </summary>
    /// <remarks>
    /// <para>Segment i's coordinate j rounds with the uniform of the global coordinate start_i + j under the one
    /// <paramref name="key"/>, so segments never share a uniform, and a single segment covering the vector holds
    /// exactly the bytes <see cref="TryEncode"/> writes. Segments may use different schemes (not the sparsifiers).</para>
    /// <para>An all-zero segment is written with scale 0 and zero indices whatever its design (as <see cref="TryEncode"/>
    /// does), so a caller without a model for it may pass any design of the intended spec.</para>
    /// </remarks>
    /// <returns><c>false</c> (and nothing written) when the destination is shorter than the payload.</returns>
    /// <exception cref="ArgumentException">The gradient's length is not the layout's dimension, the number of designs is not
    /// the number of segments, a design is a sparsifier's or unusable, or a coordinate is not finite (the message names the
    /// first, by its index in the whole vector).</exception>
    public bool TryEncodeSegments(
        ReadOnlySpan<float> gradient, ReadOnlySpan<QuantizerDesign> designs, SegmentLayout layout, RoundingKey key, Span<byte> destination, out int bytesWritten) =>
        TryEncodeSegmentsCore(gradient, designs, layout, key, destination, out bytesWritten, chunkLength: 0);

    /// <summary>Encodes a segmented payload into <paramref name="destination"/> and returns the bytes written.</summary>
    /// <exception cref="ArgumentException">As <see cref="TryEncodeSegments"/>, or the destination is too short (both lengths are named).</exception>
    public int EncodeSegments(ReadOnlySpan<float> gradient, ReadOnlySpan<QuantizerDesign> designs, SegmentLayout layout, RoundingKey key, Span<byte> destination)
    {
        if (!TryEncodeSegments(gradient, designs, layout, key, destination, out int written))
        {
            CodecThrow.ArgumentException_DestinationTooShort(nameof(destination), SegmentedLength(designs, layout), destination.Length);
        }
        return written;
    }

    /// <summary>Encodes a segmented payload into a new array of exactly its length.</summary>
    public byte[] EncodeSegments(ReadOnlySpan<float> gradient, ReadOnlySpan<QuantizerDesign> designs, SegmentLayout layout, RoundingKey key)
    {
        CheckSegmentArguments(gradient.Length, designs, layout);
        var payload = new byte[SegmentedLength(designs, layout)];
        EncodeSegments(gradient, designs, layout, key, payload);
        return payload;
    }

    /// <summary>
    /// The format version of a payload (1, 2 or 3) after checking its magic bytes; nothing else is validated. Use it to
    /// choose between <see cref="ReadHeader"/> and <see cref="ReadSegmentedHeader"/>.
    /// </summary>
    /// <exception cref="CodecFormatException">Fewer than 5 bytes, or not the magic bytes 'VFQC'.</exception>
    public static int ReadVersion(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 5 || !payload[..4].SequenceEqual(PayloadHeader.Magic))
        {
            CodecThrow.Format(payload.Length < 5
                ? $"The payload is truncated: {payload.Length} bytes, too short for the magic bytes and the version."
                : $"The payload does not start with the magic bytes 'VFQC' (56 46 51 43): found {Convert.ToHexString(payload[..4])}; it is not a Verified codec payload.");
        }
        return payload[4];
    }

    /// <summary>
    /// Reads and validates a segmented payload completely: container header, size, checksum, segment table, and every
    /// segment as a version-1 payload (its header, checksum and padding) whose length agrees with the table.
    /// </summary>
    /// <exception cref="CodecFormatException">The payload is not a valid segmented payload (the message says why and where).</exception>
    public static SegmentedHeader ReadSegmentedHeader(ReadOnlySpan<byte> payload)
    {
        SegmentedHeader container = SegmentedFormat.ReadContainer(payload);
        int offset = FirstSegmentOffset(container);
        for (int i = 0; i < container.SegmentCount; i++)
        {
            _ = SegmentedFormat.ReadSegment(payload, i, offset, out _, out int byteLength);
            offset += byteLength;
        }
        return container;
    }

    /// <summary>Every segment of a segmented payload with its validated header, for inspection (allocates the list).</summary>
    /// <exception cref="CodecFormatException">The payload is not a valid segmented payload.</exception>
    public static ImmutableArray<PayloadSegment> ReadSegments(ReadOnlySpan<byte> payload)
    {
        SegmentedHeader container = SegmentedFormat.ReadContainer(payload);
        var segments = ImmutableArray.CreateBuilder<PayloadSegment>(container.SegmentCount);
        int offset = FirstSegmentOffset(container);
        for (int i = 0; i < container.SegmentCount; i++)
        {
            PayloadHeader header = SegmentedFormat.ReadSegment(payload, i, offset, out int start, out int byteLength);
            segments.Add(new PayloadSegment(i, start, header.Dimension, offset, byteLength, header));
            offset += byteLength;
        }
        return segments.MoveToImmutable();
    }

    /// <summary>The segmented encoder with an explicit chunk length per segment (tests: chunked equals whole).</summary>
    internal bool TryEncodeSegmentsCore(
        ReadOnlySpan<float> gradient, ReadOnlySpan<QuantizerDesign> designs, SegmentLayout layout, RoundingKey key, Span<byte> destination, out int bytesWritten, int chunkLength)
    {
        CheckSegmentArguments(gradient.Length, designs, layout);
        int total = SegmentedLength(designs, layout);
        if (destination.Length < total)
        {
            bytesWritten = 0;
            return false;
        }
        int count = layout.Count;
        int offset = SegmentedHeader.Size + (count * SegmentedHeader.EntrySize);
        for (int i = 0; i < count; i++)
        {
            SegmentRange range = layout[i];
            // The segment's slice starts at local coordinate 0 (so the kernels' chunks stay byte aligned); its global
            // start is the rounding counter's base.
            bool fits = TryEncodeCore(gradient.Slice(range.Start, range.Length), designs[i], key, destination[offset..total], out int written, chunkLength, range.Start);
            System.Diagnostics.Debug.Assert(fits, "SegmentedLength sized every segment.");
            SegmentedFormat.WriteEntry(destination, i, range.Start, range.Length, written);
            offset += written;
        }
        System.Diagnostics.Debug.Assert(offset == total, "Every segment wrote its exact length.");
        SegmentedFormat.WriteHeader(destination, count, layout.Dimension, total - SegmentedHeader.Size);
        SegmentedFormat.Seal(destination, count);
        bytesWritten = total;
        return true;
    }

    /// <summary>
    /// Decodes a segmented payload. Every segment is validated (header, checksum, padding, fp values, levels) before a
    /// coordinate is written, so a bad payload leaves a running sum untouched; then each segment decodes into its slice.
    /// Allocates nothing once the segments' levels are cached (<see cref="CodecOptions.DesignCacheCapacity"/> should
    /// exceed the number of distinct segment designs in flight).
    /// </summary>
    private void DecodeSegmented(ReadOnlySpan<byte> payload, Span<float> destination, bool accumulate, float weight)
    {
        SegmentedHeader container = SegmentedFormat.ReadContainer(payload);
        if (destination.Length != container.Dimension)
        {
            CodecThrow.ArgumentException_WrongLength(accumulate ? "sum" : nameof(destination), container.Dimension, destination.Length);
        }
        int first = FirstSegmentOffset(container);
        int offset = first;
        for (int i = 0; i < container.SegmentCount; i++)
        {
            PayloadHeader header = SegmentedFormat.ReadSegment(payload, i, offset, out int start, out int byteLength);
            ReadOnlySpan<byte> packed = payload.Slice(offset + PayloadHeader.Size, header.PayloadLength);
            if (header.Scheme == WireScheme.FullPrecision)
            {
                CheckFullValues(packed, start);
            }
            else if (!header.IsAllZero && header.Scheme != WireScheme.Sign)
            {
                // Rebuilds (and caches) the levels now, so that a header whose levels cannot be rebuilt fails here.
                _ = Designs.LevelsFor(header);
            }
            offset += byteLength;
        }
        offset = first;
        for (int i = 0; i < container.SegmentCount; i++)
        {
            (int start, int length, int byteLength) = SegmentedFormat.Entry(payload, i);
            PayloadHeader header = WireFormat.Parse(payload[offset..]);
            DecodeCore(header, payload.Slice(offset + PayloadHeader.Size, header.PayloadLength), destination.Slice(start, length), accumulate, weight, valuesChecked: true);
            offset += byteLength;
        }
    }

    private static int FirstSegmentOffset(in SegmentedHeader container) =>
        SegmentedHeader.Size + (container.SegmentCount * SegmentedHeader.EntrySize);

    private static void CheckSegmentable(QuantizerSpec spec, string name)
    {
        if (spec is SparsifierSpec)
        {
            throw new ArgumentException(
                $"{spec.Name} cannot be segmented: a segmented (version 3) payload holds version-1 segments, and a sparsifier has no model to fit per segment (rand-k's k would also change meaning). Encode it whole, as a version-2 payload.",
                name);
        }
    }

    private static void CheckSegmentArguments(int gradientLength, ReadOnlySpan<QuantizerDesign> designs, SegmentLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (gradientLength != layout.Dimension)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The gradient has {gradientLength} coordinates, but the layout covers {layout.Dimension}: {layout}."), nameof(gradientLength));
        }
        if (designs.Length != layout.Count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{designs.Length} designs were given for {layout.Count} segments: pass one design per segment."), nameof(designs));
        }
        foreach (QuantizerDesign design in designs)
        {
            ArgumentNullException.ThrowIfNull(design, nameof(designs));
            CheckSegmentable(design.Spec, nameof(designs));
        }
    }

    private static int SegmentedLength(ReadOnlySpan<QuantizerDesign> designs, SegmentLayout layout)
    {
        long total = SegmentedHeader.Size;
        for (int i = 0; i < layout.Count; i++)
        {
            total += SegmentedHeader.OverheadPerSegment + WireFormat.PackedLength(layout[i].Length, WireBits(designs[i].Spec));
        }
        return CheckTotal(total, layout);
    }

    private static int CheckTotal(long total, SegmentLayout layout)
    {
        if (total > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout.Dimension, string.Create(
                CultureInfo.InvariantCulture, $"A segmented payload of {layout} would take {total} bytes, more than one span can hold."));
        }
        return (int)total;
    }

    /// <summary>Rejects a non-finite value in a full-precision segment, naming its coordinate in the whole vector.</summary>
    private static void CheckFullValues(ReadOnlySpan<byte> packed, int start)
    {
        ReadOnlySpan<float> values = MemoryMarshal.Cast<byte, float>(packed);
        if (FirstNonFinite(values) is int j and >= 0)
        {
            CodecThrow.Format(string.Create(CultureInfo.InvariantCulture,
                $"Coordinate {start + j} of the full-precision payload (segment starting at {start}) is {values[j]}: an encoder never writes a non-finite value."));
        }
    }
}
