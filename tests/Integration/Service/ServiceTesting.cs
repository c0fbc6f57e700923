using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Verified.Host.Service;
using Verified.Simulation.Data;

namespace IntegrationTests.Service;

/// <summary>What the service tests share: the MNIST copy (loaded once), settings, clients and waiting.</summary>
internal static class ServiceTesting
{
    /// <summary>A hung test fails after this instead of hanging CI.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    private static readonly Lazy<ImageDataSet> s_mnist = new(() => MnistData.Load(MnistDataTests.DataDirectory!));

    /// <summary>The real MNIST, loaded once for every in-process host.</summary>
    public static ImageDataSet Mnist => s_mnist.Value;

    /// <summary>Settings for a host on an ephemeral loopback port with its store in <paramref name="directory"/>.</summary>
    public static Dictionary<string, string?> Settings(string directory, int workers = 1, int checkpointEvery = 5, string? token = null) => new(StringComparer.Ordinal)
    {
        ["Service:Urls"] = "http://127.0.0.1:0",
        ["Service:Store"] = Path.Combine(directory, "verified.db"),
        ["Service:Workers"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Service:CheckpointEvery"] = checkpointEvery.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Service:PollInterval"] = "00:00:00.200",
        ["Service:ApiToken"] = token,
    };

    /// <summary>Builds the real host with the shared MNIST copy.</summary>
    public static WebApplication CreateHost(Dictionary<string, string?> settings) =>
        VerifiedService.Create(settings, services => services.AddSingleton(new SimulationData(Mnist)));

    /// <summary>The address Kestrel bound (port 0 becomes a real port).</summary>
    public static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());

    /// <summary>A small, fast spec: the MLP on a few clients (any field can be overridden).</summary>
    public static Dictionary<string, object> Spec(int rounds, params (string Field, object Value)[] fields)
    {
        var spec = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["model"] = "mlp",
            ["clients"] = 4,
            ["rounds"] = rounds,
            ["evaluateEvery"] = Math.Max(1, rounds / 2),
            ["auditEvery"] = 5,
        };
        foreach ((string field, object value) in fields)
        {
            spec[field] = value;
        }
        return spec;
    }

    public static async Task<JsonElement> SubmitAsync(HttpClient client, object spec, CancellationToken cancellation)
    {
        using HttpResponseMessage response = await client.PostAsJsonAsync("/api/runs", spec, cancellation);
        string body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        JsonElement run = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal($"/api/runs/{run.GetProperty("id").GetInt64()}", response.Headers.Location?.OriginalString);
        return run;
    }

    public static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, CancellationToken cancellation)
    {
        using HttpResponseMessage response = await client.GetAsync(path, cancellation);
        string body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Polls run <paramref name="id"/> until <paramref name="done"/> holds; returns it then.</summary>
    public static async Task<JsonElement> WaitForRunAsync(HttpClient client, long id, Func<JsonElement, bool> done, CancellationToken cancellation)
    {
        while (true)
        {
            JsonElement run = await GetJsonAsync(client, $"/api/runs/{id}", cancellation);
            if (done(run))
            {
                return run;
            }
            await Task.Delay(50, cancellation);
        }
    }

    public static string Status(JsonElement run) => run.GetProperty("status").GetString()!;

    public static bool IsFinal(JsonElement run) => Status(run) is "succeeded" or "failed" or "cancelled";
}

/// <summary>One in-process service on a temporary store, shared by the tests of a class.</summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("verified-service-");
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public string Directory => _directory.FullName;

    internal WebApplication App => _app!;

    public async Task InitializeAsync()
    {
        if (MnistDataTests.DataDirectory is null)
        {
            return; // every test here is an MnistFact and skips
        }
        _app = ServiceTesting.CreateHost(ServiceTesting.Settings(Directory));
        using var start = new CancellationTokenSource(ServiceTesting.Patience);
        await _app.StartAsync(start.Token);
        Client = new HttpClient { BaseAddress = ServiceTesting.Address(_app), Timeout = ServiceTesting.Patience };
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }
}
