using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Cluster;

/// <summary>
/// One client of one run on a cluster: key <c>RUN/CLIENT</c>. Holds a <see cref="FleetClient"/> (model replica,
/// sampler, encoder and, with error feedback, the residual) built on this silo from the run's spec and the silo's own
/// copy of the data set, so training data never crosses the network: θ comes in as float32, the codec's payload goes
/// out.
/// </summary>
[Alias("Verified.IClientGrain")]
public interface IClientGrain : IGrainWithStringKey
{
    /// <summary>The client's upload of <paramref name="round"/> at <paramref name="theta"/> (float32, <see cref="FloatWire"/>; see <see cref="FleetClient.Compute"/>).</summary>
    /// <remarks>A round of the default CNN takes well under a second per client; the timeout is for AlexNet on a
    /// loaded machine, and for a silo that never answers, which must be detected rather than waited on.</remarks>
    [Alias("Compute")]
    [ResponseTimeout("00:02:00")]
    Task<UploadMessage> ComputeAsync(ClientAssignment assignment, int round, Immutable<byte[]> theta, bool includeVector);

    /// <summary>The error-feedback residual after the client's last upload (for the server's checkpoint).</summary>
    [Alias("Residual")]
    Task<Immutable<byte[]>> ResidualAsync(ClientAssignment assignment);

    /// <summary>Gives the client the residual it had before <paramref name="round"/> (from the server's checkpoint).</summary>
    [Alias("RestoreResidual")]
    Task RestoreResidualAsync(ClientAssignment assignment, int round, Immutable<byte[]> residual);

    /// <summary>Starts the client afresh for round 0 (a run started again under the same key).</summary>
    [Alias("Reset")]
    Task ResetAsync(ClientAssignment assignment);

    /// <summary>The run is over: the client leaves memory (its model replica is large).</summary>
    [Alias("Release")]
    Task ReleaseAsync();
}

/// <summary>Which run a client grain serves: the run's key and its spec, as JSON (<see cref="ExperimentSpec"/>).</summary>
/// <param name="Run">The run's key on the cluster, unique per run (a client grain's key is <c>RUN/CLIENT</c>).</param>
/// <param name="SpecJson">The spec, as <see cref="ClientAssignment.Of"/> writes it.</param>
[GenerateSerializer]
[Immutable]
[Alias("Verified.ClientAssignment")]
public sealed record ClientAssignment([property: Id(0)] string Run, [property: Id(1)] string SpecJson)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The assignment of <paramref name="spec"/>'s clients under the key <paramref name="run"/>.</summary>
    public static ClientAssignment Of(string run, ExperimentSpec spec) => new(run, JsonSerializer.Serialize(spec, Json));

    /// <summary>The spec.</summary>
    /// <exception cref="ArgumentException">The JSON is not a valid spec.</exception>
    public ExperimentSpec Spec()
    {
        ExperimentSpec spec = JsonSerializer.Deserialize<ExperimentSpec>(SpecJson, Json)
            ?? throw new ArgumentException("The assignment's spec is null.", nameof(SpecJson));
        spec.ThrowIfInvalid();
        return spec;
    }

    /// <summary>The grain key of client <paramref name="client"/>.</summary>
    public string ClientKey(int client) => string.Create(CultureInfo.InvariantCulture, $"{Run}/{client}");
}

/// <summary>A client's upload as it crosses the network (<see cref="ClientUpload"/>, flattened for the serializer).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Verified.UploadMessage")]
public sealed record UploadMessage
{
    /// <summary>The client.</summary>
    [Id(0)] public required int Client { get; init; }

    /// <summary>The round.</summary>
    [Id(1)] public required int Round { get; init; }

    /// <summary>The minibatch loss at θ.</summary>
    [Id(2)] public required double Loss { get; init; }

    /// <summary>The codec's bytes (the client's own array).</summary>
    [Id(3)] public required byte[] Payload { get; init; }

    /// <summary>The encoded vector, in audit rounds only (float32, <see cref="FloatWire"/>).</summary>
    [Id(4)] public byte[]? Vector { get; init; }

    /// <summary><see cref="UploadDescription.Designed"/>.</summary>
    [Id(5)] public bool Designed { get; init; }

    /// <summary><see cref="UploadDescription.Scale"/>.</summary>
    [Id(6)] public double Scale { get; init; }

    /// <summary><see cref="UploadDescription.Alpha"/>.</summary>
    [Id(7)] public double Alpha { get; init; }

    /// <summary><see cref="UploadDescription.PredictedRounding"/>.</summary>
    [Id(8)] public double PredictedRounding { get; init; }

    /// <summary><see cref="UploadDescription.PredictedTruncationMse"/>.</summary>
    [Id(9)] public double PredictedTruncationMse { get; init; }

    /// <summary><see cref="UploadDescription.PredictedTruncationRate"/>.</summary>
    [Id(10)] public double PredictedTruncationRate { get; init; }

    /// <summary><see cref="UploadDescription.FitFallbacks"/>.</summary>
    [Id(11)] public int FitFallbacks { get; init; }

    /// <summary>The client's compute, flatten, design and encode time, in <see cref="TimeSpan"/> ticks.</summary>
    [Id(12)] public required long[] TimingTicks { get; init; }

    /// <summary>The silo that computed the upload.</summary>
    [Id(13)] public required string Silo { get; init; }

    /// <summary>Wraps <paramref name="upload"/>, computed on <paramref name="silo"/>.</summary>
    public static UploadMessage Of(ClientUpload upload, string silo) => new()
    {
        Client = upload.Client,
        Round = upload.Round,
        Loss = upload.Loss,
        Payload = upload.Payload,
        Vector = upload.Vector is null ? null : FloatWire.ToBytes(upload.Vector),
        Designed = upload.Description.Designed,
        Scale = upload.Description.Scale,
        Alpha = upload.Description.Alpha,
        PredictedRounding = upload.Description.PredictedRounding,
        PredictedTruncationMse = upload.Description.PredictedTruncationMse,
        PredictedTruncationRate = upload.Description.PredictedTruncationRate,
        FitFallbacks = upload.Description.FitFallbacks,
        TimingTicks = [upload.Timings.Compute.Ticks, upload.Timings.Flatten.Ticks, upload.Timings.Design.Ticks, upload.Timings.Encode.Ticks],
        Silo = silo,
    };

    /// <summary>The upload as the server's <see cref="FleetTrainer"/> takes it.</summary>
    /// <exception cref="InvalidDataException">The timings are not four.</exception>
    public ClientUpload ToUpload() => TimingTicks.Length == 4
        ? new ClientUpload(
            Client,
            Round,
            Loss,
            Payload,
            new UploadDescription(Designed, Scale, Alpha, PredictedRounding, PredictedTruncationMse, PredictedTruncationRate, FitFallbacks),
            Vector is null ? null : FloatWire.ToFloats(Vector),
            new ClientTimings(TimeSpan.FromTicks(TimingTicks[0]), TimeSpan.FromTicks(TimingTicks[1]), TimeSpan.FromTicks(TimingTicks[2]), TimeSpan.FromTicks(TimingTicks[3])))
        : throw new InvalidDataException($"Client {Client}'s upload of round {Round} carries {TimingTicks.Length} timings, not 4.");
}

/// <summary>A client grain's <see cref="ResidualLostException"/> on the wire (<see cref="GrainClientFleet"/> rethrows it as one).</summary>
[GenerateSerializer]
[Alias("Verified.ClientResidualLostException")]
public sealed class ClientResidualLostException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ClientResidualLostException()
        : base("A client's error-feedback residual belongs to another round.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public ClientResidualLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public ClientResidualLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The client grain: builds its <see cref="FleetClient"/> at the first call of a run and keeps it while active.</summary>
[SpreadClientsPlacement]
internal sealed partial class ClientGrain(ClusterData data, ILocalSiloDetails silo, ILogger<ClientGrain> logger) : Grain, IClientGrain, IDisposable
{
    private FleetClient? _client;
    private string? _run;

    public async Task<UploadMessage> ComputeAsync(ClientAssignment assignment, int round, Immutable<byte[]> theta, bool includeVector)
    {
        FleetClient client = ClientFor(assignment);
        ClientUpload upload;
        await data.Compute.WaitAsync().ConfigureAwait(true);
        try
        {
            upload = client.Compute(round, FloatWire.AsFloats(theta.Value), includeVector);
        }
        catch (ResidualLostException lost)
        {
            // Simulation's exception has no Orleans codec; this one crosses the wire and the fleet turns it back.
            throw new ClientResidualLostException(lost.Message);
        }
        finally
        {
            data.Compute.Release();
        }
        return UploadMessage.Of(upload, silo.SiloAddress.ToString());
    }

    public Task<Immutable<byte[]>> ResidualAsync(ClientAssignment assignment) =>
        Task.FromResult(new Immutable<byte[]>(FloatWire.ToBytes(ClientFor(assignment).Residual)));

    public Task RestoreResidualAsync(ClientAssignment assignment, int round, Immutable<byte[]> residual)
    {
        ClientFor(assignment).RestoreResidual(round, FloatWire.AsFloats(residual.Value));
        return Task.CompletedTask;
    }

    public Task ResetAsync(ClientAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        Dispose();
        _ = ClientFor(assignment);
        return Task.CompletedTask;
    }

    public Task ReleaseAsync()
    {
        Dispose();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Dispose();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public void Dispose()
    {
        _client?.Dispose();
        _client = null;
        _run = null;
    }

    private FleetClient ClientFor(ClientAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        if (_client is not null && _run == assignment.Run)
        {
            return _client;
        }
        string key = this.GetPrimaryKeyString();
        int slash = key.LastIndexOf('/');
        if (slash <= 0 || key[..slash] != assignment.Run || !int.TryParse(key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new ArgumentException($"Client grain '{key}' does not serve run '{assignment.Run}': its key must be RUN/CLIENT.", nameof(assignment));
        }
        ExperimentSpec spec = assignment.Spec();
        _client?.Dispose();
        _client = new FleetClient(spec, index, data.Get(spec.Dataset), data.Train(spec.Dataset));
        _run = assignment.Run;
        LogActivated(logger, key, silo.SiloAddress);
        return _client;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {Key} ready on silo {Silo}")]
    private static partial void LogActivated(ILogger logger, string key, SiloAddress silo);
}
