using Verified.Simulation.Data;
using Verified.Simulation.Models;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>
/// A model replica that computes clients' gradients at a given θ: the client's half of a round, before the codec.
/// <see cref="SynchronousTrainer"/> keeps one per worker thread; a cluster keeps one per client grain.
/// </summary>
/// <remarks>
/// <para>One gradient (ARCHITECTURE.md, "the data path of one round"):</para>
/// <code>
/// B ← sampler.NextBatch()                         the client's own sampler, seeded by (seed, client)
/// dropout generator ← Seeds.Derive(seed, dropout, round, client)
/// g ← ∇ cross-entropy(θ; B)   → Gradient (FlatParameterBuffer: the tensor/span boundary)
/// g ← g + noise(seed, round, client)              synthetic noise, when configured
/// </code>
/// <para>Nothing here depends on which replica or which thread computes which client: the minibatch comes from the
/// client's sampler, dropout from (seed, round, client), the noise from (seed, round, client), and θ from the caller
/// (<see cref="CopyParametersFrom"/> in one process, <see cref="LoadParameters"/> from float32 on the wire, which is
/// exact: the parameters are float32). So a gradient computed in another process equals this one bit for bit, given
/// the same libtorch build and thread count.</para>
/// <para>Not thread-safe: one replica per thread. Each gradient runs in its own dispose scope.</para>
/// </remarks>
public sealed class ClientReplica : IDisposable
{
    private readonly long[] _batchIndices;
    private readonly Tensor _batchIndexTensor;
    private readonly TimeProvider _time;

    /// <summary>A replica that owns <paramref name="model"/> and draws minibatches of <paramref name="batchSize"/>.</summary>
    /// <param name="model">The replica's model (owned and disposed by the replica). Its initial values do not matter
    /// unless it is also the global model: every gradient is taken at the θ last loaded.</param>
    /// <param name="batchSize">The minibatch per client.</param>
    /// <param name="time">Clock for <see cref="ClientGradient"/>'s timings.</param>
    public ClientReplica(ClassifierModel model, int batchSize, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Model = model;
        model.train();
        _time = time ?? TimeProvider.System;
        Gradient = new FlatParameterBuffer(model);
        _batchIndices = GC.AllocateArray<long>(batchSize, pinned: true);
        _batchIndexTensor = from_array(_batchIndices).DetachFromDisposeScope();
    }

    /// <summary>The replica's model.</summary>
    public ClassifierModel Model { get; }

    /// <summary>The last gradient computed, flat (pooled; overwritten by the next call and by <see cref="LoadParameters"/>).</summary>
    public FlatParameterBuffer Gradient { get; }

    /// <summary>d, the number of parameters.</summary>
    public int Dimension => Gradient.Length;

    /// <summary>Sets θ from another model of the same kind, tensor by tensor (one process).</summary>
    public void CopyParametersFrom(ClassifierModel source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach ((var to, var from) in Model.parameters().Zip(source.parameters()))
        {
            to.copy_(from);
        }
    }

    /// <summary>Sets θ from its flat float32 form (<see cref="FlatParameterBuffer.GatherValues"/>'s layout), as it
    /// arrives over a network. Uses <see cref="Gradient"/> as the staging buffer.</summary>
    /// <exception cref="ArgumentException">θ does not have d values.</exception>
    public void LoadParameters(ReadOnlySpan<float> theta)
    {
        if (theta.Length != Gradient.Length)
        {
            throw new ArgumentException($"θ has {theta.Length} values but the model has {Gradient.Length} parameters.", nameof(theta));
        }
        theta.CopyTo(Gradient.Span);
        Gradient.ScatterValues();
    }

    /// <summary>
    /// Fills <see cref="Gradient"/> with client <paramref name="client"/>'s gradient at the replica's θ in round
    /// <paramref name="round"/>, drawing the minibatch from <paramref name="sampler"/> (the client's own), and returns
    /// its loss and where the time went.
    /// </summary>
    public ClientGradient ComputeGradient(TensorImages train, ClientBatchSampler sampler, SimulationConfig config, int round, int client)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(config);
        using var scope = NewDisposeScope();
        long start = _time.GetTimestamp();
        sampler.NextBatch(_batchIndices);
        (Tensor x, Tensor y) = train.Batch(_batchIndexTensor);
        Model.ReseedDropout(unchecked((long)Seeds.Derive(config.Seed, Seeds.DropoutStream, round, client)));
        Model.zero_grad();
        Tensor loss = nn.functional.cross_entropy(Model.forward(x), y);
        loss.backward();
        double value = loss.item<float>();
        long flattenStart = _time.GetTimestamp();
        Gradient.GatherGradients();
        long flattenEnd = _time.GetTimestamp();
        // Synthetic noise goes on before the channel, so the codec compresses what a noisy client would send. Its
        // cost counts as gradient time: it is part of making the client's gradient, not of flattening it.
        config.Noise.AddTo(Gradient.Span, config.Seed, round, client);
        long end = _time.GetTimestamp();
        return new ClientGradient(
            value,
            _time.GetElapsedTime(start, flattenStart) + _time.GetElapsedTime(flattenEnd, end),
            _time.GetElapsedTime(flattenStart, flattenEnd));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _batchIndexTensor.Dispose();
        Gradient.Dispose();
        Model.Dispose();
    }
}

/// <summary>What one client gradient cost and gave.</summary>
/// <param name="Loss">The minibatch's cross-entropy at θ, before any step.</param>
/// <param name="Compute">Minibatch assembly, forward and backward passes, and synthetic noise.</param>
/// <param name="Flatten">Copying the gradient into the flat buffer.</param>
public readonly record struct ClientGradient(double Loss, TimeSpan Compute, TimeSpan Flatten);
