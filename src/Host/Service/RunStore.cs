using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Verified.Simulation.Experiments;

namespace Verified.Host.Service;

/// <summary>
/// The service's durable state: an SQLite database in WAL mode with the runs (spec, status, timestamps, error, outcome)
/// and their per-round metrics. Thread-safe: every call opens its own (pooled) connection; writers are serialized by
/// SQLite, so a claim is atomic however many workers or processes ask at once.
/// </summary>
internal sealed class RunStore
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private const string RunColumns =
        "id, spec, status, created_at, started_at, finished_at, rounds_completed, checkpoint_round, attempts, cancel_requested, error, outcome, provenance";

    private const string MetricColumns =
        "round, training_loss, upload_bytes, total_bytes, test_accuracy, test_loss, uploads, model_scale, alpha, predicted_mse, measured_mse, " +
        "predicted_rounding_variance, measured_rounding_variance, expected_rounding_variance, predicted_truncation_rate, measured_truncation_rate, " +
        "predicted_truncation_mse, measured_truncation_mse, averaged_bias_squared, averaged_variance, elapsed_seconds";

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    private RunStore(string path, TimeProvider time, SqliteOpenMode mode = SqliteOpenMode.ReadWriteCreate)
    {
        Path = path;
        _time = time;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30, // seconds a statement waits for another writer's lock
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/> and migrates it.</summary>
    /// <exception cref="InvalidOperationException">The file is of a newer schema.</exception>
    /// <exception cref="SqliteException">The file cannot be opened or is not a database.</exception>
    public static RunStore Open(string path, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var store = new RunStore(full, time);
        using SqliteConnection connection = store.Connect();
        StoreSchema.Migrate(connection);
        return store;
    }

    /// <summary>
    /// Opens an existing, migrated store read-only: every read works and every write fails with SQLite's
    /// <c>SQLITE_READONLY</c>, as on a file the process may not write. For tools that only read, and to test the
    /// service against a store that refuses writes (root ignores file permissions).
    /// </summary>
    public static RunStore OpenReadOnly(string path, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        return new RunStore(System.IO.Path.GetFullPath(path), time, SqliteOpenMode.ReadOnly);
    }

    /// <summary>Stores a new queued run.</summary>
    public RunRecord Insert(ExperimentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO runs (spec, status, created_at, updated_at) VALUES ($spec, 'queued', $now, $now) RETURNING {RunColumns};";
        command.Parameters.AddWithValue("$spec", JsonSerializer.Serialize(spec, s_json));
        command.Parameters.AddWithValue("$now", Now());
        return ReadOne(command) ?? throw new InvalidOperationException("INSERT … RETURNING returned no row.");
    }

    /// <summary>The run, or null.</summary>
    public RunRecord? Get(long id)
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT {RunColumns} FROM runs WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        return ReadOne(command);
    }

    /// <summary>Runs in id order, optionally of one status, after <paramref name="afterId"/>, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<RunRecord> List(RunStatus? status, long afterId, int limit)
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT {RunColumns} FROM runs WHERE id > $after AND ($status IS NULL OR status = $status) ORDER BY id LIMIT $limit;";
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$status", status is { } s ? s.ToText() : DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        using SqliteDataReader reader = command.ExecuteReader();
        var runs = new List<RunRecord>();
        while (reader.Read())
        {
            runs.Add(ReadRun(reader));
        }
        return runs;
    }

    /// <summary>How many runs have each status.</summary>
    public IReadOnlyDictionary<RunStatus, int> CountByStatus()
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT status, count(*) FROM runs GROUP BY status;";
        using SqliteDataReader reader = command.ExecuteReader();
        var counts = Enum.GetValues<RunStatus>().ToDictionary(s => s, _ => 0);
        while (reader.Read())
        {
            _ = RunStatuses.TryParse(reader.GetString(0), out RunStatus status);
            counts[status] = reader.GetInt32(1);
        }
        return counts;
    }

    /// <summary>
    /// At start: every run still marked running was held by a process that is gone (killed, crashed, or stopped past
    /// its shutdown timeout). Puts them back in the queue; they resume from their checkpoints. Returns their ids.
    /// </summary>
    public IReadOnlyList<long> RequeueOrphans()
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE runs SET status = 'queued', updated_at = $now WHERE status = 'running' RETURNING id;";
        command.Parameters.AddWithValue("$now", Now());
        using SqliteDataReader reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    /// <summary>
    /// Atomically takes the oldest queued run and marks it running (one statement: two workers never get the same
    /// run). Null when the queue is empty.
    /// </summary>
    public RunRecord? Claim()
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE runs SET status = 'running', started_at = coalesce(started_at, $now), updated_at = $now, attempts = attempts + 1
            WHERE id = (SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1) AND status = 'queued'
            RETURNING {RunColumns};
            """;
        command.Parameters.AddWithValue("$now", Now());
        return ReadOne(command);
    }

    /// <summary>
    /// Stores round <paramref name="row"/> of a run (replacing a row of the same round: a run resumed from a
    /// checkpoint replays the rounds after it) and moves its <c>rounds_completed</c> there, in one transaction.
    /// </summary>
    public void SaveRound(long id, RoundRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        using SqliteConnection connection = Connect();
        using SqliteTransaction transaction = connection.BeginTransaction();
        using (SqliteCommand insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = $"""
                INSERT OR REPLACE INTO metrics (run_id, {MetricColumns}) VALUES ($id, $round, $training_loss, $upload_bytes, $total_bytes,
                    $test_accuracy, $test_loss, $uploads, $model_scale, $alpha, $predicted_mse, $measured_mse, $predicted_rounding_variance,
                    $measured_rounding_variance, $expected_rounding_variance, $predicted_truncation_rate, $measured_truncation_rate,
                    $predicted_truncation_mse, $measured_truncation_mse, $averaged_bias_squared, $averaged_variance, $elapsed_seconds);
                """;
            SqliteParameterCollection p = insert.Parameters;
            p.AddWithValue("$id", id);
            p.AddWithValue("$round", row.Round);
            p.AddWithValue("$training_loss", row.TrainingLoss);
            p.AddWithValue("$upload_bytes", row.UploadBytes);
            p.AddWithValue("$total_bytes", row.TotalBytes);
            p.AddWithValue("$test_accuracy", Value(row.TestAccuracy));
            p.AddWithValue("$test_loss", Value(row.TestLoss));
            p.AddWithValue("$uploads", row.Uploads);
            p.AddWithValue("$model_scale", Value(row.ModelScale));
            p.AddWithValue("$alpha", Value(row.Alpha));
            p.AddWithValue("$predicted_mse", Value(row.PredictedMse));
            p.AddWithValue("$measured_mse", Value(row.MeasuredMse));
            p.AddWithValue("$predicted_rounding_variance", Value(row.PredictedRoundingVariance));
            p.AddWithValue("$measured_rounding_variance", Value(row.MeasuredRoundingVariance));
            p.AddWithValue("$expected_rounding_variance", Value(row.ExpectedRoundingVariance));
            p.AddWithValue("$predicted_truncation_rate", Value(row.PredictedTruncationRate));
            p.AddWithValue("$measured_truncation_rate", Value(row.MeasuredTruncationRate));
            p.AddWithValue("$predicted_truncation_mse", Value(row.PredictedTruncationMse));
            p.AddWithValue("$measured_truncation_mse", Value(row.MeasuredTruncationMse));
            p.AddWithValue("$averaged_bias_squared", Value(row.AveragedBiasSquared));
            p.AddWithValue("$averaged_variance", Value(row.AveragedVariance));
            p.AddWithValue("$elapsed_seconds", row.ElapsedSeconds);
            insert.ExecuteNonQuery();
        }
        using (SqliteCommand update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE runs SET rounds_completed = $round, updated_at = $now WHERE id = $id;";
            update.Parameters.AddWithValue("$id", id);
            update.Parameters.AddWithValue("$round", row.Round);
            update.Parameters.AddWithValue("$now", Now());
            update.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>Stores where the run comes from (replacing what an earlier attempt stored).</summary>
    public void SaveProvenance(long id, Provenance provenance)
    {
        ArgumentNullException.ThrowIfNull(provenance);
        Update(id, "provenance = $provenance", onlyIfRunning: false, ("$provenance", JsonSerializer.Serialize(provenance, ServiceJsonContext.Default.Provenance)));
    }

    /// <summary>Records that the checkpoint file now holds round <paramref name="round"/>.</summary>
    public void SaveCheckpointRound(long id, int round) =>
        Update(id, "checkpoint_round = $round", onlyIfRunning: false, ("$round", round));

    /// <summary>A resumed run starts again after its checkpoint: its progress goes back to <paramref name="round"/>.</summary>
    public void Rewind(long id, int round) =>
        Update(id, "rounds_completed = $round, checkpoint_round = $round", onlyIfRunning: false, ("$round", round));

    /// <summary>A stopping service hands a running job back to the queue (checkpointed at <paramref name="round"/>).</summary>
    public void Requeue(long id, int round) =>
        Update(id, "status = 'queued', checkpoint_round = $round", onlyIfRunning: true, ("$round", round));

    /// <summary>Moves a run to a final status.</summary>
    public void Finish(long id, RunStatus status, string? error = null, RunOutcome? outcome = null)
    {
        if (!status.IsFinal())
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A run finishes as succeeded, failed or cancelled.");
        }
        // One transaction ends both the run and its provenance at the same instant: a reader never sees a finished run
        // whose provenance has not ended yet.
        DateTimeOffset now = _time.GetUtcNow();
        using SqliteConnection connection = Connect();
        using SqliteTransaction transaction = connection.BeginTransaction();
        object provenance = DBNull.Value;
        using (SqliteCommand select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT provenance FROM runs WHERE id = $id;";
            select.Parameters.AddWithValue("$id", id);
            if (select.ExecuteScalar() is string stored
                && JsonSerializer.Deserialize(stored, ServiceJsonContext.Default.Provenance) is { } started)
            {
                provenance = JsonSerializer.Serialize(started.EndingAt(now), ServiceJsonContext.Default.Provenance);
            }
        }
        using (SqliteCommand update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = """
                UPDATE runs SET status = $status, finished_at = $now, error = $error, outcome = $outcome,
                    provenance = $provenance, updated_at = $now WHERE id = $id;
                """;
            update.Parameters.AddWithValue("$id", id);
            update.Parameters.AddWithValue("$now", now.ToString("O", CultureInfo.InvariantCulture));
            update.Parameters.AddWithValue("$status", status.ToText());
            update.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
            update.Parameters.AddWithValue("$outcome", outcome is null ? DBNull.Value : JsonSerializer.Serialize(outcome, s_json));
            update.Parameters.AddWithValue("$provenance", provenance);
            update.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>
    /// Asks for a run to be cancelled: a queued run is cancelled at once; a running one is flagged (its worker stops it
    /// after the current round). Returns the run as it now is, or null if there is no such run.
    /// </summary>
    public RunRecord? RequestCancel(long id)
    {
        using SqliteConnection connection = Connect();
        using SqliteTransaction transaction = connection.BeginTransaction();
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                UPDATE runs SET cancel_requested = 1, updated_at = $now WHERE id = $id AND status IN ('queued', 'running');
                UPDATE runs SET status = 'cancelled', finished_at = $now WHERE id = $id AND status = 'queued';
                """;
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$now", Now());
            command.ExecuteNonQuery();
        }
        RunRecord? run;
        using (SqliteCommand select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = $"SELECT {RunColumns} FROM runs WHERE id = $id;";
            select.Parameters.AddWithValue("$id", id);
            run = ReadOne(select);
        }
        transaction.Commit();
        return run;
    }

    /// <summary>Whether a cancel was asked for.</summary>
    public bool IsCancelRequested(long id)
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT cancel_requested FROM runs WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar() is long flag && flag != 0;
    }

    /// <summary>The metrics rows of rounds after <paramref name="afterRound"/>, in round order, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<RoundRow> Rounds(long id, int afterRound = 0, int limit = int.MaxValue)
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT {MetricColumns} FROM metrics WHERE run_id = $id AND round > $after ORDER BY round LIMIT $limit;";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$after", afterRound);
        command.Parameters.AddWithValue("$limit", limit);
        using SqliteDataReader r = command.ExecuteReader();
        var rows = new List<RoundRow>();
        while (r.Read())
        {
            rows.Add(new RoundRow(
                r.GetInt32(0), r.GetDouble(1), r.GetInt64(2), r.GetInt64(3), Nullable(r, 4), Nullable(r, 5), r.GetInt32(6), Nullable(r, 7),
                Nullable(r, 8), Nullable(r, 9), Nullable(r, 10), Nullable(r, 11), Nullable(r, 12), Nullable(r, 13), Nullable(r, 14),
                Nullable(r, 15), Nullable(r, 16), Nullable(r, 17), Nullable(r, 18), Nullable(r, 19), r.GetDouble(20)));
        }
        return rows;
    }

    private void Update(long id, string assignments, bool onlyIfRunning, params (string Name, object Value)[] values)
    {
        using SqliteConnection connection = Connect();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"UPDATE runs SET {assignments}, updated_at = $now WHERE id = $id{(onlyIfRunning ? " AND status = 'running'" : "")};";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$now", Now());
        foreach ((string name, object v) in values)
        {
            command.Parameters.AddWithValue(name, v);
        }
        command.ExecuteNonQuery();
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using SqliteCommand pragma = connection.CreateCommand();
        // WAL + NORMAL: a commit survives a crash of this process (kill -9); only a power cut may lose the last ones.
        pragma.CommandText = "PRAGMA synchronous = NORMAL;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    private string Now() => _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);

    private static object Value(double? value) => value is { } v ? v : DBNull.Value;

    private static double? Nullable(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);

    private static RunRecord? ReadOne(SqliteCommand command)
    {
        using SqliteDataReader reader = command.ExecuteReader();
        return reader.Read() ? ReadRun(reader) : null;
    }

    private static RunRecord ReadRun(SqliteDataReader r)
    {
        _ = RunStatuses.TryParse(r.GetString(2), out RunStatus status);
        return new RunRecord(
            r.GetInt64(0),
            JsonSerializer.Deserialize<ExperimentSpec>(r.GetString(1), s_json)!,
            status,
            Time(r, 3)!.Value,
            Time(r, 4),
            Time(r, 5),
            r.GetInt32(6),
            r.GetInt32(7),
            r.GetInt32(8),
            r.GetInt64(9) != 0,
            r.IsDBNull(10) ? null : r.GetString(10),
            r.IsDBNull(11) ? null : JsonSerializer.Deserialize<RunOutcome>(r.GetString(11), s_json),
            r.IsDBNull(12) ? null : JsonSerializer.Deserialize(r.GetString(12), ServiceJsonContext.Default.Provenance));
    }

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
