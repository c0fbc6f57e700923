using System.Runtime.ExceptionServices;
using Verified.Simulation.Data;
using Verified.Simulation.Models;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>What one round produced.</summary>
/// <param name="Round">The round, from 0.</param>
/// <param name="TrainingLoss">Mean over clients of each client's minibatch loss at θ_t, before the step.</param>
/// <param name="UploadBytes">Bytes the clients sent this round, summed.</param>
public readonly record struct RoundResult(int Round, double TrainingLoss, long UploadBytes);

/// <summary>
/// Where the rounds' time went, summed over the rounds so far. With parallel workers the parts are thread time summed
/// over workers, so they can add up to more than the wall time.
/// </summary>
/// <param name="Rounds">Rounds measured.</param>
/// <param name="Gradient">Minibatch assembly, forward and backward passes, over all clients.</param>
/// <param name="Flatten">Copying the gradients into the pooled flat buffers, over all clients.</param>
/// <param name="Transmit">The channel (encode and decode-accumulate, for the codec; the plain sum for full precision).</param>
/// <param name="Step">Copying θ to the replicas and the server's momentum-SGD step.</param>
public readonly record struct RoundTimings(int Rounds, TimeSpan Gradient, TimeSpan Flatten, TimeSpan Transmit, TimeSpan Step)
{
    /// <summary>Sum of the parts.</summary>
    public TimeSpan Total => Gradient + Flatten + Transmit + Step;
}

/// <summary>
/// Synchronous N-client distributed SGD: in round t every client computes a gradient on its own minibatch at the same
/// θ_t, sends it through an <see cref="IGradientChannel"/>, and the server averages what it received and takes a
/// momentum-SGD step.
/// </summary>
/// <remarks>
/// <para>One round:</para>
/// <code>
/// sum ← 0
/// for each client i (W workers in parallel, each on its own replica of θ_t):
///     minibatch B_i from the client's share (its own sampler); dropout seeded by (seed, t, i)
///     g_i ← ∇ loss(θ_t; B_i)  → the worker's pooled float[] (FlatParameterBuffer: the tensor/span boundary)
///     in client order i = 0, 1, …, N−1:
///         bytes += channel.Transmit(g_i, (seed, t, i), sum, 1/N)    ← the codec goes here
/// θ_{t+1} ← MomentumSgd(θ_t, sum)
/// </code>
/// <para>Worker w takes clients w, w + W, w + 2W, …; a worker whose gradient is ready waits for its turn to transmit,
/// so the channel is called once per client, in client order, never concurrently (possibly from different threads),
/// and the server's floating-point sum is the same for every W. Each client step and each server step runs in its own
/// dispose scope; nothing outlives a round except the models, the optimiser's momentum, the data and the pooled
/// buffers. Not thread-safe: one caller at a time.</para>
/// </remarks>
public sealed class SynchronousTrainer : IDisposable
{
    private readonly IGradientChannel _channel;
    private readonly TensorImages _train;
    private readonly TensorImages _test;
    private readonly ClientBatchSampler[] _samplers;
    private readonly ClientReplica[] _workers;
    private readonly FlatParameterBuffer _sum;
    private readonly MomentumSgd _optimizer;
    private readonly double[] _clientLosses;
    private readonly long[] _clientBytes;
    private readonly TimeProvider _time;
    private readonly object _turn = new(); // a monitor: workers wait on it for their turn to transmit
    private int _nextToTransmit;
    private bool _abandoned;
    private long _gradientTicks; // TimeSpan ticks, summed over workers
    private long _flattenTicks; // TimeSpan ticks, summed over workers
    private long _transmitTicks;
    private long _stepTicks;

    /// <summary>Sets up the model replicas, data, clients and optimiser for <paramref name="config"/>.</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">Training and test images.</param>
    /// <param name="channel">The up-link.</param>
    /// <param name="device">Where the models and data live; the CPU by default. Only the CPU is tested (the project
    /// uses TorchSharp-cpu): the pooled gradient buffers and minibatch index tensors are CPU memory.</param>
    /// <param name="time">Clock for <see cref="Timings"/>; the system's by default.</param>
    public SynchronousTrainer(SimulationConfig config, ImageDataSet data, IGradientChannel channel, Device? device = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(channel);
        device ??= CPU;
        if (data.Train.Count < config.Clients)
        {
            throw new ArgumentException($"{data.Train.Count} training examples cannot be shared among {config.Clients} clients.", nameof(data));
        }
        Config = config;
        _channel = channel;
        _time = time ?? TimeProvider.System;

        LibtorchRuntime.Configure(config.Threads);

        IdxImages images = data.Train.Images;
        int workers = Math.Min(config.Workers, config.Clients);
        _workers = new ClientReplica[workers];
        for (int w = 0; w < workers; w++)
        {
            // Worker 0 trains the global model itself; the others hold replicas that get θ_t each round.
            var model = w == 0
                ? ModelFactory.CreateSeeded(config.Model, images.Rows, images.Columns, data.ClassCount, config.Seed, device)
                : ModelFactory.CreateUnseeded(config.Model, images.Rows, images.Columns, data.ClassCount, device);
            _workers[w] = new ClientReplica(model, config.BatchSize, _time);
        }
        var statistics = PixelStatistics.Of(images);
        _train = new TensorImages(data.Train, statistics, device);
        _test = new TensorImages(data.Test, statistics, device);

        Partition = config.Split.Partition(
            data.Train.Labels.Values.Span, data.ClassCount, config.Clients, Seeds.Random(config.Seed, Seeds.PartitionStream, 0));
        _samplers = new ClientBatchSampler[config.Clients];
        for (int c = 0; c < config.Clients; c++)
        {
            _samplers[c] = new ClientBatchSampler(Partition.Indices(c), Seeds.Random(config.Seed, Seeds.SamplerStream, c));
        }
        _clientLosses = new double[config.Clients];
        _clientBytes = new long[config.Clients];
        _sum = new FlatParameterBuffer(Model);
        _optimizer = new MomentumSgd(_sum, config.Sgd);
    }

    /// <summary>The run's settings.</summary>
    public SimulationConfig Config { get; }

    /// <summary>Which examples each client holds.</summary>
    public ClientPartition Partition { get; }

    /// <summary>The global model θ (owned by the trainer).</summary>
    public ClassifierModel Model => _workers[0].Model;

    /// <summary>d, the number of parameters.</summary>
    public int Dimension => _sum.Length;

    /// <summary>The coordinates of each parameter tensor in the flattened gradient, in order (for per-tensor segments).</summary>
    public System.Collections.Immutable.ImmutableArray<int> TensorSizes => _sum.TensorSizes;

    /// <summary>Rounds completed so far.</summary>
    public int Round { get; private set; }

    /// <summary>Where the time of the rounds so far went.</summary>
    public RoundTimings Timings => new(
        Round,
        TimeSpan.FromTicks(_gradientTicks),
        TimeSpan.FromTicks(_flattenTicks),
        _time.GetElapsedTime(0, _transmitTicks),
        _time.GetElapsedTime(0, _stepTicks));

    /// <summary>
    /// Runs one synchronous round and returns its figures. If the channel or a client step throws, the exception
    /// propagates (after every worker has stopped) and the trainer is left mid-round: dispose it.
    /// </summary>
    public RoundResult Step()
    {
        int round = Round;
        long start = _time.GetTimestamp();
        for (int w = 1; w < _workers.Length; w++)
        {
            _workers[w].CopyParametersFrom(Model);
        }
        _stepTicks += _time.GetTimestamp() - start;

        _sum.Span.Clear();
        _nextToTransmit = 0;
        _abandoned = false;
        RunWorkers(round);

        start = _time.GetTimestamp();
        _optimizer.Step(_sum);
        _stepTicks += _time.GetTimestamp() - start;
        Round++;

        // Summed in client order, so the figure does not depend on the number of workers.
        double lossSum = 0;
        long bytes = 0;
        for (int c = 0; c < Config.Clients; c++)
        {
            lossSum += _clientLosses[c];
            bytes += _clientBytes[c];
        }
        return new RoundResult(round, lossSum / Config.Clients, bytes);
    }

    /// <summary>
    /// Writes what the next rounds depend on: the round, θ and the momentum buffers (float32, little-endian). Nothing
    /// else is state: client samplers are replayed from the seed (<see cref="ClientBatchSampler.Skip"/>), dropout is
    /// reseeded from (seed, round, client), and the channel's rounding keys are (seed, round, client). A channel with
    /// state of its own (error-feedback residuals) writes it itself (<see cref="CodecChannel.WriteState"/>).
    /// </summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ServerState.Write(writer, Round, Model, _optimizer);
    }

    /// <summary>
    /// Restores <see cref="WriteState"/>'s output into this freshly constructed trainer (same config and data): the
    /// rounds that follow are exactly those the saved trainer would have run.
    /// </summary>
    /// <exception cref="InvalidOperationException">This trainer has already run rounds.</exception>
    /// <exception cref="InvalidDataException">The state is truncated or was written for another model.</exception>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (Round != 0)
        {
            throw new InvalidOperationException($"A checkpoint can be restored only into a fresh trainer; this one has run {Round} rounds.");
        }
        int round = ServerState.Read(reader, Model, _optimizer);
        for (int c = 0; c < _samplers.Length; c++)
        {
            _samplers[c].Skip(round, Config.BatchSize);
        }
        Round = round;
    }

    /// <summary>Test accuracy and loss of the current θ.</summary>
    public Evaluation Evaluate() => Evaluation.Run(Model, _test, Config.EvaluationBatchSize);

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _sum.Dispose();
        foreach (ClientReplica worker in _workers)
        {
            worker.Dispose();
        }
        _test.Dispose();
        _train.Dispose();
    }

    /// <summary>
    /// Runs worker 0 on the calling thread and the others on threads of their own: each worker may wait for another's
    /// turn to transmit, so they must really run at the same time (a thread pool does not promise that).
    /// </summary>
    private void RunWorkers(int round)
    {
        var failures = new ExceptionDispatchInfo?[_workers.Length];
        var threads = new Thread[_workers.Length - 1];
        for (int w = 1; w < _workers.Length; w++)
        {
            int worker = w;
            threads[w - 1] = new Thread(() => failures[worker] = Capture(() => RunWorker(worker, round)))
            {
                IsBackground = true,
                Name = $"client worker {w}",
            };
            threads[w - 1].Start();
        }
        failures[0] = Capture(() => RunWorker(0, round));
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        failures.FirstOrDefault(f => f is not null)?.Throw();
    }

    private static ExceptionDispatchInfo? Capture(Action action)
    {
        try
        {
            action();
            return null;
        }
#pragma warning disable CA1031 // Rethrown on the calling thread by RunWorkers.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return ExceptionDispatchInfo.Capture(e);
        }
    }

    private void RunWorker(int w, int round)
    {
        ClientReplica worker = _workers[w];
        float weight = 1f / Config.Clients;
        try
        {
            for (int client = w; client < Config.Clients; client += _workers.Length)
            {
                ClientGradient gradient = worker.ComputeGradient(_train, _samplers[client], Config, round, client);
                _clientLosses[client] = gradient.Loss;
                Interlocked.Add(ref _gradientTicks, gradient.Compute.Ticks);
                Interlocked.Add(ref _flattenTicks, gradient.Flatten.Ticks);

                lock (_turn)
                {
                    while (_nextToTransmit != client && !_abandoned)
                    {
                        Monitor.Wait(_turn);
                    }
                    if (_abandoned)
                    {
                        return;
                    }
                }
                long start = _time.GetTimestamp();
                _clientBytes[client] = _channel.Transmit(worker.Gradient.Span, new UploadKey(Config.Seed, round, client), _sum.Span, weight);
                Interlocked.Add(ref _transmitTicks, _time.GetTimestamp() - start);
                lock (_turn)
                {
                    _nextToTransmit++;
                    Monitor.PulseAll(_turn);
                }
            }
        }
        catch
        {
            // Release the workers waiting for a turn that will not come.
            lock (_turn)
            {
                _abandoned = true;
                Monitor.PulseAll(_turn);
            }
            throw;
        }
    }
}
