using System.Buffers.Binary;
using System.IO.Compression;

namespace IntegrationTests;

/// <summary>Writes tiny IDX files for tests: images whose pixels encode (image, position), labels 0..classes-1.</summary>
internal static class IdxTestFiles
{
    public static byte[] Images(int count, int rows, int columns)
    {
        var content = new byte[16 + (count * rows * columns)];
        BinaryPrimitives.WriteInt32BigEndian(content, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(12), columns);
        for (int i = 16; i < content.Length; i++)
        {
            content[i] = (byte)(i * 7);
        }
        return content;
    }

    public static byte[] Labels(int count, int classes)
    {
        var content = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(content, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(4), count);
        for (int i = 0; i < count; i++)
        {
            content[8 + i] = (byte)(i % classes);
        }
        return content;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
        {
            gzip.Write(content);
        }
        return compressed.ToArray();
    }

    /// <summary>A directory holding a complete tiny data set; deleted on dispose.</summary>
    public sealed class DataDirectory : IDisposable
    {
        public DataDirectory(bool gzip, int train = 40, int test = 20, int rows = 28, int columns = 28, int classes = 10)
        {
            Path = Directory.CreateTempSubdirectory("verified-idx-").FullName;
            Write("train-images-idx3-ubyte", Images(train, rows, columns), gzip);
            Write("train-labels-idx1-ubyte", Labels(train, classes), gzip);
            Write("t10k-images-idx3-ubyte", Images(test, rows, columns), gzip);
            Write("t10k-labels-idx1-ubyte", Labels(test, classes), gzip);
        }

        public string Path { get; }

        public void Write(string name, byte[] content, bool gzip) =>
            File.WriteAllBytes(System.IO.Path.Combine(Path, gzip ? name + ".gz" : name), gzip ? Gzip(content) : content);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
