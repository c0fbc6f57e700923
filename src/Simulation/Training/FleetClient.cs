using System.Globalization;
using Verified.Codec;
using Verified.Simulation.Data;
using Verified.Simulation.Experiments;
using Verified.Simulation.Models;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>
/// One client of a run whose server is elsewhere (<see cref="IClientFleet"/>): given the round and θ, it computes the
/// client's gradient on its own share of the data, encodes it with the codec, and returns the payload.
/// </summary>
/// <remarks>
/// <para>Everything it needs comes from the spec and the data set, so a client can be built on any machine that has the
/// same data: the share is the partition derived from the seed (<see cref="ClientPartition"/>), the minibatches come
/// from the client's own sampler (replayed to the round asked for), dropout, noise and rounding from
/// (seed, round, client). Its only state across rounds is error feedback's residual (<see cref="Residual"/>,
/// <see cref="RestoreResidual"/>); without error feedback a client can be rebuilt at any round and gives the same
/// upload.</para>
/// <para>The payload returned is a new array (never a pooled buffer), so it can be handed to a transport that keeps
/// it. Not thread-safe.</para>
/// </remarks>
public sealed class FleetClient : IDisposable
{
    private readonly SimulationConfig _config;
    private readonly TensorImages _train;
    private readonly ReadOnlyMemory<int> _share;
    private readonly ClientReplica _replica;
    private readonly UploadEncoder _encoder;
    private readonly float[] _residualBeforeLastUpload;
    private ClientBatchSampler _sampler;
    private int _samplerRound;
    private int _nextRound;
    private bool _canRepeatLastRound;

    /// <summary>Client <paramref name="client"/> of the run <paramref name="spec"/>.</summary>
    /// <param name="spec">The run (validated).</param>
    /// <param name="client">Which client, 0..N−1.</param>
    /// <param name="data">The data set, for its labels and image size.</param>
    /// <param name="train">The training images as tensors, normalised with the training set's statistics; shared by
    /// all the clients of a process (read only).</param>
    /// <param name="codec">The codec (its design cache); a new one by default.</param>
    /// <param name="time">Clock for the timings.</param>
    /// <exception cref="ArgumentException">The spec is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The client is not one of the spec's.</exception>
    public FleetClient(ExperimentSpec spec, int client, ImageDataSet data, TensorImages train, GradientCodec? codec = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(train);
        _config = spec.ToSimulationConfig();
        if ((uint)client >= (uint)_config.Clients)
        {
            throw new ArgumentOutOfRangeException(nameof(client), client, $"The run has {_config.Clients} clients, 0..{_config.Clients - 1}.");
        }
        Client = client;
        _train = train;
        LibtorchRuntime.Configure(_config.Threads);
        IdxImages images = data.Train.Images;
        // The replica's initial values are never used (θ arrives with every round), but drawing them takes libtorch's
        // global generator, which the server's seeded initialisation must have to itself.
        _replica = new ClientReplica(ModelFactory.CreateUnseeded(_config.Model, images.Rows, images.Columns, data.ClassCount, CPU), _config.BatchSize, time);
        _share = _config.Split.Partition(
            data.Train.Labels.Values.Span, data.ClassCount, _config.Clients, Seeds.Random(_config.Seed, Seeds.PartitionStream, 0)).Indices(client);
        _sampler = NewSampler();
        var channel = spec.ToChannelOptions(_replica.Dimension, _replica.Gradient.TensorSizes.AsSpan());
        _encoder = new UploadEncoder(spec.ToQuantizerSpec(), _replica.Dimension, channel, codec ?? new GradientCodec(), time);
        _residualBeforeLastUpload = _encoder.ErrorFeedback ? new float[_replica.Dimension] : [];
    }

    /// <summary>Which client this is.</summary>
    public int Client { get; }

    /// <summary>d.</summary>
    public int Dimension => _replica.Dimension;

    /// <summary>Whether the client keeps an error-feedback residual (state a restarted client must be given).</summary>
    public bool ErrorFeedback => _encoder.ErrorFeedback;

    /// <summary>The round the client expects next: with error feedback, the one after its last upload.</summary>
    public int NextRound => _nextRound;

    /// <summary>The error-feedback residual after the client's last upload.</summary>
    /// <exception cref="InvalidOperationException">Error feedback is off.</exception>
    public ReadOnlySpan<float> Residual => _encoder.Residual(Client);

    /// <summary>
    /// Sets the residual the client had after round <paramref name="round"/> − 1 (from the server's checkpoint), so
    /// that its next upload is that of round <paramref name="round"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Error feedback is off.</exception>
    /// <exception cref="ArgumentException">The residual does not have d values.</exception>
    public void RestoreResidual(int round, ReadOnlySpan<float> residual)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(round);
        _encoder.RestoreResidual(Client, residual);
        _nextRound = round;
        _canRepeatLastRound = false;
    }

    /// <summary>
    /// Computes, encodes and returns the client's upload of round <paramref name="round"/> at
    /// <paramref name="theta"/> (θ as float32, in <see cref="FlatParameterBuffer"/> order).
    /// </summary>
    /// <param name="round">The round, from 0.</param>
    /// <param name="theta">θ_round.</param>
    /// <param name="includeVector">Return the vector that was encoded too (the server audits it in audit rounds).</param>
    /// <remarks>With error feedback the client also keeps the residual it had before its last upload, so the last round
    /// can be asked for again (a server that lost the round's answers, or retries after a timeout) and gives the same
    /// upload.</remarks>
    /// <exception cref="ResidualLostException">With error feedback, a round other than <see cref="NextRound"/> or
    /// the last one: the residual belongs to another round (restore it first).</exception>
    /// <exception cref="TrainingDivergedException">The gradient is not finite.</exception>
    public ClientUpload Compute(int round, ReadOnlySpan<float> theta, bool includeVector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(round);
        if (ErrorFeedback)
        {
            if (round == _nextRound - 1 && _canRepeatLastRound)
            {
                _encoder.RestoreResidual(Client, _residualBeforeLastUpload);
            }
            else if (round != _nextRound)
            {
                throw new ResidualLostException(string.Create(CultureInfo.InvariantCulture,
                    $"Client {Client} holds its error-feedback residual of round {_nextRound} but was asked for round {round}: restore the residual of round {round} first (from the run's checkpoint)."));
            }
            Residual.CopyTo(_residualBeforeLastUpload);
            _canRepeatLastRound = false; // until this upload is done
        }
        PositionSampler(round);
        _replica.LoadParameters(theta);
        ClientGradient gradient = _replica.ComputeGradient(_train, _sampler, _config, round, Client);
        _samplerRound = round + 1;
        TimeSpan design = _encoder.DesignTime, encode = _encoder.EncodeTime;
        EncodedUpload upload = _encoder.Encode(_replica.Gradient.Span, new UploadKey(_config.Seed, round, Client));
        _nextRound = round + 1;
        _canRepeatLastRound = ErrorFeedback;
        return new ClientUpload(
            Client,
            round,
            gradient.Loss,
            upload.Payload.ToArray(),
            upload.Description,
            includeVector ? upload.Sent.ToArray() : null,
            new ClientTimings(gradient.Compute, gradient.Flatten, _encoder.DesignTime - design, _encoder.EncodeTime - encode));
    }

    /// <inheritdoc />
    public void Dispose() => _replica.Dispose();

    private ClientBatchSampler NewSampler() => new(_share, Seeds.Random(_config.Seed, Seeds.SamplerStream, Client));

    /// <summary>Brings the sampler to the state it has before round <paramref name="round"/>'s batch.</summary>
    private void PositionSampler(int round)
    {
        if (round < _samplerRound)
        {
            _sampler = NewSampler();
            _samplerRound = 0;
        }
        _sampler.Skip(round - _samplerRound, _config.BatchSize);
        _samplerRound = round;
    }
}
