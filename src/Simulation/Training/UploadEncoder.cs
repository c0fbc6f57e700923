using System.Globalization;
using Verified.Codec;
using Verified.Theory;

namespace Verified.Simulation.Training;

/// <summary>
/// The client's half of the codec channel: error feedback, the model fit, the design and the encoding of one upload.
/// What it returns (the payload and its <see cref="UploadDescription"/>) is all the server's
/// <see cref="UploadAggregator"/> needs, so the two halves can run in one process (<see cref="CodecChannel"/>) or on
/// either side of a network.
/// </summary>
/// <remarks>
/// <para>Per upload (ARCHITECTURE.md, "the data path of one round"):</para>
/// <code>
/// v      ← g + e_i with error feedback on, else g
/// model  ← UploadFit.Fit(fit, v)                 Laplace γ̂ = mean |g| by default; fp and QSGD/NUQSGD ignore it for their levels
/// design ← codec.Designs.GetOrDesign(spec, model, d)      (per segment with segments)
/// bytes  ← codec.Encode(v, design, (seed, round, client))
/// error feedback: e_i ← v − codec.Decode(bytes)
/// </code>
/// <para>Error feedback is the classic memory of EF-SGD (Seide et al. 2014, "1-bit stochastic gradient descent…";
/// Karimireddy et al. 2019, "Error feedback fixes SignSGD…"): what a client's upload lost is added to its next
/// gradient, so over R rounds Σ decoded uploads + e_i = Σ gradients (to float rounding), whatever the scheme. The
/// residual is taken from the client's own payload decoded (exactly what the server adds), not from a second
/// quantization, which with stochastic rounding would differ. One float[d] per client, allocated once; it is state a
/// checkpoint must hold (<see cref="WriteState"/>).</para>
/// <para>An all-zero gradient (no scale to fit) goes as <see cref="GradientCodec.EncodeZero"/>'s payload. A NaN or ±∞
/// coordinate stops the run with a <see cref="TrainingDivergedException"/> naming the round, client and index.</para>
/// <para>Not thread-safe. The payload and scratch buffers are pooled and reused by the next upload, so an upload
/// allocates nothing but what Theory allocates for a design the cache does not hold; a caller that keeps a payload
/// past the next call copies it.</para>
/// </remarks>
public sealed class UploadEncoder
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
    private long _designTicks;
    private long _encodeTicks;

    /// <summary>An encoder of <paramref name="dimension"/>-coordinate gradients with <paramref name="spec"/>.</summary>
    /// <param name="spec">The scheme, bits and threshold.</param>
    /// <param name="dimension">d, the gradient length.</param>
    /// <param name="options">Model fit, segments and error feedback (the audit period is the server's).</param>
    /// <param name="codec">The codec; a new one by default.</param>
    /// <param name="time">Clock for <see cref="DesignTime"/> and <see cref="EncodeTime"/>.</param>
    public UploadEncoder(QuantizerSpec spec, int dimension, CodecChannelOptions options, GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        Spec = spec;
        Dimension = dimension;
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
            // A residual is allocated at a client's first upload (zero: nothing lost yet) and reused after it, so only a
            // client's first round allocates: N·d floats in one process (38 MB for the default CNN and 8 clients), d
            // for an encoder that serves one client of a cluster.
            _residuals = new float[options.ErrorFeedbackClients][];
            _corrected = GC.AllocateUninitializedArray<float>(dimension);
            _decoded = GC.AllocateUninitializedArray<float>(dimension);
        }
    }

    /// <summary>The scheme.</summary>
    public QuantizerSpec Spec { get; }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>The model each upload fits.</summary>
    public UploadFitKind Fit { get; }

    /// <summary>The segments of each upload; null: the whole vector, as one version-1 payload.</summary>
    public UploadSegmentPlan? Segments => _segments;

    /// <summary>Whether each client keeps an error-feedback residual.</summary>
    public bool ErrorFeedback => _residuals is not null;

    /// <summary>Sees each vector before it is encoded (gradient capture); null: none.</summary>
    public IUploadObserver? Observer { get; set; }

    /// <summary>Time spent fitting and designing, summed over uploads.</summary>
    public TimeSpan DesignTime => _time.GetElapsedTime(0, _designTicks);

    /// <summary>Time spent encoding, and on error feedback's client-side work (g + e, decoding its own payload, the new
    /// residual), summed over uploads.</summary>
    public TimeSpan EncodeTime => _time.GetElapsedTime(0, _encodeTicks);

    /// <summary>Client <paramref name="client"/>'s residual e (what its uploads have lost so far); error feedback only.</summary>
    /// <exception cref="InvalidOperationException">Error feedback is off.</exception>
    public ReadOnlySpan<float> Residual(int client) => ResidualOf(client);

    /// <summary>Sets client <paramref name="client"/>'s residual (a client rebuilt from a checkpoint elsewhere).</summary>
    /// <exception cref="InvalidOperationException">Error feedback is off.</exception>
    /// <exception cref="ArgumentException">The residual does not have d values.</exception>
    public void RestoreResidual(int client, ReadOnlySpan<float> residual)
    {
        float[] target = ResidualOf(client);
        if (residual.Length != Dimension)
        {
            throw new ArgumentException($"The residual has {residual.Length} values but the channel sends {Dimension}.", nameof(residual));
        }
        residual.CopyTo(target);
    }

    private float[] ResidualOf(int client)
    {
        float[][] residuals = _residuals ?? throw new InvalidOperationException("Error feedback is off: the channel keeps no residuals.");
        if ((uint)client >= (uint)residuals.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(client), client, $"The channel keeps residuals for {residuals.Length} clients.");
        }
        return residuals[client] ??= new float[Dimension];
    }

    /// <summary>
    /// Encodes client <paramref name="key"/>.Client's gradient for round <paramref name="key"/>.Round. The returned
    /// payload and vector are views of pooled buffers, valid until the next call.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The gradient holds a NaN or ±∞ coordinate.</exception>
    public EncodedUpload Encode(ReadOnlySpan<float> gradient, UploadKey key)
    {
        if (gradient.Length != Dimension)
        {
            throw new ArgumentException($"The gradient has {gradient.Length} values but the channel sends {Dimension}.", nameof(gradient));
        }
        float[]? residual = _residuals is null ? null : ResidualOf(key.Client);

        long start = _time.GetTimestamp();
        // With error feedback the client sends v = g + e: the codec, the observer and the audit all see v.
        ReadOnlySpan<float> vector = residual is null ? gradient : AddInto(gradient, residual, _corrected);
        long corrected = _time.GetTimestamp();
        Observer?.Observe(key, vector);

        long fitStart = _time.GetTimestamp();
        var roundingKey = new RoundingKey(unchecked((ulong)key.Seed), key.Round, key.Client);
        int length;
        long designed;
        UploadDescription description;
        if (_segments is null)
        {
            QuantizerDesign? design = DesignFor(vector, key, 0, out bool fellBack);
            designed = _time.GetTimestamp();
            length = design is null
                ? GradientCodec.EncodeZero(Spec, vector.Length, _payload)
                : _codec.Encode(vector, design, roundingKey, _payload);
            int fallbacks = fellBack ? 1 : 0;
            description = design is null ? new UploadDescription { FitFallbacks = fallbacks } : UploadDescription.Of(design, vector.Length, fallbacks);
        }
        else
        {
            description = DesignSegments(vector, key);
            designed = _time.GetTimestamp();
            length = _codec.EncodeSegments(vector, _segmentDesigns, _segments.Layout, roundingKey, _payload);
        }
        ReadOnlySpan<byte> payload = _payload.AsSpan(0, length);
        long encoded = _time.GetTimestamp();
        if (residual is not null)
        {
            // e ← v − Q(v), Q(v) being the payload as the server decodes it (the client can decode its own payload).
            _codec.Decode(payload, _decoded);
            SubtractInto(_corrected, _decoded, residual);
        }
        long fedBack = _time.GetTimestamp();
        _designTicks += designed - fitStart;
        _encodeTicks += (encoded - designed) + (corrected - start) + (fedBack - encoded);
        return new EncodedUpload(payload, vector, description);
    }

    /// <summary>
    /// Fits and designs every segment of <paramref name="vector"/> into <see cref="_segmentDesigns"/>; returns the
    /// upload's design figures averaged over its coordinates, and the number of fits that fell back to Laplace.
    /// </summary>
    private UploadDescription DesignSegments(ReadOnlySpan<float> vector, UploadKey key)
    {
        UploadSegmentPlan plan = _segments!;
        int fallbacks = 0;
        var sums = new UploadDescription.Builder();
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
        return sums.Build(fallbacks);
    }

    /// <summary>
    /// Writes the encoder's state: whether error feedback is on and, if so, every client's residual (float32,
    /// little-endian). Nothing else carries over between rounds: designs are a cache, rounding keys are (seed, round,
    /// client).
    /// </summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        float[][]? residuals = null;
        if (_residuals is not null)
        {
            residuals = new float[_residuals.Length][];
            for (int c = 0; c < residuals.Length; c++)
            {
                residuals[c] = ResidualOf(c);
            }
        }
        WriteResiduals(writer, residuals, Dimension);
    }

    /// <summary>
    /// Writes error feedback's state in <see cref="WriteState"/>'s format: whether it is on and, if so, N, d and every
    /// client's residual (float32, little-endian). A cluster's server writes its clients' residuals with it, so its
    /// checkpoints are those of a run in one process.
    /// </summary>
    internal static void WriteResiduals(BinaryWriter writer, IReadOnlyList<float[]>? residuals, int dimension)
    {
        writer.Write(residuals is not null);
        if (residuals is null)
        {
            return;
        }
        writer.Write(residuals.Count);
        writer.Write(dimension);
        foreach (float[] residual in residuals)
        {
            if (residual.Length != dimension)
            {
                throw new ArgumentException($"A residual has {residual.Length} values; the channel sends {dimension}.", nameof(residuals));
            }
            FloatStream.Write(writer, residual);
        }
    }

    /// <summary>
    /// Reads <see cref="WriteResiduals"/>'s output, checking it against what the run expects (error feedback on or off,
    /// N clients, d): null when error feedback is off.
    /// </summary>
    /// <exception cref="InvalidDataException">The state is truncated or does not match.</exception>
    internal static float[][]? ReadResiduals(BinaryReader reader, bool errorFeedback, int clients, int dimension)
    {
        bool feedback;
        int storedClients = 0, storedDimension = 0;
        try
        {
            feedback = reader.ReadBoolean();
            if (feedback)
            {
                storedClients = reader.ReadInt32();
                storedDimension = reader.ReadInt32();
            }
        }
        catch (EndOfStreamException exception)
        {
            throw new InvalidDataException("The channel state is truncated before its header ends.", exception);
        }
        if (feedback != errorFeedback)
        {
            throw new InvalidDataException(feedback
                ? "The checkpoint holds error-feedback residuals but this run has error feedback off."
                : "The checkpoint holds no error-feedback residuals but this run has error feedback on.");
        }
        if (!feedback)
        {
            return null;
        }
        if (storedClients != clients || storedDimension != dimension)
        {
            throw new InvalidDataException($"The checkpoint holds residuals of {storedClients} clients × {storedDimension} coordinates; this run has {clients} × {dimension}.");
        }
        var read = new float[clients][];
        for (int c = 0; c < clients; c++)
        {
            read[c] = new float[dimension];
            FloatStream.Read(reader, read[c], $"client {c}'s residual");
        }
        return read;
    }

    /// <summary>
    /// Restores <see cref="WriteState"/>'s output. Everything is read and checked before anything is overwritten, so a
    /// refused state leaves the encoder as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The state is truncated, or was written with error feedback on and this
    /// encoder has it off (or the other way round), or for another number of clients or another d.</exception>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        float[][]? read = ReadResiduals(reader, _residuals is not null, _residuals?.Length ?? 0, Dimension);
        if (read is null)
        {
            return;
        }
        for (int c = 0; c < read.Length; c++)
        {
            read[c].CopyTo(ResidualOf(c), 0);
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
}

/// <summary>
/// One encoded upload: views of the encoder's pooled buffers, valid until its next call.
/// </summary>
/// <param name="Payload">The bytes to send.</param>
/// <param name="Sent">v, the vector that was encoded (the gradient, plus the residual with error feedback): what the
/// server's audit compares the payload with.</param>
/// <param name="Description">The design figures for the round's metrics.</param>
public readonly ref struct EncodedUpload(ReadOnlySpan<byte> Payload, ReadOnlySpan<float> Sent, UploadDescription Description)
{
    /// <summary>The bytes to send.</summary>
    public ReadOnlySpan<byte> Payload { get; } = Payload;

    /// <summary>v, the vector that was encoded.</summary>
    public ReadOnlySpan<float> Sent { get; } = Sent;

    /// <summary>The design figures for the round's metrics.</summary>
    public UploadDescription Description { get; } = Description;
}
