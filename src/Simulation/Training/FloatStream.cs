namespace Verified.Simulation.Training;

/// <summary>float32 spans to and from a checkpoint stream, little-endian whatever the machine (trainer and channel state).</summary>
internal static class FloatStream
{
    /// <summary>Writes the values as little-endian float32.</summary>
    public static void Write(BinaryWriter writer, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
            return;
        }
        foreach (float value in values)
        {
            writer.Write(value);
        }
    }

    /// <summary>Fills <paramref name="values"/>; <paramref name="what"/> names them in the error.</summary>
    /// <exception cref="InvalidDataException">The stream ends first.</exception>
    public static void Read(BinaryReader reader, Span<float> values, string what)
    {
        Span<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values);
        if (reader.Read(bytes) is int read && read != bytes.Length)
        {
            // BinaryReader.Read(Span) may return fewer bytes than asked only at the end of the stream.
            int total = read;
            while (total < bytes.Length && reader.Read(bytes[total..]) is int more && more > 0)
            {
                total += more;
            }
            if (total != bytes.Length)
            {
                throw new InvalidDataException($"The state is truncated in {what}: {total} of {bytes.Length} bytes.");
            }
        }
        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(values[i])));
            }
        }
    }

}
