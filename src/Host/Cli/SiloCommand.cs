using System.CommandLine;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Verified.Host.Cluster;
using Verified.Host.Service;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified silo</c>: one Orleans silo that hosts the client grains of the runs sent to its cluster
/// (docs/cluster.md). It loads each data set once, at the first client that needs it.
/// </summary>
internal static class SiloCommand
{
    /// <summary>What the silo prints on stdout once it has joined the cluster (<c>run --cluster local:K</c> waits for it).</summary>
    public const string ReadyLine = "verified silo: ready";

    public static Command Create(TextWriter output, TextWriter error, CancellationToken interruption = default)
    {
        var clustering = new Option<string>("--clustering") { Description = "How silos find each other: localhost (every silo on this machine; the primary silo keeps the membership) or postgres (silos on any machines; the membership and the runs' grain state in a PostgreSQL database that 'verified cluster-db' set up).", DefaultValueFactory = _ => "localhost" };
        clustering.AcceptOnlyFromAmong("localhost", "postgres");
        var connection = new Option<string?>("--connection") { Description = "Npgsql connection string of the cluster's database (--clustering postgres only), e.g. Host=10.0.0.5;Username=verified;Password=…;Database=verified." };
        var siloPort = new Option<int>("--silo-port") { Description = "Port for silo-to-silo traffic.", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port clients (verified run --cluster gateway:HOST:PORT) connect to.", DefaultValueFactory = _ => 30000 };
        var primaryPort = new Option<int?>("--primary-port") { Description = "Silo port of the primary silo (--clustering localhost only); default: this silo is the primary." };
        var advertise = new Option<string?>("--advertise") { Description = "IP address the other silos and the clients reach this silo at, and that it listens on (--clustering postgres only). Default 127.0.0.1: enough when every silo and client is on this machine; on several machines give this machine's address." };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Directory of IDX files to train on instead of the checked copies of the data sets (unchecked)." };
        var computeSlots = new Option<int?>("--compute-slots") { Description = "Client grains of this silo that compute at once (1..1024); default: one per core. With several silos on one machine, give each its share of the cores." };
        var command = new Command("silo", "Run one Orleans silo that hosts run clients (docs/cluster.md).")
        {
            clustering, connection, siloPort, gatewayPort, primaryPort, advertise, data, computeSlots,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            int silo = parse.GetValue(siloPort);
            int gateway = parse.GetValue(gatewayPort);
            int primary = parse.GetValue(primaryPort) ?? silo;
            int? slots = parse.GetValue(computeSlots);
            if (slots is < 1 or > 1024)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified silo: --compute-slots {slots} is out of range: give 1 to 1024 client grains computing at once (default: one per core)."));
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            foreach ((string name, int port) in (ReadOnlySpan<(string, int)>)[("--silo-port", silo), ("--gateway-port", gateway), ("--primary-port", primary)])
            {
                if (port is < 1 or > 65535)
                {
                    error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified silo: {name} {port} is not a port: use 1 to 65535."));
                    return VerifiedCli.InvalidArgumentsExitCode;
                }
            }
            if (silo == gateway)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified silo: --silo-port and --gateway-port are both {silo}: give them different ports."));
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            bool postgres = parse.GetValue(clustering) == "postgres";
            string? database = parse.GetValue(connection);
            string? advertised = parse.GetValue(advertise);
            if (Refusal(postgres, database, parse.GetValue(primaryPort) is not null, advertised) is { } refusal)
            {
                error.WriteLine($"verified silo: {refusal}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            IPAddress address = IPAddress.Loopback;
            if (advertised is not null && (!IPAddress.TryParse(advertised, out address!) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)))
            {
                error.WriteLine($"verified silo: --advertise {advertised} is not an address others can reach: give this machine's IP address on the network the other silos are on (e.g. --advertise 10.0.0.5).");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            string where = "";
            if (postgres)
            {
                // Checked here, before Orleans starts: its providers would fail on a missing table with a stack trace
                // in the log and a message that does not say what to do.
                where = ClusterDatabase.Where(database!);
                try
                {
                    ClusterDatabase.State state = await ClusterDatabase.InspectAsync(database!, cancellation).ConfigureAwait(false);
                    if (!state.IsReady)
                    {
                        error.WriteLine(state.IsEmpty
                            ? $"verified silo: {where} is not set up for a cluster: {state.Describe()}. Set it up once with 'verified cluster-db --connection …' (or Orleans' own PostgreSQL scripts), then start the silos (docs/cluster.md, \"A real cluster on PostgreSQL\")."
                            : $"verified silo: {where} is not set up for this Orleans release (10.4.2): {state.Describe()}. Set up an empty database with 'verified cluster-db --connection …', or add what is missing with Orleans' PostgreSQL scripts of this release (docs/cluster.md, \"A real cluster on PostgreSQL\").");
                        return VerifiedCli.FailureExitCode;
                    }
                }
                catch (NpgsqlException e)
                {
                    error.WriteLine($"verified silo: could not read {where}: {ClusterDatabase.Why(e)}. Check --connection (Host, Port, Username, Password, Database) and that the server takes TCP connections from this machine.");
                    return VerifiedCli.FailureExitCode;
                }
            }

            HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder([]);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            // The console logger writes to stdout; the ready line must stay the first line a launcher sees, so the logs go to stderr.
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Services.Configure<ServiceOptions>(o => o.Data = parse.GetValue(data)?.FullName);
            builder.Services.AddSingleton<SimulationData>();
            builder.Services.AddSingleton(slots is { } given ? new ComputeSlots(given) : ComputeSlots.PerCore);
            builder.UseOrleans(orleans =>
            {
                if (postgres)
                {
                    // The membership table replaces the primary silo: any silo may die, and a silo on another machine
                    // joins by reading the table. The run grains' state goes to the same database, so a run grain
                    // brought back on another silo finds its checkpoint.
                    orleans
                        .UseAdoNetClustering(o =>
                        {
                            o.Invariant = ClusterDatabase.Invariant;
                            o.ConnectionString = database;
                        })
                        .AddAdoNetGrainStorage(ClusterHosting.RunStorage, o =>
                        {
                            o.Invariant = ClusterDatabase.Invariant;
                            o.ConnectionString = database;
                        })
                        .Configure<ClusterOptions>(o =>
                        {
                            o.ClusterId = ClusterTarget.ClusterId;
                            o.ServiceId = ClusterTarget.ClusterId;
                        })
                        .ConfigureEndpoints(address, silo, gateway, listenOnAnyHostAddress: false);
                }
                else
                {
                    orleans
                        .UseLocalhostClustering(silo, gateway, new IPEndPoint(IPAddress.Loopback, primary), ClusterTarget.ClusterId, ClusterTarget.ClusterId)
                        .AddMemoryGrainStorage(ClusterHosting.RunStorage);
                }
                orleans.AddVerifiedClients();
            });
            using IHost host = builder.Build();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation, interruption);
            try
            {
                await host.StartAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return TerminationSignals.InterruptExitCode;
            }
            output.WriteLine(postgres
                ? string.Create(CultureInfo.InvariantCulture, $"{ReadyLine}: silo port {silo}, gateway port {gateway}, advertised as {address}, membership in {where}")
                : string.Create(CultureInfo.InvariantCulture, $"{ReadyLine}: silo port {silo}, gateway port {gateway}, primary silo port {primary}"));
            output.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: leave the cluster cleanly.
            }
            await host.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            return TerminationSignals.InterruptExitCode;
        });
        return command;
    }

    /// <summary>What is wrong with the clustering options together, with how to fix it; null if nothing.</summary>
    private static string? Refusal(bool postgres, string? connection, bool primaryPort, string? advertise)
    {
        if (postgres)
        {
            if (string.IsNullOrWhiteSpace(connection))
            {
                return "--clustering postgres needs --connection, the Npgsql connection string of the cluster's database (e.g. --connection 'Host=10.0.0.5;Username=verified;Password=…;Database=verified'), set up once with 'verified cluster-db'.";
            }
            if (primaryPort)
            {
                return "--primary-port is for --clustering localhost: with postgres the database keeps the membership and there is no primary silo; drop --primary-port.";
            }
            return ClusterDatabase.CheckConnectionString(connection) is { } wrong ? $"--connection: {wrong}." : null;
        }
        if (connection is not null)
        {
            return "--connection is for --clustering postgres (localhost clustering keeps the membership on the primary silo): add --clustering postgres, or drop --connection.";
        }
        return advertise is not null
            ? "--advertise is for --clustering postgres (localhost clustering is on loopback only): add --clustering postgres --connection …, or drop --advertise."
            : null;
    }
}
