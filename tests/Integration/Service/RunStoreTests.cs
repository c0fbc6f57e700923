using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Verified.Host.Service;
using Verified.Simulation.Experiments;

namespace IntegrationTests.Service;

/// <summary>The SQLite store on its own: migrations, atomic claims, upserted rounds, cancels, orphans.</summary>
public sealed class RunStoreTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-store-");

    private string DatabasePath => Path.Combine(_directory.FullName, "verified.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    private RunStore Open() => RunStore.Open(DatabasePath, TimeProvider.System);

    /// <summary>A clock that says what it is told.</summary>
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static RoundRow Row(int round, double loss) =>
        new(round, loss, 1000, 1000L * round, round % 2 == 0 ? 0.5 : null, null, 4, 0.01, null, 1e-6, null, 1e-6, null, null, 0.04, null, 1e-7, null,
            round % 2 == 0 ? 0.02 : null, round % 2 == 0 ? 0.003 : null, 0.25 * round);

    [Fact]
    public void Open_MigratesOnce_InWalMode()
    {
        _ = Open();
        _ = Open();
        using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        connection.Open();
        Assert.Equal(StoreSchema.CurrentVersion, StoreSchema.Version(connection));
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "SELECT count(*) FROM schema_version;";
        Assert.Equal((long)StoreSchema.CurrentVersion, command.ExecuteScalar());
    }

    [Fact]
    public void Open_RefusesAStoreOfANewerSchema()
    {
        _ = Open();
        using (var connection = new SqliteConnection($"Data Source={DatabasePath}"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES (99, 'later');";
            command.ExecuteNonQuery();
        }
        var exception = Assert.Throws<InvalidOperationException>(Open);
        Assert.Contains("schema version 99", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SaveRound_OfARoundAlreadyStored_ReplacesIt()
    {
        RunStore store = Open();
        long id = store.Insert(new ExperimentSpec { Rounds = 5 }).Id;
        store.SaveRound(id, Row(1, 2.0));
        store.SaveRound(id, Row(2, 1.9));
        store.SaveRound(id, Row(3, 1.8));
        // A run resumed from a checkpoint at round 1 replays rounds 2 and 3.
        store.Rewind(id, 1);
        Assert.Equal(1, store.Get(id)!.RoundsCompleted);
        store.SaveRound(id, Row(2, 1.9));
        store.SaveRound(id, Row(3, 1.7));

        IReadOnlyList<RoundRow> rows = store.Rounds(id);
        Assert.Equal([1, 2, 3], rows.Select(r => r.Round));
        Assert.Equal(Row(3, 1.7), rows[2]);
        Assert.Equal(Row(2, 1.9), rows[1]);
        Assert.Equal(3, store.Get(id)!.RoundsCompleted);
        Assert.Equal([Row(3, 1.7)], store.Rounds(id, afterRound: 2));
    }

    [Fact]
    public async Task Claims_FromManyThreads_TakeEachQueuedRunExactlyOnce()
    {
        RunStore store = Open();
        long[] ids = [.. Enumerable.Range(0, 60).Select(i => store.Insert(new ExperimentSpec { Seed = i }).Id)];
        var claimed = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() =>
        {
            while (store.Claim() is { } run)
            {
                Assert.Equal(RunStatus.Running, run.Status);
                Assert.Equal(1, run.Attempts);
                claimed.Add(run.Id);
            }
        })));
        Assert.Equal(ids, claimed.Order());
        Assert.Null(store.Claim());
    }

    [Fact]
    public void Orphans_OfADeadProcess_AreQueuedAgain_AndClaimedInIdOrder()
    {
        RunStore store = Open();
        long first = store.Insert(new ExperimentSpec()).Id;
        long second = store.Insert(new ExperimentSpec()).Id;
        Assert.Equal(first, store.Claim()!.Id);
        store.SaveCheckpointRound(first, 25);

        Assert.Equal([first], store.RequeueOrphans());
        RunRecord again = store.Claim()!;
        Assert.Equal((first, 2, 25), (again.Id, again.Attempts, again.CheckpointRound));
        Assert.Equal(second, store.Claim()!.Id);
    }

    [Fact]
    public void Cancel_EndsAQueuedRun_AndFlagsARunningOne()
    {
        RunStore store = Open();
        long running = store.Insert(new ExperimentSpec()).Id;
        long queued = store.Insert(new ExperimentSpec()).Id;
        _ = store.Claim();

        RunRecord cancelledAtOnce = store.RequestCancel(queued)!;
        Assert.Equal((RunStatus.Cancelled, true), (cancelledAtOnce.Status, cancelledAtOnce.CancelRequested));
        Assert.NotNull(cancelledAtOnce.FinishedAt);
        RunRecord flagged = store.RequestCancel(running)!;
        Assert.Equal((RunStatus.Running, true), (flagged.Status, flagged.CancelRequested));
        Assert.True(store.IsCancelRequested(running));
        Assert.Null(store.RequestCancel(12345));
        Assert.Null(store.Claim());
    }

    [Fact]
    public void Timestamps_ComeFromTheInjectedClock()
    {
        var clock = new ManualClock(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        RunStore store = RunStore.Open(DatabasePath, clock);
        long id = store.Insert(new ExperimentSpec()).Id;
        clock.Now += TimeSpan.FromMinutes(1);
        _ = store.Claim();
        clock.Now += TimeSpan.FromMinutes(1);
        store.Finish(id, RunStatus.Cancelled);

        RunRecord run = store.Get(id)!;
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), run.CreatedAt);
        Assert.Equal(run.CreatedAt + TimeSpan.FromMinutes(1), run.StartedAt);
        Assert.Equal(run.CreatedAt + TimeSpan.FromMinutes(2), run.FinishedAt);
    }

    [Fact]
    public void Finish_StoresTheOutcome_AndListsFilterByStatus()
    {
        RunStore store = Open();
        long a = store.Insert(new ExperimentSpec { Model = "mlp" }).Id;
        long b = store.Insert(new ExperimentSpec()).Id;
        _ = store.Claim();
        var outcome = new RunOutcome(101770, 10, 0.9, 0.3, 1234, 5678, 4.6, 3.0);
        store.Finish(a, RunStatus.Succeeded, outcome: outcome);
        store.Finish(b, RunStatus.Failed, "diverged");

        RunRecord done = store.Get(a)!;
        Assert.Equal((RunStatus.Succeeded, outcome, "mlp"), (done.Status, done.Outcome, done.Spec.Model));
        Assert.Equal("diverged", store.Get(b)!.Error);
        Assert.Equal([b], store.List(RunStatus.Failed, 0, 10).Select(r => r.Id));
        Assert.Equal([b], store.List(null, a, 10).Select(r => r.Id));
        Assert.Equal(1, store.CountByStatus()[RunStatus.Succeeded]);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Finish(a, RunStatus.Running));
    }
}
