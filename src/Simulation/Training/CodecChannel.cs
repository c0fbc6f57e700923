using System.Globalization;
using Verified.Codec;
using Verified.Codec.Audit;
using Verified.Theory;

namespace Verified.Simulation.Training;

/// <summary>
/// The up-link through the codec: the client fits the gradient model, designs the quantizer (Theory), encodes with
/// the upload's key (Codec), and the server decode-accumulates the payload. The bytes reported are the payload's
/// length, header included: real codec output, not a nominal ratio.
/// </summary>
/// <remarks>
/// <para>Per upload (ARCHITECTURE.md, "the data path of one round"):</para>
/// <code>
/// model  ← ModelFit.Laplace(g)                  γ̂ = mean |g|; fp and QSGD/NUQSGD ignore it for their levels
/// design ← codec.Designs.GetOrDesign(spec, model, d)
/// bytes  ← codec.Encode(g, design, (seed, round, client))
/// server: codec.DecodeAccumulate(bytes, sum, 1/N)
/// every AuditEvery rounds: EncodingAudit.Measure(g, bytes) next to design's predictions
/// </code>
/// <para>An all-zero gradient (no scale to fit) goes as <see cref="GradientCodec.EncodeZero"/>'s payload. A NaN or ±∞
/// coordinate stops the run with a <see cref="TrainingDivergedException"/> naming the round, client and index.</para>
/// <para>Not thread-safe: <see cref="SynchronousTrainer"/> calls <see cref="Transmit"/> once per client, in client
/// order, never concurrently. The payload and audit buffers are pooled, so an upload allocates nothing but what
/// Theory allocates for a design the cache does not hold.</para>
/// </remarks>
public sealed class CodecChannel : IGradientChannel
{
    private readonly GradientCodec _codec;
    private readonly TimeProvider _time;
    private readonly byte[] _payload;
    private float[] _auditScratch = [];
    private RoundAccumulator _round = new();
    private long _designTicks;
    private long _encodeTicks;
    private long _decodeTicks;
    private long _auditTicks;

    /// <summary>A channel that sends <paramref name="dimension"/>-coordinate gradients with <paramref name="spec"/>.</summary>
    /// <param name="spec">The scheme and bit width.</param>
    /// <param name="dimension">d, the gradient length.</param>
    /// <param name="auditEvery">Audit every upload of rounds 0, k, 2k, … (0: never). Auditing decodes the payload once
    /// more and passes over the gradient twice: about 3% of a default CNN round when done every round.</param>
    /// <param name="codec">The codec; a new one by default.</param>
    /// <param name="time">Clock for <see cref="Timings"/>.</param>
    public CodecChannel(QuantizerSpec spec, int dimension, int auditEvery = 10, GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(auditEvery);
        Spec = spec;
        Dimension = dimension;
        AuditEvery = auditEvery;
        _codec = codec ?? new GradientCodec();
        _time = time ?? TimeProvider.System;
        _payload = GC.AllocateUninitializedArray<byte>(GradientCodec.GetMaxEncodedLength(spec, dimension));
    }

    /// <summary>The scheme.</summary>
    public QuantizerSpec Spec { get; }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>Rounds between audits (0: never).</summary>
    public int AuditEvery { get; }

    /// <inheritdoc />
    public string Name => Spec.Label;

    /// <summary>Sees each gradient before it is encoded (gradient capture); null: none.</summary>
    public IUploadObserver? Observer { get; set; }

    /// <summary>Where the channel's time went so far.</summary>
    public ChannelTimings Timings => new(
        _time.GetElapsedTime(0, _designTicks),
        _time.GetElapsedTime(0, _encodeTicks),
        _time.GetElapsedTime(0, _decodeTicks),
        _time.GetElapsedTime(0, _auditTicks));

    /// <inheritdoc />
    /// <exception cref="TrainingDivergedException">The gradient holds a NaN or ±∞ coordinate.</exception>
    public long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight)
    {
        if (gradient.Length != Dimension)
        {
            throw new ArgumentException($"The gradient has {gradient.Length} values but the channel sends {Dimension}.", nameof(gradient));
        }
        if (key.Round != _round.Round)
        {
            _round = new RoundAccumulator { Round = key.Round };
        }
        Observer?.Observe(key, gradient);

        long start = _time.GetTimestamp();
        QuantizerDesign? design = DesignFor(gradient, key);
        long designed = _time.GetTimestamp();
        int length = design is null
            ? GradientCodec.EncodeZero(Spec, gradient.Length, _payload)
            : _codec.Encode(gradient, design, new RoundingKey(unchecked((ulong)key.Seed), key.Round, key.Client), _payload);
        ReadOnlySpan<byte> payload = _payload.AsSpan(0, length);
        long encoded = _time.GetTimestamp();
        _codec.DecodeAccumulate(payload, sum, weight);
        long decoded = _time.GetTimestamp();
        _designTicks += designed - start;
        _encodeTicks += encoded - designed;
        _decodeTicks += decoded - encoded;

        _round.Add(design);
        if (AuditEvery > 0 && key.Round % AuditEvery == 0)
        {
            if (_auditScratch.Length != Dimension)
            {
                _auditScratch = GC.AllocateUninitializedArray<float>(Dimension);
            }
            _round.Add(EncodingAudit.Measure(_codec, gradient, payload, _auditScratch));
            _auditTicks += _time.GetTimestamp() - decoded;
        }
        return length;
    }

    /// <summary>
    /// What the channel did in <paramref name="round"/>: the clients' fitted scales and designs, averaged, and the
    /// audit's measurements, averaged (NaN in a round without audit).
    /// </summary>
    /// <exception cref="InvalidOperationException">The channel's last round is not <paramref name="round"/>.</exception>
    public UploadStatistics StatisticsOf(int round) =>
        _round.Round == round && _round.Uploads > 0
            ? _round.ToStatistics()
            : throw new InvalidOperationException($"The channel has no uploads of round {round}; its last round is {_round.Round}.");

    private QuantizerDesign? DesignFor(ReadOnlySpan<float> gradient, UploadKey key)
    {
        Laplace model;
        try
        {
            model = ModelFit.Laplace(gradient);
        }
        catch (ArgumentException exception)
        {
            if (IsAllZero(gradient))
            {
                return null;
            }
            // The fit fails on a NaN or ±∞ coordinate before the codec sees it: that is divergence, not a bad input.
            int index = FirstNonFinite(gradient);
            if (index >= 0)
            {
                throw new TrainingDivergedException(key.Round, key.Client, index, exception);
            }
            throw new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"Round {key.Round}, client {key.Client}: {exception.Message} Lower the learning rate (--lr) or check the data."),
                exception);
        }
        return _codec.Designs.GetOrDesign(Spec, model, Spec.DesignNeedsDimension ? Math.Max(gradient.Length, 1) : null);
    }

    private static int FirstNonFinite(ReadOnlySpan<float> gradient)
    {
        for (int j = 0; j < gradient.Length; j++)
        {
            if (!float.IsFinite(gradient[j]))
            {
                return j;
            }
        }
        return -1;
    }

    private static bool IsAllZero(ReadOnlySpan<float> gradient)
    {
        foreach (float value in gradient)
        {
            if (value != 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Sums of one round's per-upload figures.</summary>
    private sealed class RoundAccumulator
    {
        public int Round { get; init; } = -1;

        public int Uploads { get; private set; }

        private int _designed;
        private double _scale, _alpha, _predictedRounding, _predictedTruncationMse, _predictedTruncationRate;
        private int _audited;
        private double _mse, _rounding, _expectedRounding, _truncationRate, _truncationMse;

        public void Add(QuantizerDesign? design)
        {
            Uploads++;
            if (design is null)
            {
                return;
            }
            _designed++;
            _scale += design.Model.Scale;
            _alpha += design.Alpha;
            _predictedRounding += design.RoundingVariance;
            _predictedTruncationMse += design.TruncationMse;
            _predictedTruncationRate += double.IsFinite(design.Alpha) ? design.Model.TailMass(design.Alpha) : 0;
        }

        public void Add(EncodingAudit audit)
        {
            _audited++;
            _mse += audit.MeanSquaredError;
            _rounding += audit.RoundingVariance;
            _expectedRounding += audit.ExpectedRoundingVariance;
            _truncationRate += audit.TruncationRate;
            _truncationMse += audit.TruncationMse;
        }

        public UploadStatistics ToStatistics()
        {
            double d = _designed, a = _audited;
            return new UploadStatistics(
                Uploads,
                _designed == 0 ? double.NaN : _scale / d,
                _designed == 0 ? double.NaN : _alpha / d,
                _designed == 0 ? double.NaN : _predictedRounding / d,
                _designed == 0 ? double.NaN : _predictedTruncationMse / d,
                _designed == 0 ? double.NaN : _predictedTruncationRate / d,
                _audited == 0 ? double.NaN : _mse / a,
                _audited == 0 ? double.NaN : _rounding / a,
                _audited == 0 ? double.NaN : _expectedRounding / a,
                _audited == 0 ? double.NaN : _truncationRate / a,
                _audited == 0 ? double.NaN : _truncationMse / a);
        }
    }
}

/// <summary>Time spent in the codec channel, summed over uploads.</summary>
/// <param name="Design">Fitting the model and designing the quantizer (cache lookups included).</param>
/// <param name="Encode">Encoding.</param>
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
/// <param name="ModelScale">Fitted Laplace scale γ̂.</param>
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
    /// <summary>The design's predicted (1/d)E‖ĝ − g‖²: rounding variance plus truncation error.</summary>
    public double PredictedMse => PredictedRoundingVariance + PredictedTruncationMse;
}
