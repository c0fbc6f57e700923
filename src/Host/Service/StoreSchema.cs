using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Verified.Host.Service;

/// <summary>
/// The store's schema, as an ordered list of migrations. <see cref="Migrate"/> runs at start: it applies, in one
/// transaction each, the migrations the file has not seen, and records each in <c>schema_version</c>. Append new
/// migrations; never edit one that has shipped.
/// </summary>
internal static class StoreSchema
{
    /// <summary>Migration i (1-based) is element i − 1.</summary>
    public static readonly ImmutableArray<string> Migrations =
    [
        // 1: runs and their per-round metrics. (run_id, round) is the key of a metrics row, so a resumed run that
        // replays rounds after its checkpoint overwrites them instead of adding a second copy.
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            spec TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            updated_at TEXT NOT NULL,
            rounds_completed INTEGER NOT NULL DEFAULT 0,
            checkpoint_round INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            outcome TEXT
        );
        CREATE INDEX runs_by_status ON runs (status, id);
        CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs (id),
            round INTEGER NOT NULL CHECK (round >= 1),
            training_loss REAL NOT NULL,
            upload_bytes INTEGER NOT NULL,
            total_bytes INTEGER NOT NULL,
            test_accuracy REAL,
            test_loss REAL,
            uploads INTEGER NOT NULL,
            model_scale REAL,
            alpha REAL,
            predicted_mse REAL,
            measured_mse REAL,
            predicted_rounding_variance REAL,
            measured_rounding_variance REAL,
            expected_rounding_variance REAL,
            predicted_truncation_rate REAL,
            measured_truncation_rate REAL,
            predicted_truncation_mse REAL,
            measured_truncation_mse REAL,
            elapsed_seconds REAL NOT NULL,
            PRIMARY KEY (run_id, round)
        ) WITHOUT ROWID;
        """,
        // 2: each run's provenance (Provenance as JSON), written when a worker claims it and ended when it finishes.
        "ALTER TABLE runs ADD COLUMN provenance TEXT;",
        // 3: the bias² / variance split of the server's average in audit rounds (UploadStatistics.AveragedBiasSquared,
        // AveragedVariance), which metrics.csv of `verified run` has and the dashboard's audit table shows. Rows stored
        // before keep NULL: those rounds' split was not measured.
        "ALTER TABLE metrics ADD COLUMN averaged_bias_squared REAL; ALTER TABLE metrics ADD COLUMN averaged_variance REAL;",
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int CurrentVersion => Migrations.Length;

    /// <summary>Brings the database to <see cref="CurrentVersion"/>; returns the version it was at.</summary>
    /// <exception cref="InvalidOperationException">The file was written by a newer build (a higher version).</exception>
    public static int Migrate(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Execute(connection, "PRAGMA journal_mode = WAL;");
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL);");
        int found = Version(connection);
        if (found > CurrentVersion)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The store is at schema version {found}, newer than this build's {CurrentVersion}: use a newer verified, or another --store."));
        }
        for (int version = found + 1; version <= CurrentVersion; version++)
        {
            using SqliteTransaction transaction = connection.BeginTransaction();
            // Another process may have migrated between the read above and this write lock.
            if (Version(connection, transaction) >= version)
            {
                continue;
            }
            Execute(connection, Migrations[version - 1], transaction);
            using SqliteCommand record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES ($version, $at);";
            record.Parameters.AddWithValue("$version", version);
            record.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
            transaction.Commit();
        }
        return found;
    }

    /// <summary>The highest version applied (0: none).</summary>
    public static int Version(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
