using System.Buffers.Binary;
using System.IO.Compression;

namespace Verified.Simulation.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed (detected from the content, not the name).
/// </summary>
/// <remarks>
/// <para>Layout (all integers big-endian):</para>
/// <code>
/// offset  size  field
/// 0       2     0x0000
/// 2       1     element type: 0x08 = unsigned byte (the only type read here)
/// 3       1     number of dimensions n (3 for images, 1 for labels)
/// 4       4·n   the dimensions: count [, rows, columns]
/// 4+4·n   ...   count·rows·columns bytes, row-major
/// </code>
/// <para>So images start with the magic number 2051 (0x00000803) and labels with 2049 (0x00000801). Every size is
/// checked against the header: a truncated or padded file is an <see cref="IdxFormatException"/>, never a
/// silently short data set.</para>
/// </remarks>
public static class IdxReader
{
    /// <summary>Magic number of an unsigned-byte IDX file with three dimensions (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte IDX file with one dimension (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an images file (idx3-ubyte, plain or gzip).</summary>
    /// <exception cref="IdxFormatException">The content is not a valid idx3-ubyte file.</exception>
    public static IdxImages ReadImages(string path) => ParseImages(ReadDecompressed(path), path);

    /// <summary>Reads a labels file (idx1-ubyte, plain or gzip).</summary>
    /// <exception cref="IdxFormatException">The content is not a valid idx1-ubyte file.</exception>
    public static IdxLabels ReadLabels(string path) => ParseLabels(ReadDecompressed(path), path);

    /// <summary>Parses an uncompressed idx3-ubyte image file; <paramref name="source"/> names it in error messages.</summary>
    public static IdxImages ParseImages(byte[] content, string source)
    {
        ArgumentNullException.ThrowIfNull(content);
        int[] dimensions = ParseHeader(content, source, ImagesMagic, "images (idx3-ubyte)");
        long expected = (long)dimensions[0] * dimensions[1] * dimensions[2];
        CheckLength(content, source, dimensions.Length, expected);
        return new IdxImages(dimensions[0], dimensions[1], dimensions[2], content.AsMemory(HeaderLength(3)));
    }

    /// <summary>Parses an uncompressed idx1-ubyte label file; <paramref name="source"/> names it in error messages.</summary>
    public static IdxLabels ParseLabels(byte[] content, string source)
    {
        ArgumentNullException.ThrowIfNull(content);
        int[] dimensions = ParseHeader(content, source, LabelsMagic, "labels (idx1-ubyte)");
        CheckLength(content, source, dimensions.Length, dimensions[0]);
        return new IdxLabels(content.AsMemory(HeaderLength(1)));
    }

    private static int HeaderLength(int dimensions) => 4 + (4 * dimensions);

    private static byte[] ReadDecompressed(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        {
            return raw;
        }
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            return plain.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException($"{path}: starts like gzip but does not decompress: {e.Message}", e);
        }
    }

    private static int[] ParseHeader(byte[] content, string source, int magic, string what)
    {
        int expectedDimensions = magic & 0xff;
        if (content.Length < 4)
        {
            throw new IdxFormatException($"{source}: {content.Length} bytes is too short for an IDX magic number.");
        }
        int actual = BinaryPrimitives.ReadInt32BigEndian(content);
        if (actual != magic)
        {
            string hint = actual switch
            {
                ImagesMagic => " (that is an images file)",
                LabelsMagic => " (that is a labels file)",
                _ when (actual & unchecked((int)0xffff0000)) != 0 => " (not an IDX file: the first two bytes must be zero)",
                _ when ((actual >> 8) & 0xff) != 0x08 => $" (element type 0x{(actual >> 8) & 0xff:x2}; only unsigned bytes, 0x08, are read)",
                _ => $" ({actual & 0xff} dimensions; IDX {what} have {expectedDimensions})",
            };
            throw new IdxFormatException($"{source}: magic number {actual} (0x{actual:x8}), expected {magic} (0x{magic:x8}) for IDX {what}{hint}.");
        }
        if (content.Length < HeaderLength(expectedDimensions))
        {
            throw new IdxFormatException(
                $"{source}: {content.Length} bytes is too short for the header of IDX {what}, which needs {HeaderLength(expectedDimensions)}.");
        }
        var dimensions = new int[expectedDimensions];
        for (int i = 0; i < dimensions.Length; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(content.AsSpan(4 + (4 * i)));
            if (dimensions[i] <= 0)
            {
                throw new IdxFormatException($"{source}: dimension {i} is {dimensions[i]}; every IDX dimension must be positive.");
            }
        }
        return dimensions;
    }

    private static void CheckLength(byte[] content, string source, int dimensions, long expectedData)
    {
        long expected = HeaderLength(dimensions) + expectedData;
        if (content.Length != expected)
        {
            throw new IdxFormatException(
                $"{source}: {content.Length} bytes, but its header promises {expected} ({HeaderLength(dimensions)} header + {expectedData} data); the file is {(content.Length < expected ? "truncated" : "padded")}.");
        }
    }
}

/// <summary>Images of an IDX file: <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> unsigned-byte pixels.</summary>
public sealed class IdxImages
{
    internal IdxImages(int count, int rows, int columns, ReadOnlyMemory<byte> pixels)
    {
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    /// <summary>Number of images. Range: ≥ 1.</summary>
    public int Count { get; }

    /// <summary>Rows per image. Range: ≥ 1.</summary>
    public int Rows { get; }

    /// <summary>Columns per image. Range: ≥ 1.</summary>
    public int Columns { get; }

    /// <summary>Pixels per image: <see cref="Rows"/> · <see cref="Columns"/>.</summary>
    public int PixelsPerImage => Rows * Columns;

    /// <summary>All pixels, image after image, each row-major; 0 is background.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }

    /// <summary>The pixels of one image.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.Span.Slice(index * PixelsPerImage, PixelsPerImage);
    }
}

/// <summary>Labels of an IDX file, one unsigned byte per example.</summary>
public sealed class IdxLabels
{
    internal IdxLabels(ReadOnlyMemory<byte> values)
    {
        Values = values;
    }

    /// <summary>Number of labels.</summary>
    public int Count => Values.Length;

    /// <summary>The labels, in file order.</summary>
    public ReadOnlyMemory<byte> Values { get; }
}
