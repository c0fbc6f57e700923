using System.Globalization;
using Npgsql;

namespace Verified.Host.Cluster;

/// <summary>
/// The PostgreSQL database of a real cluster: Orleans' ADO.NET membership (which silos are alive) and grain storage
/// (<see cref="ClusterHosting.RunStorage"/>). <c>verified cluster-db</c> sets it up; <c>verified silo --clustering
/// postgres</c> checks it before it starts.
/// </summary>
/// <remarks>
/// <para>Orleans' ADO.NET providers issue no SQL of their own: they read every query they run from the table
/// <c>OrleansQuery</c> (key → text) and call those with named parameters (<c>@DeploymentId</c>, <c>@Version</c>, …), reading
/// the results by column name. Orleans publishes PostgreSQL scripts that create such tables and queries, but its
/// NuGet packages have not carried them since 2019, and none of the registries a Verified machine reaches does. So
/// this class holds Verified's own schema: tables, and queries written for the contract the 10.4.2 providers call
/// (their parameter names, result columns and return values), checked end to end by <c>PostgresClusterTests</c>.
/// A database set up with Orleans' own scripts works as well: what the providers need is the queries under
/// <see cref="RequiredQueries"/>, and <see cref="InspectAsync(string, CancellationToken)"/> looks for nothing else.</para>
/// <para>Membership follows Orleans' table-version protocol: a row of <c>OrleansMembershipVersionTable</c> per
/// cluster holds the table's version; inserting or updating a silo's row succeeds only if the caller read the current
/// version, and bumps it, in one statement (a concurrent writer that read the same version waits on the row lock and
/// then finds the version changed, so it returns 0 and Orleans reads the table again).</para>
/// </remarks>
internal static class ClusterDatabase
{
    /// <summary>The ADO.NET invariant Orleans' providers load Npgsql by.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Query keys the clustering provider (10.4.2) requires; it refuses to start without any of them.</summary>
    public static readonly IReadOnlyList<string> ClusteringQueries =
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey", "UpdateIAmAlivetimeKey",
        "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
    ];

    /// <summary>Query keys the grain storage provider requires (its optional DeleteStorageKey is for
    /// <c>DeleteStateOnClear</c>, which Verified does not turn on).</summary>
    public static readonly IReadOnlyList<string> StorageQueries = ["ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey"];

    /// <summary>Every query key a Verified silo needs.</summary>
    public static IEnumerable<string> RequiredQueries => ClusteringQueries.Concat(StorageQueries);

    /// <summary>What <see cref="InspectAsync(string, CancellationToken)"/> found.</summary>
    /// <param name="HasQueryTable">Whether the table <c>OrleansQuery</c> exists.</param>
    /// <param name="Missing">Required query keys it lacks (all of them when there is no such table).</param>
    /// <param name="OtherTables">Tables of Orleans' schema present without <c>OrleansQuery</c> (a set-up that stopped
    /// half way, or someone else's tables).</param>
    public sealed record State(bool HasQueryTable, IReadOnlyList<string> Missing, IReadOnlyList<string> OtherTables)
    {
        /// <summary>Every required query is there.</summary>
        public bool IsReady => HasQueryTable && Missing.Count == 0;

        /// <summary>Nothing of Orleans' schema is there: <see cref="SetUpAsync"/> may create it.</summary>
        public bool IsEmpty => !HasQueryTable && OtherTables.Count == 0;

        /// <summary>One sentence on what is missing, for error messages.</summary>
        public string Describe() => IsReady
            ? "it has Orleans' tables and every query a Verified silo needs"
            : HasQueryTable
                ? $"its table OrleansQuery lacks {string.Join(", ", Missing)}"
                : OtherTables.Count > 0
                    ? $"it has {string.Join(", ", OtherTables)} but no table OrleansQuery"
                    : "it has no Orleans tables (no table OrleansQuery)";
    }

    /// <summary>The tables Verified creates, in order.</summary>
    private static readonly string[] s_tables = ["OrleansQuery", "OrleansMembershipVersionTable", "OrleansMembershipTable", "OrleansStorage"];

    /// <summary>Parses <paramref name="connection"/> as an Npgsql connection string.</summary>
    /// <returns>null if it parses; otherwise what is wrong, for the user.</returns>
    public static string? CheckConnectionString(string connection)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connection);
            return string.IsNullOrWhiteSpace(builder.Host)
                ? "it names no Host (e.g. Host=10.0.0.5;Username=verified;Password=…;Database=verified)"
                : null;
        }
        catch (ArgumentException e)
        {
            return $"it is not an Npgsql connection string ({e.Message.ReplaceLineEndings(" ")}); write KEY=VALUE pairs separated by ';', e.g. Host=10.0.0.5;Username=verified;Password=…;Database=verified";
        }
    }

    /// <summary>Where <paramref name="connection"/> points, for messages: never its password.</summary>
    public static string Where(string connection)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection);
        string database = string.IsNullOrEmpty(builder.Database) ? "(the user's default database)" : builder.Database;
        return string.Create(CultureInfo.InvariantCulture, $"database {database} on {builder.Host}:{builder.Port} as {builder.Username ?? "(the OS user)"}");
    }

    /// <summary>Why a connection or a statement failed, in one line: the server's own message, or the network's.</summary>
    public static string Why(NpgsqlException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string why = exception is PostgresException postgres ? $"{postgres.MessageText} (SQLSTATE {postgres.SqlState})" : exception.Message;
        return (exception.InnerException is { } inner && exception is not PostgresException ? $"{why}: {inner.Message}" : why).ReplaceLineEndings(" ");
    }

    /// <summary>What the database at <paramref name="connection"/> holds of Orleans' schema (in its search path).</summary>
    /// <exception cref="NpgsqlException">The server cannot be reached, or refused the login or the database.</exception>
    public static async Task<State> InspectAsync(string connection, CancellationToken cancellationToken)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await InspectAsync(db, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates Verified's tables and queries if the database has none of Orleans' schema, in one transaction; changes
    /// nothing if every required query is there already; refuses (changing nothing) a database with part of it.
    /// </summary>
    /// <returns>Whether it created the schema, and the state it found.</returns>
    /// <exception cref="NpgsqlException">The server cannot be reached, refused the login, or refused a statement
    /// (e.g. the user may not create tables).</exception>
    public static async Task<(bool Created, State Found)> SetUpAsync(string connection, CancellationToken cancellationToken)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Two set-ups at once: the second waits here, then sees the first one's tables and changes nothing.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('verified cluster-db'))", db, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        State found = await InspectAsync(db, transaction, cancellationToken).ConfigureAwait(false);
        if (!found.IsEmpty)
        {
            return (false, found);
        }
        foreach (string statement in s_schema)
        {
            await using var command = new NpgsqlCommand(statement, db, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        foreach ((string key, string text) in s_queries)
        {
            // Positional parameters: the query texts hold @names, which a named-parameter command would try to bind.
            await using var command = new NpgsqlCommand("INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ($1, $2)", db, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = key });
            command.Parameters.Add(new NpgsqlParameter { Value = text });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (true, found);
    }

    private static async Task<State> InspectAsync(NpgsqlConnection db, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var present = new List<string>();
        foreach (string table in s_tables)
        {
            // to_regclass: null for a table that does not exist in the search path, no error.
            await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", db, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = table.ToLowerInvariant() });
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
            {
                present.Add(table);
            }
        }
        if (!present.Contains("OrleansQuery"))
        {
            return new State(false, [.. RequiredQueries], present);
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery", db, transaction))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(reader.GetString(0));
            }
        }
        return new State(true, [.. RequiredQueries.Where(k => !keys.Contains(k))], [.. present.Where(t => t != "OrleansQuery")]);
    }

    /// <summary>The tables. Identifiers are unquoted, so PostgreSQL folds them to lower case; Npgsql finds a column
    /// Orleans asks for as <c>StartTime</c> under <c>starttime</c>, as it does with Orleans' own scripts.</summary>
    private static readonly string[] s_schema =
    [
        """
        CREATE TABLE OrleansQuery
        (
            QueryKey varchar(64) NOT NULL PRIMARY KEY,
            QueryText text NOT NULL
        )
        """,
        // One row per cluster (DeploymentId is the ClusterId): the membership table's version, Orleans' etag.
        """
        CREATE TABLE OrleansMembershipVersionTable
        (
            DeploymentId varchar(150) NOT NULL PRIMARY KEY,
            Timestamp timestamptz NOT NULL DEFAULT now(),
            Version integer NOT NULL DEFAULT 0
        )
        """,
        // One row per silo incarnation (Generation changes at every start). SuspectTimes is Orleans' own text,
        // "silo,time|silo,time", kept as it comes.
        """
        CREATE TABLE OrleansMembershipTable
        (
            DeploymentId varchar(150) NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
            Address varchar(45) NOT NULL,
            Port integer NOT NULL,
            Generation integer NOT NULL,
            SiloName varchar(150) NOT NULL,
            HostName varchar(150) NOT NULL,
            Status integer NOT NULL,
            ProxyPort integer NULL,
            SuspectTimes text NULL,
            StartTime timestamptz NOT NULL,
            IAmAliveTime timestamptz NOT NULL,
            PRIMARY KEY (DeploymentId, Address, Port, Generation)
        )
        """,
        // A grain's state, keyed by its natural key (a grain without a string key stores ''); the hashes are what
        // Orleans computes from that key, stored and matched as it expects. Version is the etag: null payload and a
        // version after a clear.
        """
        CREATE TABLE OrleansStorage
        (
            ServiceId varchar(150) NOT NULL,
            GrainTypeString text NOT NULL,
            GrainIdN0 bigint NOT NULL,
            GrainIdN1 bigint NOT NULL,
            GrainIdExtensionString text NOT NULL,
            GrainTypeHash integer NOT NULL,
            GrainIdHash integer NOT NULL,
            PayloadBinary bytea NULL,
            ModifiedOn timestamptz NOT NULL DEFAULT now(),
            Version integer NOT NULL,
            PRIMARY KEY (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
        )
        """,
    ];

    /// <summary>A silo row's key in the queries.</summary>
    private const string SiloRow = "DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation";

    /// <summary>A grain's row in the storage queries.</summary>
    private const string GrainRow =
        "ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 "
        + "AND GrainIdExtensionString = coalesce(@GrainIdExtensionString, '') AND GrainTypeHash = @GrainTypeHash AND GrainIdHash = @GrainIdHash";

    /// <summary>A grain's new row, version 1, when the caller holds no version (its first write).</summary>
    private static string FirstVersion(string payload) =>
        $"""
        INSERT INTO OrleansStorage (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString, GrainTypeHash, GrainIdHash, PayloadBinary, Version)
        SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), @GrainTypeHash, @GrainIdHash, {payload}, 1
        WHERE @GrainStateVersion::integer IS NULL
        ON CONFLICT DO NOTHING
        RETURNING Version
        """;

    /// <summary>The columns of a membership read: the table version on every row, the silo's columns null when the
    /// cluster has no silo (Orleans takes a null StartTime for "no entry").</summary>
    private const string MembershipRead =
        """
        SELECT v.Version, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime
        FROM OrleansMembershipVersionTable v
        """;

    /// <summary>
    /// The queries, by the key the providers read them under. Booleans are returned as one integer column (Orleans
    /// reads "> 0" as success); a version conflict returns a null version, which Orleans turns into an
    /// InconsistentStateException.
    /// </summary>
    private static readonly (string Key, string Text)[] s_queries =
    [
        ("InsertMembershipVersionKey",
            """
            WITH inserted AS (
                INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId)
                ON CONFLICT (DeploymentId) DO NOTHING
                RETURNING 1)
            SELECT count(*)::integer FROM inserted
            """),
        ("InsertMembershipKey",
            $"""
            WITH bumped AS (
                UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
                WHERE DeploymentId = @DeploymentId AND Version = @Version
                  AND NOT EXISTS (SELECT 1 FROM OrleansMembershipTable WHERE {SiloRow})
                RETURNING DeploymentId),
            inserted AS (
                INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
                SELECT DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime FROM bumped
                RETURNING 1)
            SELECT count(*)::integer FROM inserted
            """),
        ("UpdateMembershipKey",
            $"""
            WITH bumped AS (
                UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
                WHERE DeploymentId = @DeploymentId AND Version = @Version
                  AND EXISTS (SELECT 1 FROM OrleansMembershipTable WHERE {SiloRow})
                RETURNING DeploymentId),
            updated AS (
                UPDATE OrleansMembershipTable m SET Status = @Status, SuspectTimes = @SuspectTimes, IAmAliveTime = @IAmAliveTime
                FROM bumped
                WHERE m.DeploymentId = bumped.DeploymentId AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
                RETURNING 1)
            SELECT count(*)::integer FROM updated
            """),
        // A heartbeat: outside the version protocol, as Orleans expects.
        ("UpdateIAmAlivetimeKey", $"UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime WHERE {SiloRow}"),
        ("MembershipReadRowKey",
            $"""
            {MembershipRead}
            LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
            WHERE v.DeploymentId = @DeploymentId
            """),
        ("MembershipReadAllKey",
            $"""
            {MembershipRead}
            LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
            WHERE v.DeploymentId = @DeploymentId
            """),
        ("GatewaysQueryKey",
            "SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0"),
        ("DeleteMembershipTableEntriesKey",
            """
            DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
            DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId
            """),
        // Rows of silos declared dead (status 6) that have not said they were alive since @IAmAliveTime.
        ("CleanupDefunctSiloEntriesKey",
            "DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId AND IAmAliveTime < @IAmAliveTime AND Status = 6"),
        ("ReadFromStorageKey", $"SELECT PayloadBinary, Version FROM OrleansStorage WHERE {GrainRow}"),
        ("WriteToStorageKey",
            $"""
            WITH updated AS (
                UPDATE OrleansStorage SET PayloadBinary = @PayloadBinary, Version = Version + 1, ModifiedOn = now()
                WHERE {GrainRow} AND Version = @GrainStateVersion
                RETURNING Version),
            inserted AS (
            {FirstVersion("@PayloadBinary")})
            SELECT (SELECT Version FROM updated UNION ALL SELECT Version FROM inserted LIMIT 1) AS NewGrainStateVersion
            """),
        ("ClearStorageKey",
            $"""
            WITH cleared AS (
                UPDATE OrleansStorage SET PayloadBinary = NULL, Version = Version + 1, ModifiedOn = now()
                WHERE {GrainRow} AND Version = @GrainStateVersion
                RETURNING Version),
            inserted AS (
            {FirstVersion("NULL::bytea")})
            SELECT (SELECT Version FROM cleared UNION ALL SELECT Version FROM inserted LIMIT 1) AS NewGrainStateVersion
            """),
    ];

    /// <summary>The schema as a psql script (what <c>verified cluster-db --print</c> writes): for a user who wants to
    /// read it or run it by hand.</summary>
    public static string Script()
    {
        var script = new System.Text.StringBuilder();
        script.AppendLine("-- Verified's schema for Orleans' ADO.NET clustering and grain storage on PostgreSQL (verified cluster-db --print).");
        script.AppendLine("BEGIN;");
        foreach (string statement in s_schema)
        {
            script.Append(statement).AppendLine(";");
        }
        foreach ((string key, string text) in s_queries)
        {
            script.AppendLine(CultureInfo.InvariantCulture, $"INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('{key}', $verified${text}$verified$);");
        }
        script.AppendLine("COMMIT;");
        return script.ToString();
    }
}
