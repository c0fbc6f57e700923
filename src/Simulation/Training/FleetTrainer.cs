using Verified.Simulation.Data;
using Verified.Simulation.Models;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>
/// The server of synchronous N-client SGD whose clients live elsewhere (<see cref="IClientFleet"/>): it holds θ and the
/// momentum, sends θ_t as float32 to every client, adds what comes back in client order through the
/// <see cref="UploadAggregator"/>, and takes the momentum-SGD step. The same round as <see cref="SynchronousTrainer"/>
/// with a <see cref="CodecChannel"/>, split at the network.
/// </summary>
/// <remarks>
/// <para>One round:</para>
/// <code>
/// θ_t (float32) → every client c:  upload_c ← encode(∇loss(θ_t; B_c) [+ e_c])     in parallel, anywhere
/// sum ← 0; for c = 0, 1, …, N−1:   sum += (1/N)·decode(upload_c)                 client order, whatever the arrival order
/// θ_{t+1} ← MomentumSgd(θ_t, sum)
/// </code>
/// <para>θ_0 is drawn from the seed exactly as <see cref="SynchronousTrainer"/> draws it
/// (<see cref="ModelFactory.CreateSeeded"/>), the clients compute what the trainer's workers compute
/// (<see cref="ClientReplica"/>), and the sum is taken in the same order with the same codec, so for the same spec and
/// seed the two give the same θ bit for bit (tested). Not thread-safe: one caller at a time.</para>
/// </remarks>
public sealed class FleetTrainer : IDisposable
{
    private readonly ClassifierModel _model;
    private readonly TensorImages _test;
    private readonly FlatParameterBuffer _theta;
    private readonly FlatParameterBuffer _sum;
    private readonly MomentumSgd _optimizer;
    private readonly TimeProvider _time;
    private long _computeTicks; // TimeSpan ticks, summed over clients
    private long _flattenTicks; // TimeSpan ticks, summed over clients
    private long _designTicks; // TimeSpan ticks, summed over clients
    private long _encodeTicks; // TimeSpan ticks, summed over clients
    private long _waitTicks;
    private long _stepTicks;

    /// <summary>Sets up the global model (θ_0 from the seed), the optimiser and the test set for <paramref name="config"/>.</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">The data set: the test images for <see cref="Evaluate"/>, normalised with the training set's statistics.</param>
    /// <param name="auditEvery">Audit the uploads of rounds 0, k, 2k, … (0: never); the clients then send the vectors they encoded.</param>
    /// <param name="codec">The server's codec; a new one by default.</param>
    /// <param name="time">Clock for the timings.</param>
    public FleetTrainer(SimulationConfig config, ImageDataSet data, int auditEvery, Verified.Codec.GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        Config = config;
        _time = time ?? TimeProvider.System;
        LibtorchRuntime.Configure(config.Threads);
        IdxImages images = data.Train.Images;
        _model = ModelFactory.CreateSeeded(config.Model, images.Rows, images.Columns, data.ClassCount, config.Seed, CPU);
        _model.train();
        _test = new TensorImages(data.Test, PixelStatistics.Of(images), CPU);
        _theta = new FlatParameterBuffer(_model);
        _sum = new FlatParameterBuffer(_model);
        _optimizer = new MomentumSgd(_sum, config.Sgd);
        Aggregator = new UploadAggregator(_sum.Length, auditEvery, codec, _time);
    }

    /// <summary>The run's settings.</summary>
    public SimulationConfig Config { get; }

    /// <summary>The server's half of the codec channel.</summary>
    public UploadAggregator Aggregator { get; }

    /// <summary>The global model θ.</summary>
    public ClassifierModel Model => _model;

    /// <summary>d.</summary>
    public int Dimension => _sum.Length;

    /// <summary>The coordinates of each parameter tensor, in order.</summary>
    public System.Collections.Immutable.ImmutableArray<int> TensorSizes => _sum.TensorSizes;

    /// <summary>Rounds completed.</summary>
    public int Round { get; private set; }

    /// <summary>
    /// Where the time went: the clients' own timings summed over clients (what they report), the server's decode and
    /// audit (the aggregator's), the wait for the slowest client beyond the clients' work, and the step.
    /// </summary>
    public FleetTimings Timings => new(
        Round,
        TimeSpan.FromTicks(_computeTicks),
        TimeSpan.FromTicks(_flattenTicks),
        TimeSpan.FromTicks(_designTicks),
        TimeSpan.FromTicks(_encodeTicks),
        Aggregator.DecodeTime,
        Aggregator.AuditTime,
        _time.GetElapsedTime(0, _waitTicks),
        _time.GetElapsedTime(0, _stepTicks));

    /// <summary>
    /// Runs one round over <paramref name="fleet"/>. If a client fails, the exception propagates and nothing of the
    /// round is applied: θ and the momentum are those before the round, so the round can be run again.
    /// </summary>
    /// <exception cref="InvalidDataException">The fleet returned an upload of another client or round, or not N of them.</exception>
    public async Task<RoundResult> StepAsync(IClientFleet fleet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        int round = Round;
        _theta.GatherValues();
        bool audit = Aggregator.IsAuditRound(round);
        long start = _time.GetTimestamp();
        IReadOnlyList<ClientUpload> uploads = await fleet.ComputeAsync(round, _theta.Memory, audit, cancellationToken).ConfigureAwait(false);
        _waitTicks += _time.GetTimestamp() - start;
        if (uploads.Count != Config.Clients)
        {
            throw new InvalidDataException($"Round {round} needs {Config.Clients} uploads; the fleet returned {uploads.Count}.");
        }
        for (int c = 0; c < uploads.Count; c++)
        {
            if (uploads[c].Client != c || uploads[c].Round != round)
            {
                throw new InvalidDataException($"Upload {c} of round {round} is client {uploads[c].Client}'s of round {uploads[c].Round}.");
            }
        }

        // Decode-accumulate in client order: float addition is not associative, so the order is part of the result.
        _sum.Span.Clear();
        float weight = 1f / Config.Clients;
        double lossSum = 0;
        long bytes = 0;
        for (int c = 0; c < uploads.Count; c++)
        {
            ClientUpload upload = uploads[c];
            Aggregator.Accept(new UploadKey(Config.Seed, round, c), upload.Payload, upload.Description, upload.Vector, _sum.Span, weight);
            lossSum += upload.Loss;
            bytes += upload.Payload.Length;
            _computeTicks += upload.Timings.Compute.Ticks;
            _flattenTicks += upload.Timings.Flatten.Ticks;
            _designTicks += upload.Timings.Design.Ticks;
            _encodeTicks += upload.Timings.Encode.Ticks;
        }

        start = _time.GetTimestamp();
        _optimizer.Step(_sum);
        _stepTicks += _time.GetTimestamp() - start;
        Round++;
        return new RoundResult(round, lossSum / Config.Clients, bytes);
    }

    /// <summary>Test accuracy and loss of the current θ.</summary>
    public Evaluation Evaluate() => Evaluation.Run(_model, _test, Config.EvaluationBatchSize);

    /// <summary>Writes the round, θ and the momentum, in <see cref="SynchronousTrainer.WriteState"/>'s format.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ServerState.Write(writer, Round, _model, _optimizer);
    }

    /// <summary>Restores <see cref="WriteState"/>'s (or <see cref="SynchronousTrainer.WriteState"/>'s) output into this fresh trainer.</summary>
    /// <exception cref="InvalidOperationException">This trainer has already run rounds.</exception>
    /// <exception cref="InvalidDataException">The state is truncated or was written for another model.</exception>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (Round != 0)
        {
            throw new InvalidOperationException($"A checkpoint can be restored only into a fresh trainer; this one has run {Round} rounds.");
        }
        Round = ServerState.Read(reader, _model, _optimizer);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _sum.Dispose();
        _theta.Dispose();
        _test.Dispose();
        _model.Dispose();
    }
}

/// <summary>Where a <see cref="FleetTrainer"/>'s time went, summed over its rounds.</summary>
/// <param name="Rounds">Rounds measured.</param>
/// <param name="Compute">The clients' minibatch, forward and backward passes, summed over clients.</param>
/// <param name="Flatten">The clients' copies into their flat buffers, summed over clients.</param>
/// <param name="Design">The clients' fits and designs, summed over clients.</param>
/// <param name="Encode">The clients' encoding and error feedback, summed over clients.</param>
/// <param name="Decode">The server's decode-accumulate.</param>
/// <param name="Audit">The server's audit.</param>
/// <param name="Wait">From sending θ to having every upload: the slowest client, plus serialization and transport.</param>
/// <param name="Step">The server's momentum-SGD step.</param>
public readonly record struct FleetTimings(
    int Rounds,
    TimeSpan Compute,
    TimeSpan Flatten,
    TimeSpan Design,
    TimeSpan Encode,
    TimeSpan Decode,
    TimeSpan Audit,
    TimeSpan Wait,
    TimeSpan Step);
