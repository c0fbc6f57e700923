using Verified.Simulation.Models;

namespace Verified.Simulation.Training;

/// <summary>
/// The server's state between rounds, as both trainers store it: the round, d, θ and the momentum buffers (float32,
/// little-endian). One format, so a checkpoint of a run in one process can be resumed on a cluster and back.
/// </summary>
internal static class ServerState
{
    /// <summary>Writes the round, d, θ of <paramref name="model"/> and <paramref name="optimizer"/>'s momentum.</summary>
    public static void Write(BinaryWriter writer, int round, ClassifierModel model, MomentumSgd optimizer)
    {
        using var scratch = new FlatParameterBuffer(model);
        writer.Write(round);
        writer.Write(scratch.Length);
        scratch.GatherValues();
        FloatStream.Write(writer, scratch.Span);
        optimizer.GatherMomentum(scratch);
        FloatStream.Write(writer, scratch.Span);
    }

    /// <summary>Reads what <see cref="Write"/> wrote into <paramref name="model"/> and <paramref name="optimizer"/>; returns the round.</summary>
    /// <exception cref="InvalidDataException">The state is truncated or was written for another model.</exception>
    public static int Read(BinaryReader reader, ClassifierModel model, MomentumSgd optimizer)
    {
        using var scratch = new FlatParameterBuffer(model);
        int round;
        int dimension;
        try
        {
            round = reader.ReadInt32();
            dimension = reader.ReadInt32();
        }
        catch (EndOfStreamException exception)
        {
            throw new InvalidDataException("The trainer state is truncated before its header ends.", exception);
        }
        if (round < 0 || dimension != scratch.Length)
        {
            throw new InvalidDataException($"The trainer state is for round {round} of a model with {dimension} parameters; this model has {scratch.Length}.");
        }
        FloatStream.Read(reader, scratch.Span, "the trainer state's θ");
        scratch.ScatterValues();
        FloatStream.Read(reader, scratch.Span, "the trainer state's momentum");
        optimizer.ScatterMomentum(scratch);
        return round;
    }
}
