using System.CommandLine;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
        var clustering = new Option<string>("--clustering") { Description = "How silos find each other: localhost (every silo on this machine; the primary silo keeps the membership).", DefaultValueFactory = _ => "localhost" };
        clustering.AcceptOnlyFromAmong("localhost");
        var siloPort = new Option<int>("--silo-port") { Description = "Port for silo-to-silo traffic.", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port clients (verified run --cluster gateway:HOST:PORT) connect to.", DefaultValueFactory = _ => 30000 };
        var primaryPort = new Option<int?>("--primary-port") { Description = "Silo port of the primary silo (localhost clustering); default: this silo is the primary." };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Directory of IDX files to train on instead of the checked copies of the data sets (unchecked)." };
        var command = new Command("silo", "Run one Orleans silo that hosts run clients (docs/cluster.md).")
        {
            clustering, siloPort, gatewayPort, primaryPort, data,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            int silo = parse.GetValue(siloPort);
            int gateway = parse.GetValue(gatewayPort);
            int primary = parse.GetValue(primaryPort) ?? silo;
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

            HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder([]);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            // The console logger writes to stdout; the ready line must stay the first line a launcher sees, so the logs go to stderr.
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Services.Configure<ServiceOptions>(o => o.Data = parse.GetValue(data)?.FullName);
            builder.Services.AddSingleton<SimulationData>();
            builder.UseOrleans(orleans => orleans
                .UseLocalhostClustering(silo, gateway, new IPEndPoint(IPAddress.Loopback, primary), ClusterTarget.ClusterId, ClusterTarget.ClusterId)
                .AddMemoryGrainStorage(ClusterHosting.RunStorage)
                .AddVerifiedClients());
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
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ReadyLine}: silo port {silo}, gateway port {gateway}, primary silo port {primary}"));
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
}
