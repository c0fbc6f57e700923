using Verified.Codec;
using Verified.Codec.Audit;
using Verified.Theory;

namespace Verified.Simulation.Training;

/// <summary>
/// The up-link through the codec, in one process: the client's <see cref="UploadEncoder"/> (error feedback, fit, design,
/// encoding with the upload's key) and the server's <see cref="UploadAggregator"/> (decode-accumulate, the round's
/// statistics, the audit), called back to back. The bytes reported are the payload's length, header included: real
/// codec output, not a nominal ratio.
/// </summary>
/// <remarks>
/// <para>A cluster runs the same two halves on either side of the network, so a run gives the same numbers in one
/// process and on many; see the two classes for what each half does and keeps.</para>
/// <para>Not thread-safe: <see cref="SynchronousTrainer"/> calls <see cref="Transmit"/> once per client, in client
/// order, never concurrently. The payload and audit buffers are pooled, so an upload allocates nothing but what
/// Theory allocates for a design the cache does not hold.</para>
/// </remarks>
public sealed class CodecChannel : IGradientChannel
{
    private readonly UploadEncoder _encoder;
    private readonly UploadAggregator _server;

    /// <summary>A channel that sends <paramref name="dimension"/>-coordinate gradients with <paramref name="spec"/>.</summary>
    /// <param name="spec">The scheme and bit width.</param>
    /// <param name="dimension">d, the gradient length.</param>
    /// <param name="auditEvery">Audit every upload of rounds 0, k, 2k, … (0: never). Auditing decodes the payload once
    /// more and passes over the gradient twice: about 3% of a default CNN round when done every round.</param>
    /// <param name="codec">The codec; a new one by default.</param>
    /// <param name="time">Clock for <see cref="Timings"/>.</param>
    public CodecChannel(QuantizerSpec spec, int dimension, int auditEvery = 10, GradientCodec? codec = null, TimeProvider? time = null)
        : this(spec, dimension, new CodecChannelOptions { AuditEvery = auditEvery }, codec, time)
    {
    }

    /// <summary>A channel that sends <paramref name="dimension"/>-coordinate gradients with <paramref name="spec"/>.</summary>
    /// <param name="spec">The scheme, bits and threshold.</param>
    /// <param name="dimension">d, the gradient length.</param>
    /// <param name="options">Audit period, model fit and error feedback.</param>
    /// <param name="codec">The codec, shared by both halves (its design cache serves the client); a new one by default.</param>
    /// <param name="time">Clock for <see cref="Timings"/>.</param>
    public CodecChannel(QuantizerSpec spec, int dimension, CodecChannelOptions options, GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(options.AuditEvery);
        codec ??= new GradientCodec();
        _encoder = new UploadEncoder(spec, dimension, options, codec, time);
        _server = new UploadAggregator(dimension, options.AuditEvery, codec, time);
    }

    /// <summary>The scheme.</summary>
    public QuantizerSpec Spec => _encoder.Spec;

    /// <summary>d.</summary>
    public int Dimension => _encoder.Dimension;

    /// <summary>Rounds between audits (0: never).</summary>
    public int AuditEvery => _server.AuditEvery;

    /// <summary>The model each upload fits.</summary>
    public UploadFitKind Fit => _encoder.Fit;

    /// <summary>The segments of each upload; null: the whole vector, as one version-1 payload.</summary>
    public UploadSegmentPlan? Segments => _encoder.Segments;

    /// <summary>Whether each client keeps an error-feedback residual.</summary>
    public bool ErrorFeedback => _encoder.ErrorFeedback;

    /// <summary>Uploads so far whose chosen fit found no model and went with Laplace (Lomax with ρ̂ ≤ 3).</summary>
    public long FitFallbacks => _server.FitFallbacks;

    /// <inheritdoc />
    public string Name => Spec.Label;

    /// <summary>Sets <see cref="FitFallbacks"/> from a checkpoint, so that a resumed run counts as the uninterrupted one.</summary>
    public void RestoreFitFallbacks(long count) => _server.RestoreFitFallbacks(count);

    /// <summary>Client <paramref name="client"/>'s residual e (what its uploads have lost so far); error feedback only.</summary>
    /// <exception cref="InvalidOperationException">Error feedback is off.</exception>
    public ReadOnlySpan<float> Residual(int client) => _encoder.Residual(client);

    /// <summary>Sees each gradient before it is encoded (gradient capture); null: none.</summary>
    public IUploadObserver? Observer
    {
        get => _encoder.Observer;
        set => _encoder.Observer = value;
    }

    /// <summary>Where the channel's time went so far.</summary>
    public ChannelTimings Timings => new(_encoder.DesignTime, _encoder.EncodeTime, _server.DecodeTime, _server.AuditTime);

    /// <inheritdoc />
    /// <exception cref="TrainingDivergedException">The gradient holds a NaN or ±∞ coordinate.</exception>
    public long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight)
    {
        EncodedUpload upload = _encoder.Encode(gradient, key);
        _server.Accept(key, upload.Payload, upload.Description, upload.Sent, sum, weight);
        return upload.Payload.Length;
    }

    /// <summary>
    /// Writes the channel's state: whether error feedback is on and, if so, every client's residual (float32,
    /// little-endian). Nothing else carries over between rounds: designs are a cache, rounding keys are (seed, round,
    /// client).
    /// </summary>
    public void WriteState(BinaryWriter writer) => _encoder.WriteState(writer);

    /// <summary>
    /// Restores <see cref="WriteState"/>'s output. Everything is read and checked before anything is overwritten, so a
    /// refused state leaves the channel as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The state is truncated, or was written with error feedback on and this
    /// channel has it off (or the other way round), or for another number of clients or another d.</exception>
    public void ReadState(BinaryReader reader) => _encoder.ReadState(reader);

    /// <summary>
    /// What the channel did in <paramref name="round"/>: the clients' fitted scales and designs, averaged, and the
    /// audit's measurements, averaged (NaN in a round without audit).
    /// </summary>
    /// <exception cref="InvalidOperationException">The channel's last round is not <paramref name="round"/>.</exception>
    public UploadStatistics StatisticsOf(int round) => _server.StatisticsOf(round);
}

/// <summary>Time spent in the codec channel, summed over uploads.</summary>
/// <param name="Design">Fitting the model and designing the quantizer (cache lookups included).</param>
/// <param name="Encode">Encoding, and error feedback's client-side work (g + e, decoding its own payload, the new residual).</param>
/// <param name="Decode">The server's decode-accumulate.</param>
/// <param name="Audit">Auditing (a second decode and two passes); not part of the codec's cost.</param>
public readonly record struct ChannelTimings(TimeSpan Design, TimeSpan Encode, TimeSpan Decode, TimeSpan Audit)
{
    /// <summary>The codec's own cost: design, encode and decode.</summary>
    public TimeSpan Codec => Design + Encode + Decode;
}

/// <summary>
/// One round's uploads, averaged over the clients: the fitted model, the design's per-coordinate predictions, and
/// what the audit measured (NaN in rounds without audit; see <see cref="EncodingAudit"/>).
/// </summary>
/// <param name="Uploads">Uploads in the round.</param>
/// <param name="ModelScale">Fitted model's scale: Laplace γ̂, or Lomax σ̂ with <c>--fit lomax</c>.</param>
/// <param name="Alpha">Design's α (∞ for schemes that do not truncate).</param>
/// <param name="PredictedRoundingVariance">Design's exact rounding variance per coordinate under the fitted model.</param>
/// <param name="PredictedTruncationMse">Design's M(α) (sign: its bias).</param>
/// <param name="PredictedTruncationRate">P(|g| &gt; α) under the fitted model.</param>
/// <param name="MeasuredMse">(1/d)‖ĝ − g‖².</param>
/// <param name="MeasuredRoundingVariance">(1/d)‖ĝ − clip(g)‖².</param>
/// <param name="ExpectedRoundingVariance">Its exact expectation given the gradient.</param>
/// <param name="MeasuredTruncationRate">Fraction of coordinates beyond the outer level.</param>
/// <param name="MeasuredTruncationMse">(1/d)Σ(|g| − α)₊².</param>
public sealed record UploadStatistics(
    int Uploads,
    double ModelScale,
    double Alpha,
    double PredictedRoundingVariance,
    double PredictedTruncationMse,
    double PredictedTruncationRate,
    double MeasuredMse,
    double MeasuredRoundingVariance,
    double ExpectedRoundingVariance,
    double MeasuredTruncationRate,
    double MeasuredTruncationMse)
{
    /// <summary>Fits of the round (one per upload, or per segment) that found no model and went with Laplace (Lomax with ρ̂ ≤ 3).</summary>
    public int FitFallbacks { get; init; }

    /// <summary>
    /// The squared bias of the server's average of the round's uploads, ‖b‖²/‖ḡ‖² (<see cref="AveragedUploadAudit"/>):
    /// what truncation (or sign) costs after averaging. NaN in rounds without audit.
    /// </summary>
    public double AveragedBiasSquared { get; init; } = double.NaN;

    /// <summary>The rounding variance of the server's average, Σ_i w_i² Σ_j Var/‖ḡ‖²: falls as 1/N. NaN in rounds without audit.</summary>
    public double AveragedVariance { get; init; } = double.NaN;

    /// <summary>The design's predicted (1/d)E‖ĝ − g‖²: rounding variance plus truncation error.</summary>
    public double PredictedMse => PredictedRoundingVariance + PredictedTruncationMse;
}

/// <summary>How a <see cref="CodecChannel"/> treats each upload besides its scheme.</summary>
public sealed record CodecChannelOptions
{
    /// <summary>Audit every upload of rounds 0, k, 2k, … (0: never). Default 10.</summary>
    public int AuditEvery { get; init; } = 10;

    /// <summary>The model each upload fits. Default Laplace.</summary>
    public UploadFitKind Fit { get; init; } = UploadFitKind.Laplace;

    /// <summary>Error feedback for clients 0..N−1 (N = this value); 0, the default, turns it off.</summary>
    public int ErrorFeedbackClients { get; init; }

    /// <summary>
    /// The segments of each upload, each with its own fit and design, in one version-3 payload
    /// (<see cref="UploadSegmentation.Plan"/>); null, the default, sends the whole vector as one version-1 payload.
    /// </summary>
    public UploadSegmentPlan? Segments { get; init; }
}
