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
/// Synchronous N-client distributed SGD: in round t every client computes a gradient on its own minibatch at the same
/// θ_t, sends it through an <see cref="IGradientChannel"/>, and the server averages what it received and takes a
/// momentum-SGD step.
/// </summary>
/// <remarks>
/// <para>One round:</para>
/// <code>
/// sum ← 0
/// for client i = 0..N−1 (in order):
///     minibatch B_i from the client's share          (its own sampler)
///     g_i ← ∇ loss(θ_t; B_i)  → pooled float[] (d)    (FlatParameterBuffer: the tensor/span boundary)
///     bytes += channel.Transmit(g_i, (seed, t, i), sum, 1/N)   ← the codec goes here
/// θ_{t+1} ← MomentumSgd(θ_t, sum)
/// </code>
/// <para>Clients run one after another on the same model object; since none of them changes θ, this is the same as
/// N replicas at θ_t. Each round runs in one dispose scope, so no tensor outlives it except the model, the
/// optimiser's momentum, the data and the pooled buffers. Not thread-safe.</para>
/// </remarks>
public sealed class SynchronousTrainer : IDisposable
{
    private readonly IGradientChannel _channel;
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly TensorImages _train;
    private readonly TensorImages _test;
    private readonly ClientBatchSampler[] _samplers;
    private readonly long[] _batchIndices;
    private readonly Tensor _batchIndexTensor;
    private readonly FlatParameterBuffer _clientGradient;
    private readonly FlatParameterBuffer _sum;
    private readonly MomentumSgd _optimizer;

    /// <summary>Sets up the model, data, clients and optimiser for <paramref name="config"/>.</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">Training and test images.</param>
    /// <param name="channel">The up-link.</param>
    /// <param name="device">Where tensors live (the CPU with TorchSharp-cpu).</param>
    public SynchronousTrainer(SimulationConfig config, ImageDataSet data, IGradientChannel channel, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(device);
        if (data.Train.Count < config.Clients)
        {
            throw new ArgumentException($"{data.Train.Count} training examples cannot be shared among {config.Clients} clients.", nameof(data));
        }
        Config = config;
        _channel = channel;

        set_num_threads(config.Threads);
        random.manual_seed(config.Seed);

        IdxImages images = data.Train.Images;
        _model = ModelFactory.Create(config.Model, images.Rows, images.Columns, data.ClassCount, device);
        _model.train();
        var statistics = PixelStatistics.Of(images);
        _train = new TensorImages(data.Train, statistics, device);
        _test = new TensorImages(data.Test, statistics, device);

        ClientPartition partition = config.Split.Partition(
            data.Train.Labels.Values.Span, data.ClassCount, config.Clients, Seeds.Random(config.Seed, Seeds.PartitionStream, 0));
        _samplers = new ClientBatchSampler[config.Clients];
        for (int c = 0; c < config.Clients; c++)
        {
            _samplers[c] = new ClientBatchSampler(partition.Indices(c), Seeds.Random(config.Seed, Seeds.SamplerStream, c));
        }
        _batchIndices = GC.AllocateArray<long>(config.BatchSize, pinned: true);
        _batchIndexTensor = from_array(_batchIndices).DetachFromDisposeScope();

        _clientGradient = new FlatParameterBuffer(_model);
        _sum = new FlatParameterBuffer(_model);
        _optimizer = new MomentumSgd(_sum, config.Sgd);
        Partition = partition;
    }

    /// <summary>The run's settings.</summary>
    public SimulationConfig Config { get; }

    /// <summary>Which examples each client holds.</summary>
    public ClientPartition Partition { get; }

    /// <summary>The model being trained (owned by the trainer).</summary>
    public nn.Module<Tensor, Tensor> Model => _model;

    /// <summary>d, the number of parameters.</summary>
    public int Dimension => _sum.Length;

    /// <summary>Rounds completed so far.</summary>
    public int Round { get; private set; }

    /// <summary>Runs one synchronous round and returns its figures.</summary>
    public RoundResult Step()
    {
        using var scope = NewDisposeScope();
        int round = Round;
        _sum.Span.Clear();
        float weight = 1f / Config.Clients;
        double lossSum = 0;
        long bytes = 0;
        for (int client = 0; client < Config.Clients; client++)
        {
            lossSum += ComputeGradient(client);
            bytes += _channel.Transmit(_clientGradient.Span, new UploadKey(Config.Seed, round, client), _sum.Span, weight);
        }
        _optimizer.Step(_sum);
        Round++;
        return new RoundResult(round, lossSum / Config.Clients, bytes);
    }

    /// <summary>Test accuracy and loss of the current θ.</summary>
    public Evaluation Evaluate() => Evaluation.Run(_model, _test, Config.EvaluationBatchSize);

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _sum.Dispose();
        _clientGradient.Dispose();
        _batchIndexTensor.Dispose();
        _test.Dispose();
        _train.Dispose();
        _model.Dispose();
    }

    /// <summary>Fills the client gradient buffer with client <paramref name="client"/>'s gradient; returns its loss.</summary>
    private double ComputeGradient(int client)
    {
        using var scope = NewDisposeScope();
        _samplers[client].NextBatch(_batchIndices);
        (Tensor x, Tensor y) = _train.Batch(_batchIndexTensor);
        _model.zero_grad();
        Tensor loss = nn.functional.cross_entropy(_model.forward(x), y);
        loss.backward();
        _clientGradient.GatherGradients();
        return loss.item<float>();
    }
}
