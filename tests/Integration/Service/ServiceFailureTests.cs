using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verified.Host.Service;
using Verified.Simulation.Experiments;
using Verified.Simulation.Models;
using static IntegrationTests.Service.ServiceTesting;
using static TorchSharp.torch;

namespace IntegrationTests.Service;

/// <summary>
/// What the service does when a write fails or a request is bad: the run fails with a reason and the service goes on;
/// bad bodies, over-large specs and a store that refuses writes are problem details; a second server, an unusable store
/// and a failed bind are one line and status 2.
/// </summary>
/// <remarks>
/// The tests run as root, which ignores file permissions, so "cannot write" is made in ways root cannot override: a
/// regular file where the artifacts directory must be (every checkpoint and artifact write then fails with "Not a
/// directory" or "already exists"), and a store opened read-only through SQLite (every write fails with
/// SQLITE_READONLY, the code a read-only file gives).
/// </remarks>
[Collection(LibtorchTests.Name)]
public sealed class ServiceFailureTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-service-failure-");

    private string StorePath => Path.Combine(_directory.FullName, "verified.db");

    private string ArtifactsPath => Path.Combine(_directory.FullName, "verified.artifacts");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    [Theory]
    [InlineData(ModelKind.Mlp, 28, 28, 10)]
    [InlineData(ModelKind.Cnn, 28, 28, 10)]
    [InlineData(ModelKind.AlexNet, 28, 28, 10)]
    [InlineData(ModelKind.Cnn, 32, 20, 5)]
    [InlineData(ModelKind.AlexNet, 17, 40, 3)]
    public void ParameterCount_FromShapes_IsTheBuiltModels(ModelKind kind, int rows, int columns, int classes)
    {
        using ClassifierModel model = ModelFactory.Create(kind, rows, columns, classes, CPU);
        Assert.Equal(ModelFactory.ParameterCount(model), ModelShapes.ParameterCount(kind, rows, columns, classes));
    }

    [MnistFact]
    public async Task ArtifactsThatCannotBeWritten_FailTheRun_WithTheReason_AndTheServiceGoesOn()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        // A regular file where the artifacts directory must be.
        await File.WriteAllTextAsync(ArtifactsPath, "not a directory", cancellation);
        await using var app = CreateHost(Settings(_directory.FullName, checkpointEvery: 2));
        await app.StartAsync(cancellation);
        try
        {
            using var client = new HttpClient { BaseAddress = Address(app), Timeout = Patience };
            // One run fails at its first checkpoint, one (shorter than a checkpoint period) at its metrics.csv.
            long checkpointed = (await SubmitAsync(client, Spec(4), cancellation)).GetProperty("id").GetInt64();
            long finished = (await SubmitAsync(client, Spec(1), cancellation)).GetProperty("id").GetInt64();
            JsonElement first = await WaitForRunAsync(client, checkpointed, IsFinal, cancellation);
            JsonElement second = await WaitForRunAsync(client, finished, IsFinal, cancellation);

            Assert.Equal("failed", Status(first));
            string reason = first.GetProperty("error").GetString()!;
            Assert.StartsWith($"Could not write the checkpoint to {Path.Combine(ArtifactsPath, $"run-{checkpointed}", "checkpoint.bin")}: ", reason, StringComparison.Ordinal);
            Assert.EndsWith($"make the artifacts folder {ArtifactsPath} a writable directory (or free space on its disk) and resubmit.", reason, StringComparison.Ordinal);
            Assert.Equal(2, first.GetProperty("roundsCompleted").GetInt32());
            Assert.Equal("failed", Status(second));
            Assert.StartsWith("Could not write metrics.csv, summary.json and the plots to ", second.GetProperty("error").GetString(), StringComparison.Ordinal);

            JsonElement health = await GetJsonAsync(client, "/health", cancellation);
            Assert.Equal(2, health.GetProperty("runs").GetProperty("failed").GetInt32());

            // The condition fixed, the next run works on the same service.
            File.Delete(ArtifactsPath);
            long after = (await SubmitAsync(client, Spec(4), cancellation)).GetProperty("id").GetInt64();
            Assert.Equal("succeeded", Status(await WaitForRunAsync(client, after, IsFinal, cancellation)));
            Assert.True(File.Exists(Path.Combine(ArtifactsPath, $"run-{after}", "metrics.csv")));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    [MnistFact]
    public async Task RestartUnderTheFailure_FailsQueuedAndOrphanedRuns_AndKeepsServing_AndFailedRunsStayFailed()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        // As a crash would leave it: one run still marked running (an orphan), one queued.
        RunStore seeded = RunStore.Open(StorePath, TimeProvider.System);
        var spec = new ExperimentSpec { Model = "mlp", Clients = 2, Rounds = 4, EvaluateEvery = 2, AuditEvery = 0 };
        long orphan = seeded.Insert(spec).Id;
        long queued = seeded.Insert(spec).Id;
        Assert.Equal(orphan, seeded.Claim()!.Id);
        SqliteConnection.ClearAllPools();
        await File.WriteAllTextAsync(ArtifactsPath, "not a directory", cancellation);

        for (int start = 1; start <= 2; start++)
        {
            await using var app = CreateHost(Settings(_directory.FullName, checkpointEvery: 2));
            await app.StartAsync(cancellation);
            try
            {
                using var client = new HttpClient { BaseAddress = Address(app), Timeout = Patience };
                foreach (long id in new[] { orphan, queued })
                {
                    JsonElement run = await WaitForRunAsync(client, id, IsFinal, cancellation);
                    Assert.Equal("failed", Status(run));
                    Assert.Contains("Could not write the checkpoint", run.GetProperty("error").GetString(), StringComparison.Ordinal);
                    // Claimed by the first start only (the orphan's second attempt); the second start leaves them failed.
                    Assert.Equal(id == orphan ? 2 : 1, run.GetProperty("attempts").GetInt32());
                }
                Assert.Equal("ok", (await GetJsonAsync(client, "/health", cancellation)).GetProperty("status").GetString());
            }
            finally
            {
                await app.StopAsync(CancellationToken.None);
            }
        }
    }

    [MnistFact]
    public async Task StoreThatRefusesWrites_Is503OnSubmit_AndLosesNothing_AndTheServiceKeepsAnswering()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        RunStore seeded = RunStore.Open(StorePath, TimeProvider.System);
        long stored = seeded.Insert(new ExperimentSpec { Model = "mlp", Rounds = 3 }).Id;
        SqliteConnection.ClearAllPools();

        await using var app = VerifiedService.Create(Settings(_directory.FullName), services =>
        {
            services.AddSingleton(new SimulationData(Mnist));
            services.Replace(ServiceDescriptor.Singleton(_ => RunStore.OpenReadOnly(StorePath, TimeProvider.System)));
        });
        await app.StartAsync(cancellation);
        try
        {
            using var client = new HttpClient { BaseAddress = Address(app), Timeout = Patience };
            using HttpResponseMessage response = await client.PostAsJsonAsync("/api/runs", Spec(2), cancellation);
            string body = await response.Content.ReadAsStringAsync(cancellation);
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            JsonElement problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(ProblemTypes.StoreUnavailable, problem.GetProperty("type").GetString());
            Assert.Contains(StorePath, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

            // The worker could not requeue or claim (read-only), yet the service answers, and the stored run is there.
            JsonElement list = await GetJsonAsync(client, "/api/runs", cancellation);
            Assert.Equal([stored], list.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
            Assert.Equal("queued", Status(await GetJsonAsync(client, $"/api/runs/{stored}", cancellation)));
            Assert.Equal("ok", (await GetJsonAsync(client, "/health", cancellation)).GetProperty("status").GetString());
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    [MnistFact]
    public async Task BadBodies_AndSpecsBeyondTheMachine_AreProblemDetails()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        Dictionary<string, string?> settings = Settings(_directory.FullName);
        settings["Service:MaxRunMemory"] = "2GiB";
        await using var app = CreateHost(settings);
        await app.StartAsync(cancellation);
        try
        {
            using var client = new HttpClient { BaseAddress = Address(app), Timeout = Patience };

            // Invalid UTF-8 inside a string: 0xFF at byte offset 10.
            byte[] invalid = [.. "{\"model\":\""u8, 0xFF, .. "\"}"u8];
            JsonElement utf8 = await PostAsync(client, new ByteArrayContent(invalid) { Headers = { ContentType = new("application/json") } }, HttpStatusCode.BadRequest, cancellation);
            Assert.Contains("byte offset 10 (0xFF)", utf8.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
            Assert.Equal(ProblemTypes.InvalidBody, utf8.GetProperty("type").GetString());

            JsonElement notJson = await PostAsync(client, new StringContent("model=mlp", Encoding.UTF8, "application/json"), HttpStatusCode.BadRequest, cancellation);
            Assert.Contains("not valid JSON", notJson.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);

            JsonElement form = await PostAsync(client, new StringContent("{}", Encoding.UTF8, "application/x-www-form-urlencoded"), HttpStatusCode.UnsupportedMediaType, cancellation);
            Assert.Equal(ProblemTypes.UnsupportedMediaType, form.GetProperty("type").GetString());

            // The issue's spec: alexnet, batch 4096, 256 clients, far beyond a 2 GiB cap.
            JsonElement memory = await PostAsync(client, JsonContent.Create(Spec(10, ("model", "alexnet"), ("batchSize", 4096), ("clients", 256))), HttpStatusCode.BadRequest, cancellation);
            string said = memory.GetProperty("errors").GetProperty("memory")[0].GetString()!;
            // The service's tnq uploads per tensor with error feedback where the request does not say (the residuals count).
            RunEstimate expected = RunEstimate.For(new ExperimentSpec { Model = "alexnet", BatchSize = 4096, Clients = 256, Segments = "tensor", ErrorFeedback = true }, 28, 28, 10, 70_000, Environment.ProcessorCount);
            Assert.Contains($"({expected.Bytes} bytes;", said, StringComparison.Ordinal);
            Assert.Contains("cap of 2 GiB (2147483648 bytes, --max-run-memory)", said, StringComparison.Ordinal);

            // randk keeps at most d coordinates: the MLP has d = 101,770.
            JsonElement randk = await PostAsync(client, JsonContent.Create(Spec(2, ("scheme", "randk:101771"))), HttpStatusCode.BadRequest, cancellation);
            Assert.Contains("K = 101771", randk.GetProperty("errors").GetProperty("scheme")[0].GetString(), StringComparison.Ordinal);
            Assert.Contains("d = 101770", randk.GetProperty("errors").GetProperty("scheme")[0].GetString(), StringComparison.Ordinal);

            // Within the limits: accepted, with its estimate; nothing above was stored.
            JsonElement accepted = await SubmitAsync(client, Spec(1, ("scheme", "randk:101770")), cancellation);
            JsonElement estimate = accepted.GetProperty("estimate");
            Assert.Equal(101_770, estimate.GetProperty("parameters").GetInt64());
            Assert.InRange(estimate.GetProperty("bytes").GetInt64(), 200_000_000, 400_000_000);
            Assert.True(estimate.GetProperty("secondsPerRound").GetDouble() > 0);
            JsonElement health = await GetJsonAsync(client, "/health", cancellation);
            Assert.Equal(1, health.GetProperty("runs").EnumerateObject().Sum(p => p.Value.GetInt32()));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    [MnistFact]
    public async Task TheLock_IsOnTheDatabase_SoNoLockFileToDelete_AndADeletedDatabaseIsNotReplaced()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        await using var first = CreateHost(Settings(_directory.FullName));
        await first.StartAsync(cancellation);
        try
        {
            using var client = new HttpClient { BaseAddress = Address(first), Timeout = Patience };
            long id = (await SubmitAsync(client, Spec(1_000_000 / 4, ("evaluateEvery", 1000)), cancellation)).GetProperty("id").GetInt64();
            await WaitForRunAsync(client, id, r => Status(r) == "running", cancellation);
            Assert.False(File.Exists(StorePath + ".lock"));

            (int exit, string error) = await ServeAsync(["--store", StorePath], cancellation);
            Assert.Equal(2, exit);
            Assert.Equal($"verified serve: The store {StorePath} is in use by another verified serve (it holds a lock on the file).", error);

            // Deleting the database takes the first server's lock with it, but its write-ahead log is still there: a
            // second server refuses to build a new store on it (and so to replay it and take the running job).
            File.Delete(StorePath);
            (exit, error) = await ServeAsync(["--store", StorePath], cancellation);
            Assert.Equal(2, exit);
            Assert.StartsWith($"verified serve: the store {StorePath} is missing but its {StorePath}-wal or -shm file exists", error, StringComparison.Ordinal);
            Assert.False(File.Exists(StorePath));
            await client.PostAsync($"/api/runs/{id}/cancel", null, cancellation);
        }
        finally
        {
            await first.StopAsync(CancellationToken.None);
        }
    }

    [MnistFact]
    public async Task UnwritableStore_AndFailedBinds_AreOneLine_AndStatus2()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        // A store under a regular file: its folder cannot be created, root or not.
        string blocker = Path.Combine(_directory.FullName, "blocker");
        await File.WriteAllTextAsync(blocker, "", cancellation);
        (int exit, string error) = await ServeAsync(["--store", Path.Combine(blocker, "sub", "verified.db")], cancellation);
        Assert.Equal(2, exit);
        Assert.StartsWith($"verified serve: the store's folder {Path.Combine(blocker, "sub")} cannot be created: ", error, StringComparison.Ordinal);

        // A port another server holds.
        await using var holder = CreateHost(Settings(Path.Combine(_directory.FullName)));
        await holder.StartAsync(cancellation);
        try
        {
            Uri taken = Address(holder);
            (exit, error) = await ServeAsync(["--store", Path.Combine(_directory.FullName, "other.db"), "--urls", taken.ToString().TrimEnd('/')], cancellation);
            Assert.Equal(2, exit);
            Assert.StartsWith($"verified serve: cannot listen on {taken.ToString().TrimEnd('/')}: ", error, StringComparison.Ordinal);
        }
        finally
        {
            await holder.StopAsync(CancellationToken.None);
        }

        // An IPv4-mapped loopback address is refused before anything binds, naming the address to use.
        (exit, error) = await ServeAsync(["--store", Path.Combine(_directory.FullName, "other.db"), "--urls", "http://[::ffff:127.0.0.1]:0"], cancellation);
        Assert.Equal(2, exit);
        Assert.Contains("IPv4-mapped IPv6 address", error, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:0", error, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, HttpContent content, HttpStatusCode expected, CancellationToken cancellation)
    {
        using (content)
        {
            using HttpResponseMessage response = await client.PostAsync("/api/runs", content, cancellation);
            string text = await response.Content.ReadAsStringAsync(cancellation);
            Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }

    /// <summary>
    /// <c>dotnet verified.dll serve</c> expected to refuse to start: its exit status and its whole standard error,
    /// which must be exactly one line with no stack trace.
    /// </summary>
    private async Task<(int Exit, string Error)> ServeAsync(string[] options, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _directory.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "verified.dll"));
        start.ArgumentList.Add("serve");
        if (!options.Contains("--urls"))
        {
            options = [.. options, "--urls", "http://127.0.0.1:0"];
        }
        foreach (string option in options)
        {
            start.ArgumentList.Add(option);
        }
        start.Environment.Remove(ServiceOptions.ApiTokenVariable);
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellation);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellation);
        try
        {
            await process.WaitForExitAsync(cancellation);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        string[] lines = (await error).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"stderr is not one line:\n{await error}\nstdout:\n{await output}");
        Assert.DoesNotContain("   at ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", await output, StringComparison.Ordinal);
        return (process.ExitCode, lines[0]);
    }
}
