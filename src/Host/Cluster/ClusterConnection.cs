using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Verified.Host.Cluster;

/// <summary>
/// Where a run's clients go: <c>local:K</c> (K silo processes started on loopback for this command, stopped after it)
/// or <c>gateway:HOST:PORT</c> (a cluster already running, reached through one silo's gateway).
/// </summary>
/// <param name="LocalSilos">K for <c>local:K</c>; 0 for a gateway.</param>
/// <param name="Gateway">The gateway for <c>gateway:HOST:PORT</c>; null for <c>local:K</c>.</param>
internal sealed record ClusterTarget(int LocalSilos, DnsEndPoint? Gateway)
{
    /// <summary>The cluster id and service id every Verified silo and client uses.</summary>
    public const string ClusterId = "verified";

    /// <summary>Parses the <c>--cluster</c> value.</summary>
    public static bool TryParse(string text, out ClusterTarget? target, out string error)
    {
        target = null;
        error = "";
        if (text.StartsWith("local:", StringComparison.Ordinal))
        {
            if (int.TryParse(text.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int silos) && silos is >= 1 and <= 64)
            {
                target = new ClusterTarget(silos, null);
                return true;
            }
            error = $"--cluster {text}: local:K takes K, the number of silo processes, from 1 to 64 (e.g. local:3).";
            return false;
        }
        if (text.StartsWith("gateway:", StringComparison.Ordinal))
        {
            string rest = text[8..];
            int colon = rest.LastIndexOf(':');
            if (colon > 0 && int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535)
            {
                target = new ClusterTarget(0, new DnsEndPoint(rest[..colon], port));
                return true;
            }
            error = $"--cluster {text}: gateway:HOST:PORT takes a silo's host and gateway port (e.g. gateway:10.0.0.5:30000).";
            return false;
        }
        error = $"--cluster {text}: use local:K (K silo processes on this machine) or gateway:HOST:PORT (a running cluster's gateway).";
        return false;
    }
}

/// <summary>
/// A connection to a cluster for one command: the Orleans client and, for <c>local:K</c>, the silo processes it
/// started. Disposing it closes the client and stops those processes.
/// </summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _client;
    private readonly List<Process> _silos;

    private ClusterConnection(IHost client, List<Process> silos)
    {
        _client = client;
        _silos = silos;
    }

    /// <summary>The Orleans client.</summary>
    public IClusterClient Client => _client.Services.GetRequiredService<IClusterClient>();

    /// <summary>The silo processes this connection started (empty for a gateway).</summary>
    public IReadOnlyList<Process> LocalSilos => _silos;

    /// <summary>Starts the silos of <c>local:K</c> (if so) and connects.</summary>
    /// <exception cref="InvalidOperationException">A silo did not start; its output is in the message.</exception>
    public static async Task<ClusterConnection> ConnectAsync(ClusterTarget target, string? dataDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var silos = new List<Process>();
        try
        {
            IPEndPoint[] gateways;
            if (target.LocalSilos > 0)
            {
                int[] ports = FreeLoopbackPorts(2 * target.LocalSilos);
                int primary = ports[0];
                for (int i = 0; i < target.LocalSilos; i++)
                {
                    silos.Add(StartSilo(ports[2 * i], ports[(2 * i) + 1], primary, dataDirectory, LocalComputeSlots(target.LocalSilos)));
                    if (i == 0)
                    {
                        // The primary first: the others join through it.
                        await WaitReadyAsync(silos[0], cancellationToken).ConfigureAwait(false);
                    }
                }
                await Task.WhenAll(silos.Skip(1).Select(s => WaitReadyAsync(s, cancellationToken))).ConfigureAwait(false);
                gateways = [.. Enumerable.Range(0, target.LocalSilos).Select(i => new IPEndPoint(IPAddress.Loopback, ports[(2 * i) + 1]))];
            }
            else
            {
                DnsEndPoint gateway = target.Gateway!;
                IPAddress[] addresses = await Dns.GetHostAddressesAsync(gateway.Host, cancellationToken).ConfigureAwait(false);
                gateways = [new IPEndPoint(addresses.First(a => a.AddressFamily == AddressFamily.InterNetwork), gateway.Port)];
            }

            HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder([]);
            builder.Logging.ClearProviders();
            builder.UseOrleansClient(client => client
                .UseStaticClustering(gateways)
                .Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = ClusterTarget.ClusterId;
                    o.ServiceId = ClusterTarget.ClusterId;
                }));
            IHost host = builder.Build();
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            return new ClusterConnection(host, silos);
        }
        catch
        {
            Stop(silos);
            throw;
        }
    }

    /// <summary>The silos of the cluster that are active now.</summary>
    public async Task<int> ActiveSilosAsync()
    {
        Dictionary<SiloAddress, SiloStatus> hosts = await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).ConfigureAwait(false);
        return hosts.Count;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _client.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        finally
        {
            _client.Dispose();
            Stop(_silos);
        }
    }

    private static void Stop(List<Process> silos)
    {
        foreach (Process silo in silos)
        {
            try
            {
                if (!silo.HasExited)
                {
                    silo.Kill(entireProcessTree: true);
                    silo.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // It had exited already.
            }
            silo.Dispose();
        }
        silos.Clear();
    }

    /// <summary>Starts <c>verified silo</c> with the same executable as this process (the apphost, or dotnet with verified.dll).</summary>
    /// <summary>
    /// Each of K silos on this machine computes at most its share of the cores at once (at least one client): eight
    /// client grains computing at once on two cores made a default-CNN round slower (docs/cluster.md, "Measured").
    /// </summary>
    internal static int LocalComputeSlots(int silos) => Math.Max(1, Environment.ProcessorCount / silos);

    private static Process StartSilo(int siloPort, int gatewayPort, int primaryPort, string? dataDirectory, int computeSlots)
    {
        string processPath = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.Ordinal))
        {
            start.FileName = processPath;
            start.ArgumentList.Add(typeof(ClusterConnection).Assembly.Location);
        }
        else
        {
            start.FileName = processPath;
        }
        foreach (string argument in (string[])["silo", "--clustering", "localhost", "--silo-port", Text(siloPort), "--gateway-port", Text(gatewayPort), "--primary-port", Text(primaryPort), "--compute-slots", Text(computeSlots)])
        {
            start.ArgumentList.Add(argument);
        }
        if (dataDirectory is not null)
        {
            start.ArgumentList.Add("--data");
            start.ArgumentList.Add(dataDirectory);
        }
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName} silo.");

        static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Waits for the silo's "ready" line (<see cref="Cli.SiloCommand.ReadyLine"/>); a silo that exits or stays silent for a minute is an error with its output.</summary>
    private static async Task WaitReadyAsync(Process silo, CancellationToken cancellationToken)
    {
        var seen = new System.Text.StringBuilder();
        Task<string> errors = silo.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        try
        {
            while (await silo.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
            {
                seen.AppendLine(line);
                if (line.StartsWith(Cli.SiloCommand.ReadyLine, StringComparison.Ordinal))
                {
                    // Keep draining its output so that the silo never blocks on a full pipe.
                    _ = silo.StandardOutput.ReadToEndAsync(CancellationToken.None);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"A silo (process {silo.Id}) did not say it was ready within a minute. Its output:{Environment.NewLine}{seen}");
        }
        string stderr = silo.HasExited ? await errors.ConfigureAwait(false) : "";
        throw new InvalidOperationException($"A silo (process {silo.Id}) exited before it was ready. Its output:{Environment.NewLine}{seen}{stderr}");
    }

    /// <summary>Ports free on loopback now (bound to port 0 and released; a race with another program is possible but rare).</summary>
    internal static int[] FreeLoopbackPorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (TcpListener listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
