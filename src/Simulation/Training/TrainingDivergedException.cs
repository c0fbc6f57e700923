using System.Globalization;

namespace Verified.Simulation.Training;

/// <summary>
/// Training has diverged: a client's gradient holds a NaN or ±∞ coordinate. Names the round, the client and the first
/// non-finite coordinate, so a run can report where it stopped and go on with the others.
/// </summary>
/// <remarks>
/// Derives from <see cref="InvalidOperationException"/>, what a diverged run threw before this type existed, so older
/// catch blocks still see it; reports of divergence catch this type only, so that any other
/// <see cref="InvalidOperationException"/> (a bug, a misuse) is not mistaken for a diverged run.
/// </remarks>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="round"/>, <paramref name="client"/> and coordinate <paramref name="index"/>.</summary>
    /// <param name="round">The round (0-based) whose gradient was not finite.</param>
    /// <param name="client">The client (0-based) that computed it.</param>
    /// <param name="index">The first coordinate that is NaN or ±∞.</param>
    /// <param name="innerException">The check that found it, if any.</param>
    public TrainingDivergedException(int round, int client, int index, Exception? innerException = null)
        : base(
            string.Create(CultureInfo.InvariantCulture,
                $"Round {round}, client {client}: Coordinate {index} of the gradient is not finite (NaN or ±∞): training has diverged. Lower the learning rate (--lr) or check the data."),
            innerException)
    {
        Round = round;
        Client = client;
        Index = index;
    }

    /// <summary>The round (0-based) whose gradient was not finite.</summary>
    public int Round { get; }

    /// <summary>The client (0-based) that computed it.</summary>
    public int Client { get; }

    /// <summary>The first coordinate of the gradient that is NaN or ±∞.</summary>
    public int Index { get; }
}
