using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Verified.Host.Service;
using Verified.Simulation.Experiments;
using static IntegrationTests.Service.ServiceTesting;

namespace IntegrationTests.Service;

/// <summary>
/// The built <c>verified</c> executable as a child process: killed with SIGKILL mid-run and restarted on the same store,
/// and stopped with SIGTERM.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ServiceProcessTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-service-process-");

    private string StorePath => Path.Combine(_directory.FullName, "verified.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    [MnistFact]
    public async Task KilledMidRun_ResumesOnRestart_WithEveryRoundOnce_AndTheUninterruptedMetrics()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        var spec = new ExperimentSpec { Model = "mlp", Clients = 4, Rounds = 600, EvaluateEvery = 100, AuditEvery = 10, Seed = 7 };
        long id;
        int killedAt, checkpointAt;
        await using (ServiceProcess first = await ServiceProcess.StartAsync(_directory.FullName, StorePath, ["--checkpoint-every", "10"], cancellation))
        {
            id = (await SubmitAsync(first.Client, spec, cancellation)).GetProperty("id").GetInt64();
            await WaitForRunAsync(first.Client, id, r => r.GetProperty("checkpointRound").GetInt32() >= 20, cancellation);
            first.Kill();
        }

        // Nobody handed the run back: the store still says running, with a checkpoint on disk.
        RunStore store = RunStore.Open(StorePath, TimeProvider.System);
        RunRecord orphan = store.Get(id)!;
        (killedAt, checkpointAt) = (orphan.RoundsCompleted, orphan.CheckpointRound);
        Assert.Equal(RunStatus.Running, orphan.Status);
        Assert.InRange(killedAt, checkpointAt, spec.Rounds - 1);
        Assert.True(File.Exists(Path.Combine(_directory.FullName, "verified.artifacts", $"run-{id}", "checkpoint.bin")));
        Assert.Equal(killedAt, store.Rounds(id).Count);

        RoundRow[] rows;
        await using (ServiceProcess second = await ServiceProcess.StartAsync(_directory.FullName, StorePath, ["--checkpoint-every", "10"], cancellation))
        {
            JsonElement done = await WaitForRunAsync(second.Client, id, IsFinal, cancellation);
            Assert.Equal("succeeded", Status(done));
            Assert.Equal(2, done.GetProperty("attempts").GetInt32());
            Assert.Equal(spec.Rounds, done.GetProperty("roundsCompleted").GetInt32());
            rows = (await second.Client.GetFromJsonAsync<RoundRow[]>($"/api/runs/{id}/metrics", VerifiedService.Json, cancellation))!;
            Assert.Contains($"from round {checkpointAt} of {spec.Rounds} (attempt 2)", second.Log, StringComparison.Ordinal);
        }

        // Every round exactly once, and exactly what an uninterrupted run gives (wall-clock time aside).
        Assert.Equal(Enumerable.Range(1, spec.Rounds), rows.Select(r => r.Round));
        RoundRow[] uninterrupted;
        using (var run = new ExperimentRun(spec, Mnist))
        {
            uninterrupted = [.. Enumerable.Range(0, spec.Rounds).Select(_ => RoundRow.From(run.Step()))];
        }
        for (int i = 0; i < spec.Rounds; i++)
        {
            Assert.Equal(uninterrupted[i] with { ElapsedSeconds = 0 }, rows[i] with { ElapsedSeconds = 0 });
        }
    }

    [MnistFact]
    public async Task Sigterm_CheckpointsTheRunningJob_AndExitsWithinTenSeconds()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        // No periodic checkpoint: the one on disk afterwards is the stop's.
        string[] options = ["--checkpoint-every", "1000000"];
        var spec = new ExperimentSpec { Model = "mlp", Clients = 4, Rounds = 200_000, EvaluateEvery = 100_000, AuditEvery = 0 };
        long id;
        await using (ServiceProcess service = await ServiceProcess.StartAsync(_directory.FullName, StorePath, options, cancellation))
        {
            id = (await SubmitAsync(service.Client, spec, cancellation)).GetProperty("id").GetInt64();
            await WaitForRunAsync(service.Client, id, r => r.GetProperty("roundsCompleted").GetInt32() >= 5, cancellation);

            TimeSpan stopped = await service.TerminateAsync(cancellation);
            Assert.True(stopped <= TimeSpan.FromSeconds(10), $"took {stopped} to exit after SIGTERM");
            Assert.Equal(0, service.ExitCode);
            Assert.Contains($"Run {id} checkpointed at round", service.Log, StringComparison.Ordinal);
        }

        RunStore store = RunStore.Open(StorePath, TimeProvider.System);
        RunRecord suspended = store.Get(id)!;
        Assert.Equal(RunStatus.Queued, suspended.Status);
        Assert.True(suspended.CheckpointRound >= 5, $"checkpoint at round {suspended.CheckpointRound}");
        Assert.Equal(suspended.RoundsCompleted, suspended.CheckpointRound);
        Assert.Equal(Enumerable.Range(1, suspended.RoundsCompleted), store.Rounds(id).Select(r => r.Round));
        Assert.True(File.Exists(Path.Combine(_directory.FullName, "verified.artifacts", $"run-{id}", "checkpoint.bin")));

        // The next start picks it up where it stopped.
        await using (ServiceProcess again = await ServiceProcess.StartAsync(_directory.FullName, StorePath, options, cancellation))
        {
            await WaitForRunAsync(again.Client, id, r => r.GetProperty("roundsCompleted").GetInt32() > suspended.CheckpointRound + 5, cancellation);
            Assert.Contains($"from round {suspended.CheckpointRound} of {spec.Rounds} (attempt 2)", again.Log, StringComparison.Ordinal);
            using HttpResponseMessage cancel = await again.Client.PostAsync($"/api/runs/{id}/cancel", null, cancellation);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
            Assert.Equal("cancelled", Status(await WaitForRunAsync(again.Client, id, IsFinal, cancellation)));
        }
    }

    /// <summary><c>dotnet verified.dll serve</c> on an ephemeral loopback port, its output collected.</summary>
    private sealed class ServiceProcess : IAsyncDisposable
    {
        private const string Listening = "verified serve: listening on ";

        private readonly Process _process;
        private readonly StringBuilder _log = new();
        private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private ServiceProcess(Process process) => _process = process;

        public HttpClient Client { get; private set; } = null!;

        public int ExitCode => _process.ExitCode;

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static async Task<ServiceProcess> StartAsync(string directory, string store, string[] options, CancellationToken cancellation)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "verified.dll"));
            foreach (string argument in (string[])["serve", "--urls", "http://127.0.0.1:0", "--store", store, .. options])
            {
                start.ArgumentList.Add(argument);
            }
            start.Environment.Remove(ServiceOptions.ApiTokenVariable);
            var service = new ServiceProcess(new Process { StartInfo = start, EnableRaisingEvents = true });
            service._process.OutputDataReceived += (_, e) => service.Receive(e.Data);
            service._process.ErrorDataReceived += (_, e) => service.Receive(e.Data);
            service._process.Exited += (_, _) => service._address.TrySetException(new InvalidOperationException($"verified serve exited before listening:\n{service.Log}"));
            service._process.Start();
            service._process.BeginOutputReadLine();
            service._process.BeginErrorReadLine();
            Uri address = await service._address.Task.WaitAsync(cancellation);
            service.Client = new HttpClient { BaseAddress = address, Timeout = Patience };
            return service;
        }

        private void Receive(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_log)
            {
                _log.AppendLine(line);
            }
            if (line.StartsWith(Listening, StringComparison.Ordinal))
            {
                _address.TrySetResult(new Uri(line[Listening.Length..].Split(';')[0].Split(',')[0].Trim()));
            }
        }

        /// <summary>SIGKILL: no chance to checkpoint or hand anything back.</summary>
        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        /// <summary>SIGTERM, then waits for the exit; returns how long it took.</summary>
        public async Task<TimeSpan> TerminateAsync(CancellationToken cancellation)
        {
            var clock = Stopwatch.StartNew();
            using (Process kill = Process.Start("kill", $"-TERM {_process.Id}"))
            {
                await kill.WaitForExitAsync(cancellation);
            }
            await _process.WaitForExitAsync(cancellation);
            return clock.Elapsed;
        }

        public async ValueTask DisposeAsync()
        {
            Client?.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
            _process.WaitForExit(); // drains the redirected output
            _process.Dispose();
        }
    }
}
