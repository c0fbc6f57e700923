using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Verified.Host.Cluster;
using Verified.Host.Service;

using static IntegrationTests.Service.ServiceTesting;

namespace IntegrationTests.Service;

/// <summary>
/// <c>serve --cluster</c>: the service's jobs train as run grains on Orleans' in-process test cluster (three silos),
/// one worker per silo. A 12-run sweep ends with every run succeeded and every round stored exactly once, and a job's
/// metrics equal those of the same job served in one process.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ServiceClusterTests
{
    private const int Rounds = 6;

    [MnistFact]
    public async Task ATwelveRunSweepOnThreeSilos_StoresEveryRoundOnce_AndEqualsTheSameJobInOneProcess()
    {
        using var patience = new CancellationTokenSource(Patience);
        await using InProcessTestCluster cluster = await ClusterTesting.StartClusterAsync(Mnist);

        DirectoryInfo directory = System.IO.Directory.CreateTempSubdirectory("verified-serve-cluster-");
        try
        {
            Dictionary<string, string?> settings = Settings(Path.Combine(directory.FullName, "cluster"), workers: 3, checkpointEvery: 2);
            System.IO.Directory.CreateDirectory(Path.Combine(directory.FullName, "cluster"));
            var runs = new ClusterRuns(cluster.Client, storeEvery: 2, "on the test cluster");
            WebApplication app = VerifiedService.Create(settings, services =>
            {
                services.AddSingleton(new SimulationData(Mnist));
                services.AddSingleton<IRunFactory>(runs);
            });
            var ids = new List<long>();
            string[] csv;
            await using (app)
            {
                await app.StartAsync(patience.Token);
                using var client = new HttpClient { BaseAddress = Address(app), Timeout = Patience };
                // Schemes × bits × seeds, as a sweep is.
                foreach (string scheme in (string[])["tnq", "qsgd"])
                {
                    foreach (int bits in (int[])[2, 3])
                    {
                        foreach (int seed in (int[])[1, 2, 3])
                        {
                            JsonElement run = await SubmitAsync(client, Spec(Rounds, ("scheme", scheme), ("bits", bits), ("seed", seed)), patience.Token);
                            ids.Add(run.GetProperty("id").GetInt64());
                        }
                    }
                }
                foreach (long id in ids)
                {
                    JsonElement done = await WaitForRunAsync(client, id, IsFinal, patience.Token);
                    Assert.True(Status(done) == "succeeded", done.ToString());
                    JsonElement rows = await GetJsonAsync(client, $"/api/runs/{id}/metrics", patience.Token);
                    Assert.Equal(Enumerable.Range(1, Rounds), rows.EnumerateArray().Select(r => r.GetProperty("round").GetInt32()));
                }
                JsonElement all = await GetJsonAsync(client, "/api/runs", patience.Token);
                Assert.Equal(ids.Count, all.GetProperty("runs").GetArrayLength());
                csv = await MetricsCsvAsync(client, ids[0], patience.Token);
                await app.StopAsync(patience.Token);
            }

            // The first job again, served in one process.
            Dictionary<string, string?> local = Settings(Path.Combine(directory.FullName, "local"));
            System.IO.Directory.CreateDirectory(Path.Combine(directory.FullName, "local"));
            WebApplication single = CreateHost(local);
            await using (single)
            {
                await single.StartAsync(patience.Token);
                using var client = new HttpClient { BaseAddress = Address(single), Timeout = Patience };
                JsonElement run = await SubmitAsync(client, Spec(Rounds, ("scheme", "tnq"), ("bits", 2), ("seed", 1)), patience.Token);
                long id = run.GetProperty("id").GetInt64();
                Assert.Equal("succeeded", Status(await WaitForRunAsync(client, id, IsFinal, patience.Token)));
                Assert.Equal(WithoutElapsed(await MetricsCsvAsync(client, id, patience.Token)), WithoutElapsed(csv));
                await single.StopAsync(patience.Token);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("local:65", "local:K takes K, the number of silo processes, from 1 to 64")]
    [InlineData("ray:3", "use local:K (K silo processes on this machine) or gateway:HOST:PORT")]
    public void AClusterThatDoesNotParse_IsRefusedBeforeAnythingIsStored(string value, string expected)
    {
        DirectoryInfo directory = System.IO.Directory.CreateTempSubdirectory("verified-serve-cluster-");
        try
        {
            string store = Path.Combine(directory.FullName, "verified.db");
            var (exit, _, error) = Cli.Run("serve", "--cluster", value, "--store", store);

            Assert.Equal(2, exit);
            Assert.Contains(expected, error, StringComparison.Ordinal);
            Assert.False(File.Exists(store));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task<string[]> MetricsCsvAsync(HttpClient client, long id, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{id}/metrics");
        request.Headers.Accept.ParseAdd("text/csv");
        using HttpResponseMessage response = await client.SendAsync(request, cancellation);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync(cancellation)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The CSV with its wall-clock column blanked.</summary>
    private static string[] WithoutElapsed(string[] lines)
    {
        int column = Array.IndexOf(lines[0].Split(','), "elapsed_seconds");
        Assert.True(column >= 0, lines[0]);
        return [.. lines.Select(line =>
        {
            string[] cells = line.Split(',');
            cells[column] = "";
            return string.Join(',', cells);
        })];
    }
}
