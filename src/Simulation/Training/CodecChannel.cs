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
/// v      ← g + e_i with error feedback on, else g
/// model  ← UploadFit.Fit(fit, v)                 Laplace γ̂ = mean |g| by default; fp and QSGD/NUQSGD ignore it for their levels
/// design ← codec.Designs.GetOrDesign(spec, model, d)
/// bytes  ← codec.Encode(v, design, (seed, round, client))
/// server: codec.DecodeAccumulate(bytes, sum, 1/N)
/// error feedback: e_i ← v − codec.Decode(bytes)
/// every AuditEvery rounds: EncodingAudit.Measure(v, bytes) next to design's predictions
/// </code>
/// <para>Error feedback is the classic memory of EF-SGD (Seide et al. 2014, "1-bit stochastic gradient descent…";
/// Karimireddy et al. 2019, "Error feedback fixes SignSGD…"): what a client's upload lost is added to its next
/// gradient, so over R rounds Σ decoded uploads + e_i = Σ gradients (to float rounding), whatever the scheme. The
/// residual is taken from the client's own payload decoded (exactly what the server adds), not from a second
/// quantization, which with stochastic rounding would differ. One float[d] per client, allocated once; it is state a
/// checkpoint must hold (<see cref="WriteState"/>).</para>
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
    private readonly float[][]? _residuals;
    private readonly float[] _corrected = [];
    private readonly float[] _decoded = [];
    private readonly UploadSegmentPlan? _segments;
    private readonly QuantizerDesign[] _segmentDesigns = [];
    private readonly QuantizerDesign? _fullPrecisionDesign;
    private float[] _auditScratch = [];
    private AveragedUploadAudit? _average;
    private RoundAccumulator _round = new();
    private long _designTicks;
    private long _encodeTicks;
    private long _decodeTicks;
    private long _auditTicks;
    private long _fitFallbacks;

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
    /// <param name="codec">The codec; a new one by default.</param>
    /// <param name="time">Clock for <see cref="Timings"/>.</param>
    public CodecChannel(QuantizerSpec spec, int dimension, CodecChannelOptions options, GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(options.AuditEvery);
        Spec = spec;
        Dimension = dimension;
        AuditEvery = options.AuditEvery;
        Fit = options.Fit;
        _codec = codec ?? new GradientCodec();
        _time = time ?? TimeProvider.System;
        _segments = options.Segments;
        if (_segments is null)
        {
            _payload = GC.AllocateUninitializedArray<byte>(GradientCodec.GetMaxEncodedLength(spec, dimension));
        }
        else
        {
            if (_segments.Layout.Dimension != dimension)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"The segments cover {_segments.Layout.Dimension} coordinates but the channel sends {dimension}."), nameof(options));
            }
            if (spec is SparsifierSpec)
            {
                throw new ArgumentException($"{spec.Name} cannot be segmented: a sparsifier is sent whole (use segments = whole).", nameof(options));
            }
            _fullPrecisionDesign = Quantizers.Design(new FullPrecision(), new Laplace(1));
            var specs = new QuantizerSpec[_segments.Layout.Count];
            for (int i = 0; i < specs.Length; i++)
            {
                specs[i] = _segments.FullPrecision[i] ? new FullPrecision() : spec;
            }
            _segmentDesigns = new QuantizerDesign[specs.Length];
            _payload = GC.AllocateUninitializedArray<byte>(GradientCodec.GetMaxEncodedLength(specs, _segments.Layout));
        }
        if (options.ErrorFeedbackClients > 0)
        {
            // All residuals up front (zero: nothing lost yet), so a round allocates nothing: N·d floats, 38 MB for the
            // default CNN and 8 clients.
            _residuals = new float[options.ErrorFeedbackClients][];
            for (int c = 0; c < _residuals.Length; c++)
            {
                _residuals[c] = new float[dimension];
            }
            _corrected = GC.AllocateUninitializedArray<float>(dimension);
            _decoded = GC.AllocateUninitializedArray<float>(dimension);
        }
    }

    /// <summary>The scheme.</summary>
    public QuantizerSpec Spec { get; }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>Rounds between audits (0: never).</summary>
    public int AuditEvery { get; }

    /// <summary>The model each upload fits.</summary>
    public UploadFitKind Fit { get; }

    /// <summary>The segments of each upload; null: the whole vector, as one version-1 payload.</summary>
    public UploadSegmentPlan? Segments => _segments;

    /// <summary>Whether each client keeps an error-feedback residual.</summary>
    public bool ErrorFeedback => _residuals is not null;

    /// <summary>Uploads so far whose chosen fit found no model and went with Laplace (Lomax with ρ̂ ≤ 3).</summary>
    public long FitFallbacks => _fitFallbacks;

    /// <inheritdoc />
    public string Name => Spec.Label;

    /// <summary>Sets <see cref="FitFallbacks"/> from a checkpoint, so that a resumed run counts as the uninterrupted one.</summary>
    public void RestoreFitFallbacks(long count) => _fitFallbacks = count >= 0 ? count : throw new ArgumentOutOfRangeException(nameof(count), count, "A count cannot be negative.");

    /// <summary>Client <paramref name="client"/>'s residual e (what its uploads have lost so far); error feedback only.</summary>
    /// <exception cref="InvalidOperationException">Error feedback is off.</exception>
    public ReadOnlySpan<float> Residual(int client) =>
        (_residuals ?? throw new InvalidOperationException("Error feedback is off: the channel keeps no residuals."))[client];

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
            _average?.Reset();
        }
        float[]? residual = null;
        if (_residuals is not null)
        {
            if ((uint)key.Client >= (uint)_residuals.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(key), key.Client, $"The channel keeps residuals for {_residuals.Length} clients.");
            }
            residual = _residuals[key.Client];
        }

        long start = _time.GetTimestamp();
        // With error feedback the client sends v = g + e: the codec, the observer and the audit all see v.
        ReadOnlySpan<float> vector = residual is null ? gradient : AddInto(gradient, residual, _corrected);
        long corrected = _time.GetTimestamp();
        Observer?.Observe(key, vector);

        long fitStart = _time.GetTimestamp();
        var roundingKey = new RoundingKey(unchecked((ulong)key.Seed), key.Round, key.Client);
        int length;
        long designed;
        int fallbacks;
        DesignSummary summary;
        if (_segments is null)
        {
            QuantizerDesign? design = DesignFor(vector, key, 0, out bool fellBack);
            designed = _time.GetTimestamp();
            length = design is null
                ? GradientCodec.EncodeZero(Spec, vector.Length, _payload)
                : _codec.Encode(vector, design, roundingKey, _payload);
            fallbacks = fellBack ? 1 : 0;
            summary = design is null ? default : DesignSummary.Of(design, vector.Length);
        }
        else
        {
            fallbacks = DesignSegments(vector, key, out summary);
            designed = _time.GetTimestamp();
            length = _codec.EncodeSegments(vector, _segmentDesigns, _segments.Layout, roundingKey, _payload);
        }
        ReadOnlySpan<byte> payload = _payload.AsSpan(0, length);
        long encoded = _time.GetTimestamp();
        _codec.DecodeAccumulate(payload, sum, weight);
        long decoded = _time.GetTimestamp();
        if (residual is not null)
        {
            // e ← v − Q(v), Q(v) being the payload as the server decodes it (the client can decode its own payload).
            _codec.Decode(payload, _decoded);
            SubtractInto(_corrected, _decoded, residual);
        }
        long fedBack = _time.GetTimestamp();
        _designTicks += designed - fitStart;
        // Error feedback's work (g + e, and the decode and subtraction for the new residual) is the client's, so it
        // counts as encoding.
        _encodeTicks += (encoded - designed) + (corrected - start) + (fedBack - decoded);
        _decodeTicks += decoded - encoded;
        _fitFallbacks += fallbacks;

        _round.Add(summary, fallbacks);
        if (AuditEvery > 0 && key.Round % AuditEvery == 0)
        {
            if (_auditScratch.Length != Dimension)
            {
                _auditScratch = GC.AllocateUninitializedArray<float>(Dimension);
                _average = new AveragedUploadAudit(Dimension);
            }
            _round.Add(EncodingAudit.Measure(_codec, vector, payload, _auditScratch, _average, weight));
            _auditTicks += _time.GetTimestamp() - fedBack;
        }
        return length;
    }

    /// <summary>
    /// Fits and designs every segment of <paramref name="vector"/> into <see cref="_segmentDesigns"/>; returns the
    /// number of fits that fell back to Laplace, and the upload's design figures averaged over its coordinates.
    /// </summary>
    private int DesignSegments(ReadOnlySpan<float> vector, UploadKey key, out DesignSummary summary)
    {
        UploadSegmentPlan plan = _segments!;
        int fallbacks = 0;
        var sums = new DesignSummary.Builder();
        for (int i = 0; i < plan.Layout.Count; i++)
        {
            SegmentRange range = plan.Layout[i];
            ReadOnlySpan<float> segment = vector.Slice(range.Start, range.Length);
            if (plan.FullPrecision[i])
            {
                int index = FirstNonFinite(segment);
                if (index >= 0)
                {
                    throw new TrainingDivergedException(key.Round, key.Client, range.Start + index,
                        new ArgumentException($"Coordinate {range.Start + index} is {segment[index]}."));
                }
                _segmentDesigns[i] = _fullPrecisionDesign!;
                sums.AddExact(range.Length);
                continue;
            }
            // An all-zero segment is sent as zeros whatever its design (TryEncodeSegments), so any design of the spec
            // will do: the unit Laplace design, from the cache.
            QuantizerDesign design = DesignFor(segment, key, range.Start, out bool fellBack)
                ?? _codec.Designs.GetOrDesign(Spec, new Laplace(1), Spec.DesignNeedsDimension ? range.Length : null);
            fallbacks += fellBack ? 1 : 0;
            _segmentDesigns[i] = design;
            sums.Add(design, range.Length);
        }
        summary = sums.Build();
        return fallbacks;
    }

    /// <summary>
    /// Writes the channel's state: whether error feedback is on and, if so, every client's residual (float32,
    /// little-endian). Nothing else carries over between rounds: designs are a cache, rounding keys are (seed, round,
    /// client).
    /// </summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_residuals is not null);
        if (_residuals is null)
        {
            return;
        }
        writer.Write(_residuals.Length);
        writer.Write(Dimension);
        foreach (float[] residual in _residuals)
        {
            FloatStream.Write(writer, residual);
        }
    }

    /// <summary>
    /// Restores <see cref="WriteState"/>'s output. Everything is read and checked before anything is overwritten, so a
    /// refused state leaves the channel as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The state is truncated, or was written with error feedback on and this
    /// channel has it off (or the other way round), or for another number of clients or another d.</exception>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        bool feedback;
        int clients = 0, dimension = 0;
        try
        {
            feedback = reader.ReadBoolean();
            if (feedback)
            {
                clients = reader.ReadInt32();
                dimension = reader.ReadInt32();
            }
        }
        catch (EndOfStreamException exception)
        {
            throw new InvalidDataException("The channel state is truncated before its header ends.", exception);
        }
        if (feedback != (_residuals is not null))
        {
            throw new InvalidDataException(feedback
                ? "The checkpoint holds error-feedback residuals but this run has error feedback off."
                : "The checkpoint holds no error-feedback residuals but this run has error feedback on.");
        }
        if (_residuals is null)
        {
            return;
        }
        if (clients != _residuals.Length || dimension != Dimension)
        {
            throw new InvalidDataException($"The checkpoint holds residuals of {clients} clients × {dimension} coordinates; this run has {_residuals.Length} × {Dimension}.");
        }
        var read = new float[clients][];
        for (int c = 0; c < clients; c++)
        {
            read[c] = new float[dimension];
            FloatStream.Read(reader, read[c], $"client {c}'s residual");
        }
        for (int c = 0; c < clients; c++)
        {
            read[c].CopyTo(_residuals[c], 0);
        }
    }

    /// <summary>destination ← a + b, lane by lane (each sum rounded once, whatever the vector width).</summary>
    private static ReadOnlySpan<float> AddInto(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination)
    {
        int j = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            for (; j <= a.Length - System.Numerics.Vector<float>.Count; j += System.Numerics.Vector<float>.Count)
            {
                (new System.Numerics.Vector<float>(a[j..]) + new System.Numerics.Vector<float>(b[j..])).CopyTo(destination[j..]);
            }
        }
        for (; j < a.Length; j++)
        {
            destination[j] = a[j] + b[j];
        }
        return destination[..a.Length];
    }

    /// <summary>destination ← a − b, lane by lane.</summary>
    private static void SubtractInto(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination)
    {
        int j = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            for (; j <= a.Length - System.Numerics.Vector<float>.Count; j += System.Numerics.Vector<float>.Count)
            {
                (new System.Numerics.Vector<float>(a[j..]) - new System.Numerics.Vector<float>(b[j..])).CopyTo(destination[j..]);
            }
        }
        for (; j < a.Length; j++)
        {
            destination[j] = a[j] - b[j];
        }
    }

    /// <summary>
    /// What the channel did in <paramref name="round"/>: the clients' fitted scales and designs, averaged, and the
    /// audit's measurements, averaged (NaN in a round without audit).
    /// </summary>
    /// <exception cref="InvalidOperationException">The channel's last round is not <paramref name="round"/>.</exception>
    public UploadStatistics StatisticsOf(int round) =>
        _round.Round == round && _round.Uploads > 0
            ? _round.ToStatistics(_average)
            : throw new InvalidOperationException($"The channel has no uploads of round {round}; its last round is {_round.Round}.");

    private QuantizerDesign? DesignFor(ReadOnlySpan<float> gradient, UploadKey key, int start, out bool fellBack)
    {
        fellBack = false;
        Laplace laplace;
        try
        {
            laplace = ModelFit.Laplace(gradient);
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
                throw new TrainingDivergedException(key.Round, key.Client, start + index, exception);
            }
            throw new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"Round {key.Round}, client {key.Client}: {exception.Message} Lower the learning rate (--lr) or check the data."),
                exception);
        }
        GradientModel model = UploadFit.Fit(Fit, gradient, laplace, out fellBack);
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

    /// <summary>
    /// One upload's design figures: the fitted scale and α averaged over its quantized coordinates, the predicted errors
    /// and truncation rate over all its coordinates (full-precision segments predict 0). For a whole-vector upload,
    /// the design's own figures.
    /// </summary>
    private readonly record struct DesignSummary(
        bool Designed, double Scale, double Alpha, double PredictedRounding, double PredictedTruncationMse, double PredictedTruncationRate)
    {
        public static DesignSummary Of(QuantizerDesign design, int length)
        {
            var builder = new Builder();
            builder.Add(design, length);
            return builder.Build();
        }

        public struct Builder
        {
            private long _quantized, _all;
            private double _scale, _alpha, _rounding, _truncationMse, _truncationRate;

            public void AddExact(int length) => _all += length;

            public void Add(QuantizerDesign design, int length)
            {
                _all += length;
                _quantized += length;
                _scale += design.Model.Scale * length;
                _alpha += design.Alpha * length;
                _rounding += design.RoundingVariance * length;
                _truncationMse += design.TruncationMse * length;
                _truncationRate += (double.IsFinite(design.Alpha) ? design.Model.TailMass(design.Alpha) : 0) * length;
            }

            public readonly DesignSummary Build() => _quantized == 0
                ? default
                : new DesignSummary(true, _scale / _quantized, _alpha / _quantized, _rounding / _all, _truncationMse / _all, _truncationRate / _all);
        }
    }

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

        public void Add(DesignSummary design, int fallbacks)
        {
            Uploads++;
            _fallbacks += fallbacks;
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
