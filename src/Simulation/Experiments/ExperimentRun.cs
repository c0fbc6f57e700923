using System.Globalization;
using Verified.Codec;
using Verified.Simulation.Data;
using Verified.Simulation.Training;

namespace Verified.Simulation.Experiments;

/// <summary>
/// One simulation run in progress: a <see cref="SynchronousTrainer"/> whose every upload goes through a
/// <see cref="CodecChannel"/>, stepped one round at a time, with the metrics of each round.
/// </summary>
/// <remarks>
/// <para>Row t of the metrics describes the state after t rounds (t = 1..T); the uploads of that round carry the codec
/// key (seed, t − 1, client). Test accuracy is measured after rounds k, 2k, … (k = <see cref="ExperimentSpec.EvaluateEvery"/>)
/// and after the last; the audit runs in rounds whose key round is a multiple of <see cref="ExperimentSpec.AuditEvery"/>.</para>
/// <para>A run is deterministic: the same spec and data give the same metrics (wall-clock fields aside).
/// libtorch's generator is global to the process, so construct runs one at a time.</para>
/// </remarks>
public sealed class ExperimentRun : ISteppedRun
{
    private readonly SynchronousTrainer? _trainer; // in one process
    private readonly CodecChannel? _channel; // in one process
    private readonly FleetTrainer? _server; // clients elsewhere
    private readonly IClientFleet? _fleet; // clients elsewhere
    private readonly TimeProvider _time;
    private readonly long _started;
    private long _evaluateTicks;

    /// <summary>Sets up the run (model, data on the device, clients, codec).</summary>
    /// <exception cref="ArgumentException">The spec is invalid (every invalid field is named) or the data cannot be
    /// shared among the clients.</exception>
    /// <param name="spec">The run.</param>
    /// <param name="data">MNIST (or another image set).</param>
    /// <param name="time">Clock for the timings.</param>
    /// <param name="observer">Sees every client gradient before the codec (e.g. gradient capture); null: none.</param>
    public ExperimentRun(ExperimentSpec spec, ImageDataSet data, TimeProvider? time = null, IUploadObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        SimulationConfig config = spec.ToSimulationConfig();
        Spec = spec;
        _time = time ?? TimeProvider.System;
        _started = _time.GetTimestamp();
        // The channel needs d before the trainer exists; the trainer needs the channel. A forwarding channel breaks the
        // cycle without building a model twice.
        var forward = new ForwardingChannel();
        _trainer = new SynchronousTrainer(config, data, forward, time: _time);
        _channel = new CodecChannel(spec.ToQuantizerSpec(), _trainer.Dimension, spec.ToChannelOptions(_trainer.Dimension, _trainer.TensorSizes.AsSpan()), NewCodec(spec), _time);
        _channel.Observer = observer;
        forward.Target = _channel;
        Dimension = _trainer.Dimension;
        TensorSizes = _trainer.TensorSizes;
    }

    /// <summary>
    /// Sets up the server of a run whose clients are <paramref name="fleet"/> (<see cref="FleetClient"/>s elsewhere):
    /// this process holds θ, the momentum and the server's half of the codec channel. For the same spec and data the
    /// metrics equal those of a run in one process, wall-clock fields aside.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is invalid (every invalid field is named).</exception>
    /// <param name="spec">The run.</param>
    /// <param name="data">The data set (the server evaluates on its test split).</param>
    /// <param name="fleet">The clients.</param>
    /// <param name="time">Clock for the timings.</param>
    public ExperimentRun(ExperimentSpec spec, ImageDataSet data, IClientFleet fleet, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(fleet);
        SimulationConfig config = spec.ToSimulationConfig();
        Spec = spec;
        _time = time ?? TimeProvider.System;
        _started = _time.GetTimestamp();
        _server = new FleetTrainer(config, data, spec.AuditEvery, NewCodec(spec), _time);
        _fleet = fleet;
        Dimension = _server.Dimension;
        TensorSizes = _server.TensorSizes;
    }

    /// <summary>
    /// The run's codec. Its design cache holds unit-scale designs, one per scheme, bits and Lomax shape on the grid
    /// (DesignScaling); with <c>--fit lomax|auto</c> and segments a round can bring a shape per client and segment, so the
    /// cache is sized for 16 per client (the CNN has 10 tensors), and an evicted shape costs one design, not a failure.
    /// </summary>
    private static GradientCodec NewCodec(ExperimentSpec spec) =>
        new(new CodecOptions { DesignCacheCapacity = Math.Clamp(spec.Clients * 16, 64, 65536) });

    /// <summary>The run's spec.</summary>
    public ExperimentSpec Spec { get; }

    /// <summary>d, the number of model parameters (and coordinates per upload).</summary>
    public int Dimension { get; }

    /// <summary>The coordinates of each parameter tensor in an upload, in order (the segments of <c>--segments tensor</c>).</summary>
    public System.Collections.Immutable.ImmutableArray<int> TensorSizes { get; }

    /// <summary>Rounds completed.</summary>
    public int Round => _trainer?.Round ?? _server!.Round;

    /// <summary>Whether the clients keep error-feedback residuals (state a checkpoint holds).</summary>
    private bool ErrorFeedback => Spec.ErrorFeedback;

    private long FitFallbacks => _channel?.FitFallbacks ?? _server!.Aggregator.FitFallbacks;

    /// <summary>Whether all <see cref="ExperimentSpec.Rounds"/> are done.</summary>
    public bool IsComplete => Round >= Spec.Rounds;

    /// <summary>Bytes uploaded so far, summed over clients and rounds (payload lengths, headers included).</summary>
    public long TotalBytes { get; private set; }

    /// <summary>The last test-set evaluation, if any.</summary>
    public Evaluation? LastEvaluation { get; private set; }

    /// <summary>Where the time went so far.</summary>
    public RunTimings Timings
    {
        get
        {
            if (_server is not null)
            {
                FleetTimings fleet = _server.Timings;
                return new RunTimings(
                    fleet.Rounds,
                    fleet.Compute,
                    fleet.Flatten,
                    fleet.Design,
                    fleet.Encode,
                    fleet.Decode,
                    fleet.Audit,
                    fleet.Step,
                    _time.GetElapsedTime(0, _evaluateTicks),
                    _time.GetElapsedTime(_started));
            }
            RoundTimings trainer = _trainer!.Timings;
            ChannelTimings channel = _channel!.Timings;
            return new RunTimings(
                trainer.Rounds,
                trainer.Gradient,
                trainer.Flatten,
                channel.Design,
                channel.Encode,
                channel.Decode,
                channel.Audit,
                trainer.Step,
                _time.GetElapsedTime(0, _evaluateTicks),
                _time.GetElapsedTime(_started));
        }
    }

    /// <summary>Runs the next round (and the evaluation due after it) and returns its metrics.</summary>
    /// <exception cref="InvalidOperationException">The run is complete.</exception>
    /// <exception cref="TrainingDivergedException">Training diverged: a client's gradient is not finite (the exception
    /// names the round, the client and the coordinate).</exception>
    public RoundMetrics Step()
    {
        if (_trainer is null)
        {
            return StepAsync().GetAwaiter().GetResult();
        }
        ThrowIfComplete();
        return Complete(_trainer.Step());
    }

    /// <summary>
    /// Runs the next round (and the evaluation due after it) and returns its metrics; with a fleet, the round's clients
    /// run elsewhere while this waits. If a client fails the exception propagates and the round is not applied, so it
    /// can be run again.
    /// </summary>
    /// <exception cref="InvalidOperationException">The run is complete.</exception>
    /// <exception cref="TrainingDivergedException">Training diverged.</exception>
    public async Task<RoundMetrics> StepAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfComplete();
        RoundResult result = _server is not null
            ? await _server.StepAsync(_fleet!, cancellationToken).ConfigureAwait(false)
            : _trainer!.Step();
        return Complete(result);
    }

    private void ThrowIfComplete()
    {
        if (IsComplete)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The run is complete: all {Spec.Rounds} rounds are done."));
        }
    }

    /// <summary>The metrics of the round <paramref name="result"/> describes, after the evaluation due.</summary>
    private RoundMetrics Complete(RoundResult result)
    {
        TotalBytes += result.UploadBytes;
        int completed = result.Round + 1;
        Evaluation? evaluation = null;
        if (completed % Spec.EvaluateEvery == 0 || completed == Spec.Rounds)
        {
            long start = _time.GetTimestamp();
            evaluation = Evaluate();
            _evaluateTicks += _time.GetTimestamp() - start;
            LastEvaluation = evaluation;
        }
        return new RoundMetrics(
            Spec.Label,
            completed,
            result.TrainingLoss,
            result.UploadBytes,
            TotalBytes,
            evaluation?.Accuracy,
            evaluation?.Loss,
            _channel?.StatisticsOf(result.Round) ?? _server!.Aggregator.StatisticsOf(result.Round),
            _time.GetElapsedTime(_started).TotalSeconds);
    }

    /// <summary>
    /// Writes a checkpoint: after <see cref="RestoreCheckpoint"/> into a new run of the same spec and data, the
    /// remaining rounds give exactly the metrics this run would have given (wall-clock fields aside).
    /// </summary>
    /// <remarks>Layout: "VRFYCKPT", version 2, the bytes so far, the last evaluation, the Lomax-fit fallbacks so far,
    /// the channel state (<see cref="CodecChannel.WriteState"/>: the error-feedback residuals, when on), the trainer
    /// state (<see cref="SynchronousTrainer.WriteState"/>), and the SHA-256 of everything before it. The channel state
    /// comes before the trainer's so that a mismatch (error feedback on in one, off in the other) is refused before
    /// the trainer is overwritten. Version 1 (no fallbacks, no channel state) is still read, for runs without error
    /// feedback.</remarks>
    public void SaveCheckpoint(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (_fleet is not null)
        {
            SaveCheckpointAsync(destination).GetAwaiter().GetResult();
            return;
        }
        WriteCheckpoint(destination, null);
    }

    /// <summary>
    /// <see cref="SaveCheckpoint"/> for a run whose clients are a fleet: their error-feedback residuals are fetched
    /// first, so the checkpoint is the one a run in one process writes, and either can resume it.
    /// </summary>
    public async Task SaveCheckpointAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        IReadOnlyList<float[]>? residuals = _fleet is not null && ErrorFeedback
            ? await _fleet.ResidualsAsync(cancellationToken).ConfigureAwait(false)
            : null;
        WriteCheckpoint(destination, residuals);
    }

    private void WriteCheckpoint(Stream destination, IReadOnlyList<float[]>? fleetResiduals)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(CheckpointMagic);
            writer.Write(CheckpointVersion);
            writer.Write(TotalBytes);
            writer.Write(LastEvaluation is not null);
            writer.Write(LastEvaluation?.Accuracy ?? 0);
            writer.Write(LastEvaluation?.Loss ?? 0);
            writer.Write(LastEvaluation?.Count ?? 0);
            writer.Write(FitFallbacks);
            if (_channel is not null)
            {
                _channel.WriteState(writer);
                _trainer!.WriteState(writer);
            }
            else
            {
                UploadEncoder.WriteResiduals(writer, fleetResiduals, Dimension);
                _server!.WriteState(writer);
            }
        }
        byte[] body = buffer.ToArray();
        destination.Write(body);
        destination.Write(System.Security.Cryptography.SHA256.HashData(body));
    }

    /// <summary>Restores a checkpoint of a run with the same spec and data into this fresh run.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is truncated, corrupted (checksum), of another version,
    /// or for another model; this run is unchanged.</exception>
    /// <exception cref="InvalidOperationException">This run has already stepped.</exception>
    public void RestoreCheckpoint(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        RestoreCheckpointAsync(source).GetAwaiter().GetResult();
    }

    /// <summary>
    /// <see cref="RestoreCheckpoint"/>; for a run whose clients are a fleet, the clients get their error-feedback
    /// residuals back too.
    /// </summary>
    public async Task RestoreCheckpointAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Round != 0)
        {
            throw new InvalidOperationException($"A checkpoint can be restored only into a fresh run; this one has run {Round} rounds.");
        }
        using var copy = new MemoryStream();
        await source.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        byte[] all = copy.ToArray();
        const int hashLength = 32;
        if (all.Length < CheckpointMagic.Length + hashLength)
        {
            throw new InvalidDataException($"The checkpoint is {all.Length} bytes: too short to be one.");
        }
        if (!System.Security.Cryptography.SHA256.HashData(all.AsSpan(0, all.Length - hashLength)).AsSpan().SequenceEqual(all.AsSpan(all.Length - hashLength)))
        {
            throw new InvalidDataException("The checkpoint's SHA-256 does not match its contents: it is corrupted or truncated.");
        }
        using var reader = new BinaryReader(new MemoryStream(all, 0, all.Length - hashLength), System.Text.Encoding.UTF8);
        if (!reader.ReadBytes(CheckpointMagic.Length).AsSpan().SequenceEqual(CheckpointMagic) || reader.ReadInt32() is int version && version is < 1 or > CheckpointVersion)
        {
            throw new InvalidDataException($"This is not a version-1 or version-{CheckpointVersion} Verified checkpoint.");
        }
        long totalBytes = reader.ReadInt64();
        bool evaluated = reader.ReadBoolean();
        var evaluation = new Evaluation(reader.ReadDouble(), reader.ReadDouble(), reader.ReadInt32());
        long fitFallbacks = 0;
        float[][]? fleetResiduals = null;
        if (version >= 2)
        {
            fitFallbacks = reader.ReadInt64();
            if (_channel is not null)
            {
                _channel.ReadState(reader);
            }
            else
            {
                fleetResiduals = UploadEncoder.ReadResiduals(reader, ErrorFeedback, Spec.Clients, Dimension);
            }
        }
        else if (ErrorFeedback)
        {
            throw new InvalidDataException("A version-1 checkpoint holds no error-feedback residuals but this run has error feedback on.");
        }
        if (_trainer is not null)
        {
            _trainer.ReadState(reader);
            _channel!.RestoreFitFallbacks(fitFallbacks);
        }
        else
        {
            _server!.ReadState(reader);
            _server.Aggregator.RestoreFitFallbacks(fitFallbacks);
            if (fleetResiduals is not null)
            {
                await _fleet!.RestoreResidualsAsync(_server.Round, fleetResiduals, cancellationToken).ConfigureAwait(false);
            }
        }
        TotalBytes = totalBytes;
        LastEvaluation = evaluated ? evaluation : null;
    }

    private static ReadOnlySpan<byte> CheckpointMagic => "VRFYCKPT"u8;

    private const int CheckpointVersion = 2;

    /// <summary>Test accuracy and loss now.</summary>
    public Evaluation Evaluate() => _trainer?.Evaluate() ?? _server!.Evaluate();

    /// <summary>The run's outcome so far (final once <see cref="IsComplete"/>).</summary>
    public RunSummary Summary() => new(
        Spec,
        Dimension,
        Round,
        LastEvaluation?.Accuracy,
        LastEvaluation?.Loss,
        TotalBytes,
        4L * Dimension * Spec.Clients * Round,
        Timings)
    {
        FitFallbacks = FitFallbacks,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        _trainer?.Dispose();
        _server?.Dispose();
    }

    /// <summary>Forwards to a channel set after construction.</summary>
    private sealed class ForwardingChannel : IGradientChannel
    {
        public CodecChannel? Target { get; set; }

        public string Name => Target?.Name ?? "pending";

        public long Transmit(ReadOnlySpan<float> gradient, UploadKey key, Span<float> sum, float weight) =>
            (Target ?? throw new InvalidOperationException("The channel is not connected.")).Transmit(gradient, key, sum, weight);
    }
}

/// <summary>The metrics after round <paramref name="Round"/> of one run.</summary>
/// <param name="Label">The spec's <see cref="ExperimentSpec.Label"/>, e.g. <c>tnq-3</c> or <c>tnq-3-averaged-ef</c>.</param>
/// <param name="Round">Rounds completed, 1..T.</param>
/// <param name="TrainingLoss">Mean over clients of their minibatch loss at θ before the round's step.</param>
/// <param name="UploadBytes">Bytes uploaded in the round, summed over clients.</param>
/// <param name="TotalBytes">Bytes uploaded so far.</param>
/// <param name="TestAccuracy">Test accuracy after the round, when evaluated.</param>
/// <param name="TestLoss">Test loss after the round, when evaluated.</param>
/// <param name="Uploads">The round's fitted models, design predictions and audit.</param>
/// <param name="ElapsedSeconds">Wall time since the run was set up.</param>
public sealed record RoundMetrics(
    string Label,
    int Round,
    double TrainingLoss,
    long UploadBytes,
    long TotalBytes,
    double? TestAccuracy,
    double? TestLoss,
    UploadStatistics Uploads,
    double ElapsedSeconds);

/// <summary>Where a run's time went. Parts are thread time summed over workers; <see cref="Wall"/> is elapsed time.</summary>
/// <param name="Rounds">Rounds measured.</param>
/// <param name="ForwardBackward">Minibatch assembly, forward and backward passes.</param>
/// <param name="Flatten">Copying gradients into the pooled flat buffers.</param>
/// <param name="Design">Fitting the gradient model and designing the quantizer.</param>
/// <param name="Encode">Encoding.</param>
/// <param name="Decode">The server's decode-accumulate.</param>
/// <param name="Audit">The audit's extra decode and passes.</param>
/// <param name="Step">Copying θ to replicas and the momentum-SGD step.</param>
/// <param name="Evaluate">Test-set evaluations.</param>
/// <param name="Wall">Elapsed time since set-up (set-up itself excluded).</param>
public sealed record RunTimings(
    int Rounds,
    TimeSpan ForwardBackward,
    TimeSpan Flatten,
    TimeSpan Design,
    TimeSpan Encode,
    TimeSpan Decode,
    TimeSpan Audit,
    TimeSpan Step,
    TimeSpan Evaluate,
    TimeSpan Wall)
{
    /// <summary>The codec's share: design, encode and decode.</summary>
    public TimeSpan Codec => Design + Encode + Decode;

    /// <summary>Training time: everything but evaluation.</summary>
    public TimeSpan Training => ForwardBackward + Flatten + Codec + Audit + Step;

    /// <summary>
    /// Rounds per second of elapsed time, test-set evaluations excluded (they run between rounds on the calling
    /// thread). Not of <see cref="Training"/>: that sums thread time over the client workers, so with two workers it
    /// counts each second twice and would halve the rate.
    /// </summary>
    public double RoundsPerSecond
    {
        get
        {
            TimeSpan rounds = Wall - Evaluate;
            return rounds > TimeSpan.Zero ? Rounds / rounds.TotalSeconds : 0;
        }
    }
}

/// <summary>A run's outcome.</summary>
/// <param name="Spec">What was run.</param>
/// <param name="Dimension">d.</param>
/// <param name="Rounds">Rounds completed.</param>
/// <param name="FinalAccuracy">Test accuracy after the last round evaluated.</param>
/// <param name="FinalLoss">Test loss then.</param>
/// <param name="TotalBytes">Bytes uploaded (payload lengths).</param>
/// <param name="Float32Bytes">What the same uploads would take as raw float32: 4·d·N·T.</param>
/// <param name="Timings">Where the time went.</param>
public sealed record RunSummary(
    ExperimentSpec Spec,
    int Dimension,
    int Rounds,
    double? FinalAccuracy,
    double? FinalLoss,
    long TotalBytes,
    long Float32Bytes,
    RunTimings Timings)
{
    /// <summary>Uploads whose chosen fit found no model and went with Laplace (<c>fit = lomax</c> with ρ̂ ≤ 3).</summary>
    public long FitFallbacks { get; init; }

    /// <summary>Float32 bytes over bytes sent.</summary>
    public double CompressionRatio => TotalBytes > 0 ? (double)Float32Bytes / TotalBytes : 0;

    /// <summary>Uploaded bits per coordinate, headers included.</summary>
    public double BitsPerCoordinate => Rounds > 0 ? 8.0 * TotalBytes / ((double)Dimension * Spec.Clients * Rounds) : 0;
}
