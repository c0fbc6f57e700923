namespace Verified.Simulation.Training;

/// <summary>
/// Sees every client gradient just before the codec does, with its upload key: the hook of
/// <c>verified run --capture-gradients</c>, which stores raw gradients for <c>verified audit</c>. With error feedback
/// on it sees what the codec encodes, g + e, so that an audit of the capture describes the uploads as sent.
/// </summary>
/// <remarks>An interface rather than a delegate because a <see cref="ReadOnlySpan{T}"/> cannot be a generic argument.
/// Called on the trainer's thread, in client order; the span is valid only during the call (it is a pooled buffer), so
/// an observer that keeps it must copy it. An observer must not change the run: it sees the values, nothing else.</remarks>
public interface IUploadObserver
{
    /// <summary>Client <paramref name="key"/>.Client's gradient of round <paramref name="key"/>.Round.</summary>
    void Observe(UploadKey key, ReadOnlySpan<float> gradient);
}
