using System.Globalization;
using Verified.Codec;
using Verified.Codec.Audit;

namespace Verified.Simulation.Training;

/// <summary>
/// The server's half of the codec channel: decode-accumulates each client's payload into the round's sum, gathers the
/// uploads' <see cref="UploadDescription"/>s into the round's statistics, and in audit rounds measures each payload
/// against the vector the client encoded (<see cref="EncodingAudit"/>, and the split of the average's error into bias and
/// variance, <see cref="AveragedUploadAudit"/>).
/// </summary>
/// <remarks>
/// <para>The caller hands over a round's uploads in client order: floating-point addition is not associative, so the
/// sum (and with it every later θ) is reproducible only if the order is fixed, wherever and whenever the payloads were
/// made. Uploads of a new round start new statistics.</para>
/// <para>The audit needs v, the vector the client encoded: in one process that is a view of the encoder's buffer; across
/// a network a client sends it (float32, 4·d bytes) beside its payload in audit rounds only
/// (<see cref="IsAuditRound"/>), and it is not counted as uploaded bytes: it is the measurement's, not the codec's.</para>
/// <para>Not thread-safe. Allocates nothing per upload once the first audit round has sized its scratch buffers.</para>
/// </remarks>
public sealed class UploadAggregator
{
    private readonly GradientCodec _codec;
    private readonly TimeProvider _time;
    private float[] _auditScratch = [];
    private AveragedUploadAudit? _average;
    private RoundAccumulator _round = new();
    private long _decodeTicks;
    private long _auditTicks;
    private long _fitFallbacks;

    /// <summary>A server for <paramref name="dimension"/>-coordinate uploads.</summary>
    /// <param name="dimension">d.</param>
    /// <param name="auditEvery">Audit every upload of rounds 0, k, 2k, … (0: never). Auditing decodes the payload once
    /// more and passes over the vector twice: about 3% of a default CNN round when done every round.</param>
    /// <param name="codec">The codec; a new one by default.</param>
    /// <param name="time">Clock for <see cref="DecodeTime"/> and <see cref="AuditTime"/>.</param>
    public UploadAggregator(int dimension, int auditEvery, GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(auditEvery);
        Dimension = dimension;
        AuditEvery = auditEvery;
        _codec = codec ?? new GradientCodec();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>Rounds between audits (0: never).</summary>
    public int AuditEvery { get; }

    /// <summary>Uploads so far whose chosen fit found no model and went with Laplace (Lomax with ρ̂ ≤ 3).</summary>
    public long FitFallbacks => _fitFallbacks;

    /// <summary>The server's decode-accumulate time, summed over uploads.</summary>
    public TimeSpan DecodeTime => _time.GetElapsedTime(0, _decodeTicks);

    /// <summary>The audit's time (a second decode and two passes), summed over uploads; not part of the codec's cost.</summary>
    public TimeSpan AuditTime => _time.GetElapsedTime(0, _auditTicks);

    /// <summary>Whether the uploads of <paramref name="round"/> are audited, so that <see cref="Accept"/> needs the vectors the clients encoded.</summary>
    public bool IsAuditRound(int round) => AuditEvery > 0 && round % AuditEvery == 0;

    /// <summary>Sets <see cref="FitFallbacks"/> from a checkpoint, so that a resumed run counts as the uninterrupted one.</summary>
    public void RestoreFitFallbacks(long count) => _fitFallbacks = count >= 0 ? count : throw new ArgumentOutOfRangeException(nameof(count), count, "A count cannot be negative.");

    /// <summary>
    /// Adds <paramref name="weight"/> × the decoded <paramref name="payload"/> into <paramref name="sum"/> and records the
    /// upload in the round's statistics.
    /// </summary>
    /// <param name="key">Which upload this is; a new round starts new statistics.</param>
    /// <param name="payload">The client's bytes.</param>
    /// <param name="description">What the client reported about the upload's design.</param>
    /// <param name="sent">The vector the client encoded, in audit rounds; ignored (and may be empty) otherwise.</param>
    /// <param name="sum">The server's accumulator, length d.</param>
    /// <param name="weight">The client's weight in the average, 1/N for N equally weighted clients.</param>
    /// <exception cref="CodecFormatException">The payload is malformed (a client's or the network's fault).</exception>
    /// <exception cref="ArgumentException">An audit round's upload came without its vector, or a length is not d.</exception>
    public void Accept(UploadKey key, ReadOnlySpan<byte> payload, in UploadDescription description, ReadOnlySpan<float> sent, Span<float> sum, float weight)
    {
        if (sum.Length != Dimension)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The sum has {sum.Length} values but the server adds {Dimension}."), nameof(sum));
        }
        bool audit = IsAuditRound(key.Round);
        if (audit && sent.Length != Dimension)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Round {key.Round} is audited, so client {key.Client}'s upload needs the {Dimension}-coordinate vector it encoded; it came with {sent.Length}."), nameof(sent));
        }
        if (key.Round != _round.Round)
        {
            _round = new RoundAccumulator { Round = key.Round };
            _average?.Reset();
        }
        long start = _time.GetTimestamp();
        _codec.DecodeAccumulate(payload, sum, weight);
        long decoded = _time.GetTimestamp();
        _decodeTicks += decoded - start;
        _fitFallbacks += description.FitFallbacks;
        _round.Add(description);
        if (audit)
        {
            if (_auditScratch.Length != Dimension)
            {
                _auditScratch = GC.AllocateUninitializedArray<float>(Dimension);
                _average = new AveragedUploadAudit(Dimension);
            }
            _round.Add(EncodingAudit.Measure(_codec, sent, payload, _auditScratch, _average, weight));
            _auditTicks += _time.GetTimestamp() - decoded;
        }
    }

    /// <summary>
    /// What the server received in <paramref name="round"/>: the clients' fitted scales and designs, averaged, and the
    /// audit's measurements, averaged (NaN in a round without audit).
    /// </summary>
    /// <exception cref="InvalidOperationException">The server's last round is not <paramref name="round"/>.</exception>
    public UploadStatistics StatisticsOf(int round) =>
        _round.Round == round && _round.Uploads > 0
            ? _round.ToStatistics(_average)
            : throw new InvalidOperationException($"The channel has no uploads of round {round}; its last round is {_round.Round}.");

    /// <summary>Sums of one round's per-upload figures.</summary>
    private sealed class RoundAccumulator
    {
        public int Round { get; init; } = -1;

        public int Uploads { get; private set; }

        private int _designed;
        private int _fallbacks;
        private double _scale, _alpha, _predictedRounding, _predictedTruncationMse, _predictedTruncationRate;
        private int _audited;
        private double _mse, _rounding, _expectedRounding, _truncationRate, _truncationMse;

        public void Add(in UploadDescription design)
        {
            Uploads++;
            _fallbacks += design.FitFallbacks;
            if (!design.Designed)
            {
                return;
            }
            _designed++;
            _scale += design.Scale;
            _alpha += design.Alpha;
            _predictedRounding += design.PredictedRounding;
            _predictedTruncationMse += design.PredictedTruncationMse;
            _predictedTruncationRate += design.PredictedTruncationRate;
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

        public UploadStatistics ToStatistics(AveragedUploadAudit? average)
        {
            double d = _designed, a = _audited;
            AveragedErrorSplit split = _audited > 0 && average is { Uploads: > 0 } ? average.Result() : default;
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
                _audited == 0 ? double.NaN : _truncationMse / a)
            {
                FitFallbacks = _fallbacks,
                AveragedBiasSquared = split.Uploads > 0 ? split.RelativeBiasSquared : double.NaN,
                AveragedVariance = split.Uploads > 0 ? split.RelativeVariance : double.NaN,
            };
        }
    }
}
